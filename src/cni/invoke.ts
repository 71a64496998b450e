// Running a CNI plugin executable (SPEC.md section 4, "Delegated plugin execution procedure", and
// libcni's invoke): the plugin named `type` is looked up in the CNI_PATH directories, run with the
// CNI_* variables in its environment and the configuration on stdin; on success its stdout is the
// result (a JSON object, or nothing for DEL/CHECK), on failure its stdout holds the spec's error JSON.
// `prefix` runs the plugin inside another network namespace (`ip netns exec NODE`), as a kubelet in
// that node would. findPlugin and invokePlugin throw CniError: 7 for a plugin not on the path, the
// plugin's own code for its error, 999 when it failed without an error result.
import fs from 'node:fs';
import path from 'node:path';
import { runCapture } from '../sys/run.js';
import { CniError } from '../util/errors.js';
import { CNI_ERR, parseJsonObject, type CniCommand } from './spec.js';

export interface InvokeArgs {
  command: CniCommand;
  containerId?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  path: readonly string[];
}

export interface InvokeOptions {
  /** argv prefix, e.g. ['ip', 'netns', 'exec', 'flt-lab-node1']. */
  prefix?: readonly string[];
  /** Receives the plugin's stderr (its log), if any. */
  onStderr?: (text: string) => void;
  timeoutMs?: number;
}

/** The executable for plugin `type` in the CNI_PATH directories. */
export function findPlugin(type: string, dirs: readonly string[]): string {
  if (type === '' || type.includes('/') || type === '.' || type === '..') {
    throw new CniError(CNI_ERR.invalidConfig, `invalid plugin type "${type}"`);
  }
  for (const dir of dirs) {
    const file = path.join(dir, type);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(CNI_ERR.invalidConfig, `failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

export function cniEnv(a: InvokeArgs): Record<string, string> {
  return {
    CNI_COMMAND: a.command,
    CNI_CONTAINERID: a.containerId ?? '',
    CNI_NETNS: a.netns ?? '',
    CNI_IFNAME: a.ifName ?? '',
    CNI_ARGS: a.args ?? '',
    CNI_PATH: a.path.join(':'),
  };
}

/** Runs plugin `type` with `config` on stdin; resolves with its result object (undefined when empty). */
export async function invokePlugin(
  type: string,
  config: string,
  a: InvokeArgs,
  opts: InvokeOptions = {},
): Promise<Record<string, unknown> | undefined> {
  const file = findPlugin(type, a.path);
  const out = await runCapture([...(opts.prefix ?? []), file], {
    input: config,
    env: cniEnv(a),
    timeoutMs: opts.timeoutMs,
  });
  return pluginResult(type, out, opts.onStderr);
}

/** What a plugin's exit status, stdout and stderr mean (invokePlugin's contract; also for in-process plugins). */
export function pluginResult(
  type: string,
  out: { code: number | null; stdout: string; stderr: string },
  onStderr?: (text: string) => void,
): Record<string, unknown> | undefined {
  if (out.stderr.trim() !== '') onStderr?.(out.stderr);
  const parsed = out.stdout.trim() === '' ? undefined : parseJsonObject(out.stdout);
  if (out.code === 0) {
    if (out.stdout.trim() !== '' && parsed === undefined) {
      throw new CniError(CNI_ERR.decodingFailure, `plugin ${type} printed a result that is not a JSON object`);
    }
    return parsed;
  }
  if (parsed && typeof parsed['code'] === 'number') {
    const details = typeof parsed['details'] === 'string' ? parsed['details'] : '';
    throw new CniError(
      parsed['code'],
      `plugin ${type}: ${typeof parsed['msg'] === 'string' ? parsed['msg'] : JSON.stringify(parsed['msg'])}`,
      details,
    );
  }
  const why = (out.stderr.trim() || out.stdout.trim()).split('\n')[0] ?? '';
  throw new CniError(CNI_ERR.internal, `plugin ${type} failed (exit ${out.code})${why ? `: ${why}` : ''}`);
}
