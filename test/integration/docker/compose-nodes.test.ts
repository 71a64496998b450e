// Nodes in Docker: examples/docker (Dockerfile, compose.yaml, cluster.yaml, stage-rootfs.sh) with the
// real Docker — a private dockerd (Debian's docker.io) inside a network namespace this test made,
// and Debian's docker-compose 1.29 against its socket, so compose's bridge and addresses live in that
// namespace and never in the root namespace. The image is built from this machine (no registry);
// three node containers form a vxlan overlay; ping and HTTP cross it between the nodes' overlay
// addresses; `flannelette capture` on a node's control socket (bind-mounted from the host) and
// tcpdump on the compose bridge both give captures that tshark decodes as VXLAN VNI 1 with the
// overlay addresses inside; `docker-compose down --rmi all` leaves no container, network or image.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../../../src/api/index.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, CLI, ROOT, run, waitFor } from '../../helpers/live-lab.js';
import { haveDockerd, startPrivateDockerd, type PrivateDockerd } from '../../helpers/private-dockerd.js';

const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg], { stdio: 'ignore' }).status === 0;
const skip =
  requireRootOrSkip('docker compose nodes') ||
  requireOrSkip(built(), 'docker compose nodes: build first (npm run build)') ||
  requireOrSkip(
    haveDockerd() && has('docker'),
    'docker compose nodes: needs dockerd and docker (apt install docker.io)',
  ) ||
  requireOrSkip(
    has('docker-compose', 'version'),
    'docker compose nodes: needs docker-compose (apt install docker-compose)',
  ) ||
  requireOrSkip(has('tshark', '-v') && has('tcpdump'), 'docker compose nodes: needs tshark and tcpdump');

const EXAMPLE = path.join(ROOT, 'examples/docker');
const NODES = ['node1', 'node2', 'node3'];
const OVERLAY: Record<string, string> = { node1: '10.244.1.0', node2: '10.244.2.0', node3: '10.244.3.0' };
const project = `fltdkc${process.pid.toString(36)}`;
let dockerd: PrivateDockerd;
let dir: string;
const rootLinksBefore = rootLinks();

function rootLinks(): string[] {
  return spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(':')[1]?.trim().split('@')[0])
    .filter((n): n is string => !!n)
    .sort();
}

const compose = (args: string[], timeoutMs = 180_000) =>
  run('docker-compose', ['-p', project, '-f', path.join(dir, 'compose.yaml'), ...args], {
    env: dockerd.env as Record<string, string>,
    cwd: dir,
    timeoutMs,
  });
const inNode = (node: string, argv: string[]) => compose(['exec', '-T', node, ...argv], 30_000);

