// A CNI runtime for network configuration lists (SPEC.md section 3, what libcni does for kubelet's
// container runtime): ADD runs the list's plugins in order, each with the request configuration
// derived from its plugin configuration (cniVersion and name of the list, runtimeConfig from the
// capabilities it declares and the attachment's capability arguments, prevResult of the plugin before),
// and stores the final result in `<cacheDir>/results/<network>-<containerID>-<ifname>`; a failed ADD
// runs DEL before it rethrows. CHECK runs them in order with the stored result; DEL in reverse order
// with the stored result (and the ADD's CNI_ARGS and capability arguments when the caller gives none:
// portmap's DEL needs its portMappings), then removes it. Plugins run with `prefix` (e.g. inside the node's network
// namespace). Throws CniError (the plugin's code; 6/7 for a conflist that does not parse or is invalid).
import fs from 'node:fs';
import path from 'node:path';
import { CniError } from '../util/errors.js';
import { cniEnv, invokePlugin, pluginResult, type InvokeArgs } from './invoke.js';
import { CNI_ERR, parseJsonObject, type CniCommand } from './spec.js';

export type JsonObject = Record<string, unknown>;

export interface NetworkList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: JsonObject[];
}

export interface Attachment {
  containerId: string;
  /** Path of the container's network namespace (/run/netns/NAME). */
  netns: string;
  ifName: string;
  /** CNI_ARGS, e.g. K8S_POD_NAMESPACE=default;K8S_POD_NAME=web. */
  args?: string;
  /** Capability arguments, e.g. { portMappings: [{ hostPort, containerPort, protocol }] }. */
  capabilityArgs?: JsonObject;
}

export interface RuntimeOptions {
  /** CNI_PATH: where plugin executables are looked up. */
  binDirs: readonly string[];
  /** Where results are cached (libcni: /var/lib/cni). */
  cacheDir: string;
  /** argv prefix for every plugin, e.g. ['ip', 'netns', 'exec', NODE]. */
  prefix?: readonly string[];
  onStderr?: (text: string) => void;
  /** Plugins run in this process instead of as executables (type → the plugin's entry, given the CNI_*
   * environment, the config and `prefix` for the plugins it delegates to), e.g. { flannel: runFlannelPlugin }. */
  inProcess?: Readonly<Record<string, InProcessPlugin>>;
}

export type InProcessPlugin = (
  env: Record<string, string>,
  stdin: string,
  opts: { prefix?: readonly string[] },
) => Promise<{ code: number; stdout: string; stderr: string }>;

/** Parses a .conflist; `where` names the file in the error. */
export function parseNetworkList(text: string, where: string): NetworkList {
  const raw = parseJsonObject(text);
  if (!raw) throw new CniError(CNI_ERR.decodingFailure, `${where}: not a JSON object`);
  const { cniVersion, name, plugins } = raw;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new CniError(CNI_ERR.invalidConfig, `${where}: "name" must be a network name`);
  }
  if (typeof cniVersion !== 'string') throw new CniError(CNI_ERR.invalidConfig, `${where}: "cniVersion" is missing`);
  if (!Array.isArray(plugins) || plugins.length === 0) {
    throw new CniError(CNI_ERR.invalidConfig, `${where}: "plugins" must be a non-empty list`);
  }
  plugins.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as JsonObject)['type'] !== 'string') {
      throw new CniError(CNI_ERR.invalidConfig, `${where}: plugins[${i}] has no "type"`);
    }
  });
  return { cniVersion, name, disableCheck: raw['disableCheck'] === true, plugins: plugins as JsonObject[] };
}

export function readNetworkList(file: string): NetworkList {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CniError(CNI_ERR.ioFailure, `${file}: cannot read: ${(err as Error).message}`);
  }
  return parseNetworkList(text, file);
}

/** The request configuration of one plugin (SPEC.md "Deriving request configuration"). */
export function requestConfig(
  list: NetworkList,
  plugin: JsonObject,
  att: Attachment,
  prevResult: JsonObject | undefined,
): JsonObject {
  const { capabilities, ...rest } = plugin;
  const conf: JsonObject = { ...rest, cniVersion: list.cniVersion, name: list.name };
  const runtimeConfig: JsonObject = {};
  if (typeof capabilities === 'object' && capabilities !== null) {
    for (const [cap, on] of Object.entries(capabilities as JsonObject)) {
      if (on === true && att.capabilityArgs && cap in att.capabilityArgs) runtimeConfig[cap] = att.capabilityArgs[cap];
    }
  }
  if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
  if (prevResult) conf['prevResult'] = prevResult;
  return conf;
}

