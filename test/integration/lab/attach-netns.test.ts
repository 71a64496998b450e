// `lab attach` / `lab detach` on one live lab (examples/two-nodes.yaml): a namespace from
// `unshare --net` held by a sleep process (given as /proc/PID/ns/net) and one from `ip netns add`
// (given by name) become pods on node1 and node2, reach each other and a normal lab pod across the
// overlay (ping, HTTP to busybox httpd), show in `kubectl get pods -o wide`; bad input exits 2 and
// leaves no pod; detach removes eth0 and the host-local reservation and keeps both namespaces.
// The lab's own processes in an attached namespace (the pod's pause and container, marked FLT_LAB=<lab>)
// go with `lab detach`, a kubectl delete, `lab node delete`, `lab node stop` and `lab down`; the user's
// processes there (the holder) stay. `lab node delete` of a node already stopped with a pod attached leaves
// nothing of that pod (no eth0, no reservation, no sandbox mount).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import {
  built,
  cli,
  KUBECTL,
  kubectlFor,
  LAB_ROOT,
  labName,
  leftovers,
  netnsOf,
  processesOf,
  ROOT,
  run,
  waitFor,
} from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('lab attach') ||
  requireOrSkip(built(), 'lab attach: build first (npm run build)') ||
  requireOrSkip(fs.existsSync(KUBECTL), `lab attach: ${KUBECTL} is not installed`);
const lab = labName('at');
const named = `flt-att-${lab}`;
const l = (...args: string[]) => cli(['lab', args[0], '--name', lab, ...args.slice(1)]);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-att-'));
let kubectl: ReturnType<typeof kubectlFor>;
let holder: ChildProcess | undefined;
let httpd: ChildProcess | undefined;
let pidNs = '';
const ips: Record<string, string> = {};

/** The process exists and is not a zombie (a kill shows here at once, before node sees its exit). */
const alive = (pid: number): boolean => {
  try {
    return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].startsWith('Z');
  } catch {
    return false;
  }
};
/** Live processes in the network namespace `file` (by the namespace's inode), ascending. */
function membersOf(file: string): number[] {
  const { dev, ino } = fs.statSync(file);
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = fs.statSync(`/proc/${e}/ns/net`);
      if (st.ino === ino && st.dev === dev && alive(Number(e))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out.sort((a, b) => a - b);
}
/** Waits until the namespace holds exactly `expected` (the user's processes; the lab's are gone). */
const onlyUsers = (file: string, expected: number[], what: string) =>
  waitFor(what, () => JSON.stringify(membersOf(file)) === JSON.stringify(expected) || undefined, 15_000).catch(() =>
    expect(membersOf(file), what).toEqual(expected),
  );
const nsenter = (file: string, argv: string[]) => run('nsenter', [`--net=${file}`, '--', ...argv]);
const ping = async (file: string, ip: string) => (await nsenter(file, ['ping', '-c1', '-W2', ip])).code === 0;
/** Files under the lab's directory named after the address: host-local's reservation of it. */
function reservations(ip: string): string[] {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name === ip) found.push(path.join(d, e.name));
    }
  };
  walk(path.join(LAB_ROOT, lab));
  return found;
}

