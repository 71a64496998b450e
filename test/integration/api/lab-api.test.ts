// The library's Lab on one live lab (from a topology object), and every read command's `-o json`
// parsed against the same lab: typed get, exec (stdin, exit codes, stderr, timeouts, nodes),
// waitFor (conditions, predicates, TimeoutError), typed errors, capture at both points, stats,
// check, node stop/start, attach/detach of an `unshare --net` namespace as a pod, and the CLI's
// versioned JSON documents (and `-o yaml` refused, exit 2).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, KubeApiError, Lab, RpcError, TimeoutError } from '../../../src/api/index.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, cli, labName, leftovers } from '../../helpers/live-lab.js';

const skip = requireRootOrSkip('library Lab') || requireOrSkip(built(), 'library Lab: build first (npm run build)');
const name = labName('ap');
let lab: Lab;
let webIp: string;
let clientIp: string;
let holder: ChildProcess | undefined;

const topology = {
  name: 'apitest',
  network: '10.244.0.0/16',
  backend: { type: 'vxlan', vni: 1, port: 8472 },
  underlay: '192.168.1.0/24',
  nodes: [
    { name: 'node1', publicIp: '192.168.1.2', subnet: '10.244.1.0/24' },
    { name: 'node2', publicIp: '192.168.1.3', subnet: '10.244.2.0/24' },
  ],
  pods: [
    { name: 'web', node: 'node2', containers: [{ name: 'web', program: 'http' }] },
    {
      name: 'client',
      node: 'node1',
      containers: [
        { name: 'main', program: 'sleep infinity' },
        { name: 'side', program: 'sleep infinity' },
      ],
    },
  ],
};

/** Live processes in the network namespace `file` (by its inode), ascending. */
function membersOf(file: string): number[] {
  const { dev, ino } = fs.statSync(file);
  return fs
    .readdirSync('/proc')
    .filter((e) => {
      try {
        const st = fs.statSync(`/proc/${e}/ns/net`);
        return (
          /^\d+$/.test(e) &&
          st.ino === ino &&
          st.dev === dev &&
          !/ Z /.test(fs.readFileSync(`/proc/${e}/stat`, 'utf8').replace(/^.*\)/, ''))
        );
      } catch {
        return false;
      }
    })
    .map(Number)
    .sort((a, b) => a - b);
}

/** `flannelette ARGS -o json`, parsed; the exit code must be 0. */
async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli([...args, '-o', 'json']);
  expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
  return JSON.parse(r.out) as Record<string, unknown>;
}