export class CniRuntime {
  constructor(private readonly o: RuntimeOptions) {}

  cacheFile(list: NetworkList, att: Attachment): string {
    return path.join(this.o.cacheDir, 'results', `${list.name}-${att.containerId}-${att.ifName}`);
  }

  private cached(list: NetworkList, att: Attachment): JsonObject | undefined {
    try {
      return parseJsonObject(fs.readFileSync(this.cacheFile(list, att), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** The stored result of the attachment's ADD, if any. */
  cachedResult(list: NetworkList, att: Attachment): JsonObject | undefined {
    const result = this.cached(list, att)?.['result'];
    return typeof result === 'object' && result !== null ? (result as JsonObject) : undefined;
  }

  /** The attachment with the CNI_ARGS and capability arguments of its ADD when the caller has none (libcni too). */
  private withCachedArgs(list: NetworkList, att: Attachment): Attachment {
    const c = this.cached(list, att);
    const caps = c?.['capabilityArgs'];
    return {
      ...att,
      args: att.args ?? (typeof c?.['cniArgs'] === 'string' ? c['cniArgs'] : undefined),
      capabilityArgs:
        att.capabilityArgs ?? (typeof caps === 'object' && caps !== null ? (caps as JsonObject) : undefined),
    };
  }

  private invokeArgs(command: CniCommand, att: Attachment): InvokeArgs {
    return {
      command,
      containerId: att.containerId,
      netns: att.netns,
      ifName: att.ifName,
      args: att.args,
      path: this.o.binDirs,
    };
  }

  private async call(command: CniCommand, list: NetworkList, plugin: JsonObject, att: Attachment, prev?: JsonObject) {
    const conf = requestConfig(list, plugin, att, prev);
    const type = plugin['type'] as string;
    const inProcess = Object.hasOwn(this.o.inProcess ?? {}, type) ? this.o.inProcess![type] : undefined;
    if (inProcess) {
      const env = cniEnv(this.invokeArgs(command, att));
      return pluginResult(type, await inProcess(env, JSON.stringify(conf), { prefix: this.o.prefix }), this.o.onStderr);
    }
    return invokePlugin(plugin['type'] as string, JSON.stringify(conf), this.invokeArgs(command, att), {
      prefix: this.o.prefix,
      onStderr: this.o.onStderr,
    });
  }

  async add(list: NetworkList, att: Attachment): Promise<JsonObject> {
    let prev: JsonObject | undefined;
    try {
      for (const plugin of list.plugins) prev = (await this.call('ADD', list, plugin, att, prev)) ?? prev;
    } catch (err) {
      await this.del(list, att).catch(() => undefined);
      throw err;
    }
    const result = prev ?? { cniVersion: list.cniVersion };
    const file = this.cacheFile(list, att);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const entry = {
      kind: 'cniCacheV1',
      containerId: att.containerId,
      ifName: att.ifName,
      networkName: list.name,
      cniArgs: att.args,
      capabilityArgs: att.capabilityArgs,
      result,
    };
    fs.writeFileSync(file, JSON.stringify(entry), { mode: 0o600 });
    return result;
  }

  async check(list: NetworkList, given: Attachment): Promise<void> {
    if (list.disableCheck) return;
    const att = this.withCachedArgs(list, given);
    const prev = this.cachedResult(list, att);
    if (!prev) throw new CniError(CNI_ERR.unknownContainer, `no cached result for ${att.containerId} on ${list.name}`);
    for (const plugin of list.plugins) await this.call('CHECK', list, plugin, att, prev);
  }

  /** Idempotent: DEL of an attachment that is gone succeeds (plugins must accept it, SPEC.md). */
  async del(list: NetworkList, given: Attachment): Promise<void> {
    const att = this.withCachedArgs(list, given);
    const prev = this.cachedResult(list, att);
    for (const plugin of [...list.plugins].reverse()) await this.call('DEL', list, plugin, att, prev);
    fs.rmSync(this.cacheFile(list, att), { force: true });
  }
}
