// The `flannel` CNI plugin (CNI spec 1.0.0; flannel-io/cni-plugin's behaviour): ADD reads subnet.env,
// builds the delegate configuration (delegate-config.ts), stores it as `<dataDir>/<containerID>`
// (0600, directory 0700) and runs the delegate (bridge by default) found on CNI_PATH, printing its
// result; when the delegate fails it is called again with DEL (SPEC.md section 4) and the stored file
// removed. DEL runs the delegate's DEL with the stored configuration and removes it; no stored file
// means nothing to undo, so a second DEL succeeds. CHECK (flannel's own plugin does nothing here)
// checks that subnet.env still loads and runs the delegate's CHECK with the stored configuration and
// the runtime's prevResult (routes given their gateway, as the bridge installed them). VERSION prints the supported versions. STATUS and GC are spec 1.1.0, which
// this plugin does not claim. Errors are the spec's error JSON on stdout and one line on stderr; the
// exit status is 2 for bad input (codes 1, 2, 4, 6, 7) and 1 otherwise. Never throws. A kubelet may call
// runFlannelPlugin in its own process (CniRuntime's `inProcess`) with `prefix` for the delegate (e.g. `ip netns
// exec NODE`): the same work without a Node.js process per pod.
import fs from 'node:fs';
import path from 'node:path';
import { CniError } from '../util/errors.js';
import { buildDelegateConfig, parseFlannelNetConf, sortedJson, type JsonObject } from './delegate-config.js';
import { invokePlugin, type InvokeArgs } from './invoke.js';
import {
  checkArgs,
  checkVersion,
  CNI_ERR,
  CURRENT_VERSION,
  errorResult,
  parseJsonObject,
  versionResult,
  type CniArgs,
} from './spec.js';
import { readFlannelSubnetFile } from './subnet-file.js';

export interface PluginOutput {
  code: number;
  stdout: string;
  stderr: string;
}

const INPUT_CODES = new Set<number>([1, 2, 4, 6, 7]);

function scratchFile(dataDir: string, containerId: string): string {
  return path.join(dataDir, containerId);
}

function saveScratch(dataDir: string, containerId: string, text: string): void {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(scratchFile(dataDir, containerId), 'w', 0o600);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new CniError(CNI_ERR.ioFailure, `cannot store the delegate config in ${dataDir}: ${(err as Error).message}`);
  }
}

