// The live lab's own commands: `lab supervise` (internal: run by `lab up`), `lab kubeconfig`,
// `lab shell`, `lab node stop|start|add|delete NAME` and `lab check`; and the pod side of
// `lab exec`/`lab logs` for a live lab (through the API; nodes stay `ip netns exec`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import { formatCheck, runCheck } from '../lab/check.js';
import { formatPolicyMatrix, policyMatrix } from '../lab/policy-matrix.js';
import { loadPolicyView } from '../lab/policy-world.js';
import { podExec, podLogs } from '../lab/kubectl-pod-io.js';
import { labClient, readToken } from '../lab/live-lab.js';
import { livePaths } from '../lab/live-paths.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { addNode, deleteNode, startNode, stopNode } from '../lab/node-ops.js';
import { Supervisor } from '../lab/supervisor.js';
import type { LabState } from '../lab/state.js';
import { requireLabPrivileges } from '../lab/sys.js';
import type { LabAction } from './lab-action.js';
import { jsonText, outputFormat } from './output.js';

export function liveExec(
  state: LabState,
  pod: string,
  command: string[],
  o: { container?: string; stdin?: boolean; tty?: boolean; namespace?: string },
  err: NodeJS.WritableStream,
): Promise<number> {
  const lp = livePaths(state.topology.name);
  const client = labClient(state.topology.name);
  return podExec(client, { socket: lp.apiSocket, token: readToken(lp) }, pod, command, o, {
    input: process.stdin,
    output: process.stdout,
    error: err,
  });
}

export function liveLogs(
  state: LabState,
  pod: string,
  o: { container?: string; follow?: boolean; previous?: boolean; tail?: string; namespace?: string },
  out: NodeJS.WritableStream,
): Promise<number> {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  return podLogs(labClient(state.topology.name), pod, { ...o, signal: ac.signal }, out);
}

export function registerLabLiveCommands(
  lab: Command,
  action: LabAction,
  out: NodeJS.WritableStream,
  _err: NodeJS.WritableStream,
): void {
  const say = (l: string): void => void out.write(`${l}\n`);

  lab
    .command('supervise', { hidden: true })
    .description('(run by lab up) start and restart the control plane, node agents and kubelets of a lab')
    .requiredOption('--name <lab>', 'the lab')
    .action(
      action(async (o: { name: string }) => {
        const name = await resolveLabName(o.name);
        const lp = livePaths(name);
        const log = (line: string): void => void out.write(`${new Date().toISOString()} ${line}\n`);
        fs.writeFileSync(lp.supervisorPid, `${process.pid}\n`);
        const sup = new Supervisor({ specFile: lp.supervisorSpec, statusFile: lp.supervisorStatus, log });
        process.on('SIGHUP', () => sup.reload());
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            log('stopping every child');
            void sup.stop().then(resolve);
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        fs.rmSync(lp.supervisorPid, { force: true });
        log('stopped');
      }),
    );

  lab
    .command('kubeconfig')
    .description("print the path of the lab's kubeconfig: export KUBECONFIG=$(flannelette lab kubeconfig)")
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (o: { name?: string }) => {
        const lp = livePaths(await resolveLabName(o.name));
        if (!fs.existsSync(lp.kubeconfig))
          throw new ConfigError(`no kubeconfig at ${lp.kubeconfig}: is the lab running (and not --static)?`);
        say(lp.kubeconfig);
      }),
    );

  lab
    .command('shell')
    .description('a shell with KUBECONFIG set to the lab and a prompt naming it (exit to leave)')
    .option('-c, --command <cmd>', 'run this command in that shell instead of an interactive one')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (o: { command?: string; name?: string }) => {
        const name = await resolveLabName(o.name);
        const lp = livePaths(name);
        if (!fs.existsSync(lp.kubeconfig))
          throw new ConfigError(`no kubeconfig at ${lp.kubeconfig}: is the lab running (and not --static)?`);
        const rc = path.join(lp.dir, 'shellrc');
        fs.writeFileSync(
          rc,
          `[ -f ~/.bashrc ] && . ~/.bashrc\nexport KUBECONFIG=${lp.kubeconfig}\nPS1='(lab ${name}) \\u@\\h:\\w\\$ '\n`,
        );
        const env = { ...process.env, KUBECONFIG: lp.kubeconfig, FLANNELETTE_LAB: name, PS1: `(lab ${name}) $ ` };
        const args = o.command !== undefined ? ['-c', o.command] : ['--rcfile', rc, '-i'];
        return new Promise<number>((resolve, reject) => {
          const child = spawn('bash', args, { stdio: 'inherit', env });
          child.on('error', (e) => reject(e));
          child.on('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0)));
        });
      }),
    );

  const node = lab.command('node').description('stop, start, add or delete a node of a live lab');
  const nodeCmd = (
    verb: string,
    what: string,
    fn: (state: LabState, n: string, o: { publicIp?: string }) => Promise<string>,
  ): Command =>
    node
      .command(verb)
      .description(what)
      .argument('<node>')
      .option('--name <lab>', 'which lab (default: the only one running)')
      .action(
        action(async (n: string, o: { name?: string; publicIp?: string }) => {
          requireLabPrivileges();
          const state = requireState(await resolveLabName(o.name));
          if (!state.live) throw new ConfigError(`lab ${state.topology.name} is a --static lab: its nodes are fixed`);
          say(await fn(state, n, o));
        }),
      );
  nodeCmd(
    'stop',
    "kill the node's agent, kubelet and pods (it goes NotReady; its pods are evicted after the eviction timeout)",
    async (s, n) => {
      const killed = await stopNode(s, n);
      return `node/${n} stopped (${killed} pod processes killed)`;
    },
  );
  nodeCmd('start', 'start a stopped node again (same subnet); waits until it is Ready', async (s, n) => {
    await startNode(s, n);
    return `node/${n} started`;
  });
  nodeCmd(
    'add',
    'join a new node (next free subnet and underlay address); waits until it is Ready',
    async (s, n, o) => {
      const added = await addNode(s, n, { publicIp: o.publicIp });
      return `node/${n} added (subnet ${added.subnet}, public IP ${added.publicIp})`;
    },
  ).option('--public-ip <ip>', 'its underlay address (default: the next free one)');
  nodeCmd('delete', 'drain a node (delete its pods and wait) and remove it', async (s, n) => {
    const pods = await deleteNode(s, n, { log: say });
    return `node/${n} deleted (${pods} pods drained)`;
  });

  lab
    .command('check')
    .description('ping and TCP from every pod to every other pod and every node, as a matrix (exit 3 on a failure)')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .addOption(new Option('-o, --output <format>', 'json: a versioned JSON document (docs/json.md)'))
    .action(
      action(async (o: { name?: string; output?: string }) => {
        outputFormat(o);
        requireLabPrivileges();
        const state = requireState(await resolveLabName(o.name));
        if (!state.live) throw new ConfigError(`lab check needs a live lab (${state.topology.name} is --static)`);
        const client = labClient(state.topology.name);
        const r = await runCheck(client, state.topology);
        const view = await loadPolicyView(client);
        if (view.world.policies.length === 0) {
          say(jsonText('CheckResult', { ...r, ok: r.failures === 0 }, o) ?? formatCheck(r));
          return r.failures > 0 ? 3 : 0;
        }
        const m = policyMatrix(view, r);
        const json = jsonText('CheckResult', { ...r, ok: m.mismatches.length === 0, policyMatrix: m }, o);
        say(json ?? `${formatCheck(r)}\n\n${formatPolicyMatrix(m)}`);
        return m.mismatches.length > 0 ? 3 : 0;
      }),
    );
}
