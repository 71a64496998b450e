// What a user of flannelette writes to test an overlay: one lab for the file, brought up and torn
// down through the library (`import { Lab } from 'flannelette'`), nothing else.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type Pod } from 'flannelette';

const here = path.dirname(fileURLToPath(import.meta.url));
const name = `st${Math.random()
  .toString(36)
  .slice(2, 7)
  .replace(/[^a-z0-9]/g, 'x')}`;
let lab: Lab;
let web: Pod;

/** One HTTP GET from the client pod to the web pod; curl's exit code and body. */
async function fetchWeb(timeoutSeconds = 2): Promise<{ exitCode: number; stdout: string }> {
  return lab.exec('client', ['curl', '-sS', '-m', String(timeoutSeconds), `http://${web.status!.podIP}/`]);
}

beforeAll(async () => {
  lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
  web = await lab.get('pod', 'web');
});

afterAll(async () => {
  await lab?.down();
});

describe('a two-node overlay', () => {
  it('a pod survives a 2-second partition', async () => {
    const before = await lab.get('pod', 'web');
    expect((await fetchWeb()).stdout).toContain('Hello from web');

    await lab.partition('node1', 'node2');
    // two pings one second apart (about 2 s): none gets through while the link is cut
    const during = await lab.exec('client', ['ping', '-c', '2', '-i', '1', '-W', '1', web.status!.podIP!]);
    expect(during.exitCode).not.toBe(0);
    expect(during.stdout).toContain('100% packet loss');
    await lab.heal('node1', 'node2');

    const reply = await lab.waitFor(async () => {
      const r = await fetchWeb();
      return r.exitCode === 0 && r.stdout;
    });
    expect(reply).toContain(`Hello from web (${web.status!.podIP})`);
    const after = await lab.get('pod', 'web');
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(
      before.status?.containerStatuses?.[0]?.restartCount,
    );
    expect(after.status?.phase).toBe('Running');
  });

  it('10% loss between nodes still delivers the HTTP response', async () => {
    await lab.impair('node1', 'node2', { loss: '10%' });
    try {
      for (let i = 0; i < 5; i++) {
        const r = await fetchWeb(20);
        expect(r.exitCode).toBe(0);
        expect(r.stdout).toContain(`Hello from web (${web.status!.podIP}); you are`);
      }
      // enough packets that the loss shows in the node's counters
      await lab.exec('client', ['ping', '-c', '200', '-i', '0.01', '-W', '1', '-q', web.status!.podIP!]);
      const stats = await lab.stats('node1');
      expect(stats.impairments.total.droppedLoss).toBeGreaterThan(0);
    } finally {
      await lab.clear('node1', 'node2');
    }
  });

  it('a capture shows VXLAN VNI 1 with the pod IPs inside', async () => {
    const client = await lab.get('pod', 'client');
    const capture = await lab.capture('node1', 'outer', { filter: 'proto icmp' });
    const ping = lab.exec('client', ['ping', '-c', '3', '-W', '2', web.status!.podIP!]);
    const packet = await capture.find((p) => p.inner?.dst === web.status!.podIP);
    expect((await ping).exitCode).toBe(0);
    const { path: pcap, packets } = await capture.stop();

    expect(packet?.outer?.udp.dstPort).toBe(8472);
    expect(packet?.outer?.vxlan?.vni).toBe(1);
    expect(packet?.outer?.ip).toMatchObject({ src: '192.168.1.2', dst: '192.168.1.3' });
    expect(packet?.inner).toMatchObject({ src: client.status!.podIP, dst: web.status!.podIP, protocol: 1 });
    expect(packets).toBeGreaterThan(0);
    // and tshark, told that flannel's port is VXLAN, reads the same out of the file
    const fields = execFileSync(
      'tshark',
      ['-r', pcap, '-d', 'udp.port==8472,vxlan', '-T', 'fields', '-e', 'vxlan.vni', '-e', 'ip.src', '-e', 'ip.dst'],
      { encoding: 'utf8' },
    );
    expect(fields).toContain(`1\t192.168.1.2,${client.status!.podIP}\t192.168.1.3,${web.status!.podIP}`);
  });
});
