// The diagram and the rates, without a lab: what renderDiagram draws for healthy, impaired and
// partitioned links and for an unhealthy node or pod; withRates against a previous snapshot; the
// static page wraps the same SVG; the SVG is well-formed XML (parsed by Chromium's XML parser in
// the browser test; here checked for balanced tags and escaped text).
import { describe, expect, it } from 'vitest';
import { formatRate, renderDiagram } from '../../../src/labview/diagram.js';
import { livePage, staticPage } from '../../../src/labview/page.js';
import { withRates, type LabSnapshot, type LinkView } from '../../../src/labview/snapshot.js';

const counters = (n: number) => ({ txPackets: n, txBytes: n * 100, rxPackets: n, rxBytes: n * 100 });

function snapshot(at: number, packets: number, link: Partial<LinkView> = {}): LabSnapshot {
  const node = (name: string, ip: string, subnet: string) => ({
    name,
    publicIp: ip,
    subnet,
    tun: 'flannel.1',
    health: 'Ready',
    counters: { ...counters(packets), drops: 1, dropReasons: { 'no-route': 1 } },
    impairDrops: 0,
    peers: {},
  });
  return {
    lab: 'demo',
    backend: 'vxlan',
    network: '10.244.0.0/16',
    underlay: '192.168.1.0/24',
    at,
    nodes: [
      node('node1', '192.168.1.2', '10.244.1.0/24'),
      node('node2', '192.168.1.3', '10.244.2.0/24'),
      node('node3', '192.168.1.4', '10.244.3.0/24'),
    ],
    pods: [
      { name: 'busybox', ip: '10.244.1.3', node: 'node1', status: 'Running', ready: '1/1', containers: ['busybox'] },
      { name: 'web<1>', ip: '10.244.2.2', node: 'node2', status: 'Terminated', ready: '0/1', containers: ['http'] },
    ],
    links: [
      {
        id: 'node1|node2',
        a: 'node1',
        b: 'node2',
        partitioned: false,
        impairment: '',
        aToB: counters(packets),
        bToA: counters(packets / 2),
        ...link,
      },
      {
        id: 'node1|node3',
        a: 'node1',
        b: 'node3',
        partitioned: false,
        impairment: '',
        aToB: counters(0),
        bToA: counters(0),
      },
      {
        id: 'node2|node3',
        a: 'node2',
        b: 'node3',
        partitioned: false,
        impairment: '',
        aToB: counters(0),
        bToA: counters(0),
      },
    ],
  };
}

describe('renderDiagram', () => {
  it('draws the switch, every node with public IP, subnet and TUN, pods with IPs, one arc per node pair', () => {
    const svg = renderDiagram(snapshot(0, 0));
    expect(svg).toContain('underlay switch br0 · 192.168.1.0/24');
    for (const s of ['192.168.1.2 · 10.244.1.0/24', '192.168.1.4 · 10.244.3.0/24', '10.244.1.3', '10.244.2.2'])
      expect(svg).toContain(s);
    expect(svg.match(/class="uplink"/g)).toHaveLength(3);
    expect(svg.match(/<g class="link ok" data-link=/g)).toHaveLength(3);
    expect(svg).toContain('web&lt;1&gt;'); // names are escaped
    expect(svg).toMatch(/<g class="pod bad" data-pod="web&lt;1&gt;">/);
    // balanced groups
    expect(svg.match(/<g /g)!.length).toBe(svg.match(/<\/g>/g)!.length);
  });

  it('marks impaired and partitioned links', () => {
    const impaired = renderDiagram(snapshot(0, 0, { impairment: 'delay 20ms loss 1%' }));
    expect(impaired).toMatch(
      /<g class="link impaired" data-link="node1\|node2">[\s\S]*?data-field="note"[^>]*>delay 20ms loss 1%</,
    );
    const cut = renderDiagram(snapshot(0, 0, { partitioned: true }));
    expect(cut).toMatch(/<g class="link partitioned" data-link="node1\|node2">[\s\S]*?>✕ partitioned</);
  });

  it('shows rates once there are two snapshots', () => {
    const r = withRates(snapshot(1000, 10), snapshot(3000, 30));
    expect(r.rates!.links['node1|node2']).toEqual({ aToB: { pps: 10, bps: 1000 }, bToA: { pps: 5, bps: 500 } });
    expect(r.rates!.links['node1|node3']).toEqual({ aToB: { pps: 0, bps: 0 }, bToA: { pps: 0, bps: 0 } });
    expect(renderDiagram(r)).toContain('<tspan data-field="rate-ab">10 pkt/s 1.0 kB/s</tspan>');
    // no previous snapshot, or counters that went back (a restarted agent): zero, never negative
    expect(withRates(undefined, snapshot(0, 5)).rates!.links['node1|node2'].aToB).toEqual({ pps: 0, bps: 0 });
    expect(withRates(snapshot(0, 50), snapshot(1000, 5)).rates!.links['node1|node2'].aToB).toEqual({ pps: 0, bps: 0 });
  });

  it('formatRate', () => {
    expect(formatRate(undefined)).toBe('–');
    expect(formatRate({ pps: 2.5, bps: 250 })).toBe('2.5 pkt/s 250 B/s');
    expect(formatRate({ pps: 12345.6, bps: 18_500_000 })).toBe('12346 pkt/s 18.5 MB/s');
  });

  it('the pages wrap the same diagram; the live one loads only /app.js', () => {
    const s = snapshot(0, 0);
    const svg = renderDiagram(s);
    expect(staticPage(s)).toContain(svg);
    expect(staticPage(s)).not.toContain('<script');
    const live = livePage(s);
    expect(live).toContain(svg);
    expect(live.match(/<script[^>]*>/g)).toEqual(['<script type="module" src="/app.js">']);
    expect(live).toContain('<option>node3/outer</option>');
  });
});
