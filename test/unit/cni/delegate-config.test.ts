// The flannel plugin's pure parts: subnet.env as flannel's cni-plugin reads it, the delegate config it
// builds (flannel_linux.go doCmdAdd/getDelegateIPAM), the spec's argument and version checks, and the
// conflist runtime's request configuration.
import { describe, expect, it } from 'vitest';
import { flannelConflist } from '../../../src/cni/conflist.js';
import { buildDelegateConfig, parseFlannelNetConf, sortedJson } from '../../../src/cni/delegate-config.js';
import { requestConfig } from '../../../src/cni/runtime.js';
import { checkArgs, checkVersion } from '../../../src/cni/spec.js';
import { parseFlannelSubnetFile } from '../../../src/cni/subnet-file.js';
import { CniError } from '../../../src/util/errors.js';

const ENV = 'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n';

function cniCode(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof CniError ? err.cniCode : -1;
  }
  return undefined;
}

describe('subnet.env as the flannel plugin reads it', () => {
  it('reduces FLANNEL_SUBNET to its network, splits and dedupes FLANNEL_NETWORK', () => {
    const env = parseFlannelSubnetFile(
      'FLANNEL_NETWORK=10.1.0.0/16,10.2.0.0/16,10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\nOTHER=x\n',
      'f',
    );
    expect(env).toMatchObject({
      networks: ['10.1.0.0/16', '10.2.0.0/16'],
      subnet: '10.1.17.0/24',
      mtu: 1472,
      ipMasq: false,
    });
  });

  it('reduces FLANNEL_IPV6_SUBNET to its network as Go does (fd00:10:244:1::1/64 → fd00:10:244:1::/64)', () => {
    const env = parseFlannelSubnetFile(
      `${ENV}FLANNEL_IPV6_NETWORK=fd00:10:244::/56\nFLANNEL_IPV6_SUBNET=fd00:10:244:1::1/64\n`,
      'f',
    );
    expect(env.ip6Subnet).toBe('fd00:10:244:1::/64');
    expect(env.ip6Networks).toEqual(['fd00:10:244::/56']);
  });

  it('names every missing variable, as flannel does', () => {
    expect(() => parseFlannelSubnetFile('FLANNEL_SUBNET=10.1.17.1/24\n', '/run/x.env')).toThrow(
      '/run/x.env is missing FLANNEL_NETWORK, FLANNEL_IPV6_NETWORK, FLANNEL_MTU, FLANNEL_IPMASQ',
    );
    expect(() => parseFlannelSubnetFile(ENV.replace('1472', 'big'), 'f')).toThrow(/ParseUint/);
    expect(() => parseFlannelSubnetFile(ENV.replace('10.1.17.1/24', '10.1.17.1'), 'f')).toThrow(/invalid CIDR/);
  });

  it('FLANNEL_IPMASQ is true only when it says exactly "true"', () => {
    expect(parseFlannelSubnetFile(ENV.replace('IPMASQ=true', 'IPMASQ=yes'), 'f').ipMasq).toBe(false);
  });
});