function readScratch(dataDir: string, containerId: string): string | undefined {
  try {
    return fs.readFileSync(scratchFile(dataDir, containerId), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CniError(
      CNI_ERR.ioFailure,
      `cannot read ${scratchFile(dataDir, containerId)}: ${(err as Error).message}`,
    );
  }
}

function delegateArgs(a: CniArgs, command: InvokeArgs['command']): InvokeArgs {
  return { command, containerId: a.containerId, netns: a.netns, ifName: a.ifName, args: a.args, path: a.path };
}

/** Runs a delegate plugin: invokePlugin with the invocation's log and argv prefix. */
type Delegate = (type: string, config: string, a: InvokeArgs) => Promise<Record<string, unknown> | undefined>;

async function add(a: CniArgs, stdin: string, call: Delegate): Promise<string> {
  const n = parseFlannelNetConf(stdin);
  checkVersion(n.raw['cniVersion'], 'ADD');
  const env = readFlannelSubnetFile(n.subnetFile);
  const delegate = buildDelegateConfig(n, env);
  const text = sortedJson(delegate);
  saveScratch(n.dataDir, a.containerId, text);
  const type = delegate['type'] as string;
  try {
    const result = await call(type, text, delegateArgs(a, 'ADD'));
    return JSON.stringify(result ?? {});
  } catch (err) {
    await call(type, text, delegateArgs(a, 'DEL')).catch(() => undefined);
    fs.rmSync(scratchFile(n.dataDir, a.containerId), { force: true });
    if (err instanceof CniError) throw new CniError(err.cniCode, `failed to delegate add: ${err.message}`, err.details);
    throw err;
  }
}

/** The stored delegate config with the runtime's prevResult (DEL and CHECK pass it on). */
function withPrevResult(stored: string, prevResult: JsonObject | undefined): { type: string; text: string } {
  const conf = parseJsonObject(stored);
  if (!conf || typeof conf['type'] !== 'string') {
    throw new CniError(CNI_ERR.decodingFailure, 'the stored delegate config is not a network config');
  }
  if (prevResult) conf['prevResult'] = prevResult;
  return { type: conf['type'], text: sortedJson(conf) };
}

async function del(a: CniArgs, stdin: string, log: (s: string) => void, call: Delegate): Promise<void> {
  const n = parseFlannelNetConf(stdin);
  checkVersion(n.raw['cniVersion'], 'DEL');
  const stored = readScratch(n.dataDir, a.containerId);
  if (stored === undefined) return; // never added, or already deleted: nothing to undo
  let d: { type: string; text: string };
  try {
    d = withPrevResult(stored, n.prevResult);
  } catch {
    log(`flannel: ${scratchFile(n.dataDir, a.containerId)} is not a network config; removing it\n`);
    fs.rmSync(scratchFile(n.dataDir, a.containerId), { force: true });
    return;
  }
  await call(d.type, d.text, delegateArgs(a, 'DEL'));
  fs.rmSync(scratchFile(n.dataDir, a.containerId), { force: true });
}

/**
 * prevResult as the bridge plugin installed it: a route without `gw` goes via its address's gateway.
 * (The bridge plugin's CHECK, Debian's 1.1.1, compares the routes literally and would never pass
 * with flannel's gateway-less route to the network.)
 */
function routesWithGateways(prev: JsonObject): JsonObject {
  const ips = Array.isArray(prev['ips']) ? (prev['ips'] as JsonObject[]) : [];
  const gw4 = ips.map((i) => i['gateway']).find((g) => typeof g === 'string' && !g.includes(':'));
  if (!Array.isArray(prev['routes']) || gw4 === undefined) return prev;
  const routes = (prev['routes'] as JsonObject[]).map((r) =>
    r['gw'] === undefined && typeof r['dst'] === 'string' && !r['dst'].includes(':') ? { ...r, gw: gw4 } : r,
  );
  return { ...prev, routes };
}

async function check(a: CniArgs, stdin: string, call: Delegate): Promise<void> {
  const n = parseFlannelNetConf(stdin);
  checkVersion(n.raw['cniVersion'], 'CHECK');
  readFlannelSubnetFile(n.subnetFile);
  const stored = readScratch(n.dataDir, a.containerId);
  if (stored === undefined) {
    throw new CniError(CNI_ERR.unknownContainer, `no delegate config stored for container ${a.containerId}`);
  }
  const d = withPrevResult(stored, n.prevResult && routesWithGateways(n.prevResult));
  await call(d.type, d.text, delegateArgs(a, 'CHECK'));
}

function versionOf(stdin: string): string {
  const v = parseJsonObject(stdin)?.['cniVersion'];
  return typeof v === 'string' && v !== '' ? v : CURRENT_VERSION;
}

/** One plugin invocation: the environment and stdin in, what to print and the exit status out. */
export async function runFlannelPlugin(
  env: NodeJS.ProcessEnv,
  stdin: string,
  opts: { prefix?: readonly string[] } = {},
): Promise<PluginOutput> {
  let stderr = '';
  const log = (s: string): void => {
    stderr += s.endsWith('\n') ? s : `${s}\n`;
  };
  const call: Delegate = (type, config, a) => invokePlugin(type, config, a, { onStderr: log, prefix: opts.prefix });
  try {
    const a = checkArgs(env);
    if (a.command === 'VERSION') return { code: 0, stdout: JSON.stringify(versionResult(versionOf(stdin))), stderr };
    if (a.command === 'ADD') return { code: 0, stdout: await add(a, stdin, call), stderr };
    if (a.command === 'DEL') await del(a, stdin, log, call);
    else await check(a, stdin, call);
    return { code: 0, stdout: '', stderr };
  } catch (err) {
    const e =
      err instanceof CniError
        ? err
        : new CniError(CNI_ERR.internal, err instanceof Error ? err.message : String(err), '', { cause: err });
    const line = `flannel: ${e.message}${e.details ? ` (${e.details})` : ''}`;
    return {
      code: INPUT_CODES.has(e.cniCode) ? 2 : 1,
      stdout: JSON.stringify(errorResult(e, versionOf(stdin))),
      stderr: `${stderr}${line}\n`,
    };
  }
}
