// The flannel plugin's network configuration and the delegate configuration it builds from it and
// subnet.env, as flannel-io/cni-plugin does (flannel.go cmdAdd/loadFlannelNetConf, flannel_linux.go
// doCmdAdd/getDelegateIPAM):
//   delegate = the `delegate` dictionary (no `name`, no `ipam` allowed; `type` a string), then
//   name = the network's name; type = "bridge" unless given; ipMasq = !FLANNEL_IPMASQ unless given;
//   mtu = FLANNEL_MTU unless given; isGateway = true for bridge unless given; cniVersion = the
//   config's; runtimeConfig = the config's; ipam = the config's `ipam` (type "host-local" unless
//   given) with ranges [[{subnet: FLANNEL_SUBNET}], [{subnet: FLANNEL_IPV6_SUBNET}]] and routes = the
//   config's ipam.routes + one {dst} per FLANNEL_NETWORK / FLANNEL_IPV6_NETWORK.
// Keys are serialised sorted, as Go marshals a map. Pure; throws CniError (6 not JSON, 7 invalid).
import { CniError } from '../util/errors.js';
import { CNI_ERR } from './spec.js';
import type { FlannelSubnetFile } from './subnet-file.js';

export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';
export const DEFAULT_DATA_DIR = '/var/lib/cni/flannel';

export type JsonObject = Record<string, unknown>;

export interface FlannelNetConf {
  raw: JsonObject;
  cniVersion: string;
  name: string;
  subnetFile: string;
  dataDir: string;
  delegate?: JsonObject;
  ipam?: JsonObject;
  runtimeConfig?: JsonObject;
  prevResult?: JsonObject;
}

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(msg: string): CniError {
  return new CniError(CNI_ERR.invalidConfig, msg);
}

/** Parses the plugin's stdin (the runtime's request configuration). */
export function parseFlannelNetConf(text: string): FlannelNetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERR.decodingFailure, `failed to load netconf: ${(err as Error).message}`, '', {
      cause: err,
    });
  }
  if (!isObject(raw)) throw new CniError(CNI_ERR.decodingFailure, 'failed to load netconf: not a JSON object');
  const str = (k: string, dflt: string): string => {
    const v = raw[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'string') throw invalid(`failed to load netconf: field "${k}" must be a string`);
    return v;
  };
  const obj = (k: string): JsonObject | undefined => {
    const v = raw[k];
    if (v === undefined || v === null) return undefined;
    if (!isObject(v)) throw invalid(`failed to load netconf: field "${k}" must be an object`);
    return v;
  };
  return {
    raw,
    cniVersion: str('cniVersion', ''),
    name: str('name', ''),
    subnetFile: str('subnetFile', DEFAULT_SUBNET_FILE),
    dataDir: str('dataDir', DEFAULT_DATA_DIR),
    delegate: obj('delegate'),
    ipam: obj('ipam'),
    runtimeConfig: obj('runtimeConfig'),
    prevResult: obj('prevResult'),
  };
}

/** cmdAdd's checks of the `delegate` dictionary. */
export function checkDelegate(delegate: JsonObject | undefined): void {
  if (!delegate) return;
  if ('type' in delegate && typeof delegate['type'] !== 'string') {
    throw invalid("'delegate' dictionary, if present, must have (string) 'type' field");
  }
  if ('name' in delegate) throw invalid("'delegate' dictionary must not have 'name' field, it'll be set by flannel");
  if ('ipam' in delegate) throw invalid("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel");
}

function delegateIpam(n: FlannelNetConf, env: FlannelSubnetFile): JsonObject {
  const ipam: JsonObject = { ...(n.ipam ?? {}) };
  if (!('type' in ipam)) ipam['type'] = 'host-local';
  const ranges: JsonObject[][] = [];
  if (env.subnet) ranges.push([{ subnet: env.subnet }]);
  if (env.ip6Subnet) ranges.push([{ subnet: env.ip6Subnet }]);
  ipam['ranges'] = ranges;
  const routes: JsonObject[] = [];
  if (n.ipam && 'routes' in n.ipam) {
    const given = n.ipam['routes'];
    if (!Array.isArray(given) || !given.every((r) => isObject(r) && typeof r['dst'] === 'string')) {
      throw invalid(
        'failed to assemble Delegate IPAM: failed to read IPAM routes: ipam.routes must be a list of {dst}',
      );
    }
    routes.push(...(given as JsonObject[]));
  }
  for (const dst of [...env.networks, ...env.ip6Networks]) routes.push({ dst });
  ipam['routes'] = routes;
  return ipam;
}

/** doCmdAdd: the delegate's configuration. */
export function buildDelegateConfig(n: FlannelNetConf, env: FlannelSubnetFile): JsonObject {
  checkDelegate(n.delegate);
  const d: JsonObject = { ...(n.delegate ?? {}) };
  if (n.runtimeConfig) d['runtimeConfig'] = n.runtimeConfig;
  d['name'] = n.name;
  if (!('type' in d)) d['type'] = 'bridge';
  if (!('ipMasq' in d)) d['ipMasq'] = !env.ipMasq;
  if (!('mtu' in d)) d['mtu'] = env.mtu;
  if (d['type'] === 'bridge' && !('isGateway' in d)) d['isGateway'] = true;
  if (n.cniVersion !== '') d['cniVersion'] = n.cniVersion;
  d['ipam'] = delegateIpam(n, env);
  return d;
}

/** JSON with object keys sorted at every level, as Go's encoding/json writes a map. */
export function sortedJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (isObject(x))
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sort(x[k])]),
      );
    return x;
  };
  return JSON.stringify(sort(v));
}
