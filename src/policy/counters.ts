// Reads the enforcer's state back from a node's namespace: the named counters (`rule_<ns>/<policy>_
// <dir>_<i>`, `drop_<dir>_<ns>/<pod>`) and the remembered denials (`denied_<dir>` sets: source,
// destination, protocol, port, packets), with `nft -j`. readNodePolicyState() resolves with empty
// lists when the node has no table (no enforcer yet); it rejects with DeviceError when nft cannot run.
import { netnsArgv, run } from '../sys/run.js';
import { TABLE } from './compile.js';

export interface RuleCount {
  policy: string;
  dir: 'ingress' | 'egress';
  rule: number;
  packets: number;
  bytes: number;
}

export interface DropCount {
  pod: string;
  dir: 'ingress' | 'egress';
  packets: number;
}

export interface Denial {
  dir: 'ingress' | 'egress';
  src: string;
  dst: string;
  proto: string;
  port: number;
  packets: number;
}

export interface NodePolicyState {
  rules: RuleCount[];
  drops: DropCount[];
  denials: Denial[];
}

type NftJson = { nftables?: Record<string, unknown>[] };

export function parseCounters(json: NftJson): Pick<NodePolicyState, 'rules' | 'drops'> {
  const rules: RuleCount[] = [];
  const drops: DropCount[] = [];
  for (const item of json.nftables ?? []) {
    const c = item['counter'] as { name?: string; packets?: number; bytes?: number } | undefined;
    if (!c?.name) continue;
    const r = /^rule_(.+)_(ingress|egress)_(\d+)$/.exec(c.name);
    if (r) {
      rules.push({
        policy: r[1],
        dir: r[2] as 'ingress',
        rule: Number(r[3]),
        packets: c.packets ?? 0,
        bytes: c.bytes ?? 0,
      });
      continue;
    }
    const d = /^drop_(ingress|egress)_(.+)$/.exec(c.name);
    if (d) drops.push({ dir: d[1] as 'ingress', pod: d[2], packets: c.packets ?? 0 });
  }
  return { rules, drops };
}

const PROTOS: Record<string, string> = { '6': 'tcp', '17': 'udp', tcp: 'tcp', udp: 'udp' };

export function parseDenials(json: NftJson, dir: 'ingress' | 'egress'): Denial[] {
  const out: Denial[] = [];
  for (const item of json.nftables ?? []) {
    const set = item['set'] as { elem?: unknown[] } | undefined;
    for (const e of set?.elem ?? []) {
      const el = (e as { elem?: { val?: unknown; counter?: { packets?: number } } }).elem;
      const val = (el?.val ?? e) as { concat?: unknown[] };
      const parts = val.concat ?? [];
      if (parts.length !== 4) continue;
      out.push({
        dir,
        src: String(parts[0]),
        dst: String(parts[1]),
        proto: PROTOS[String(parts[2])] ?? String(parts[2]),
        port: Number(parts[3]),
        packets: el?.counter?.packets ?? 0,
      });
    }
  }
  return out;
}

async function nftJson(netns: string, args: string[]): Promise<NftJson | undefined> {
  const [cmd, ...rest] = netnsArgv(netns, ['nft', '-j', ...args]);
  try {
    return JSON.parse((await run(cmd, rest)).stdout) as NftJson;
  } catch (err) {
    if (/No such file or directory|does not exist/.test((err as Error).message)) return undefined;
    throw err;
  }
}

export async function readNodePolicyState(netns: string): Promise<NodePolicyState> {
  const counters = await nftJson(netns, ['list', 'counters', 'table', 'inet', TABLE]);
  if (!counters) return { rules: [], drops: [], denials: [] };
  const denials: Denial[] = [];
  for (const dir of ['ingress', 'egress'] as const) {
    const s = await nftJson(netns, ['list', 'set', 'inet', TABLE, `denied_${dir}`]);
    if (s) denials.push(...parseDenials(s, dir));
  }
  return { ...parseCounters(counters), denials };
}