describe.skipIf(skip)('the library: Lab', () => {
  beforeAll(async () => {
    lab = await Lab.up(topology, { name });
    webIp = (await lab.get('pod', 'web')).status!.podIP!;
    clientIp = (await lab.get('pod', 'client')).status!.podIP!;
  });
  afterAll(async () => {
    await lab?.down();
    expect(leftovers(name)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
    if (holder?.pid) {
      // down() with a pod still attached: the lab's processes went, the user's holder and namespace stayed
      const members = membersOf(`/proc/${holder.pid}/ns/net`);
      holder.kill('SIGKILL');
      expect(members).toEqual([holder.pid]);
    }
  });

  it('gets typed objects, lists and single ones, and NotFound as KubeApiError', async () => {
    const pods = await lab.get('pods');
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['client', 'web']);
    expect(pods.find((p) => p.metadata.name === 'web')?.spec.nodeName).toBe('node2');
    const nodes = await lab.get('nodes');
    expect(nodes.map((n) => n.spec?.podCIDR).sort()).toEqual(['10.244.1.0/24', '10.244.2.0/24']);
    const err = await lab.get('pod', 'nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(err).toMatchObject({ name: 'KubeApiError', code: 'EKUBEAPI', reason: 'NotFound' });
    await expect(lab.get('widgets')).rejects.toBeInstanceOf(ConfigError);
  });

  it('exec: stdout and stderr apart, exit codes, stdin, a container, a node, a timeout', async () => {
    const r = await lab.exec('client', ['sh', '-c', 'echo out; echo err >&2; exit 3'], { container: 'side' });
    expect(r).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect((await lab.exec('client', ['cat'], { stdin: 'hello\n', container: 'main' })).stdout).toBe('hello\n');
    const fetched = await lab.exec('client', ['curl', '-sS', '-m', '5', `http://${webIp}/`], { container: 'main' });
    expect(fetched.stdout).toBe(`Hello from web (${webIp}); you are ${clientIp}\n`);
    const onNode = await lab.exec('node1', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(onNode.stdout).toContain('192.168.1.2/24');
    await expect(lab.exec('client', ['sleep', '30'], { container: 'main', timeoutMs: 500 })).rejects.toBeInstanceOf(
      TimeoutError,
    );
    await expect(lab.exec('client', ['true'], { container: 'nope' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('apply and waitFor: a named condition, a predicate, a timeout naming the condition', async () => {
    const lines = await lab.apply({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'extra', labels: { app: 'extra' } },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'flannelette/http' }] },
    });
    expect(lines).toEqual(['pod/extra created']);
    const pod = await lab.waitFor<{ status?: { podIP?: string } }>({ podReady: 'extra' });
    expect(pod.status?.podIP).toMatch(/^10\.244\.1\./);
    expect(await lab.waitFor(async (l) => (await l.get('pods', { selector: 'app=extra' })).length === 1)).toBe(true);
    const late = await lab.waitFor({ podReady: 'never' }, { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(TimeoutError);
    expect((late as Error).message).toContain('pod never to be Ready');
    await expect(lab.apply('apiVersion: vl\nkind: Pod\n')).rejects.toThrow(/<manifest text>:1/);
  });

  it('impairs, partitions and heals through typed node requests', async () => {
    const r = await lab.impair('node1', 'node2', { delay: 5, loss: '0%' });
    expect(r['node1'].peers).toEqual([{ peer: 'node2', impairment: expect.stringContaining('delay 5ms') as string }]);
    const p = await lab.partition('node1', 'node2');
    expect(p['node2'].partitioned).toEqual(['node1']);
    expect((await lab.exec('client', ['curl', '-sS', '-m', '1', `http://${webIp}/`])).exitCode).not.toBe(0);
    await lab.heal('node1', 'node2');
    await lab.clear('node1', 'node2');
    expect((await lab.node('node1').impairments()).peers).toEqual([]);
    const bad = await lab.impair('node1', 'node2', { loss: 'lots' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RpcError);
    expect(bad).toMatchObject({ code: 'ConfigError' });
    expect(() => lab.node('node9')).toThrow(ConfigError);
  });

  it('captures inner packets as decoded objects; stats and check', async () => {
    const cap = await lab.capture('node2', 'inner', { filter: 'proto tcp' });
    await lab.exec('client', ['curl', '-sS', '-m', '5', `http://${webIp}/`]);
    const syn = await cap.find((p) => p.transport?.flags?.includes('SYN') === true);
    const done = await cap.stop();
    expect(syn).toMatchObject({ point: 'inner', inner: { src: clientIp, dst: webIp, protocol: 6 } });
    expect(syn?.transport).toMatchObject({ protocol: 'tcp', dstPort: 80 });
    expect(syn?.outer).toBeUndefined();
    expect(done.packets).toBeGreaterThan(0);
    const stats = await lab.stats('node2');
    expect(stats.counters.rxPackets).toBeGreaterThan(0);
    const check = await lab.check();
    expect(check.ok).toBe(true);
    // the topology's pods, and the cluster DNS pod every live lab runs in kube-system
    const labels = check.sources.map((s) => s.label).sort();
    expect(labels.filter((l) => !l.startsWith('coredns-'))).toEqual(['client', 'extra', 'web']);
    expect(labels.filter((l) => l.startsWith('coredns-'))).toHaveLength(1);
  });

  it('every read command prints a versioned JSON document with -o json', async () => {
    const status = await json(['status', `${name}/node1`]);
    expect(status).toMatchObject({ apiVersion: 'flannelette.io/v1', kind: 'NodeStatus', name: 'node1' });
    const routes = await json(['routes', `${name}/node1`]);
    expect(routes).toMatchObject({ kind: 'RouteList', items: [{ subnet: '10.244.2.0/24', peer: 'node2' }] });
    expect(await json(['stats', `${name}/node1`])).toMatchObject({ kind: 'NodeStats', counters: {} });
    const trace = await json(['trace', `${name}/node1`, '--from', clientIp, '--to', webIp]);
    expect(trace).toMatchObject({ kind: 'Trace', verdict: expect.any(String) as string });
    expect(await json(['impair', `${name}/node1`])).toMatchObject({ kind: 'Impairments', peers: [] });
    const labStatus = await json(['lab', 'status', '--name', name]);
    expect(labStatus).toMatchObject({ apiVersion: 'flannelette.io/v1', kind: 'LabStatus' });
    expect(await json(['lab', 'check', '--name', name])).toMatchObject({ kind: 'CheckResult', ok: true, failures: 0 });
    const healed = await json(['lab', 'heal', 'node1', 'node2', '--name', name]);
    expect(healed).toMatchObject({ kind: 'LinkImpairments', nodes: { node1: {}, node2: {} } });
    const allowed = await json(['lab', 'policy', 'check', 'client', 'web', '--port', '80', '--name', name]);
    expect(allowed).toMatchObject({
      kind: 'PolicyCheck',
      allowed: true,
      source: { pod: 'default/client', ip: clientIp },
      destination: { pod: 'default/web', ip: webIp },
      proto: 'TCP',
      port: 80,
      ingress: { isolated: false },
    });
    expect(await json(['lab', 'policy', 'log', '--name', name])).toMatchObject({ kind: 'PolicyDenials', items: [] });
    const pods = await json(['lab', 'get', 'pods', '--name', name]);
    expect(pods).toMatchObject({ apiVersion: 'v1', kind: 'List' });
    // --json keeps the bare reply, as before
    const bare = await cli(['routes', `${name}/node1`, '--json']);
    expect(Array.isArray(JSON.parse(bare.out))).toBe(true);
    const bad = await cli(['status', `${name}/node1`, '-o', 'yaml']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toBe('flannelette: -o yaml: the only output format is json');
  });

  it('attach and detach: an unshare namespace becomes a pod and stops being one; typed errors', async () => {
    holder = spawn('unshare', ['--net', '--', 'sleep', '1000'], { stdio: 'ignore' });
    const file = `/proc/${holder.pid}/ns/net`;
    const ours = fs.statSync('/proc/self/ns/net').ino;
    await lab.waitFor(() => fs.statSync(file).ino !== ours, { timeoutMs: 10_000, intervalMs: 20 });
    const a = await lab.attach('att-lib', file, { node: 'node1' });
    expect(a).toMatchObject({ netnsFile: file, node: 'node1', pod: { metadata: { name: 'att-lib' } } });
    expect(a.ip).toMatch(/^10\.244\.1\./);
    expect((await lab.get('pod', 'att-lib')).status?.podIP).toBe(a.ip);
    const ping = await lab.exec('client', ['ping', '-c1', '-W2', a.ip], { container: 'main' });
    expect(ping.exitCode, ping.stdout).toBe(0);
    const fetched = spawnSync('nsenter', [`--net=${file}`, '--', 'curl', '-sS', '-m', '5', `http://${webIp}/`]);
    expect(fetched.stdout.toString()).toBe(`Hello from web (${webIp}); you are ${a.ip}\n`);
    expect(membersOf(file).length).toBeGreaterThan(1); // the pod's pause and container beside the holder

    await expect(lab.attach('att-bad', '/etc/hostname')).rejects.toBeInstanceOf(ConfigError);
    await expect(lab.attach('att-bad', file, { node: 'node9' })).rejects.toBeInstanceOf(ConfigError);
    await expect(lab.attach('att-lib', file)).rejects.toBeInstanceOf(ConfigError); // exists
    await expect(lab.get('pod', 'att-bad')).rejects.toBeInstanceOf(KubeApiError);
    await expect(lab.detach('web')).rejects.toMatchObject({ name: 'ConfigError', code: 'ECONFIG' });

    expect(await lab.detach('att-lib')).toBe(file);
    await expect(lab.get('pod', 'att-lib')).rejects.toBeInstanceOf(KubeApiError);
    await lab.waitFor(() => membersOf(file).length === 1, { timeoutMs: 15_000 });
    expect(membersOf(file)).toEqual([holder.pid]);
    expect(spawnSync('nsenter', [`--net=${file}`, '--', 'ip', 'link', 'show', 'eth0']).status).not.toBe(0);
    // attached again, and left for down() (afterAll checks the holder outlives it)
    expect((await lab.attach('att-lib2', file, { node: 'node1' })).node).toBe('node1');
  });

  it('stops and starts a node', async () => {
    const killed = await lab.node('node2').stop();
    expect(killed).toBeGreaterThan(0);
    await lab.waitFor({ nodeNotReady: 'node2' }, { timeoutMs: 30_000 });
    await lab.node('node2').start();
    await lab.waitFor({ nodeReady: 'node2' });
    expect((await lab.node('node2').status()).subnet).toBe('10.244.2.0/24');
  });
});
