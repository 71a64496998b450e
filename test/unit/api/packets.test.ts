// decodePacket on the demo's captures (pcaps/examples: real VXLAN and udp-backend frames) and on
// truncated bytes; impairFieldsOf and nodeArgs (the library's option translation); the CLI's -o json envelope.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodePacket } from '../../../src/api/packets.js';
import { impairFieldsOf } from '../../../src/api/agent-client.js';
import { inNetns, nodeArgs } from '../../../src/api/node.js';
import { readPcap } from '../../../src/capture/pcap.js';
import { outputFormat, versioned } from '../../../src/cli/output.js';
import { ConfigError } from '../../../src/util/errors.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function firstOuter(dir: string): { data: Buffer; linktype: number } {
  const file = fs.readdirSync(path.join(ROOT, 'pcaps/examples', dir)).find((f) => f.includes('outer'))!;
  const pcap = readPcap(fs.readFileSync(path.join(ROOT, 'pcaps/examples', dir, file)));
  return { data: pcap.records[0].data, linktype: pcap.linktype };
}

describe('decodePacket', () => {
  it('decodes a VXLAN frame: outer Ethernet/IPv4/UDP 8472, VNI, inner IPv4 and transport', () => {
    const { data, linktype } = firstOuter('vxlan');
    const p = decodePacket(data, linktype, 1n, data.length);
    expect(p.point).toBe('outer');
    expect(p.outer?.udp.dstPort).toBe(8472);
    expect(p.outer?.vxlan?.vni).toBe(1);
    expect(p.inner?.src).toMatch(/^10\.244\./);
    expect(p.inner?.dst).toMatch(/^10\.244\./);
    expect(p.headers[0]).toMatch(/^Ethernet /);
    expect(p.headers).toContain('VXLAN VNI 1');
  });

  it('decodes the udp backend (IP in UDP 8285) and never throws on truncated bytes', () => {
    const { data, linktype } = firstOuter('udp');
    const p = decodePacket(data, linktype, 0n, data.length);
    expect(p.outer?.udp.dstPort).toBe(8285);
    expect(p.outer?.vxlan).toBeUndefined();
    expect(p.inner?.src).toMatch(/^10\.244\./);
    for (let n = 0; n < data.length; n += 7) {
      const cut = decodePacket(data.subarray(0, n), linktype, 0n, data.length);
      expect(cut.inner === undefined || typeof cut.inner.src === 'string').toBe(true);
    }
    expect(decodePacket(Buffer.alloc(0), 101, 0n, 0).inner).toBeUndefined();
  });
});

describe('the library options', () => {
  it('impairFieldsOf: numbers get their units, strings pass through', () => {
    expect(impairFieldsOf({ delay: 20, loss: 1.5, rate: '10mbit', jitter: '5ms', queue: 100 })).toEqual({
      delay: '20ms',
      loss: '1.5%',
      rate: '10mbit',
      jitter: '5ms',
      queue: '100',
    });
  });

  it('nodeArgs and inNetns', () => {
    const args = nodeArgs(
      {
        name: 'n1',
        publicIp: '192.168.1.2',
        subnet: '10.244.1.0/24',
        network: '10.244.0.0/16',
        peers: [{ name: 'n2', publicIp: '192.168.1.3', subnet: '10.244.2.0/24', vtepMac: '0e:00:00:00:02:01' }],
        impair: { lossBurst: 'p=1% r=30%' },
      },
      '/tmp/s',
    );
    expect(args).toContain('name=n2,ip=192.168.1.3,subnet=10.244.2.0/24,mac=0e:00:00:00:02:01');
    expect(args.slice(args.indexOf('--loss-burst'), args.indexOf('--loss-burst') + 2)).toEqual([
      '--loss-burst',
      'p=1% r=30%',
    ]);
    expect(() => nodeArgs({ name: 'x', subnet: '10.0.0.0/24' }, '/tmp/s')).toThrow(ConfigError);
    expect(inNetns('flt-x', ['a'])).toEqual(['ip', 'netns', 'exec', 'flt-x', 'a']);
    expect(inNetns('/proc/self/ns/net', ['a'])).toEqual(['nsenter', '--net=/proc/self/ns/net', '--', 'a']);
    expect(inNetns(undefined, ['a'])).toEqual(['a']);
  });
});

describe('-o json', () => {
  it('wraps objects and lists in the versioned envelope; refuses other formats', () => {
    expect(versioned('NodeStatus', { name: 'n1' })).toEqual({
      apiVersion: 'flannelette.io/v1',
      kind: 'NodeStatus',
      name: 'n1',
    });
    expect(versioned('RouteList', [1])).toEqual({ apiVersion: 'flannelette.io/v1', kind: 'RouteList', items: [1] });
    expect(outputFormat({ output: 'json' })).toBe('versioned');
    expect(outputFormat({ json: true })).toBe('bare');
    expect(outputFormat({})).toBe('text');
    expect(() => outputFormat({ output: 'yaml' })).toThrow(ConfigError);
  });
});
