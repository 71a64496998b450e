// The IPv6 VTEP's own MAC, as flanneld's flannel-v6.1 has one (pkg/backend/vxlan newSubnetAttrs:
// BackendV6Data.VtepMAC is v6Dev.MACAddr(), a device of its own): etcd membership (in-memory etcd)
// announces a MAC in BackendV6Data distinct from BackendData's, gives it to the LocalLease, tells
// peers, and keeps both across a restart in the state file. The data path puts it in the inner
// frame of inner IPv6 over the IPv6 underlay and accepts it for inner IPv6 only.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { parseIpv6 } from '../../../src/addr/ipv6.js';
import { formatMac, parseMac } from '../../../src/addr/mac.js';
import { createEtcdMembership } from '../../../src/control/etcd.js';
import { MemoryEtcd } from '../../../src/control/memory-registry.js';
import { storeNetworkConfig } from '../../../src/control/network-init.js';
import { vxlanBackend } from '../../../src/dataplane/backends.js';
import { Drop } from '../../../src/dataplane/counters.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { seededRng } from '../../../src/util/rng.js';

const DOC = JSON.stringify({
  Network: '10.244.0.0/16',
  IPv6Network: 'fc00::/48',
  EnableIPv6: true,
  Backend: { Type: 'vxlan' },
});

describe('the IPv6 VTEP MAC (etcd membership, in-memory etcd)', () => {
  it('is announced in BackendV6Data, distinct from the IPv4 one, and kept across a restart', async () => {
    const clock = new VirtualClock();
    const etcd = new MemoryEtcd(clock);
    await storeNetworkConfig(etcd.connect('/coreos.com/network'), DOC, true);
    const stateFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'flt-v6mac-')), 'n.state.json');
    const join = (ip: string, ip6: string, seed: number, file?: string) =>
      createEtcdMembership({
        registry: etcd.connect('/coreos.com/network'),
        publicIp: parseIpv4(ip),
        publicIpv6: parseIpv6(ip6),
        logger: pino({ level: 'silent' }),
        clock,
        rng: seededRng(seed),
        leaseTtlSeconds: 30,
        stateFile: file,
      });
    const a = join('192.168.1.2', 'fd00::2', 1, stateFile);
    const lease = await a.start(() => {});
    expect(lease.vtepMac).toBeDefined();
    expect(lease.vtepMacV6).toBeDefined();
    expect(lease.vtepMacV6!.equals(lease.vtepMac!)).toBe(false);
    const kv = etcd.list('/coreos.com/network/subnets/').kvs[0];
    const value = JSON.parse(kv.value) as { BackendData: { VtepMAC: string }; BackendV6Data: { VtepMAC: string } };
    expect(value.BackendData.VtepMAC).toBe(formatMac(lease.vtepMac!));
    expect(value.BackendV6Data.VtepMAC).toBe(formatMac(lease.vtepMacV6!));
    expect(JSON.parse(fs.readFileSync(stateFile, 'utf8'))).toEqual({
      vtepMac: formatMac(lease.vtepMac!),
      vtepMacV6: formatMac(lease.vtepMacV6!),
    });
    const b = join('192.168.1.3', 'fd00::3', 2);
    await b.start(() => {});
    await new Promise((r) => setImmediate(r));
    expect(formatMac(b.peers()[0].vtepMacV6!)).toBe(formatMac(lease.vtepMacV6!));
    await a.stop();
    // a restart with another rng keeps both MACs (the state file)
    const again = await join('192.168.1.2', 'fd00::2', 99, stateFile).start(() => {});
    expect(formatMac(again.vtepMac!)).toBe(formatMac(lease.vtepMac!));
    expect(formatMac(again.vtepMacV6!)).toBe(formatMac(lease.vtepMacV6!));
    await b.stop();
  });
});

describe('the vxlan backend with an IPv6 VTEP MAC', () => {
  const v4mac = parseMac('0e:00:00:00:00:04');
  const v6mac = parseMac('0e:00:00:00:00:06');
  const peer = {
    name: 'p',
    subnet: undefined as never,
    publicIp: 1,
    port: 8472,
    vtepMac: parseMac('0e:00:00:00:01:04'),
  };
  const frame = (version: 4 | 6, peerMac6?: Buffer): Buffer => {
    const buf = Buffer.alloc(64 + 60);
    buf[64] = version << 4;
    const start = vxlanBackend.encapsulate(
      buf,
      64,
      { ...peer, vtepMacV6: peerMac6 },
      { vni: 1, vtepMac: v4mac, vtepMacV6: v6mac },
    );
    return buf.subarray(start);
  };
  it('puts the two IPv6 VTEPs in the inner frame of inner IPv6 to a peer over the IPv6 underlay', () => {
    const peer6 = parseMac('0e:00:00:00:01:06');
    const f = frame(6, peer6);
    expect(formatMac(f.subarray(8, 14))).toBe(formatMac(peer6));
    expect(formatMac(f.subarray(14, 20))).toBe(formatMac(v6mac));
    const f4 = frame(4, peer6);
    expect(formatMac(f4.subarray(8, 14))).toBe(formatMac(peer.vtepMac));
    expect(formatMac(f4.subarray(14, 20))).toBe(formatMac(v4mac));
    const noV6 = frame(6); // the peer is not over the IPv6 underlay: IPv4 VTEPs
    expect(formatMac(noV6.subarray(14, 20))).toBe(formatMac(v4mac));
  });
  it('accepts its IPv6 VTEP MAC for inner IPv6 only', () => {
    const local = { vni: 1, vtepMac: v4mac, vtepMacV6: v6mac };
    const to = (version: 4 | 6, mac: Buffer): number => {
      const buf = Buffer.alloc(8 + 14 + 60);
      buf[0] = 0x08;
      buf.writeUIntBE(1, 4, 3);
      mac.copy(buf, 8);
      buf.writeUInt16BE(version === 6 ? 0x86dd : 0x0800, 20);
      buf[22] = version << 4;
      return vxlanBackend.decapsulate(buf, 0, buf.length, local);
    };
    expect(to(6, v6mac)).toBe(22);
    expect(to(6, v4mac)).toBe(22);
    expect(to(4, v4mac)).toBe(22);
    expect(to(4, v6mac)).toBe(-1 - Drop['wrong-inner-mac']);
    expect(to(6, parseMac('0e:00:00:00:00:99'))).toBe(-1 - Drop['wrong-inner-mac']);
  });
});
