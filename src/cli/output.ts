// `-o json` (`--output json`) for every command that reads something: one JSON document on standard
// output in a versioned envelope, `{"apiVersion":"flannelette.io/v1","kind":KIND,...}` — an object
// reply's fields beside apiVersion and kind, a list's entries under `items` (docs/json.md lists
// every kind and its fields). Within flannelette.io/v1 fields are only ever added, never renamed or
// retyped. `--json` (older, kept for scripts) prints the same reply without the envelope.
// `lab get -o json` is kubectl's output (Kubernetes objects, versioned by their own apiVersion).
// outputFormat throws ConfigError for a format other than json.
import { Option, type Command } from 'commander';
import { ConfigError } from '../util/errors.js';

export const JSON_API_VERSION = 'flannelette.io/v1';

/** The kinds of the envelope, one per command (docs/json.md). */
export type OutputKind =
  | 'NodeStatus'
  | 'RouteList'
  | 'NodeStats'
  | 'Trace'
  | 'Impairments'
  | 'LinkImpairments'
  | 'LabStatus'
  | 'CheckResult'
  | 'FollowResult'
  | 'LabTrace'
  | 'PolicyCheck'
  | 'PolicyDenials';

export interface OutputFlags {
  output?: string;
  json?: boolean;
}

/** Adds `-o, --output json` to a read command. */
export function addOutputOption(cmd: Command): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'json: a versioned JSON document (docs/json.md)'));
}

/** 'versioned' for -o json, 'bare' for --json, 'text' otherwise. */
export function outputFormat(flags: OutputFlags): 'versioned' | 'bare' | 'text' {
  if (flags.output !== undefined) {
    if (flags.output !== 'json') throw new ConfigError(`-o ${flags.output}: the only output format is json`);
    return 'versioned';
  }
  return flags.json ? 'bare' : 'text';
}

/** The envelope around a reply. */
export function versioned(kind: OutputKind, value: unknown): Record<string, unknown> {
  const head = { apiVersion: JSON_API_VERSION, kind };
  if (Array.isArray(value)) return { ...head, items: value };
  return { ...head, ...(value as Record<string, unknown>) };
}

/** The JSON text for these flags, or undefined when the command prints text. */
export function jsonText(kind: OutputKind, value: unknown, flags: OutputFlags): string | undefined {
  const f = outputFormat(flags);
  if (f === 'text') return undefined;
  return JSON.stringify(f === 'versioned' ? versioned(kind, value) : value, null, 2);
}
