import { describe, expect, it } from 'vitest';
import { describeFrame, parseWireFields, sideBySide } from '../../../src/lab/demo-wire.js';
import { hostGwLabName, statusPods } from '../../../src/lab/demo-host-gw.js';
import { LAB_NAME_RE } from '../../../src/lab/names.js';

describe("the demo's view of the underlay switch", () => {
  it('parses tshark fields of a VXLAN frame (outer and inner IP) and of a plain one', () => {
    const text =
      '148\t192.168.1.3,10.244.2.3\t192.168.1.2,10.244.1.4\t8472\t1\t8\n' + '98\t10.244.1.2\t10.244.2.2\t\t\t0\n\n';
    expect(parseWireFields(text)).toEqual([
      {
        len: 148,
        ips: [
          { src: '192.168.1.3', dst: '192.168.1.2' },
          { src: '10.244.2.3', dst: '10.244.1.4' },
        ],
        udpDstPort: 8472,
        vni: 1,
        icmpType: 8,
      },
      { len: 98, ips: [{ src: '10.244.1.2', dst: '10.244.2.2' }], udpDstPort: undefined, vni: undefined, icmpType: 0 },
    ]);
  });

  it('describes an encapsulated and a plain frame, and a missing one', () => {
    const [vx, hg] = parseWireFields(
      '148\t1.1.1.1,10.0.1.2\t1.1.1.2,10.0.2.2\t8472\t1\t8\n98\t10.0.1.2\t10.0.2.2\t\t\t8\n',
    );
    expect(describeFrame(vx)).toEqual([
      'IP 1.1.1.1 > 1.1.1.2',
      'UDP port 8472, VXLAN VNI 1',
      'ICMP echo request 10.0.1.2 > 10.0.2.2 (inside)',
      '148 bytes on the wire',
    ]);
    expect(describeFrame(hg)).toEqual([
      'IP 10.0.1.2 > 10.0.2.2',
      'no UDP, no VXLAN: the pod packet itself',
      'ICMP echo request 10.0.1.2 > 10.0.2.2',
      '98 bytes on the wire',
    ]);
    expect(describeFrame(undefined)).toEqual(['(no frame captured)']);
  });

  it('lays two columns side by side, the left padded past its longest line', () => {
    const out = sideBySide({ title: 'left', lines: ['a', 'bb'] }, { title: 'right', lines: ['x'] }, 6);
    expect(out).toEqual(['left   right', '----   -----', 'a      x', 'bb']);
  });

  it('names the host-gw lab next to the demo lab validly and never the same', () => {
    expect(hostGwLabName('demo')).toBe('demohg');
    for (const name of ['abcdefghijklmnop', 'abcdefghijklmnhg', 'a']) {
      const hg = hostGwLabName(name);
      expect(hg).toMatch(LAB_NAME_RE);
      expect(hg).not.toBe(name);
    }
  });

  it("reads the pods table of a static lab's status", () => {
    const status = [
      'lab x (host-gw backend)',
      '',
      'NAME    STATUS   SUBNET          PUBLIC-IP     TUN   MTU    PEERS   AGE',
      'node1   Ready    10.244.1.0/24   192.168.1.2   -     1500   1       0s',
      '',
      'NAME     READY   STATUS    RESTARTS   AGE   IP           NODE',
      'web      1/1     Running   0          1s    10.244.2.2   node2',
      'client   1/1     Running   0          1s    10.244.1.2   node1',
      '',
    ].join('\n');
    expect(statusPods(status).map((r) => [r['NAME'], r['IP'], r['NODE']])).toEqual([
      ['web', '10.244.2.2', 'node2'],
      ['client', '10.244.1.2', 'node1'],
    ]);
    expect(statusPods('nothing')).toEqual([]);
  });
});
