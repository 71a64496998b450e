// net-conf.json as flannel reads it: the examples of flannel's Documentation (configuration.md,
// kube-flannel.yml, minikube.yml, running.md) are accepted with flannel's defaults; bad values are
// refused with a message naming the file and the key; vxlan's Backend options (VNI, Port, GBP refused,
// DirectRouting, MTU, Learning ignored with a note).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../../src/addr/ipv4.js';
import { loadNetConf, parseNetConf } from '../../../src/control/net-conf.js';
import { ConfigError } from '../../../src/util/errors.js';

// Documentation/configuration.md
const CONFIGURATION_MD = `{
	"Network": "10.0.0.0/8",
	"SubnetLen": 20,
	"SubnetMin": "10.10.0.0",
	"SubnetMax": "10.99.0.0",
	"Backend": {
		"Type": "udp",
		"Port": 7890
	}
}`;
// Documentation/kube-flannel.yml (net-conf.json of the ConfigMap)
const KUBE_FLANNEL_YML = `{
  "Network": "10.244.0.0/16",
  "EnableNFTables": false,
  "Backend": {
    "Type": "vxlan"
  }
}`;
// Documentation/minikube.yml
const MINIKUBE_YML = `{
  "Network": "10.33.0.0/16",
  "Backend": {
    "Type": "host-gw"
  }
}`;
// Documentation/running.md (etcdctl put /coreos.com/network/config ...)
const RUNNING_MD = '{ "Network": "10.5.0.0/16", "Backend": {"Type": "vxlan"}}';

describe("flannel's net-conf.json", () => {
  it('accepts the examples of flannel’s Documentation with flannel’s defaults', () => {
    const a = parseNetConf(CONFIGURATION_MD, 'configuration.md').config;
    expect(a.network.toString()).toBe('10.0.0.0/8');
    expect(a.subnetLen).toBe(20);
    expect([formatIpv4(a.subnetMin), formatIpv4(a.subnetMax)]).toEqual(['10.10.0.0', '10.99.0.0']);
    expect(a.backend).toEqual({ type: 'udp', vni: 0, port: 7890 });

    const b = parseNetConf(KUBE_FLANNEL_YML, 'kube-flannel.yml').config;
    expect(b.subnetLen).toBe(24);
    expect([formatIpv4(b.subnetMin), formatIpv4(b.subnetMax)]).toEqual(['10.244.1.0', '10.244.255.0']);
    expect(b.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });

    const c = parseNetConf(MINIKUBE_YML, 'minikube.yml').config;
    expect(c.network.toString()).toBe('10.33.0.0/16');
    expect(c.backend).toEqual({ type: 'host-gw', vni: 0, port: 0 });

    expect(parseNetConf(RUNNING_MD, 'running.md').config.backend.type).toBe('vxlan');
  });

  it('reads the file given by --net-config-path', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-netconf-'));
    try {
      const file = path.join(dir, 'net-conf.json');
      fs.writeFileSync(file, KUBE_FLANNEL_YML);
      expect(loadNetConf(file).config.network.toString()).toBe('10.244.0.0/16');
      expect(() => loadNetConf(path.join(dir, 'missing.json'))).toThrow(/--net-config-path .*missing\.json: ENOENT/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad values with a message naming the file and the key', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"Backend":{"Type":"vxlan"}}', /^net-conf\.json: .*Network is missing/],
      ['{"Network":"10.244.0.0/16","SubnetLen":31}', /SubnetLen must be less than \/31/],
      ['{"Network":"10.244.0.0/16","SubnetLen":17}', /at least four \/17 subnets/],
      ['{"Network":"10.244.0.0/16","SubnetMin":"10.245.1.0"}', /SubnetMin 10\.245\.1\.0 is not in the range/],
      ['{"Network":"10.244.0.0/16","SubnetMax":"10.244.1.7"}', /SubnetMax 10\.244\.1\.7 is not on a \/24 boundary/],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"ipip"}}', /Backend\.Type "ipip" is not supported/],
      [
        '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}',
        /Backend\.VNI 16777216 is out of range/,
      ],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","Port":70000}}', /Backend\.Port 70000 is out of range/],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","GBP":true}}', /Backend\.GBP: .*not supported/],
      [
        '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":"yes"}}',
        /Backend\.DirectRouting must be true or false/,
      ],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","MTU":100}}', /Backend\.MTU 100 is out of range/],
      ['{"Network": "10.244.0.0/16",', /not JSON/],
    ];
    for (const [text, re] of bad) {
      let err: unknown;
      try {
        parseNetConf(text, 'net-conf.json');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ConfigError);
      expect((err as Error).message, text).toMatch(/^net-conf\.json: /);
      expect((err as Error).message, text).toMatch(re);
    }
  });

  it("reads vxlan's DirectRouting and MTU, accepts GBP false, and notes that Learning is ignored", () => {
    const text =
      '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":4,"Port":4789,"GBP":false,' +
      '"DirectRouting":true,"MTU":1400,"Learning":true}}';
    const nc = parseNetConf(text, 'net-conf.json');
    expect(nc.config.backend).toEqual({ type: 'vxlan', vni: 4, port: 4789, directRouting: true, mtu: 1400 });
    expect(nc.notes).toEqual([expect.stringMatching(/Backend\.Learning is ignored/)]);
    expect(parseNetConf(KUBE_FLANNEL_YML, 'x').notes).toEqual([]);
  });
});
