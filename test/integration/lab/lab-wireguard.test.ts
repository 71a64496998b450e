// A lab with `backend: wireguard` (examples/three-nodes-wireguard.yaml) through the built CLI: each
// node gets a 0600 key file, the cluster file carries the public keys, pods on different nodes
// reach each other over the encrypted overlay, the nodes report completed handshakes, and `lab
// down` leaves no namespace behind. The lab has a random name and is removed in afterAll.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { rpcCall } from '../../../src/util/rpc.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const built = fs.existsSync(path.join(ROOT, 'dist/src/cli/main.js'));
const skip = requireRootOrSkip('wireguard lab') || requireOrSkip(built, 'wireguard lab: build first (npm run build)');
const lab = `wg${Math.random()
  .toString(36)
  .slice(2, 8)
  .replace(/[^a-z0-9]/g, 'x')}`;
const labDir = `/run/flannelette/labs/${lab}`;

function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out, err });
    });
  });
}

const netnsOf = (): string[] =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`flt-${lab}-`));

describe.skipIf(skip)('a lab with the wireguard backend', () => {
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
  });

  it('comes up with key files and public keys, carries pod traffic encrypted, and goes away cleanly', async () => {
    const up = await cli([
      'lab',
      'up',
      '--static',
      path.join(ROOT, 'examples/three-nodes-wireguard.yaml'),
      '--name',
      lab,
    ]);
    expect(up.code, up.err).toBe(0);
    for (const node of ['node1', 'node2', 'node3']) {
      expect(fs.statSync(path.join(labDir, 'run', `${node}.wg-key`)).mode & 0o777).toBe(0o600);
    }
    const cluster = fs.readFileSync(path.join(labDir, 'cluster.yaml'), 'utf8');
    expect(cluster.match(/publicKey: [A-Za-z0-9+/]{43}=/g)).toHaveLength(3);
    const status = await cli(['lab', 'status', '--name', lab]);
    expect(status.out).toMatch(/node3\s+Ready\s+10\.244\.3\.0\/24\s+192\.168\.1\.4\s+flannel-wg\s+1420/);
    // client (node1) → the web pod on node3, and a web pod on node3 → node2's
    const ping1 = await cli(['lab', 'exec', 'client', '--name', lab, '--', 'ping', '-c', '2', '-W', '2', '10.244.3.2']);
    expect(ping1.out).toContain('2 received');
    const web3 = /^(web-\S+)\s.*node3$/m.exec(status.out)![1];
    const ping2 = await cli(['lab', 'exec', web3, '--name', lab, '--', 'ping', '-c', '2', '-W', '2', '10.244.2.2']);
    expect(ping2.out).toContain('2 received');
    const s3 = (await rpcCall(path.join(labDir, 'run', 'node3.sock'), 'status')) as {
      wireguard: { handshakesCompleted: number };
    };
    expect(s3.wireguard.handshakesCompleted).toBe(2);
    // node1's first packet to node3 waited for the handshake: it still counts as sent, once each way
    const s1 = (await rpcCall(path.join(labDir, 'run', 'node1.sock'), 'status')) as {
      peers: Array<{ name: string; txPackets: number; rxPackets: number }>;
    };
    expect(s1.peers.find((p) => p.name === 'node3')).toMatchObject({ txPackets: 2, rxPackets: 2 });
    const down = await cli(['lab', 'down', '--name', lab]);
    expect(down.code, down.err).toBe(0);
    expect(netnsOf()).toEqual([]);
  });
});
