// `flannelette demo`: brings a lab up, walks through the Kubernetes networking tutorials' exercises
// and CHECKS each claim on the running lab, printing a short narrated transcript:
//   every pod has its own IP from its node's subnet; containers of one pod talk over localhost;
//   pod → pod on the same node and across nodes, and the receiver sees the sender's real pod IP
//   (no NAT); node → pod and pod → node; packet captures in pcaps/ and the tshark command to read them.
// Then it always tears the lab down (also on failure or Ctrl-C). Resolves with the exit status:
// 0 when every check passed, 1 otherwise. Throws only what labUp throws before any check runs.
import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../sys/package-root.js';
import { netnsArgv, runQuiet, type QuietResult } from '../sys/run.js';
import { sleep } from '../util/clock.js';
import { oneLine } from '../util/errors.js';
import { programCommand } from './agent.js';
import { nodeServerEnv } from './env.js';
import { labDown, labUp } from './lab.js';
import { parseGreeting } from './programs.js';
import { createProgress } from './progress.js';
import { pidAlive, spawnInNetns } from './procs.js';
import { labPaths, labRoot, nodeLogFile, readyFile, type LabState } from './state.js';
import { collectStatus, formatPods } from './status.js';
import { formatTable } from '../util/text-table.js';
import type { LabNode, LabPod, LabTopology } from './topology.js';

export interface DemoOptions {
  topology: LabTopology;
  topologyText?: string;
  out: NodeJS.WritableStream;
  tty?: boolean;
  pcapDir?: string;
  signal?: AbortSignal;
  /** Start node agents (default true). */
  agents?: boolean;
}

type Outcome = 'pass' | 'fail' | 'skip';

type Exec = QuietResult;

function inNetns(netns: string, argv: readonly string[]): Promise<Exec> {
  return runQuiet(netnsArgv(netns, argv), { timeoutMs: 15_000 });
}

function httpPort(pod: LabPod): number | undefined {
  for (const c of pod.containers) {
    if (c.kind !== 'program' || c.argv[0] !== 'http') continue;
    const i = c.argv.findIndex((a) => a === '--port' || a.startsWith('--port='));
    if (i < 0) return 80;
    const value = c.argv[i].includes('=') ? c.argv[i].split('=')[1] : c.argv[i + 1];
    return Number(value);
  }
  return undefined;
}

const url = (ip: string, port: number): string => (port === 80 ? `http://${ip}/` : `http://${ip}:${port}/`);

