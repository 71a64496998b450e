// `lab policy check SRC DST [--port N] [--proto tcp|udp] [--probe]` (exit 0 allowed, 3 denied, 1 when
// --probe disagrees with the verdict), `lab policy log [POD]` (the denials the nodes' enforcers
// remembered, with the reason), and `lab describe networkpolicy NAME` (kubectl's layout plus the pods
// it selects now and its counters). Clients of the lab's API; counters and denials come from `nft` in
// the node namespaces (root).
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import type { NetworkPolicy } from '../k8s/networkpolicy-types.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { labClient } from '../lab/live-lab.js';
import {
  checkConnection,
  denialLines,
  denials,
  type Endpoint,
  loadPolicyView,
  probe,
  readLabPolicyState,
  sourceNetns,
} from '../lab/policy-check.js';
import { describeNetworkPolicyLines } from '../lab/policy-describe.js';
import { requireLabPrivileges } from '../lab/sys.js';
import type { LabAction } from './lab-action.js';
import { addOutputOption, jsonText, outputFormat, type OutputFlags } from './output.js';

/** An endpoint as JSON: its label, address and, for a pod, namespace/name. */
function endpointOf(e: Endpoint): { label: string; ip: string; pod?: string } {
  return { label: e.label, ip: e.ip, ...(e.pod ? { pod: `${e.pod.namespace}/${e.pod.name}` } : {}) };
}

function portOf(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535)
    throw new ConfigError(`--port: "${v}" is not a port (1-65535)`);
  return Number(v);
}

function protoOf(v: string): 'TCP' | 'UDP' {
  const p = v.toUpperCase();
  if (p !== 'TCP' && p !== 'UDP') throw new ConfigError(`--proto: "${v}" is not tcp or udp`);
  return p;
}

/** `lab describe networkpolicy NAME`, called by kube-commands.ts for that kind. */
export async function describeNetworkPolicy(
  labName: string | undefined,
  name: string,
  namespace: string,
  out: NodeJS.WritableStream,
): Promise<number> {
  const lab = await resolveLabName(labName);
  const client = labClient(lab);
  const np = await client.get<NetworkPolicy>(
    `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/networkpolicies/${encodeURIComponent(name)}`,
  );
  const view = await loadPolicyView(client);
  const state = await readLabPolicyState(requireState(lab).topology);
  out.write(`${describeNetworkPolicyLines(np, view.world, state).join('\n')}\n`);
  return 0;
}

export function registerLabPolicyCommands(lab: Command, action: LabAction, out: NodeJS.WritableStream): void {
  const say = (l: string): void => void out.write(`${l}\n`);
  const policy = lab.command('policy').description('NetworkPolicy: why a connection is allowed or denied');
  const check = policy
    .command('check')
    .description('is SRC → DST allowed by the NetworkPolicies (and by which rule)? --probe also sends it')
    .argument('<src>', 'ns/pod, pod (in -n), node name or IP')
    .argument('<dst>', 'ns/pod, pod (in -n), node name or IP')
    .option('--port <n>', 'destination port', '80')
    .option('--proto <p>', 'tcp or udp', 'tcp')
    .option('-n, --namespace <ns>', 'namespace of pods named without one', 'default')
    .option('--probe', 'also connect (agnhost connect from the source) and confirm')
    .option('--name <lab>', 'which lab (default: the only one running)');
  addOutputOption(check).action(
    action(
      async (
        src: string,
        dst: string,
        o: { port: string; proto: string; namespace: string; probe?: boolean; name?: string } & OutputFlags,
      ) => {
        const q = { src, dst, port: portOf(o.port), proto: protoOf(o.proto), namespace: o.namespace };
        const json = outputFormat(o) !== 'text';
        const lab = await resolveLabName(o.name);
        const view = await loadPolicyView(labClient(lab));
        const a = checkConnection(view, q);
        const report = (probed?: { ok: boolean; agrees: boolean }): void => {
          const doc = { source: endpointOf(a.src), destination: endpointOf(a.dst), proto: q.proto, port: q.port };
          const text = jsonText('PolicyCheck', { ...doc, ...a.verdict, explanation: a.lines, probe: probed }, o);
          if (text !== undefined) say(text);
        };
        if (!json) for (const l of a.lines) say(l);
        if (!o.probe) {
          report();
          return a.verdict.allowed ? 0 : 3;
        }
        requireLabPrivileges();
        const netns = await sourceNetns(requireState(lab).topology, a.src, view);
        if (!netns) throw new ConfigError(`cannot find the network namespace of ${a.src.label}`);
        const p = await probe(netns, a.dst.ip, q);
        const agrees = p.ok === a.verdict.allowed;
        report({ ok: p.ok, agrees });
        if (!json)
          say(
            `probe: ${p.ok ? 'connected' : `no connection (${p.out.split('\n')[0] || 'failed'})`}` +
              ` — ${agrees ? 'agrees' : 'DISAGREES'} with the verdict`,
          );
        if (!agrees) return 1;
        return a.verdict.allowed ? 0 : 3;
      },
    ),
  );
  const log = policy
    .command('log')
    .description("denied connections the nodes' enforcers remembered: source, destination, port, reason")
    .argument('[pod]', 'only those from or to this pod (ns/pod)')
    .option('--name <lab>', 'which lab (default: the only one running)');
  addOutputOption(log).action(
    action(async (pod: string | undefined, o: { name?: string } & OutputFlags) => {
      outputFormat(o); // a bad -o before any work
      requireLabPrivileges();
      const lab = await resolveLabName(o.name);
      const view = await loadPolicyView(labClient(lab));
      const state = await readLabPolicyState(requireState(lab).topology);
      const text = jsonText('PolicyDenials', denials(view, state, pod), o);
      if (text !== undefined) return void say(text);
      const lines = denialLines(view, state, pod);
      for (const l of lines) say(l);
      if (lines.length === 1) say('(no denied connections)');
    }),
  );
}
