// `flannelette demo`: brings up a live two-node lab with no pods and walks through the tutorials
// (seeds 000, 002, 004 and 003's broken Service) with their manifests (examples/manifests/, copies of
// ../shared/manifests) and their commands, run as `flannelette lab ...` (each printed with its
// output), CHECKING every claim: pods get IPs from their nodes' subnets, a pod reaches nginx on the
// other node, a deleted replica is replaced, containers of a pod talk over localhost without touching
// the host's files, node ↔ pod both ways, the bad manifest is rejected with file:line and applies
// nothing; then `lab check`; then the same ping captured on the underlay of this (vxlan) lab and of a
// static host-gw lab, side by side (demo-host-gw.ts). It always tears the lab down (also on failure or Ctrl-C) and checks
// nothing is left. Resolves 0 when every check passed, 1 otherwise; rethrows an abort's reason.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { oneLine } from '../util/errors.js';
import { packageRoot } from '../sys/package-root.js';
import { tutorialSteps, type DemoUi, type Run } from './demo-steps.js';
import { hostGwLabName, hostGwTopologyFile, overlayFreeSteps } from './demo-host-gw.js';
import { liveLabUp } from './live-lab.js';
import { createProgress } from './progress.js';
import { teardownLab, labProcesses } from './teardown.js';
import { listNetns } from './sys.js';
import { labPrefix } from './names.js';
import type { LabTopology } from './topology.js';

export interface DemoOptions {
  topology: LabTopology;
  topologyText?: string;
  out: NodeJS.WritableStream;
  tty?: boolean;
  signal?: AbortSignal;
  /** Where the tutorials' manifests are (default: the package's examples/manifests). */
  manifestDir?: string;
}

type Outcome = 'pass' | 'fail';

function runCli(lab: string, signal?: AbortSignal): Run {
  const bin = path.join(packageRoot(), 'bin', 'flannelette.js');
  return (args, opts = {}) =>
    new Promise((resolve) => {
      // --name goes right after the verb (before any `--` of exec)
      const at = args[0] === 'lab' ? (args[1] === 'node' ? 3 : 2) : -1;
      const argv = at < 0 ? args : [...args.slice(0, at), '--name', lab, ...args.slice(at)];
      const child = spawn(process.execPath, [bin, ...argv], {
        env: { ...process.env, FORCE_COLOR: '0' },
        signal,
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.stderr.on('data', (d) => (err += String(d)));
      child.on('error', () => undefined);
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, out, err });
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end();
    });
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const t = opts.topology;
  const tty = opts.tty ?? Boolean((opts.out as NodeJS.WriteStream).isTTY);
  const color = (code: string, s: string): string => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
  const say = (line = ''): void => void opts.out.write(`${line}\n`);
  const results: Outcome[] = [];
  const ui: DemoUi = {
    say,
    check: (ok, text, detail) => {
      results.push(ok ? 'pass' : 'fail');
      say(`   ${ok ? color('32', '✔') : color('31', '✘')} ${text}`);
      if (detail) say(`     ${color('2', detail)}`);
      return ok;
    },
    section: (n, title) => {
      say();
      say(color('1', `${n}. ${title}`));
    },
    command: (text) => say(`   ${color('36', `$ ${text}`)}`),
    output: (text) => {
      for (const l of text.trimEnd().split('\n')) if (l) say(`     ${l}`);
    },
  };
  const manifests = opts.manifestDir ?? path.join(packageRoot(), 'examples', 'manifests');

  say(
    color(
      '1',
      `flannelette demo — the Kubernetes networking tutorials on a live ${t.nodes.length}-node lab (${t.backend.type} backend)`,
    ),
  );
  const up = await liveLabUp({
    topology: t,
    topologyText: opts.topologyText,
    signal: opts.signal,
    progress: createProgress(opts.out, tty),
  });
  say(
    `   lab ${t.name} is up in ${up.seconds.toFixed(1)}s: ${t.nodes.map((n) => `${n.name} ${n.subnet}`).join(', ')}; no pods yet`,
  );
  say(`   (kubectl works too: export KUBECONFIG=$(flannelette lab kubeconfig --name ${t.name}))`);

  const hostGwLab = hostGwLabName(t.name);
  try {
    await tutorialSteps(t, manifests, runCli(t.name, opts.signal), ui, opts.signal);
    await overlayFreeSteps({
      t,
      run: runCli(t.name, opts.signal),
      runHostGw: runCli(hostGwLab, opts.signal),
      hostGwLab,
      hostGwTopology: hostGwTopologyFile(packageRoot()),
      ui,
      signal: opts.signal,
    });
  } catch (err) {
    if (!opts.signal?.aborted) ui.check(false, `the walkthrough stopped: ${oneLine(err)}`);
  } finally {
    say();
    say('Tearing the lab down …');
    try {
      const down = await teardownLab(t.name);
      say(`   removed ${down.namespaces} namespaces and ${down.processes} processes`);
      await teardownLab(hostGwLab); // already down unless the host-gw step stopped half-way
      const labs = [t.name, hostGwLab];
      const netns = await listNetns();
      const left = labs.reduce(
        (n, lab) => n + netns.filter((x) => x.startsWith(labPrefix(lab))).length + labProcesses(lab).length,
        0,
      );
      ui.check(left === 0, 'nothing of the lab is left (namespaces, processes)');
    } catch (err) {
      ui.check(false, `lab down failed: ${oneLine(err)}`);
    }
  }
  if (opts.signal?.aborted) throw opts.signal.reason;
  const passed = results.filter((r) => r === 'pass').length;
  const failed = results.length - passed;
  say();
  say(`${failed === 0 ? color('32', '✔') : color('31', '✘')} ${passed} checks passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}
