// Command-line flags the way Go's flag/pflag packages read them (agnhost is a Go program): `--name=value`,
// `--name value`, `-name`, boolean flags that take no value (`--tcp`, or `--tcp=false`), and Go durations
// ("500ms", "5s", "1m30s"). parseGoFlags throws ConfigError for an unknown flag or a bad value.
import { ConfigError } from '../../util/errors.js';

export type FlagKind = 'bool' | 'int' | 'string' | 'duration';

export interface ParsedFlags {
  values: Record<string, string | number | boolean>;
  args: string[];
}

export function parseGoDuration(text: string): number {
  if (text === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || text.length === 0) throw new ConfigError(`invalid duration "${text}"`);
  return total;
}

export function parseGoFlags(
  argv: readonly string[],
  spec: Record<string, { kind: FlagKind; default: string | number | boolean }>,
): ParsedFlags {
  const values: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(spec)) values[k] = v.default;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const f = spec[name];
    if (!f) throw new ConfigError(`unknown flag: --${name}`);
    let raw: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (f.kind === 'bool') {
      values[name] = raw === undefined ? true : raw === 'true' || raw === '1';
      continue;
    }
    if (raw === undefined) raw = argv[++i];
    if (raw === undefined) throw new ConfigError(`flag needs an argument: --${name}`);
    if (f.kind === 'int') {
      if (!/^-?\d+$/.test(raw)) throw new ConfigError(`invalid argument "${raw}" for "--${name}" flag`);
      values[name] = Number(raw);
    } else if (f.kind === 'duration') {
      values[name] = parseGoDuration(raw);
    } else values[name] = raw;
  }
  return { values, args };
}