/** tshark's fields of every VXLAN frame in a pcap: [outer src, outer dst, vni, inner src, inner dst, proto]. */
function vxlanRows(pcap: string): string[][] {
  const r = spawnSync(
    'tshark',
    ['-r', pcap, '-d', 'udp.port==8472,vxlan', '-Y', 'vxlan', '-T', 'fields', '-E', 'separator=;'].concat([
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'vxlan.vni',
      '-e',
      'ip.proto',
    ]),
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`tshark -r ${pcap}: ${r.stderr.trim()}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [src, dst, vni, proto] = line.split(';');
      const [osrc, isrc] = src.split(',');
      const [odst, idst] = dst.split(',');
      return [osrc, odst, vni, isrc, idst, proto.split(',')[1] ?? proto];
    });
}

describe.skipIf(skip)('nodes in Docker: examples/docker with compose', () => {
  beforeAll(async () => {
    dockerd = await startPrivateDockerd('flt-dkc');
    dir = path.join(dockerd.dir, 'project');
    fs.mkdirSync(dir);
    for (const f of ['compose.yaml', 'Dockerfile', 'cluster.yaml', '.dockerignore'])
      fs.copyFileSync(path.join(EXAMPLE, f), path.join(dir, f));
    const staged = await run(path.join(EXAMPLE, 'stage-rootfs.sh'), [path.join(dir, 'rootfs')]);
    expect(staged.code, staged.err).toBe(0);
    const up = await compose(['up', '-d', '--build'], 240_000);
    expect(up.code, up.err).toBe(0);
    for (const node of NODES) {
      const socket = path.join(dir, 'run', node, `${node}.sock`);
      await waitFor(`${node}'s agent ready with 2 peers`, async () => {
        const s = (await Node.attach(node, socket).status()) as { peers?: unknown[] };
        return s.peers?.length === 2;
      });
    }
  }, 300_000);

  afterAll(async () => {
    if (!dockerd) return;
    try {
      if (dir) {
        const down = await compose(['down', '--rmi', 'all', '-v']);
        expect(down.code, down.err).toBe(0);
        expect(dockerd.docker(['ps', '-aq']).out.trim()).toBe('');
        expect(dockerd.docker(['images', '-q']).out.trim()).toBe('');
        expect(dockerd.docker(['network', 'ls', '--filter', `name=${project}`, '-q']).out.trim()).toBe('');
      }
    } finally {
      await dockerd.stop();
    }
    expect(fs.existsSync(dockerd.dir)).toBe(false);
    expect(rootLinks()).toEqual(rootLinksBefore);
  }, 120_000);

  it("compose's bridge and addresses are in the test's namespace, not the root namespace", async () => {
    const inNs = await dockerd.netns.ip('-o', 'addr', 'show');
    expect(inNs.stdout).toMatch(/br-[0-9a-f]+\s+inet 192\.168\.250\.1\/24/);
    expect(rootLinks()).toEqual(rootLinksBefore);
    const rootAddrs = spawnSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).stdout;
    expect(rootAddrs).not.toContain('192.168.250.');
  });

  it('ping and HTTP cross the overlay between the node containers', async () => {
    for (const [from, to] of [
      ['node1', 'node2'],
      ['node2', 'node3'],
      ['node3', 'node1'],
    ]) {
      const ping = await inNode(from, ['ping', '-c', '2', '-W', '3', OVERLAY[to]]);
      expect(ping.code, `${from} → ${to}: ${ping.out}${ping.err}`).toBe(0);
      expect(ping.out).toContain(`64 bytes from ${OVERLAY[to]}`);
    }
    // an HTTP server on node2's overlay address; node3 fetches from it through the overlay
    expect((await inNode('node2', ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html'])).code).toBe(0);
    expect((await inNode('node2', ['httpd', '-p', `${OVERLAY.node2}:8080`, '-h', '/www'])).code).toBe(0);
    const got = await waitFor('HTTP from node3 to node2 over the overlay', async () => {
      // (no -T: busybox 1.35's wget crashes on it)
      const r = await inNode('node3', ['wget', '-qO-', `http://${OVERLAY.node2}:8080/`]);
      return r.code === 0 && r.out;
    });
    expect(got).toBe('node2\n');
    // node2's agent counted the traffic from and to node3 (its TUN and UDP socket carried it)
    const { peers } = await Node.attach('node2', path.join(dir, 'run/node2/node2.sock')).stats();
    const node3 = peers.find((p) => p.name === 'node3');
    expect(node3?.rxPackets).toBeGreaterThan(0);
    expect(node3?.txPackets).toBeGreaterThan(0);
  });

  it('flannelette capture on a node and tcpdump on the compose bridge: tshark decodes VXLAN VNI 1', async () => {
    const pcap = path.join(dockerd.dir, 'node1-outer.pcap');
    const wire = path.join(dockerd.dir, 'bridge.pcap');
    const socket = path.join(dir, 'run/node1/node1.sock');
    const capture = spawn(CLI, ['capture', socket, '--point', 'outer', '--filter', 'proto icmp', '-w', pcap], {
      stdio: 'ignore',
    });
    const captureEnded = new Promise((resolve) => capture.once('exit', resolve));
    const bpf = ['udp', 'port', '8472', 'and', 'host', '192.168.250.11'];
    const tcpdump = run(
      'ip',
      ['netns', 'exec', dockerd.netns.name, 'tcpdump', '-i', 'any', '-U', '-c', '8', '-w', wire, ...bpf],
      {
        timeoutMs: 60_000,
      },
    );
    try {
      // both capturers are listening once a ping's frames show up in both files; ping until they do
      await waitFor('4 VXLAN frames in both captures', async () => {
        await inNode('node1', ['ping', '-c', '1', '-W', '2', OVERLAY.node2]);
        return fs.existsSync(pcap) && fs.existsSync(wire) && vxlanRows(pcap).length >= 4 && vxlanRows(wire).length >= 4;
      });
      expect((await tcpdump).code).toBe(0);
    } finally {
      capture.kill('SIGTERM'); // the capture writes as it goes; SIGTERM ends it cleanly
      await captureEnded;
    }
    for (const file of [pcap, wire]) {
      const rows = vxlanRows(file);
      expect(rows).toContainEqual(['192.168.250.11', '192.168.250.12', '1', OVERLAY.node1, OVERLAY.node2, '1']);
      expect(rows).toContainEqual(['192.168.250.12', '192.168.250.11', '1', OVERLAY.node2, OVERLAY.node1, '1']);
    }
  });
});