describe('the delegate config', () => {
  const env = parseFlannelSubnetFile(ENV, 'f');

  it("is the README's example for {name, type} alone (plus the network route and ranges form)", () => {
    const d = buildDelegateConfig(parseFlannelNetConf('{"name":"mynet","type":"flannel"}'), env);
    expect(d).toEqual({
      name: 'mynet',
      type: 'bridge',
      mtu: 1472,
      ipMasq: false,
      isGateway: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.17.0/24' }]], routes: [{ dst: '10.1.0.0/16' }] },
    });
  });

  it('ipMasq is the inverse of FLANNEL_IPMASQ; delegate fields win; isGateway only for bridge', () => {
    const noMasq = parseFlannelSubnetFile(ENV.replace('IPMASQ=true', 'IPMASQ=false'), 'f');
    expect(buildDelegateConfig(parseFlannelNetConf('{"name":"n"}'), noMasq)['ipMasq']).toBe(true);
    const d = buildDelegateConfig(
      parseFlannelNetConf('{"name":"n","cniVersion":"1.0.0","delegate":{"bridge":"mynet0","mtu":1400,"ipMasq":true}}'),
      env,
    );
    expect(d).toMatchObject({ bridge: 'mynet0', mtu: 1400, ipMasq: true, cniVersion: '1.0.0', isGateway: true });
    const ipvlan = buildDelegateConfig(
      parseFlannelNetConf('{"name":"n","delegate":{"type":"ipvlan","master":"eth0"}}'),
      env,
    );
    expect(ipvlan).not.toHaveProperty('isGateway');
  });

  it('keeps the ipam base (type, other fields, routes first) and passes runtimeConfig on', () => {
    const d = buildDelegateConfig(
      parseFlannelNetConf(
        '{"name":"n","ipam":{"dataDir":"/x","routes":[{"dst":"10.96.0.0/12"}]},"runtimeConfig":{"portMappings":[]}}',
      ),
      env,
    );
    expect(d['ipam']).toEqual({
      type: 'host-local',
      dataDir: '/x',
      ranges: [[{ subnet: '10.1.17.0/24' }]],
      routes: [{ dst: '10.96.0.0/12' }, { dst: '10.1.0.0/16' }],
    });
    expect(d['runtimeConfig']).toEqual({ portMappings: [] });
  });

  it('refuses a delegate with name, ipam or a non-string type (code 7)', () => {
    for (const delegate of ['{"name":"x"}', '{"ipam":{}}', '{"type":3}']) {
      expect(cniCode(() => buildDelegateConfig(parseFlannelNetConf(`{"name":"n","delegate":${delegate}}`), env))).toBe(
        7,
      );
    }
  });

  it('serialises with sorted keys at every level', () => {
    expect(sortedJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 0 } })).toBe('{"a":{"c":0,"d":[{"y":2,"z":1}]},"b":1}');
  });
});

describe('spec checks', () => {
  const ok = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'abc',
    CNI_NETNS: '/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/a:/b',
  };

  it('reads the CNI_* parameters and names the missing ones (code 4)', () => {
    expect(checkArgs(ok)).toMatchObject({ command: 'ADD', path: ['/a', '/b'] });
    expect(() => checkArgs({ ...ok, CNI_NETNS: '', CNI_PATH: '' })).toThrow(
      'required env variables [CNI_NETNS,CNI_PATH] missing',
    );
    expect(checkArgs({ ...ok, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).command).toBe('DEL');
    expect(cniCode(() => checkArgs({ ...ok, CNI_CONTAINERID: '-bad' }))).toBe(4);
    expect(cniCode(() => checkArgs({ ...ok, CNI_IFNAME: 'a-very-long-ifname0' }))).toBe(4);
    expect(cniCode(() => checkArgs({ ...ok, CNI_COMMAND: 'FROB' }))).toBe(4);
  });

  it('accepts 0.3.0 … 1.0.0; CHECK needs 0.4.0; a version that does not parse is code 6', () => {
    expect(checkVersion('1.0.0', 'ADD')).toBe('1.0.0');
    expect(cniCode(() => checkVersion('1.1.0', 'ADD'))).toBe(1);
    expect(cniCode(() => checkVersion('0.3.1', 'CHECK'))).toBe(1);
    expect(cniCode(() => checkVersion('x', 'ADD'))).toBe(6);
    expect(cniCode(() => parseFlannelNetConf('{'))).toBe(6);
  });
});

describe('the conflist runtime', () => {
  it("derives each plugin's request: list version and name, runtimeConfig only for declared capabilities", () => {
    const list = flannelConflist({ subnetFile: '/s', dataDir: '/d' });
    expect(list).toMatchObject({ name: 'cbr0', cniVersion: '1.0.0' });
    const att = {
      containerId: 'c',
      netns: '/run/netns/p',
      ifName: 'eth0',
      capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }] },
    };
    const flannel = requestConfig(list, list.plugins[0], att, undefined);
    expect(flannel).toEqual({
      type: 'flannel',
      cniVersion: '1.0.0',
      name: 'cbr0',
      subnetFile: '/s',
      dataDir: '/d',
      delegate: { hairpinMode: true, isDefaultGateway: true },
    });
    const prev = { cniVersion: '1.0.0', ips: [] };
    expect(requestConfig(list, list.plugins[1], att, prev)).toEqual({
      type: 'portmap',
      cniVersion: '1.0.0',
      name: 'cbr0',
      runtimeConfig: { portMappings: att.capabilityArgs.portMappings },
      prevResult: prev,
    });
  });
});
