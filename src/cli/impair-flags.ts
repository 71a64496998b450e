// The impairment flags shared by `flannelette node` (a default for every peer, set at start) and
// `flannelette impair` (changed at run time through the control socket). Parsing and validation
// live in underlay/impair-spec.ts; this file only declares the flags and picks them out.
import { Command } from 'commander';
import { parseImpairment, type ImpairmentSpec } from '../impair/spec.js';

const FLAGS: Array<[string, string]> = [
  ['--delay <time>', 'one-way delay added to each packet, e.g. 20ms'],
  ['--jitter <time>', 'random variation of the delay, e.g. 5ms'],
  ['--distribution <name>', 'jitter distribution: uniform, normal, pareto, paretonormal'],
  ['--jitter-reorders <bool>', 'let jitter reorder packets (netem behaviour): true or false'],
  ['--loss <percent>', 'independent loss, e.g. 1%, or "gemodel p=1% r=30%" for bursty loss'],
  ['--loss-burst <spec>', 'Gilbert-Elliott bursty loss, e.g. "p=1% r=30% h=0% k=100%"'],
  ['--duplicate <percent>', 'duplicate packets, e.g. 1%'],
  ['--reorder <percent>', 'send this share of packets at once, ahead of delayed ones (needs --delay)'],
  ['--corrupt <percent>', 'flip one random bit in this share of encapsulated payloads'],
  ['--rate <rate>', 'rate limit of the encapsulated UDP payload (outer headers not counted), e.g. 10mbit, 500kbit, 1gbit'],
  ['--burst <size>', 'token bucket depth, e.g. 15kb'],
  ['--queue <limit>', 'bound on queued packets, e.g. 1000 or 1mb'],
];

export const IMPAIR_KEYS = ['delay', 'jitter', 'distribution', 'jitterReorders', 'loss', 'lossBurst', 'duplicate', 'reorder', 'corrupt', 'rate', 'burst', 'queue'] as const;

export function addImpairFlags(cmd: Command): Command {
  for (const [flag, help] of FLAGS) cmd.option(flag, help);
  return cmd;
}

/** The impairment flags that were given, as parseImpairment fields. */
export function impairFields(flags: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of IMPAIR_KEYS) if (typeof flags[key] === 'string') out[key] = flags[key] as string;
  return out;
}

/** The default impairment asked for at start, or undefined when no impairment flag was given. */
export function startupImpairment(flags: Record<string, unknown>): ImpairmentSpec | undefined {
  const fields = impairFields(flags);
  return Object.keys(fields).length > 0 ? parseImpairment(fields) : undefined;
}