describe.skipIf(skip)('lab attach: existing network namespaces as pods', () => {
  beforeAll(async () => {
    holder = spawn('unshare', ['--net', '--', 'sleep', '1000'], { stdio: 'ignore' });
    const ours = fs.statSync('/proc/self/ns/net').ino;
    pidNs = `/proc/${holder.pid}/ns/net`;
    await waitFor('the unshare namespace', () => fs.statSync(pidNs).ino !== ours, 10_000, 20);
    expect(spawnSync('ip', ['netns', 'add', named]).status).toBe(0);
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/two-nodes.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    kubectl = kubectlFor((await l('kubeconfig')).out.trim());
  }, 240_000);

  afterAll(async () => {
    httpd?.kill('SIGKILL');
    await cli(['lab', 'down', '--name', lab]);
    holder?.kill('SIGKILL');
    spawnSync('ip', ['netns', 'delete', named]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('bad input: not a network namespace, no such node → exit 2, one line, no pod', async () => {
    for (const args of [
      ['attach', 'flt-bad', '--netns', '/etc/hostname'],
      ['attach', 'flt-bad', '--netns', '/proc/self/ns/uts'],
      ['attach', 'flt-bad', '--netns', 'flt-no-such-ns'],
      ['attach', 'flt-bad', '--netns', named, '--node', 'node9'],
    ]) {
      const r = await l(...args);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    const get = await kubectl(['get', 'pod', 'flt-bad']);
    expect(get.code).not.toBe(0);
  });

  it('attaches a /proc/PID/ns/net namespace to node1 and a named one to node2', async () => {
    for (const [pod, netns, node] of [
      ['att-a', pidNs, 'node1'],
      ['att-b', named, 'node2'],
    ]) {
      const r = await l('attach', pod, '--netns', netns, '--node', node);
      expect(r.code, r.err).toBe(0);
      const m = / on (\S+) with (\S+)$/.exec(r.out.trim());
      expect(m?.[1]).toBe(node);
      ips[pod] = m![2];
    }
    const wide = await kubectl(['get', 'pods', '-o', 'wide']);
    expect(wide.out).toMatch(new RegExp(`att-a\\s+1/1\\s+Running.*${ips['att-a'].replace(/\./g, '\\.')}\\s+node1`));
    expect(wide.out).toMatch(new RegExp(`att-b\\s+1/1\\s+Running.*${ips['att-b'].replace(/\./g, '\\.')}\\s+node2`));
    const eth0 = await nsenter(pidNs, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(eth0.out).toContain(`${ips['att-a']}/24`);
    expect(reservations(ips['att-a']).length).toBeGreaterThan(0);
    // the pod's own processes (pause, the container) run in the user's namespace, marked as the lab's
    const ours = membersOf(pidNs).filter((p) => p !== holder!.pid);
    expect(ours.length).toBeGreaterThan(0);
    expect(ours.filter((p) => !processesOf(lab).includes(p))).toEqual([]);
  });

  it('the attached namespaces reach each other and a lab pod across the overlay (ping, HTTP)', async () => {
    const busybox = JSON.parse((await kubectl(['get', 'pod', 'busybox', '-o', 'json'])).out) as {
      status: { podIP: string };
    };
    expect(await ping(pidNs, ips['att-b'])).toBe(true);
    expect(await ping(`/run/netns/${named}`, ips['att-a'])).toBe(true);
    expect(await ping(`/run/netns/${named}`, busybox.status.podIP)).toBe(true);
    expect((await l('exec', 'busybox', '--', 'ping', '-c1', '-W2', ips['att-a'])).code).toBe(0);
    fs.writeFileSync(path.join(tmp, 'index.html'), 'hello from an attached namespace\n');
    httpd = spawn('ip', ['netns', 'exec', named, 'busybox', 'httpd', '-f', '-p', '8080', '-h', tmp], {
      stdio: 'ignore',
    });
    const body = await waitFor('HTTP from busybox to att-b', async () => {
      const r = await l('exec', 'busybox', '--', 'curl', '-s', '--max-time', '3', `http://${ips['att-b']}:8080/`);
      return r.code === 0 && r.out;
    });
    expect(body).toBe('hello from an attached namespace\n');
    const fromA = await nsenter(pidNs, ['curl', '-s', '--max-time', '3', `http://${ips['att-b']}:8080/`]);
    expect(fromA.out).toBe('hello from an attached namespace\n');
  });

  it('detach removes eth0 and the reservation; the namespaces and their holder survive', async () => {
    httpd?.kill('SIGKILL');
    const r = await l('detach', 'att-a');
    expect(r.code, r.err).toBe(0);
    expect(reservations(ips['att-a'])).toEqual([]);
    const del = await kubectl(['delete', 'pod', 'att-b']); // the API's delete: the same as lab detach
    expect(del.code, del.err).toBe(0);
    await waitFor('att-b released', () => reservations(ips['att-b']).length === 0);
    await onlyUsers(pidNs, [holder!.pid!], 'only the holder in the unshare namespace after lab detach');
    await onlyUsers(`/run/netns/${named}`, [], 'nothing in the ip netns namespace after kubectl delete');
    expect((await nsenter(pidNs, ['ip', 'link', 'show', 'eth0'])).code).not.toBe(0);
    expect((await run('ip', ['-n', named, 'link', 'show', 'eth0'])).code).not.toBe(0);
    expect(holder!.exitCode).toBeNull();
    expect(fs.existsSync(`/run/netns/${named}`)).toBe(true);
    expect((await nsenter(pidNs, ['ip', 'link', 'show', 'lo'])).code).toBe(0);
    expect((await kubectl(['get', 'pod', 'att-a'])).code).not.toBe(0);
    const again = await l('detach', 'busybox');
    expect(again.code).toBe(2);
  });

  it("node delete, node stop, delete of the stopped node, lab down with pods attached: the lab's go, the holder stays", async () => {
    const named0 = `/run/netns/${named}`;
    const d = await l('attach', 'att-d', '--netns', named, '--node', 'node2');
    expect(d.code, d.err).toBe(0);
    expect(membersOf(named0).length).toBeGreaterThan(0);
    const del = await cli(['lab', 'node', 'delete', 'node2', '--name', lab], { timeoutMs: 90_000 });
    expect(del.code, del.err).toBe(0);
    await onlyUsers(named0, [], 'att-d to go with node2');
    expect(fs.existsSync(named0)).toBe(true);
    const r = await l('attach', 'att-c', '--netns', pidNs, '--node', 'node1');
    expect(r.code, r.err).toBe(0);
    ips['att-c'] = / with (\S+)$/.exec(r.out.trim())![1];
    expect(reservations(ips['att-c']).length).toBeGreaterThan(0);
    expect(membersOf(pidNs).length).toBeGreaterThan(1);
    // a stopped node's pods lose their processes (a failed node), but not the user's in an attached namespace
    const stop = await cli(['lab', 'node', 'stop', 'node1', '--name', lab], { timeoutMs: 60_000 });
    expect(stop.code, stop.err).toBe(0);
    expect(alive(holder!.pid!)).toBe(true);
    await onlyUsers(pidNs, [holder!.pid!], 'only the holder in the unshare namespace after lab node stop');
    // deleting the stopped node (no kubelet to tear att-c down; a new node keeps the lab from being empty):
    // nothing of att-c or node1 is left, the holder and its namespace stay
    const add = await cli(['lab', 'node', 'add', 'node3', '--name', lab], { timeoutMs: 90_000 });
    expect(add.code, add.err).toBe(0);
    const gone = await cli(['lab', 'node', 'delete', 'node1', '--name', lab], { timeoutMs: 90_000 });
    expect(gone.code, gone.err).toBe(0);
    expect((await kubectl(['get', 'pod', 'att-c'])).code).not.toBe(0);
    expect(netnsOf(lab).filter((n) => n === `flt-${lab}-node1` || n.startsWith(`flt-${lab}-pod-att-c`))).toEqual([]);
    expect((await nsenter(pidNs, ['ip', 'link', 'show', 'eth0'])).code).not.toBe(0);
    expect(reservations(ips['att-c'])).toEqual([]);
    expect(membersOf(pidNs)).toEqual([holder!.pid!]);
    expect((await nsenter(pidNs, ['ip', 'link', 'show', 'lo'])).code).toBe(0);
    const down = await cli(['lab', 'down', '--name', lab], { timeoutMs: 120_000 });
    expect(down.code, down.err).toBe(0);
    expect(holder!.exitCode).toBeNull();
    expect(leftovers(lab)).toEqual({ netns: [], processes: [], dir: false, mounts: [] });
    expect(membersOf(pidNs)).toEqual([holder!.pid!]);
    expect((await nsenter(pidNs, ['ip', 'link', 'show', 'eth0'])).code).not.toBe(0);
    expect(fs.existsSync(named0)).toBe(true);
  });
});
