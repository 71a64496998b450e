// `flannelette node --netns`: two agents started from the root namespace, one into a namespace by
// name (ip netns add) and one by path (/proc/PID/ns/net of a process in a namespace made by
// `unshare --net`, as for podman or systemd-nspawn): their TUN devices are in those namespaces (none
// in the root namespace), ping crosses the overlay between them, SIGTERM to the command stops the
// agent inside (TUN removed, exit 0); a namespace that does not exist is one line and exit 2.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupNetns, createNetns, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, CLI, run, waitFor } from '../../helpers/live-lab.js';
import { Node } from '../../../src/api/index.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'flt-netnsflag';
const skip = requireRootOrSkip('node --netns') || requireOrSkip(built(), 'node --netns: build first (npm run build)');
let a: Netns;
let holder: ChildProcess; // `unshare --net sleep`: its namespace has no name, only /proc/PID/ns/net
let stateDir: string;
const agents: ChildProcess[] = [];

const inHolder = (args: string[]) =>
  spawnSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, ...args], { encoding: 'utf8' });

function startAgent(name: string, netns: string, ip: string, subnet: string, peer: string): ChildProcess {
  const child = spawn(
    CLI,
    ['node', '--netns', netns, '--name', name, '--state-dir', stateDir, '--public-ip', ip, '--subnet', subnet]
      .concat(['--network', '10.251.0.0/16', '--vtep-mac', `0e:00:00:00:0${name.slice(-1)}:01`, '--peer', peer])
      .concat(['--log-level', 'warn']),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  agents.push(child);
  return child;
}

describe.skipIf(skip)('flannelette node --netns', () => {
  beforeAll(async () => {
    stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-netnsflag-'));
    a = await createNetns(PREFIX);
    holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
    await waitFor(
      'the unshare holder',
      () => fs.readlinkSync(`/proc/${holder.pid}/ns/net`) !== fs.readlinkSync('/proc/self/ns/net'),
    );
    // the underlay: a veth from namespace a into the holder's namespace
    await a.ip('link', 'add', 'ul0', 'type', 'veth', 'peer', 'name', 'ul0', 'netns', String(holder.pid));
    await a.ip('addr', 'add', '192.168.78.1/24', 'dev', 'ul0');
    await a.ip('link', 'set', 'ul0', 'up');
    for (const args of [
      ['addr', 'add', '192.168.78.2/24', 'dev', 'ul0'],
      ['link', 'set', 'ul0', 'up'],
      ['link', 'set', 'lo', 'up'],
    ])
      expect(inHolder(['ip', ...args]).status).toBe(0);
  });
  afterAll(async () => {
    for (const c of agents) if (c.exitCode === null) c.kill('SIGKILL');
    holder?.kill();
    await cleanupNetns(PREFIX);
    fs.rmSync(stateDir, { recursive: true, force: true });
  });

  it('agents run inside a named and a /proc/PID/ns/net namespace and reach each other over the overlay', async () => {
    const n1 = startAgent(
      'n1',
      a.name,
      '192.168.78.1',
      '10.251.1.0/24',
      'name=n2,ip=192.168.78.2,subnet=10.251.2.0/24,mac=0e:00:00:00:02:01',
    );
    const n2 = startAgent(
      'n2',
      `/proc/${holder.pid}/ns/net`,
      '192.168.78.2',
      '10.251.2.0/24',
      'name=n1,ip=192.168.78.1,subnet=10.251.1.0/24,mac=0e:00:00:00:01:01',
    );
    for (const n of ['n1', 'n2'])
      await waitFor(`${n} answering`, () => Node.attach(n, path.join(stateDir, `${n}.sock`)).status(), 30_000);
    expect((await a.ip('-o', 'addr', 'show', 'dev', 'flannel.1')).stdout).toContain('10.251.1.0/32');
    expect(inHolder(['ip', '-o', 'addr', 'show', 'dev', 'flannel.1']).stdout).toContain('10.251.2.0/32');
    expect(spawnSync('ip', ['link', 'show', 'flannel.1']).status).not.toBe(0); // nothing in the root namespace
    const ping = await a.exec('ping', ['-c', '2', '-W', '2', '10.251.2.0']);
    expect(ping.stdout).toContain('2 received');

    // SIGTERM to the command: the agent inside stops, removes its TUN device, exit 0
    const exited = new Promise<number | null>((r) => n2.once('exit', (code) => r(code)));
    n2.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(inHolder(['ip', 'link', 'show', 'flannel.1']).status).not.toBe(0);
    const exited1 = new Promise<number | null>((r) => n1.once('exit', (code) => r(code)));
    n1.kill('SIGINT');
    expect(await exited1).toBe(0);
  });

  it('a namespace that does not exist: one line naming it, exit 2', async () => {
    for (const [netns, text] of [
      ['flt-netnsflag-none', 'no network namespace of that name'],
      ['/proc/999999999/ns/net', 'no such file'],
    ]) {
      const r = await run(CLI, [
        'node',
        '--netns',
        netns,
        '--name',
        'x',
        '--cluster',
        'examples/cluster-two-nodes.yaml',
      ]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toEqual([expect.stringContaining(`--netns ${netns}: ${text}`)]);
    }
  });
});
