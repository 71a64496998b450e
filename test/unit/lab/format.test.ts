import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { clusterFileText } from '../../../src/lab/cluster-file.js';
import { createProgress } from '../../../src/lab/progress.js';
import { formatNodes, formatPods, podStatusWord } from '../../../src/lab/status.js';
import { hasLabCapabilities, requireLabPrivileges } from '../../../src/lab/sys.js';
import { parseTopology } from '../../../src/lab/topology.js';
import { parse } from 'yaml';

describe('kubectl-style tables', () => {
  it('pads columns by three spaces and leaves no trailing space', () => {
    const text = formatPods([
      {
        name: 'busybox',
        ready: 1,
        total: 1,
        status: 'Running',
        restarts: 0,
        ageSeconds: 20,
        ip: '10.244.1.4',
        node: 'node1',
      },
      {
        name: 'nginx-9b644dcd5-974h6',
        ready: 1,
        total: 2,
        status: 'NotReady',
        restarts: 0,
        ageSeconds: 151,
        ip: '10.244.1.3',
        node: 'node1',
      },
    ]);
    expect(text.split('\n')).toEqual([
      'NAME                    READY   STATUS     RESTARTS   AGE     IP           NODE',
      'busybox                 1/1     Running    0          20s     10.244.1.4   node1',
      'nginx-9b644dcd5-974h6   1/2     NotReady   0          2m31s   10.244.1.3   node1',
    ]);
    for (const line of text.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('node table shows subnet, public IP, TUN and health', () => {
    const text = formatNodes([
      {
        name: 'node1',
        health: 'unreachable',
        subnet: '10.244.1.0/24',
        publicIp: '192.168.1.2',
        tun: 'flannel.1',
        mtu: '-',
        peers: '-',
        ageSeconds: 5,
      },
    ]);
    expect(text.split('\n')[0]).toBe(
      'NAME    STATUS        SUBNET          PUBLIC-IP     TUN         MTU   PEERS   AGE',
    );
    expect(text).toContain('unreachable');
  });

  it('pod status words', () => {
    expect(podStatusWord(2, 2, true)).toBe('Running');
    expect(podStatusWord(1, 2, true)).toBe('NotReady');
    expect(podStatusWord(0, 2, true)).toBe('Terminated');
    expect(podStatusWord(2, 2, false)).toBe('Missing');
  });
});

describe('cluster file', () => {
  it('is the static membership format, with VTEP MACs for vxlan only', () => {
    const base =
      'name: x\nnodes:\n  - { name: node1, publicIp: 192.168.1.2 }\n  - { name: node2, publicIp: 192.168.1.3 }\n';
    const text = clusterFileText(parseTopology(base));
    expect(text).toContain(
      '  - { name: node1, publicIp: 192.168.1.2, subnet: 10.244.1.0/24, vtepMac: 0e:00:00:00:01:01 }',
    );
    expect(parse(text)).toEqual({
      network: '10.244.0.0/16',
      backend: { type: 'vxlan', vni: 1, port: 8472 },
      nodes: [
        { name: 'node1', publicIp: '192.168.1.2', subnet: '10.244.1.0/24', vtepMac: '0e:00:00:00:01:01' },
        { name: 'node2', publicIp: '192.168.1.3', subnet: '10.244.2.0/24', vtepMac: '0e:00:00:00:02:01' },
      ],
    });
    const udp = parse(clusterFileText(parseTopology(`${base}backend: { type: udp }\n`))) as {
      backend: unknown;
      nodes: unknown[];
    };
    expect(udp.backend).toEqual({ type: 'udp', port: 8285 });
    expect(udp.nodes[0]).toEqual({ name: 'node1', publicIp: '192.168.1.2', subnet: '10.244.1.0/24' });
  });
});

describe('privileges', () => {
  it('needs CAP_NET_ADMIN and CAP_SYS_ADMIN', () => {
    expect(hasLabCapabilities('CapEff:\t000001ffffffffff\n')).toBe(true);
    expect(hasLabCapabilities('CapEff:\t0000000000000000\n')).toBe(false);
    expect(hasLabCapabilities('CapEff:\t0000000000001000\n')).toBe(false); // NET_ADMIN only
    expect(hasLabCapabilities('CapEff:\t0000000000201000\n')).toBe(true);
    expect(hasLabCapabilities('')).toBe(false);
    expect(() => requireLabPrivileges('CapEff:\t0000000000000000\n')).toThrow(
      /the lab needs root \(or CAP_NET_ADMIN and CAP_SYS_ADMIN\)/,
    );
    try {
      requireLabPrivileges('');
    } catch (err) {
      expect((err as Error).name).toBe('PermissionError');
    }
  });
});

describe('progress', () => {
  it('piped: plain numbered lines', () => {
    const s = new PassThrough();
    let out = '';
    s.on('data', (c) => (out += String(c)));
    const p = createProgress(s, false);
    p.total(2);
    p.step('creating namespaces');
    p.info('note');
    p.step('starting agents');
    p.end();
    expect(out).toBe('[1/2] creating namespaces\nnote\n[2/2] starting agents\n');
  });

  it('terminal: redraws one line and clears it at the end', () => {
    const s = new PassThrough();
    let out = '';
    s.on('data', (c) => (out += String(c)));
    const p = createProgress(s, true);
    p.total(1);
    p.step('working');
    p.end();
    // eslint-disable-next-line no-control-regex -- the ANSI erase-line escape (ESC [K) is what is tested
    expect(out).toMatch(/^\r\x1b\[K. \[1\/1\] working\r\x1b\[K$/);
  });
});
