import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cidr, formatIpv4, parseIpv4 } from '../../../src/addr/ipv4.js';
import { formatMac, parseMac } from '../../../src/addr/mac.js';
import {
  decodeLeaseAttrs,
  encodeLeaseAttrs,
  formatNetworkConfig,
  formatSubnetKey,
  leaseToPeer,
  parseNetworkConfig,
  parseSubnetKey,
} from '../../../src/control/flannel-format.js';

describe('flannel network config', () => {
  it('parses the full form', () => {
    const cfg = parseNetworkConfig(
      '{"Network":"10.244.0.0/16","SubnetLen":24,"SubnetMin":"10.244.1.0","SubnetMax":"10.244.255.0","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}',
    );
    expect(cfg.network.toString()).toBe('10.244.0.0/16');
    expect(cfg.subnetLen).toBe(24);
    expect(formatIpv4(cfg.subnetMin)).toBe('10.244.1.0');
    expect(formatIpv4(cfg.subnetMax)).toBe('10.244.255.0');
    expect(cfg.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
  });

  it("fills flannel's defaults", () => {
    const cfg = parseNetworkConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
    expect([cfg.subnetLen, formatIpv4(cfg.subnetMin), formatIpv4(cfg.subnetMax)]).toEqual([
      24,
      '10.244.1.0',
      '10.244.255.0',
    ]);
    expect(cfg.backend).toEqual({ type: 'vxlan', vni: 1, port: 8472 });
    // No Backend at all: flannel's default is udp.
    expect(parseNetworkConfig('{"Network":"10.244.0.0/16"}').backend).toEqual({ type: 'udp', vni: 0, port: 8285 });
    // Port 0 means the default; Type is case-insensitive.
    expect(parseNetworkConfig('{"Network":"10.0.0.0/8","Backend":{"Type":"VXLAN","VNI":42,"Port":0}}').backend).toEqual(
      { type: 'vxlan', vni: 42, port: 8472 },
    );
    // Small networks get SubnetLen = prefix + 2 (four subnets), as flannel does.
    const small = parseNetworkConfig('{"Network":"10.1.2.0/26"}');
    expect([small.subnetLen, formatIpv4(small.subnetMin), formatIpv4(small.subnetMax)]).toEqual([
      28,
      '10.1.2.16',
      '10.1.2.48',
    ]);
    expect(parseNetworkConfig('{"Network":"10.0.0.0/8"}').subnetLen).toBe(24);
    expect(parseNetworkConfig('{"Network":"10.0.0.0/24"}').subnetLen).toBe(26);
  });

  it('rejects bad configs with a reason', () => {
    const reasons: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['{}', /Network is missing/],
      ['{"Network":"10.244.0.0/33"}', /Network:/],
      ['{"Network":"10.244.0.0/16","SubnetLen":"24"}', /SubnetLen must be an integer/],
      ['{"Network":"10.244.0.0/16","SubnetLen":31}', /less than \/31/],
      ['{"Network":"10.244.0.0/16","SubnetLen":17}', /at least four/],
      ['{"Network":"10.244.0.0/30"}', /too small/],
      ['{"Network":"10.244.0.0/16","SubnetMin":"10.245.0.0"}', /SubnetMin 10\.245\.0\.0 is not in the range/],
      ['{"Network":"10.244.0.0/16","SubnetMax":"10.244.3.7"}', /SubnetMax 10\.244\.3\.7 is not on a \/24 boundary/],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"ipip"}}', /"ipip" is not supported/],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}', /VNI 16777216 is out of range/],
      ['{"Network":"10.244.0.0/16","Backend":{"Type":"udp","Port":70000}}', /Port 70000 is out of range/],
      ['{"Network":"10.244.0.0/16","Backend":"vxlan"}', /Backend must be an object/],
    ];
    for (const [text, re] of reasons) {
      expect(() => parseNetworkConfig(text), text).toThrow(re);
      try {
        parseNetworkConfig(text);
      } catch (err) {
        expect((err as Error).name).toBe('ConfigError');
      }
    }
  });

  it('formats a config that parses back, in flannel field order', () => {
    const text = formatNetworkConfig({ network: Cidr.parse('10.244.0.0/16'), subnetLen: 24, backend: 'vxlan' });
    expect(text).toBe('{"Network":"10.244.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}');
    expect(formatNetworkConfig({ network: Cidr.parse('10.5.0.0/16'), backend: 'udp', port: 9000 })).toBe(
      '{"Network":"10.5.0.0/16","Backend":{"Type":"udp","Port":9000}}',
    );
    expect(() => formatNetworkConfig({ network: Cidr.parse('10.5.0.0/16'), subnetLen: 12, backend: 'udp' })).toThrow(
      /at least four/,
    );
  });
});