export async function runDemo(opts: DemoOptions): Promise<number> {
  const t = opts.topology;
  const tty = opts.tty ?? Boolean((opts.out as NodeJS.WriteStream).isTTY);
  const color = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
  const say = (line = ''): void => void opts.out.write(`${line}\n`);
  const results: Outcome[] = [];
  const check = (outcome: Outcome, text: string, detail?: string): void => {
    results.push(outcome);
    const mark = outcome === 'pass' ? color('32', '✔') : outcome === 'fail' ? color('31', '✘') : color('33', '–');
    say(`   ${mark} ${text}`);
    if (detail) say(`     ${color('2', detail)}`);
  };
  const section = (n: number, title: string): void => {
    say();
    say(color('1', `${n}. ${title}`));
  };
  const pcapDir = path.resolve(opts.pcapDir ?? 'pcaps');
  const first = t.nodes[0];

  say(
    color(
      '1',
      `flannelette demo — Kubernetes pod networking on an emulated ${t.nodes.length}-node cluster (${t.backend.type} backend)`,
    ),
  );
  const progress = createProgress(opts.out, tty);
  const up = await labUp({
    topology: t,
    topologyText: opts.topologyText,
    agents: opts.agents ?? true,
    pcapDir,
    extraCapture: { [first.name]: ['inner', 'outer'] },
    signal: opts.signal,
    progress,
  });
  const state = up.state;
  for (const w of up.warnings) say(`   ${color('33', '!')} ${w}`);
  say(
    `   lab ${t.name} is up in ${up.seconds.toFixed(1)}s: ${t.nodes.length} nodes, ${t.pods.length} pods (namespaces flt-${t.name}-*)`,
  );

  try {
    await walkThrough(t, state, { say, check, section, signal: opts.signal, pcapDir });
  } catch (err) {
    if (!opts.signal?.aborted) check('fail', `the walkthrough stopped: ${oneLine(err)}`);
  } finally {
    say();
    if (results.includes('fail')) showLogTails(t, say);
    say('Tearing the lab down …');
    try {
      const down = await labDown(t.name);
      say(`   removed ${down.namespaces} namespaces and ${down.processes} processes`);
    } catch (err) {
      check('fail', `lab down failed: ${oneLine(err)}`);
    }
  }

  // Ctrl-C: the lab is gone; report the interruption rather than a verdict.
  if (opts.signal?.aborted) throw opts.signal.reason;

  if (state.pcapDir) {
    section(8, 'Packet captures (flannel would show the same packets on the wire)');
    reportCaptures(t, state, pcapDir, up.state.createdAt, check, say);
  }

  const passed = results.filter((r) => r === 'pass').length;
  const failed = results.filter((r) => r === 'fail').length;
  const skipped = results.filter((r) => r === 'skip').length;
  say();
  say(
    `${failed === 0 ? color('32', '✔') : color('31', '✘')} ${passed} checks passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  return failed === 0 ? 0 : 1;
}

interface Ui {
  say: (line?: string) => void;
  check: (outcome: Outcome, text: string, detail?: string) => void;
  section: (n: number, title: string) => void;
  signal?: AbortSignal;
  pcapDir: string;
}

async function walkThrough(t: LabTopology, state: LabState, ui: Ui): Promise<void> {
  const { say, check, section } = ui;
  const programs = programCommand(packageRoot());
  const fetch = (ns: string, target: string): Promise<Exec> =>
    inNetns(ns, [...programs, 'fetch', target, '--retries', '3', '--timeout', '2000']);
  const ping = async (ns: string, ip: string): Promise<Exec> => {
    let last: Exec = { code: 1, out: '' };
    for (let i = 0; i < 3; i++) {
      last = await inNetns(ns, ['ping', '-n', '-c', '1', '-W', '2', ip]);
      if (last.code === 0) break;
    }
    return last;
  };
  const nodeOf = (p: LabPod): LabNode => t.nodes.find((n) => n.name === p.node)!;
  const abort = (): void => ui.signal?.throwIfAborted();
  const cross = state.agents;
  const noAgent = 'needs the node agent (flannelette node), which is not available';

  section(1, 'Every node owns a slice of the pod network (flannel hands out one subnet per node)');
  say(
    indent(
      formatTable(
        ['NODE', 'PUBLIC-IP', 'POD-SUBNET', 'TUN'],
        t.nodes.map((n) => [n.name, n.publicIp, n.subnet, n.tunDevice]),
      ),
    ),
  );

  section(2, `Every pod gets its own IP from its node's subnet   ($ kubectl get pods -o wide)`);
  const report = await collectStatus(state);
  say(indent(formatPods(report.pods)));
  const wrong: string[] = [];
  for (const p of t.pods) {
    const r = await inNetns(p.netns, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    if (!r.out.includes(` ${p.ip}/`)) wrong.push(`${p.name} (expected ${p.ip})`);
  }
  check(
    wrong.length === 0 ? 'pass' : 'fail',
    wrong.length === 0
      ? `all ${t.pods.length} pods have their own IP on eth0, inside their node's subnet`
      : `wrong addresses: ${wrong.join(', ')}`,
  );
  abort();

  section(3, 'Containers of one pod share its network namespace and talk over localhost');
  const multi = t.pods.find((p) => p.containers.length > 1 && httpPort(p) !== undefined);
  if (!multi) check('skip', 'this topology has no multi-container pod with an http container');
  else {
    const other =
      multi.containers.find((c) => c.name === 'shell') ??
      multi.containers.find((c) => !(c.kind === 'program' && c.argv[0] === 'http')) ??
      multi.containers[1];
    say(`   $ kubectl exec ${multi.name} -c ${other.name} -- wget -qO- ${url('localhost', httpPort(multi)!)}`);
    const r = await fetch(multi.netns, url('localhost', httpPort(multi)!));
    const g = parseGreeting(r.out);
    say(indent(r.out || '(no answer)', 5));
    check(
      r.code === 0 && g?.pod === multi.name ? 'pass' : 'fail',
      `${other.name} reached the http container of the same pod on localhost`,
    );
  }
  abort();

  const isSleeper = (p: LabPod): boolean => p.containers.every((c) => c.kind === 'program' && c.argv[0] === 'sleep');
  const client =
    t.pods.find((p) => p.name === 'busybox') ??
    t.pods.find((p) => p.name === 'client') ??
    t.pods.find(isSleeper) ??
    t.pods.find((p) => httpPort(p) === undefined) ??
    t.pods[0];
  const servers = t.pods.filter((p) => p !== client && httpPort(p) !== undefined);
  const same = client && servers.find((p) => p.node === client.node);
  const far = client && servers.find((p) => p.node !== client.node);

  const podToPod = async (n: number, title: string, server: LabPod | undefined, needsAgent: boolean): Promise<void> => {
    section(n, title);
    if (!client || !server) return check('skip', 'this topology has no such pair of pods');
    if (needsAgent && !cross) return check('fail', `${client.name} → ${server.name}: ${noAgent}`);
    say(`   ${client.name} (${client.ip}, ${client.node}) → ${server.name} (${server.ip}, ${server.node})`);
    const p = await ping(client.netns, server.ip);
    check(
      p.code === 0 ? 'pass' : 'fail',
      `ping ${server.ip} from ${client.name}`,
      p.code === 0 ? firstMatch(p.out, /time=[\d.]+ ms/) : lastLine(p.out),
    );
    const r = await fetch(client.netns, url(server.ip, httpPort(server)!));
    const g = parseGreeting(r.out);
    if (r.code !== 0 || !g) return check('fail', `HTTP from ${client.name} to ${server.name} failed`, lastLine(r.out));
    say(`   $ kubectl exec ${client.name} -- wget -qO- ${url(server.ip, httpPort(server)!)}`);
    say(`     ${r.out.split('\n')[0]}`);
    check(
      g.client === client.ip ? 'pass' : 'fail',
      g.client === client.ip
        ? `${server.name} sees the caller as ${g.client}, ${client.name}'s own pod IP: no NAT`
        : `${server.name} sees the caller as ${g.client}, not ${client.ip}: the address was translated`,
    );
  };
  await podToPod(4, 'Pod to pod on the same node (through the cni0 bridge)', same, false);
  abort();
  await podToPod(5, `Pod to pod on another node (through the ${t.backend.type} overlay)`, far, true);
  abort();

  section(6, 'Node to pod and pod to node, without NAT');
  if (!client || !far) check('skip', 'this topology needs pods on two nodes');
  else if (!cross) check('fail', `node → pod across nodes: ${noAgent}`);
  else {
    const node = nodeOf(client);
    const r = await fetch(node.netns, url(far.ip, httpPort(far)!));
    const g = parseGreeting(r.out);
    const own = new Set([node.publicIp, node.gateway, node.subnet.split('/')[0]]);
    check(
      r.code === 0 && g !== undefined && own.has(g.client) ? 'pass' : 'fail',
      `${node.name} → ${far.name} (${far.ip}) on ${far.node}: answered`,
      g
        ? `the pod sees ${node.name} as ${g.client}${g.client === node.subnet.split('/')[0] ? ` (the address of ${node.name}'s ${node.tunDevice})` : ''}`
        : lastLine(r.out),
    );
    const target = nodeOf(far);
    const server = await startNodeServer(t, target, programs);
    if (!server) check('fail', `could not start a test server on ${target.name}`);
    else {
      say(
        `   (a temporary server listens on ${target.name} ${target.publicIp}:8000, like \`nc -l 8000\` in the tutorial)`,
      );
      const r2 = await fetch(client.netns, `http://${target.publicIp}:8000/`);
      const g2 = parseGreeting(r2.out);
      check(
        r2.code === 0 && g2?.client === client.ip ? 'pass' : 'fail',
        `${client.name} → ${target.name} (${target.publicIp}:8000): answered`,
        g2
          ? `${target.name} sees the pod as ${g2.client}${g2.client === client.ip ? ', its real pod IP' : ''}`
          : lastLine(r2.out),
      );
    }
  }
  abort();

  const replicas = servers.filter((p) => p.template !== p.name);
  const templates = [...new Set(replicas.map((p) => p.template))];
  section(
    7,
    `HTTP from ${client?.name ?? 'a pod'} to every replica of ${templates.join(', ') || 'a Deployment'}, wherever it runs`,
  );
  if (!client || replicas.length === 0) check('skip', 'this topology has no replicated http pods');
  for (const s of client ? replicas : []) {
    if (s.node !== client.node && !cross) {
      check('fail', `${client.name} → ${s.name}: ${noAgent}`);
      continue;
    }
    const r = await fetch(client.netns, url(s.ip, httpPort(s)!));
    const g = parseGreeting(r.out);
    check(
      r.code === 0 && g?.pod === s.name && g.client === client.ip ? 'pass' : 'fail',
      `${client.name} → ${s.name} on ${s.node}`,
      r.out.split('\n')[0],
    );
  }
}

/** Starts the http program in a node's namespace on port 8000; resolves false if it is not ready. */
async function startNodeServer(t: LabTopology, node: LabNode, programs: string[]): Promise<boolean> {
  const paths = labPaths(t.name, labRoot());
  const ready = readyFile(paths, node.name, 'demo-server');
  const log = path.join(paths.logDir, `${node.name}_demo-server.log`);
  const pid = spawnInNetns(
    node.netns,
    [...programs, 'http', '--port', '8000'],
    log,
    nodeServerEnv(t.name, node, ready),
  );
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(ready)) return true;
    if (!pidAlive(pid)) return false;
    await sleep(50);
  }
  return false;
}

function reportCaptures(
  t: LabTopology,
  state: LabState,
  pcapDir: string,
  since: number,
  check: Ui['check'],
  say: Ui['say'],
): void {
  let files: string[];
  try {
    files = fs
      .readdirSync(pcapDir)
      .filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng'))
      .map((f) => path.join(pcapDir, f))
      .filter((f) => fs.statSync(f).mtimeMs >= since - 1000);
  } catch {
    files = [];
  }
  if (files.length === 0) {
    check('fail', `no capture files were written to ${pcapDir}`);
    return;
  }
  const rel = (f: string): string => path.relative(process.cwd(), f) || f;
  for (const f of files) {
    const size = fs.statSync(f).size;
    if (size > 24) check('pass', `${rel(f)}: ${size} bytes`);
    // One node has no peer: nothing is encapsulated, so an empty capture is what should happen.
    else
      check(
        t.nodes.length < 2 ? 'skip' : 'fail',
        `${rel(f)}: no packets${t.nodes.length < 2 ? ' (a one-node lab sends nothing across nodes)' : ''}`,
      );
  }
  const outer = files.find((f) => /outer/.test(path.basename(f)));
  const inner = files.find((f) => /inner/.test(path.basename(f)));
  const decode = ` -d udp.port==${t.backend.port},${t.backend.type === 'vxlan' ? 'vxlan' : 'ip'}`;
  say('   Read them with:');
  if (inner) say(`     tshark -r ${rel(inner)}`);
  if (outer) say(`     tshark -r ${rel(outer)}${decode}`);
  if (!inner && !outer) say(`     tshark -r ${rel(files[0])}${decode}`);
  void state;
}

function showLogTails(t: LabTopology, say: Ui['say']): void {
  const paths = labPaths(t.name, labRoot());
  for (const n of t.nodes) {
    try {
      const lines = fs.readFileSync(nodeLogFile(paths, n.name), 'utf8').trimEnd().split('\n').slice(-5);
      if (lines.join('').trim()) say(`   last lines of ${n.name}'s log:\n${indent(lines.join('\n'), 5)}`);
    } catch {
      // no log
    }
  }
}

function indent(text: string, n = 3): string {
  return text
    .split('\n')
    .map((l) => `${' '.repeat(n)}${l}`)
    .join('\n');
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

function firstMatch(text: string, re: RegExp): string {
  return re.exec(text)?.[0] ?? '';
}
