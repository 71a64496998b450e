// kubectl's verbs for a live lab, as clients of the lab's API (src/lab/kube-client.ts):
// `lab get|describe|apply|create|delete|scale`. Flags and output as kubectl's; the lab is chosen
// with --name (default: the only one running). Exit codes: 0 ok, 2 bad input (a manifest error,
// an invalid object, a taken name), 1 anything else.
import fs from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import {
  applyObjects,
  deleteTargets,
  namedTarget,
  parseAll,
  readManifestSources,
  targetsOf,
} from '../lab/kubectl-apply.js';
import { describeCommand } from '../lab/kubectl-describe.js';
import { getCommand } from '../lab/kubectl-get.js';
import { objectPath, resolveResource } from '../lab/kube-resources.js';
import { labClient } from '../lab/live-lab.js';
import { resolveLabName } from '../lab/lab.js';
import type { LabAction } from './lab-action.js';
import { describeNetworkPolicy } from './lab-policy-commands.js';

const collect = (v: string, prev: string[]): string[] => [...prev, v];

async function client(name: string | undefined) {
  return labClient(await resolveLabName(name));
}

function intFlag(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new ConfigError(`${flag}: "${v}" is not an integer`);
  return Number(v);
}

export function registerKubeCommands(
  lab: Command,
  action: LabAction,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): void {
  const say = (l: string): void => void out.write(`${l}\n`);
  const stdin = (): string => fs.readFileSync(0, 'utf8');

  lab
    .command('get')
    .description(
      'list objects as kubectl get does: get KIND [NAME...] [-n NS|-A] [-o wide|yaml|json|name] [-l SEL] [-w]',
    )
    .argument('<kind>', 'pods, deployments, replicasets, nodes, namespaces, events, ...')
    .argument('[names...]', 'object names')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('-A, --all-namespaces', 'every namespace')
    .option('-o, --output <format>', 'wide, yaml, json or name')
    .option('-l, --selector <selector>', 'label selector, e.g. app=nginx')
    .option('--field-selector <selector>', 'field selector, e.g. spec.nodeName=node1')
    .option('-w, --watch', 'after listing, print changes as they happen')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(
        async (
          kind: string,
          names: string[],
          o: {
            namespace: string;
            allNamespaces?: boolean;
            output?: string;
            selector?: string;
            fieldSelector?: string;
            watch?: boolean;
            name?: string;
          },
        ) => {
          const c = await client(o.name);
          const ac = new AbortController();
          process.once('SIGINT', () => ac.abort());
          return getCommand({ client: c, out, err }, kind, names, { ...o, signal: ac.signal });
        },
      ),
    );

  lab
    .command('describe')
    .description('show an object in detail with its events, as kubectl describe does')
    .argument('<kind>')
    .argument('<name>')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (kind: string, name: string, o: { namespace: string; name?: string }) =>
        resolveResource(kind).kind === 'NetworkPolicy'
          ? describeNetworkPolicy(o.name, name, o.namespace, out)
          : describeCommand(await client(o.name), out, kind, name, o.namespace),
      ),
    );

  for (const verb of ['apply', 'create'] as const) {
    lab
      .command(verb)
      .description(`${verb} the objects of manifest files (multi-document YAML, List objects; - for stdin)`)
      .requiredOption('-f, --filename <file>', 'file, directory or - (repeatable)', collect, [])
      .option('-n, --namespace <ns>', 'namespace for objects that name none')
      .option('--name <lab>', 'which lab (default: the only one running)')
      .action(
        action(async (o: { filename: string[]; namespace?: string; name?: string }) => {
          const objs = parseAll(readManifestSources(o.filename, stdin));
          await applyObjects(await client(o.name), objs, verb, o.namespace, say);
        }),
      );
  }

  lab
    .command('delete')
    .description('delete objects (delete -f FILE, or delete KIND NAME...) and wait until they are gone')
    .argument('[kind]')
    .argument('[names...]')
    .option('-f, --filename <file>', 'file, directory or - (repeatable)', collect, [])
    .option('-n, --namespace <ns>', 'namespace')
    .option('--grace-period <seconds>', 'seconds the pods get to stop (0 with --force: at once)')
    .option('--now', 'same as --grace-period=1')
    .option('--force', 'with --grace-period=0: do not wait for the kubelet')
    .option('--wait <bool>', 'wait until the objects are gone', 'true')
    .option('--ignore-not-found', 'a missing object is not an error')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(
        async (
          kind: string | undefined,
          names: string[],
          o: {
            filename: string[];
            namespace?: string;
            gracePeriod?: string;
            now?: boolean;
            force?: boolean;
            wait: string;
            ignoreNotFound?: boolean;
            name?: string;
          },
        ) => {
          let targets;
          if (o.filename.length > 0) {
            if (kind) throw new ConfigError('give either -f FILE or KIND NAME, not both');
            targets = targetsOf(parseAll(readManifestSources(o.filename, stdin)), o.namespace);
          } else {
            if (!kind)
              throw new ConfigError(
                'you must provide one or more resources by argument or filename (delete KIND NAME, or delete -f FILE)',
              );
            if (names.length === 0)
              throw new ConfigError(`resource(s) were provided, but no name was specified (delete ${kind} NAME)`);
            targets = names.map((n) => namedTarget(kind, n, o.namespace));
          }
          const grace = o.now ? 1 : intFlag('--grace-period', o.gracePeriod);
          await deleteTargets(
            await client(o.name),
            targets,
            { wait: o.wait !== 'false', gracePeriod: grace, ignoreNotFound: o.ignoreNotFound },
            say,
          );
        },
      ),
    );

  lab
    .command('scale')
    .description('set the replica count of a deployment (or replicaset): scale deployment NAME --replicas N')
    .argument('<kind>', 'deployment or replicaset')
    .argument('<name>')
    .requiredOption('--replicas <n>', 'the new replica count')
    .option('-n, --namespace <ns>', 'namespace', 'default')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(
      action(async (kind: string, name: string, o: { replicas: string; namespace: string; name?: string }) => {
        const r = resolveResource(kind);
        if (r.kind !== 'Deployment' && r.kind !== 'ReplicaSet')
          throw new ConfigError(`cannot scale ${r.plural}: only deployments and replicasets`);
        const n = intFlag('--replicas', o.replicas)!;
        if (n < 0) throw new ConfigError('--replicas: the replica count must not be negative');
        await (await client(o.name)).patch(objectPath(r, name, o.namespace, 'scale'), { spec: { replicas: n } });
        say(`${r.kind.toLowerCase()}.apps/${name} scaled`);
      }),
    );
}
