// flanneld's environment variables for `flannelette node`: every flag also as FLANNELD_<FLAG>
// (flagutil.SetFlagsFromEnv with prefix FLANNELD). Applied after commander parsed the command line,
// so a flag given there wins; a --config file fills what is still unset. flanneldEnv throws
// ConfigError for a boolean that is not true/false/1/0.
import type { Command, Option } from 'commander';
import { ConfigError } from '../util/errors.js';

/**
 * Every flag also from the environment as flanneld reads its own (flagutil.SetFlagsFromEnv, prefix
 * FLANNELD): `--public-ip` ← FLANNELD_PUBLIC_IP; a boolean flag from "true"/"false" (FLANNELD_IP_MASQ=true;
 * `--no-anti-spoof` ← FLANNELD_ANTI_SPOOF=false). The command line wins; a bad boolean is an error.
 */
export function flanneldEnvName(o: Option): string | undefined {
  const long = o.long?.replace(/^--(no-)?/, '');
  return long ? `FLANNELD_${long.toUpperCase().replace(/-/g, '_')}` : undefined;
}

/** The flags given as FLANNELD_* variables and not on the command line (repeatable ones take one value). */
export function flanneldEnv<T extends object>(flags: T, command: Command): T {
  const out: T = { ...flags };
  for (const o of command.options) {
    const name = flanneldEnvName(o);
    const text = name === undefined ? undefined : process.env[name];
    const key = o.attributeName();
    if (text === undefined || command.getOptionValueSource(key) === 'cli') continue;
    if (o.required || o.optional) {
      (out as Record<string, unknown>)[key] = Array.isArray(o.defaultValue) ? [text] : text;
      continue;
    }
    const lower = text.toLowerCase();
    if (!['true', 'false', '1', '0'].includes(lower)) throw new ConfigError(`${name}=${text}: expected true or false`);
    (out as Record<string, unknown>)[key] = lower === 'true' || lower === '1';
  }
  return out;
}
