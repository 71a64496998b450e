// The CNI specification's protocol facts (containernetworking/cni SPEC.md, spec 1.0.0): the versions
// this project speaks, the well-known error codes, the parameters a plugin reads from its environment
// and their validation, and the error result a plugin prints. Pure; checkArgs and checkVersion throw
// CniError with the spec's code.
import { CniError } from '../util/errors.js';

/** Spec versions the flannel plugin accepts (Debian's plugins 1.1.1 speak up to 1.0.0; STATUS and GC are 1.1.0). */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export const CURRENT_VERSION = '1.0.0';

export const CNI_ERR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  internal: 999,
} as const;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION'];

/** The per-invocation parameters (CNI_* environment variables). */
export interface CniArgs {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  args: string;
  path: string[];
}

const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Linux interface names: 1-15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export function validIfName(name: string): boolean {
  return name.length > 0 && name.length <= 15 && !/[/:\s]/.test(name) && name !== '.' && name !== '..';
}

/** Reads and checks the CNI_* variables the command needs (the spec's "required environment parameters"). */
export function checkArgs(env: NodeJS.ProcessEnv): CniArgs {
  const command = env['CNI_COMMAND'] ?? '';
  if (!COMMANDS.includes(command)) {
    if (command === '') throw new CniError(CNI_ERR.invalidEnvironment, 'required env variables [CNI_COMMAND] missing');
    throw new CniError(CNI_ERR.invalidEnvironment, `unknown CNI_COMMAND: ${command}`);
  }
  const args: CniArgs = {
    command: command as CniCommand,
    containerId: env['CNI_CONTAINERID'] ?? '',
    netns: env['CNI_NETNS'] ?? '',
    ifName: env['CNI_IFNAME'] ?? '',
    args: env['CNI_ARGS'] ?? '',
    path: (env['CNI_PATH'] ?? '').split(':').filter(Boolean),
  };
  if (args.command === 'VERSION') return args;
  const missing: string[] = [];
  if (!args.containerId) missing.push('CNI_CONTAINERID');
  if (!args.netns && args.command !== 'DEL') missing.push('CNI_NETNS');
  if (!args.ifName) missing.push('CNI_IFNAME');
  if (args.path.length === 0) missing.push('CNI_PATH');
  if (missing.length > 0) {
    throw new CniError(CNI_ERR.invalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  if (!CONTAINER_ID.test(args.containerId)) {
    throw new CniError(CNI_ERR.invalidEnvironment, `invalid characters in CNI_CONTAINERID: "${args.containerId}"`);
  }
  if (!validIfName(args.ifName)) {
    throw new CniError(CNI_ERR.invalidEnvironment, `invalid CNI_IFNAME: "${args.ifName}"`);
  }
  return args;
}

function versionParts(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** -1, 0, 1 as semantic versions compare; undefined when either does not parse. */
export function compareVersions(a: string, b: string): number | undefined {
  const pa = versionParts(a);
  const pb = versionParts(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  return 0;
}

/** Checks a config's cniVersion against SUPPORTED_VERSIONS (and CHECK's minimum 0.4.0). */
export function checkVersion(cniVersion: unknown, command: CniCommand): string {
  const v = cniVersion === undefined || cniVersion === '' ? '0.1.0' : cniVersion;
  if (typeof v !== 'string' || versionParts(v) === undefined) {
    throw new CniError(
      CNI_ERR.decodingFailure,
      `decoding version from network config: bad cniVersion ${JSON.stringify(v)}`,
    );
  }
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new CniError(
      CNI_ERR.incompatibleVersion,
      'incompatible CNI versions',
      `config is "${v}", plugin supports [${SUPPORTED_VERSIONS.map((s) => `"${s}"`).join(' ')}]`,
    );
  }
  if (command === 'CHECK' && compareVersions(v, '0.4.0')! < 0) {
    throw new CniError(CNI_ERR.incompatibleVersion, `config version "${v}" does not allow CHECK`);
  }
  return v;
}

/** The spec's error result, as a plugin prints it on stdout. */
export function errorResult(err: CniError, cniVersion: string): Record<string, unknown> {
  return { cniVersion, code: err.cniCode, msg: err.message, ...(err.details ? { details: err.details } : {}) };
}

/** The VERSION result. */
export function versionResult(cniVersion: string): Record<string, unknown> {
  return { cniVersion, supportedVersions: [...SUPPORTED_VERSIONS] };
}

/** Reads a result or error JSON a plugin printed; undefined when stdout is not a JSON object. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
