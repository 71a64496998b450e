// src/node/peer-events.ts: membership events become data-path commands and kernel route changes;
// peers the data path must not use are ignored with a reason.
import { describe, expect, it } from 'vitest';
import { Cidr, parseIpv4 as ip } from '../../../src/addr/ipv4.js';
import { parseMac } from '../../../src/addr/mac.js';
import type { PeerInfo } from '../../../src/control/membership.js';
import { peerEventToCommands, type PeerEventContext } from '../../../src/node/peer-events.js';

const ctx: PeerEventContext = {
  network: Cidr.parse('10.244.0.0/16'),
  subnet: Cidr.parse('10.244.1.0/24'),
  port: 8472,
  needsVtepMac: true,
  needsPublicKey: false,
};
const mac = parseMac('0e:00:00:00:02:01');
const node2: PeerInfo = {
  name: 'node2',
  subnet: Cidr.parse('10.244.2.0/24'),
  publicIp: ip('192.168.1.3'),
  vtepMac: mac,
};

describe('peerEventToCommands', () => {
  it('peer-added: an add-peer command on the cluster port and a kernel route add', () => {
    const out = peerEventToCommands({ type: 'peer-added', peer: node2 }, ctx);
    expect(out).toEqual({
      kind: 'apply',
      commands: [
        {
          type: 'add-peer',
          peer: { name: 'node2', subnet: node2.subnet, publicIp: node2.publicIp, port: 8472, vtepMac: mac },
        },
      ],
      kernel: { op: 'add', subnet: node2.subnet, via: node2.publicIp },
      log: 'peer added',
      describe: 'node2 10.244.2.0/24 via 192.168.1.3 (0e:00:00:00:02:01)',
    });
  });

  it('peer-updated: replaces the peer in the data path and leaves the kernel route alone', () => {
    const out = peerEventToCommands({ type: 'peer-updated', peer: { ...node2, publicIp: ip('192.168.1.9') } }, ctx);
    expect(out.kind).toBe('apply');
    if (out.kind !== 'apply') return;
    expect(out.kernel).toBeUndefined();
    expect(out.log).toBe('peer updated');
    expect(out.commands).toHaveLength(1);
    expect(out.commands[0]).toMatchObject({ type: 'add-peer', peer: { publicIp: ip('192.168.1.9') } });
  });

  it('peer-removed: a remove-peer command and a kernel route remove', () => {
    const out = peerEventToCommands({ type: 'peer-removed', subnet: node2.subnet }, ctx);
    expect(out).toEqual({
      kind: 'apply',
      commands: [{ type: 'remove-peer', subnet: node2.subnet }],
      kernel: { op: 'remove', subnet: node2.subnet },
      log: 'peer removed',
      describe: '10.244.2.0/24',
    });
  });

  it('a peer without a name (etcd lease) is named by its public IP', () => {
    const out = peerEventToCommands({ type: 'peer-added', peer: { ...node2, name: undefined } }, ctx);
    expect(out.kind === 'apply' && out.commands[0]).toMatchObject({ peer: { name: '192.168.1.3' } });
  });

  it.each([
    ['outside the network', { ...node2, subnet: Cidr.parse('10.245.2.0/24') }, /outside the network 10\.244\.0\.0\/16/],
    [
      'overlapping our subnet',
      { ...node2, subnet: Cidr.parse('10.244.0.0/23') },
      /overlaps ours \(10\.244\.1\.0\/24\)/,
    ],
    ['equal to our subnet', { ...node2, subnet: Cidr.parse('10.244.1.0/24') }, /overlaps ours/],
    ['without a VTEP MAC on vxlan', { ...node2, vtepMac: undefined }, /VTEP MAC/],
  ])('ignores a peer %s, for added and updated alike', (_what, peer, reason) => {
    for (const type of ['peer-added', 'peer-updated'] as const) {
      const out = peerEventToCommands({ type, peer }, ctx);
      expect(out.kind).toBe('ignored');
      if (out.kind === 'ignored') expect(out.reason).toMatch(reason);
    }
  });

  it('the udp backend takes a peer without a VTEP MAC', () => {
    const out = peerEventToCommands(
      { type: 'peer-added', peer: { ...node2, vtepMac: undefined } },
      { ...ctx, port: 8285, needsVtepMac: false },
    );
    expect(out.kind === 'apply' && out.commands[0]).toMatchObject({ peer: { port: 8285, vtepMac: undefined } });
  });

  it("the wireguard backend passes the peer's public key on, and ignores a peer without a 32-byte one", () => {
    const wgCtx = { ...ctx, port: 51820, needsVtepMac: false, needsPublicKey: true };
    const publicKey = Buffer.alloc(32, 7);
    const ok = peerEventToCommands({ type: 'peer-added', peer: { ...node2, vtepMac: undefined, publicKey } }, wgCtx);
    expect(ok.kind === 'apply' && ok.commands[0]).toMatchObject({ peer: { port: 51820, publicKey } });
    for (const key of [undefined, Buffer.alloc(31)]) {
      const out = peerEventToCommands({ type: 'peer-added', peer: { ...node2, publicKey: key } }, wgCtx);
      expect(out.kind).toBe('ignored');
      if (out.kind === 'ignored') expect(out.reason).toMatch(/public key/);
    }
  });
});
