// How the CLI ends: a one-line error on standard error and an exit code. 2 for bad input (usage,
// config, addresses), 1 for everything else (devices, permissions, a node that does not answer).
import { oneLine } from '../util/errors.js';

const INPUT_ERRORS = new Set(['ConfigError', 'AddressError', 'CommanderError']);

export function exitCodeFor(err: unknown): number {
  const name = (err as Error)?.name;
  if (INPUT_ERRORS.has(name)) return 2;
  if (name === 'RpcError' && INPUT_ERRORS.has((err as { code?: string }).code ?? '')) return 2;
  return 1;
}

export function fail(err: unknown): never {
  process.stderr.write(`flannelette: ${oneLine(err)}\n`);
  process.exit(exitCodeFor(err));
}
