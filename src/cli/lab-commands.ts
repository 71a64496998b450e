// The lab's commands: `lab up|down|status|exec|logs`, `demo`, and `container` (the built-in
// container programs). registerLabCommands adds them to the CLI program; each action prints a
// one-line error (`flannelette: ...`) and sets a non-zero exit code instead of throwing.
// Ctrl-C during `lab up` or `demo` removes everything the lab created so far (exit 130).
import { applyLabRuntime, labRuntimeOption } from './lab-runtime-flag.js';
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, oneLine } from '../util/errors.js';
import { packageRoot } from '../sys/package-root.js';
import { runDemo } from '../lab/demo.js';
import { execIn, findTarget, logFiles, readLog } from '../lab/exec.js';
import { labUp, listLabs, requireState, resolveLabName } from '../lab/lab.js';
import { PROGRAM_NAMES, runProgram } from '../lab/programs.js';
import { createProgress } from '../lab/progress.js';
import { collectStatus, formatStatus } from '../lab/status.js';
import { requireLabPrivileges } from '../lab/sys.js';
import { missingCniPlugins } from '../lab/cni-files.js';
import { requireDualStackWiring } from '../lab/topology-ipv6.js';
import { parseTopology, type LabTopology } from '../lab/topology.js';
import { registerLabAttachCommands } from './lab-attach-commands.js';
import { registerLabImpairCommands } from './lab-impair-commands.js';
import { registerKubeCommands } from './kube-commands.js';
import { liveExec, liveLogs, registerLabLiveCommands } from './lab-live-commands.js';
import { registerLabPolicyCommands } from './lab-policy-commands.js';
import { registerLabTraceCommand } from './lab-trace-command.js';
import { liveLabUp } from '../lab/live-lab.js';
import { collectLiveStatus, formatLiveStatus } from '../lab/live-status.js';
import { teardownLab } from '../lab/teardown.js';
import { exitCodeOfApiError } from '../lab/kube-client.js';
import { registerLabCaptureCommand } from './lab-capture-command.js';
import { registerLabFollowCommand } from './lab-follow-command.js';
import { registerLabViewCommands } from './lab-view-commands.js';
import { jsonText, outputFormat } from './output.js';

export interface LabCommandDeps {
  /** Where normal output goes (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Where errors go (default process.stderr). */
  err?: NodeJS.WritableStream;
}

class Interrupted extends Error {
  constructor() {
    super('interrupted');
    this.name = 'Interrupted';
  }
}

function defaultTopologyPath(): string {
  return path.join(packageRoot(), 'examples', 'two-nodes.yaml');
}