describe('subnet keys', () => {
  it('round-trips and rejects non-keys with a reason', () => {
    const c = Cidr.parse('10.244.1.0/24');
    expect(formatSubnetKey(c)).toBe('10.244.1.0-24');
    const r = parseSubnetKey('/coreos.com/network/subnets/10.244.1.0-24');
    expect(r.ok && r.value.equals(c)).toBe(true);
    const dual = parseSubnetKey('10.244.1.0-24&fd00:1::-64');
    expect(dual.ok && dual.value.equals(c)).toBe(true);
    for (const bad of ['10.244.1.0_24', '10.244.1.0-33', '10.244.1.5-24', '300.1.1.0-24', 'config', '']) {
      const d = parseSubnetKey(`/coreos.com/network/subnets/${bad}`);
      expect(d.ok, bad).toBe(false);
      if (!d.ok) expect(d.reason.length).toBeGreaterThan(0);
    }
  });
});

describe('lease values', () => {
  it("encodes exactly flannel's JSON for vxlan and udp", () => {
    const vx = encodeLeaseAttrs({
      publicIp: parseIpv4('192.168.1.2'),
      backendType: 'vxlan',
      vni: 1,
      vtepMac: parseMac('0e:00:00:00:01:01'),
    });
    expect(vx).toBe(
      '{"PublicIP":"192.168.1.2","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:01:01"}}',
    );
    const udp = encodeLeaseAttrs({ publicIp: parseIpv4('192.168.1.3'), backendType: 'udp' });
    expect(udp).toBe('{"PublicIP":"192.168.1.3","PublicIPv6":null,"BackendType":"udp"}');
  });

  it('decodes values written by older and newer flanneld', () => {
    const old = decodeLeaseAttrs(
      '{"PublicIP":"10.18.221.107","BackendType":"vxlan","BackendData":{"VtepMAC":"22:6d:5f:d3:2a:83"}}',
    );
    expect(old.ok).toBe(true);
    if (old.ok) {
      expect(formatIpv4(old.value.publicIp)).toBe('10.18.221.107');
      expect(formatMac(old.value.vtepMac!)).toBe('22:6d:5f:d3:2a:83');
      expect(old.value.vni).toBeUndefined();
    }
    const dual = decodeLeaseAttrs(
      '{"PublicIP":"10.0.0.1","PublicIPv6":"fd00::1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:ff"},"BackendV6Data":{"VNI":1,"VtepMAC":"aa:bb:cc:dd:ee:fe"}}',
    );
    expect(dual.ok).toBe(true);
  });

  it('rejects malformed values with a reason', () => {
    const bad: Array<[string, RegExp]> = [
      ['{', /not JSON/],
      ['"x"', /not a JSON object/],
      ['{"BackendType":"udp"}', /no PublicIP/],
      ['{"PublicIP":"10.0.0.256","BackendType":"udp"}', /PublicIP/],
      ['{"PublicIP":"10.0.0.1","BackendType":5}', /BackendType/],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan"}', /no BackendData/],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VNI":1}}', /VtepMAC/],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VtepMAC":"zz"}}', /VtepMAC/],
      ['{"PublicIP":"10.0.0.1","BackendType":"vxlan","BackendData":{"VtepMAC":"aa:bb:cc:dd:ee:ff","VNI":-1}}', /VNI/],
    ];
    for (const [text, re] of bad) {
      const d = decodeLeaseAttrs(text);
      expect(d.ok, text).toBe(false);
      if (!d.ok) expect(d.reason).toMatch(re);
    }
  });

  it('round-trips any lease and never throws on arbitrary text', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint8Array({ minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 0xffffff }),
        fc.boolean(),
        (ip, macBytes, vni, vxlan) => {
          const attrs = vxlan
            ? { publicIp: ip, backendType: 'vxlan', vni, vtepMac: Buffer.from(macBytes) }
            : { publicIp: ip, backendType: 'udp' };
          const d = decodeLeaseAttrs(encodeLeaseAttrs(attrs));
          expect(d).toEqual({ ok: true, value: attrs });
        },
      ),
    );
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => void decodeLeaseAttrs(text)));
    fc.assert(fc.property(fc.string(), (text) => void parseSubnetKey(text)));
  });

  it('turns a lease into a peer only when the backend matches', () => {
    const subnet = Cidr.parse('10.244.7.0/24');
    const attrs = { publicIp: parseIpv4('10.0.0.7'), backendType: 'vxlan', vtepMac: parseMac('02:00:00:00:00:07') };
    const p = leaseToPeer(subnet, attrs, 'vxlan');
    expect(p.ok && formatMac(p.value.vtepMac!)).toBe('02:00:00:00:00:07');
    const q = leaseToPeer(subnet, attrs, 'udp');
    expect(q.ok).toBe(false);
    if (!q.ok) expect(q.reason).toMatch(/does not match/);
  });
});
