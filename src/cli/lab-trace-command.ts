// `lab trace SRC DST:PORT [--proto tcp|udp] [--endpoint IP] [-o json]`: what the source node's kube-proxy
// rules do with a packet to a Service address, then the overlay path to the chosen endpoint
// (lab/service-trace.ts). Nothing is sent. Exit 0 when it is DNATed and the path is explained, 3 when
// the rules reject or drop it or DST:PORT is no Service here, 1 when the node agent does not answer,
// 2 for bad input.
import type { Command } from 'commander';
import { isIpv4 } from '../addr/ipv4.js';
import { ConfigError } from '../util/errors.js';
import { requireState, resolveLabName } from '../lab/lab.js';
import { labClient } from '../lab/live-lab.js';
import { labTraceLines, loadLabTraceView, traceLab, type LabTraceRequest } from '../lab/service-trace.js';
import type { LabAction } from './lab-action.js';
import { addOutputOption, jsonText, type OutputFlags } from './output.js';

function destination(text: string): { dst: string; port: number } {
  const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(text);
  if (!m || !isIpv4(m[1]) || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new ConfigError(`"${text}" is not IP:PORT (a ClusterIP, a node's address or a LoadBalancer address)`);
  return { dst: m[1], port: Number(m[2]) };
}

export function registerLabTraceCommand(lab: Command, action: LabAction, out: NodeJS.WritableStream): void {
  addOutputOption(
    lab
      .command('trace')
      .description("explain what kube-proxy's rules and the overlay do with a packet to a Service address")
      .argument('<src>', 'ns/pod, pod (in -n), node name, or client')
      .argument('<dst>', 'IP:PORT: a ClusterIP, a NodePort on a node address, or a LoadBalancer address')
      .option('--proto <p>', 'tcp or udp', 'tcp')
      .option('--endpoint <ip>', 'the endpoint to follow after numgen (default: the first)')
      .option('-n, --namespace <ns>', 'namespace of pods named without one', 'default')
      .option('--name <lab>', 'which lab (default: the only one running)'),
  ).action(
    action(
      async (
        src: string,
        dstText: string,
        o: OutputFlags & { proto: string; endpoint?: string; namespace: string; name?: string },
      ) => {
        const proto = o.proto.toLowerCase();
        if (proto !== 'tcp' && proto !== 'udp') throw new ConfigError(`--proto: "${o.proto}" is not tcp or udp`);
        if (o.endpoint !== undefined && !isIpv4(o.endpoint))
          throw new ConfigError(`--endpoint: "${o.endpoint}" is not an IPv4 address`);
        const q: LabTraceRequest = {
          src,
          ...destination(dstText),
          proto,
          namespace: o.namespace,
          endpoint: o.endpoint,
        };
        const name = await resolveLabName(o.name);
        const topology = requireState(name).topology;
        const r = await traceLab(await loadLabTraceView(labClient(name)), topology, q);
        const json = jsonText('LabTrace', r, o);
        out.write(`${json ?? labTraceLines(r, q).join('\n')}\n`);
        if (r.service.verdict !== 'dnat') return 3;
        return r.pathError ? 1 : 0;
      },
    ),
  );
}