function loadTopology(file: string | undefined, name: string | undefined): { topology: LabTopology; text: string } {
  const p = file ?? defaultTopologyPath();
  let text: string;
  try {
    text = fs.readFileSync(p, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read topology ${p}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`, {
      cause: err,
    });
  }
  return { topology: parseTopology(text, p, name), text };
}

/** Runs `fn` with an AbortSignal that fires on SIGINT/SIGTERM. */
async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort(new Interrupted());
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function registerLabCommands(program: Command, deps: LabCommandDeps = {}): void {
  const out = deps.out ?? process.stdout;
  const err = deps.err ?? process.stderr;
  const say = (line: string): void => void out.write(`${line}\n`);
  const action =
    <A extends unknown[]>(fn: (...args: A) => Promise<number | void>) =>
    async (...args: A): Promise<void> => {
      // A closed pipe (`lab up | head`) must not crash a half-built lab: ignore write errors.
      for (const stream of [out, err] as unknown as NodeJS.EventEmitter[])
        if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
      try {
        const code = await fn(...args);
        if (typeof code === 'number' && code !== 0) process.exitCode = code;
      } catch (e) {
        if (e instanceof Interrupted || (e as Error)?.name === 'Interrupted') {
          err.write('flannelette: interrupted; everything the lab had created was removed\n');
          process.exitCode = 130;
          return;
        }
        err.write(`flannelette: ${oneLine(e)}\n`);
        process.exitCode = exitCodeOfApiError(e) ?? ((e as { code?: string }).code === 'ECONFIG' ? 2 : 1);
      }
    };

  const lab = program.command('lab').description('an emulated cluster of nodes and pods in network namespaces');
  registerLabImpairCommands(lab);
  registerLabLiveCommands(lab, action, out, err);
  registerKubeCommands(lab, action, out, err);
  registerLabPolicyCommands(lab, action, out);
  registerLabTraceCommand(lab, action, out);
  registerLabCaptureCommand(lab);
  registerLabFollowCommand(lab);
  registerLabViewCommands(lab);
  registerLabAttachCommands(lab, action, out);

  lab
    .command('up')
    .description('create the lab described by a topology file (default: examples/two-nodes.yaml)')
    .argument('[topology]', 'topology YAML file')
    .option('--name <lab>', "lab name (default: the topology's name); lets a second lab run beside the first")
    .option('--static', "no control plane: the topology's pods as plain processes, fixed until lab down")
    .option('--no-agent', 'with --static: do not start node agents (pods reach only pods on their own node)')
    .option('--pcap-dir <dir>', 'where nodes that capture write pcap files', 'pcaps')
    .option('--log-level <level>', 'node agent log level', 'info')
    .addOption(labRuntimeOption())
    .action(
      action(
        async (
          file: string | undefined,
          o: { name?: string; static?: boolean; agent: boolean; pcapDir: string; logLevel: string; runtime?: string },
        ) => {
          const { topology, text } = loadTopology(file, o.name);
          applyLabRuntime(topology, o.runtime, o.static);
          requireDualStackWiring(topology, Boolean(o.static), missingCniPlugins());
          requireLabPrivileges();
          const progress = createProgress(out);
          if (!o.static) {
            const live = await withInterrupt((signal) =>
              liveLabUp({
                topology,
                topologyText: text,
                logLevel: o.logLevel,
                pcapDir: path.resolve(o.pcapDir),
                signal,
                progress,
              }),
            );
            say(
              `lab ${topology.name} is up in ${live.seconds.toFixed(1)}s: ${topology.nodes.length} nodes, ${topology.pods.length} pods (${topology.backend.type} backend)`,
            );
            say('');
            say(formatLiveStatus(await collectLiveStatus(live.state)));
            say('');
            say(
              `Try: export KUBECONFIG=$(flannelette lab kubeconfig --name ${topology.name}); kubectl get pods -o wide`,
            );
            say(`Remove it: flannelette lab down --name ${topology.name}`);
            return;
          }
          const result = await withInterrupt((signal) =>
            labUp({
              topology,
              topologyText: text,
              agents: o.agent,
              pcapDir: path.resolve(o.pcapDir),
              logLevel: o.logLevel,
              signal,
              progress,
            }),
          );
          for (const w of result.warnings) say(`warning: ${w}`);
          say(
            `lab ${topology.name} is up in ${result.seconds.toFixed(1)}s: ${topology.nodes.length} nodes, ${topology.pods.length} pods (${topology.backend.type} backend)`,
          );
          say('');
          say(formatStatus(await collectStatus(result.state)));
          say('');
          say(
            `Try: flannelette lab exec ${topology.pods[0]?.name ?? topology.nodes[0].name} -- ip addr     Remove it: flannelette lab down --name ${topology.name}`,
          );
        },
      ),
    );

  lab
    .command('down')
    .description('remove every namespace, link and process of a lab (also after a crash)')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .option('--all', 'remove every lab on this host')
    .action(
      action(async (o: { name?: string; all?: boolean }) => {
        requireLabPrivileges();
        let names: string[];
        if (o.all) names = await listLabs();
        else if (o.name !== undefined) names = [await resolveLabName(o.name)];
        else {
          const running = await listLabs();
          names = running.length <= 1 ? running : [await resolveLabName(undefined)];
        }
        if (names.length === 0) {
          say('no lab to remove');
          return;
        }
        for (const name of names) {
          const r = await teardownLab(name, { progress: createProgress(out) });
          say(
            r.existed
              ? `lab ${name} removed: ${r.namespaces} namespaces, ${r.processes} processes`
              : `lab ${name}: nothing to remove`,
          );
        }
      }),
    );

  lab
    .command('status')
    .description("pods (like kubectl get pods -o wide) and nodes of a lab, with each node agent's health")
    .option('--name <lab>', 'which lab (default: the only one running)')
    .option('--json', 'machine-readable output (the report without the -o json envelope)')
    .addOption(new Option('-o, --output <format>', 'json: a versioned JSON document (docs/json.md)'))
    .action(
      action(async (o: { name?: string; json?: boolean; output?: string }) => {
        outputFormat(o);
        const name = await resolveLabName(o.name);
        const state = requireState(name);
        const report = state.live ? await collectLiveStatus(state) : await collectStatus(state);
        const json = jsonText('LabStatus', report, o);
        if (json !== undefined) say(json);
        else
          say(
            state.live
              ? formatLiveStatus(report as Awaited<ReturnType<typeof collectLiveStatus>>)
              : formatStatus(report as Awaited<ReturnType<typeof collectStatus>>),
          );
      }),
    );

  lab
    .command('exec')
    .description("run a command inside a pod's (or a node's) network namespace: lab exec POD [-c CONTAINER] -- CMD...")
    .argument('<target>', 'pod or node name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-c, --container <name>', 'container of the pod')
    .option('-i, --stdin', 'pass stdin to the container')
    .option('-t, --tty', 'stdin is a TTY')
    .option('-n, --namespace <ns>', 'namespace of the pod', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(
        async (
          target: string,
          command: string[],
          o: { container?: string; name?: string; stdin?: boolean; tty?: boolean; namespace: string },
        ) => {
          requireLabPrivileges();
          const state = requireState(await resolveLabName(o.name));
          if (state.live && !state.topology.nodes.some((n) => n.name === target) && target !== 'client')
            return liveExec(state, target, command, o, err);
          return execIn(findTarget(state, target, o.container), command);
        },
      ),
    );

  lab
    .command('logs')
    .description("print a pod's container logs or a node agent's log")
    .argument('<target>', 'pod or node name')
    .option('-c, --container <name>', 'only this container of the pod')
    .option('-f, --follow', 'keep printing new lines')
    .option('-p, --previous', "the previous (exited) instance's log")
    .option('--tail <lines>', 'only the last lines')
    .option('-n, --namespace <ns>', 'namespace of the pod', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(
        async (
          target: string,
          o: {
            container?: string;
            name?: string;
            follow?: boolean;
            previous?: boolean;
            tail?: string;
            namespace: string;
          },
        ) => {
          const state = requireState(await resolveLabName(o.name));
          if (state.live && !state.topology.nodes.some((n) => n.name === target) && target !== 'client')
            return liveLogs(state, target, o, out);
          const files = logFiles(state, target, o.container);
          for (const f of files) {
            if (files.length > 1) say(`==> ${f.label} <==`);
            out.write(readLog(f));
          }
        },
      ),
    );

  program
    .command('demo')
    .description(
      'bring up a live two-node lab, walk through the tutorials with their manifests and check every step, then tear it down',
    )
    .argument('[topology]', 'topology YAML file (default: examples/two-nodes-empty.yaml)')
    .option('--name <lab>', "lab name (default: the topology's name)")
    .option('--manifests <dir>', "the tutorials' manifests (default: the package's examples/manifests)")
    .action(
      action(async (file: string | undefined, o: { name?: string; manifests?: string }) => {
        const { topology, text } = loadTopology(
          file ?? path.join(packageRoot(), 'examples', 'two-nodes-empty.yaml'),
          o.name,
        );
        requireLabPrivileges();
        return withInterrupt((signal) =>
          runDemo({ topology, topologyText: text, out, signal, manifestDir: o.manifests }),
        );
      }),
    );

  program
    .command('container')
    .description(`run a built-in container program (${PROGRAM_NAMES.join(', ')}); the lab starts these inside pods`)
    .argument('<program>', PROGRAM_NAMES.join('|'))
    .argument('[args...]', 'program arguments, e.g. http --port 8080')
    .allowUnknownOption()
    .helpOption(false)
    .action(
      action(async (name: string, args: string[]) => {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => process.exit(0));
        return runProgram(name, args);
      }),
    );
}
