import { describe, expect, it } from 'vitest';
import {
  BACKEND_NAMES,
  BACKEND_TABLE,
  backendFacts,
  backendNamesText,
  defaultMtu,
  innerPacketOffset,
  isBackendName,
  needsPublicKey,
  needsVtepMac,
  OUTER_IPV4_UDP_LEN,
  perBackendText,
  type BackendFacts,
  type RoutedBackendFacts,
  type UdpBackendFacts,
} from '../../../src/backend/table.js';
import { decodeBackendData, type LeaseAttrs } from '../../../src/control/flannel-format.js';
import { BACKENDS } from '../../../src/dataplane/backends.js';
import { ETH_HEADER_LEN } from '../../../src/wire/ethernet.js';
import { VXLAN_HEADER_LEN } from '../../../src/wire/vxlan.js';

// flannel's wireguard row as flannel's pkg/backend/wireguard gives it (the table's own row must
// match), and host-gw, which flannelette does not implement yet, as a row of the same type.
const wireguard: UdpBackendFacts = {
  name: 'wireguard',
  encapsulation: 'udp',
  defaultPort: 51820,
  headerLen: 16,
  encrypted: true,
  overhead: 80,
  tunName: 'flannel-wg',
  sourcePort: 'bound',
  defaultVni: null,
  leaseData: [{ key: 'PublicKey', kind: 'public-key', required: true }],
};
const hostGw: RoutedBackendFacts = {
  name: 'host-gw',
  encapsulation: 'none',
  overhead: 0,
  defaultVni: null,
  leaseData: [],
};

describe('the backend table', () => {
  it("holds flannel's facts for vxlan, udp and wireguard", () => {
    expect(BACKEND_NAMES).toEqual(['vxlan', 'udp', 'wireguard']);
    expect(backendFacts('wireguard')).toEqual(wireguard);
    expect(needsPublicKey(backendFacts('wireguard'))).toBe(true);
    expect(needsPublicKey(backendFacts('vxlan'))).toBe(false);
    expect(backendFacts('vxlan')).toMatchObject({
      defaultPort: 8472,
      overhead: 50,
      headerLen: 22,
      tunName: 'flannel.1',
      sourcePort: 'flow',
      defaultVni: 1,
    });
    expect(backendFacts('udp')).toMatchObject({
      defaultPort: 8285,
      overhead: 28,
      headerLen: 0,
      tunName: 'flannel0',
      sourcePort: 'bound',
      defaultVni: null,
    });
    expect(BACKEND_TABLE.vxlan.leaseData.map((f) => f.key)).toEqual(['VNI', 'VtepMAC']);
    expect(BACKEND_TABLE.udp.leaseData).toEqual([]);
  });

  it('derives overheads from the wire headers', () => {
    expect(OUTER_IPV4_UDP_LEN).toBe(28);
    for (const name of BACKEND_NAMES) {
      const f = backendFacts(name);
      if (!f.encrypted) expect(f.overhead).toBe(OUTER_IPV4_UDP_LEN + f.headerLen);
    }
    // wireguard: flannel's 80 = IPv6 (40) + UDP (8) + header (16) + tag (16), so it fits either underlay
    expect(backendFacts('wireguard').overhead).toBe(40 + 8 + 16 + 16);
    expect(backendFacts('vxlan').headerLen).toBe(VXLAN_HEADER_LEN + ETH_HEADER_LEN);
    expect(defaultMtu(backendFacts('vxlan'), 1500)).toBe(1450);
    expect(defaultMtu(backendFacts('udp'), 1500)).toBe(1472);
  });

  it('is what the data path backends are made of', () => {
    for (const name of BACKEND_NAMES) {
      const facts: Record<string, unknown> = { ...BACKENDS[name] };
      expect(typeof facts.encapsulate).toBe('function');
      expect(typeof facts.decapsulate).toBe('function');
      delete facts.encapsulate;
      delete facts.decapsulate;
      expect(facts).toEqual(BACKEND_TABLE[name]);
    }
  });

  it('answers the questions other layers ask', () => {
    expect(isBackendName('vxlan')).toBe(true);
    expect(isBackendName('host-gw')).toBe(false);
    expect(isBackendName('toString')).toBe(false);
    expect(backendNamesText()).toBe('vxlan, udp or wireguard');
    expect(perBackendText((b) => b.defaultPort)).toBe('8472 for vxlan, 8285 for udp, 51820 for wireguard');
    expect(innerPacketOffset(backendFacts('vxlan'))).toBe(22);
    expect(innerPacketOffset(backendFacts('udp'))).toBe(0);
    expect(needsVtepMac(backendFacts('vxlan'))).toBe(true);
    expect(needsVtepMac(backendFacts('udp'))).toBe(false);
  });

  it('can describe wireguard and host-gw as rows', () => {
    const rows: BackendFacts[] = [wireguard, hostGw];
    expect(rows.map((r) => defaultMtu(r, 1500))).toEqual([1420, 1500]);
    expect(innerPacketOffset(wireguard)).toBeNull(); // encrypted: a capture filter cannot look inside
    expect(innerPacketOffset(hostGw)).toBeNull(); // no UDP payload at all
    expect(rows.map(needsVtepMac)).toEqual([false, false]);
    // A lease's BackendData is read from the row alone.
    const attrs: LeaseAttrs = { publicIp: 1, backendType: 'wireguard' };
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(decodeBackendData(wireguard, { PublicKey: key }, attrs)).toBeUndefined();
    expect(attrs.publicKey).toBe(key);
    expect(decodeBackendData(wireguard, { PublicKey: 'short' }, attrs)).toMatch(
      /PublicKey is not a base64 32-byte key/,
    );
    expect(decodeBackendData(wireguard, {}, attrs)).toMatch(/no BackendData\.PublicKey/);
    expect(decodeBackendData(hostGw, undefined, attrs)).toBeUndefined();
  });
});
