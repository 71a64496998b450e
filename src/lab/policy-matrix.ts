// `lab check` with NetworkPolicies: the TCP column of every pair compared with what the policies allow
// (src/policy/evaluate.ts on the target's port), printed as Kubernetes' e2e network-policy tests print
// their truth tables (a header row of targets, one row per source, `.` reachable, `X` not, tab
// separated), expected then observed, with the cells that differ. Pure but for loadPolicyView.
import { evaluate } from '../policy/evaluate.js';
import type { CheckResult } from './check.js';
import type { LabPolicyView } from './policy-world.js';

export interface PolicyMatrix {
  rows: string[];
  cols: string[];
  expected: boolean[][];
  observed: boolean[][];
  mismatches: string[];
}

/** kube's TruthTable.PrettyPrint layout: `-` then the column names, then one line per row. */
export function formatTruthTable(rows: string[], cols: string[], cells: boolean[][]): string {
  const lines = [['-', ...cols].join('\t')];
  rows.forEach((r, i) => lines.push([r, ...cells[i].map((c) => (c ? '.' : 'X'))].join('\t')));
  return lines.join('\n');
}

const podLabel = (v: LabPolicyView, ip: string, fallback: string): string => {
  const p = v.world.pods.find((x) => x.ip === ip);
  return p ? `${p.namespace}/${p.name}` : fallback;
};

/** Expected vs observed TCP reachability of a check run (a pair is reachable when TCP opened or was refused). */
export function policyMatrix(v: LabPolicyView, r: CheckResult): PolicyMatrix {
  const rows = r.sources.map((s) => podLabel(v, s.ip, s.label));
  const cols = r.targets.map((t) => podLabel(v, t.ip, t.label));
  const expected = r.sources.map((s) =>
    r.targets.map(
      (t) => evaluate(v.world, { srcIp: s.ip, dstIp: t.ip, proto: 'TCP', port: t.port, nodeIps: v.nodeIps }).allowed,
    ),
  );
  const observed = r.marks.map((row) => row.map((m) => m === '.' || m === 'P' || m === '-'));
  const mismatches: string[] = [];
  expected.forEach((row, i) =>
    row.forEach((e, j) => {
      if (r.marks[i][j] !== '-' && e !== observed[i][j])
        mismatches.push(
          `${rows[i]} → ${cols[j]} tcp/${r.targets[j].port}: expected ${e ? '.' : 'X'}, observed ${observed[i][j] ? '.' : 'X'}`,
        );
    }),
  );
  return { rows, cols, expected, observed, mismatches };
}

export function formatPolicyMatrix(m: PolicyMatrix): string {
  return [
    'NetworkPolicies apply: TCP reachability, expected (from the policies):',
    formatTruthTable(m.rows, m.cols, m.expected),
    '',
    'observed:',
    formatTruthTable(m.rows, m.cols, m.observed),
    '',
    m.mismatches.length === 0
      ? 'observed matches the policies in every cell'
      : `${m.mismatches.length} cells differ from the policies:\n${m.mismatches.map((x) => `  ${x}`).join('\n')}`,
  ].join('\n');
}
