// nftables scripts for `table inet kube-network-policies`: the whole table (first apply: the table is
// re-created, so a restarted enforcer starts clean) or the difference between two rulesets (new chains
// and counters added, changed chains flushed and refilled, the forward chain rewritten when its jumps
// change, then chains and counters no longer used deleted), each applied as one `nft -f` transaction.
// Pure; never throws.
import { TABLE, type Ruleset } from './compile.js';

const T = `inet ${TABLE}`;
const SETS = ['ingress', 'egress'].map(
  (d) =>
    `  set denied_${d} { type ipv4_addr . ipv4_addr . inet_proto . inet_service; flags dynamic,timeout; ` +
    `timeout 1h; size 4096; counter; }`,
);

export function fullScript(r: Ruleset): string {
  const lines = [`add table ${T}`, `delete table ${T}`, `table ${T} {`, ...SETS];
  for (const c of [...r.counters].sort()) lines.push(`  counter ${c} { }`);
  for (const [name, rules] of r.chains) {
    if (name === 'forward') continue;
    lines.push(`  chain ${name} {`, ...rules.map((x) => `    ${x}`), '  }');
  }
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy accept;');
  lines.push(...(r.chains.get('forward') ?? []).map((x) => `    ${x}`), '  }', '}');
  return `${lines.join('\n')}\n`;
}

const same = (a: string[] | undefined, b: string[] | undefined): boolean =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/** The transaction from `prev` to `next`; empty when nothing changed. */
export function diffScript(prev: Ruleset, next: Ruleset): string {
  const lines: string[] = [];
  for (const c of next.counters) if (!prev.counters.has(c)) lines.push(`add counter ${T} ${c}`);
  for (const name of next.chains.keys()) if (!prev.chains.has(name)) lines.push(`add chain ${T} ${name}`);
  const refill = (name: string, rules: string[]): void => {
    lines.push(`flush chain ${T} ${name}`, ...rules.map((x) => `add rule ${T} ${name} ${x}`));
  };
  for (const [name, rules] of next.chains)
    if (name !== 'forward' && !same(prev.chains.get(name), rules)) refill(name, rules);
  if (!same(prev.chains.get('forward'), next.chains.get('forward')))
    refill('forward', next.chains.get('forward') ?? []);
  for (const name of prev.chains.keys())
    if (!next.chains.has(name)) lines.push(`flush chain ${T} ${name}`, `delete chain ${T} ${name}`);
  for (const c of prev.counters) if (!next.counters.has(c)) lines.push(`delete counter ${T} ${c}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

export const deleteScript = (): string => `delete table ${T}\n`;
