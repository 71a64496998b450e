// `flannelette lab follow --from POD --to POD [--proto icmp]`: waits for the next packet from one pod
// to the other and prints it at every point it crossed, with its headers (src/wireshark/follow.ts).
// Exit 0 when it was seen at every point, 1 when it was seen at some or none.
import type { Command } from 'commander';
import { Option } from 'commander';
import { requireState, resolveLabName } from '../lab/lab.js';
import { requireLabPrivileges } from '../lab/sys.js';
import { ConfigError } from '../util/errors.js';
import { followPacket, formatFollow, type FollowProto } from '../wireshark/follow.js';
import { fail } from './exit.js';
import { jsonText, outputFormat } from './output.js';

interface Flags {
  from: string;
  to: string;
  proto?: FollowProto;
  timeout: string;
  veths: boolean;
  json?: boolean;
  output?: string;
  name?: string;
}

export function registerLabFollowCommand(lab: Command): void {
  lab
    .command('follow')
    .description('follow the next packet from one pod to another through every point it crosses, with its headers')
    .requiredOption('--from <pod>', 'sending pod (name or IP)')
    .requiredOption('--to <pod>', 'receiving pod (name or IP)')
    .addOption(new Option('--proto <proto>', 'only this protocol').choices(['icmp', 'tcp', 'udp']))
    .option('--timeout <seconds>', 'how long to wait for a packet', '30')
    .option('--no-veths', "do not capture the pods' veths (tcpdump)")
    .option('--json', 'print JSON (the result without the -o json envelope)')
    .addOption(new Option('-o, --output <format>', 'json: a versioned JSON document (docs/json.md)'))
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(async (flags: Flags) => {
      try {
        outputFormat(flags);
        const timeout = Number(flags.timeout);
        if (!(timeout > 0)) throw new ConfigError(`--timeout ${flags.timeout}: expected a positive number of seconds`);
        requireLabPrivileges();
        const state = requireState(await resolveLabName(flags.name));
        const result = await followPacket({
          state,
          from: flags.from,
          to: flags.to,
          proto: flags.proto,
          timeoutMs: timeout * 1000,
          veths: flags.veths,
          onReady: (points) =>
            process.stderr.write(
              `waiting for the next ${flags.proto ? `${flags.proto} ` : ''}packet` +
                ` from ${flags.from} to ${flags.to} at ${points.length} points…\n`,
            ),
        });
        if (outputFormat(flags) !== 'text') {
          const hops = result.hops.map((h) => ({
            node: h.node,
            point: h.kind,
            label: h.label,
            tsNs: String(h.tsNs),
            headers: h.summary.headers,
          }));
          const body = { from: result.from.name, to: result.to.name, hops, missed: result.missed.map((m) => m.label) };
          process.stdout.write(jsonText('FollowResult', body, flags) + '\n');
        } else {
          process.stdout.write(formatFollow(result) + '\n');
        }
        process.exit(result.hops.length > 0 && result.missed.length === 0 ? 0 : 1);
      } catch (err) {
        fail(err);
      }
    });
}
