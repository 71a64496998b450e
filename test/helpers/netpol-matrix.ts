// Reachability matrices for the NetworkPolicy e2e suite, in the style of Kubernetes'
// test/e2e/network/netpol: pods x/a … z/c, one truth table per port/protocol (rows from, columns to,
// `.` reachable, `X` not), an expectation built from a default and per-cell rules, and a printout of
// expected vs observed with the differing cells when they differ.
export const NAMESPACES = ['x', 'y', 'z'] as const;
export const POD_NAMES = ['a', 'b', 'c'] as const;
export const PODS = NAMESPACES.flatMap((ns) => POD_NAMES.map((p) => `${ns}/${p}`));
export const PORTS = [
  { port: 80, proto: 'TCP' },
  { port: 80, proto: 'UDP' },
  { port: 81, proto: 'TCP' },
  { port: 81, proto: 'UDP' },
] as const;
export type PortProto = (typeof PORTS)[number];
export const ppKey = (pp: { port: number; proto: string }): string => `${pp.proto.toLowerCase()}/${pp.port}`;

/** cells[pp][from][to]. */
export type Matrix = Map<string, boolean[][]>;

export type Rule = (from: string, to: string, pp: PortProto) => boolean | undefined;

/**
 * The expected matrix: `rules` are tried in order (the first defined answer wins), then `dflt`. A pod to
 * itself is always reachable (loopback inside the pod, as e2e's AllowLoopback).
 */
export function expectMatrix(dflt: boolean, ...rules: Rule[]): Matrix {
  const m: Matrix = new Map();
  for (const pp of PORTS) {
    m.set(
      ppKey(pp),
      PODS.map((from) =>
        PODS.map((to) => {
          if (from === to) return true;
          for (const r of rules) {
            const v = r(from, to, pp);
            if (v !== undefined) return v;
          }
          return dflt;
        }),
      ),
    );
  }
  return m;
}

export const ns = (pod: string): string => pod.split('/')[0];

function table(cells: boolean[][]): string {
  const lines = [['-', ...PODS].join('\t')];
  PODS.forEach((p, i) => lines.push([p, ...cells[i].map((c) => (c ? '.' : 'X'))].join('\t')));
  return lines.join('\n');
}

export function differences(expected: Matrix, observed: Matrix): string[] {
  const out: string[] = [];
  for (const [k, e] of expected) {
    const o = observed.get(k)!;
    e.forEach((row, i) =>
      row.forEach((v, j) => {
        if (o[i][j] !== v)
          out.push(`${PODS[i]} → ${PODS[j]} ${k}: expected ${v ? '.' : 'X'}, observed ${o[i][j] ? '.' : 'X'}`);
      }),
    );
  }
  return out;
}

/** Expected and observed truth tables of every port/protocol, and the differing cells. */
export function formatComparison(expected: Matrix, observed: Matrix, what = 'observed'): string {
  const parts: string[] = [];
  for (const [k, e] of expected) {
    parts.push(`${k} expected:\n${table(e)}\n${k} ${what}:\n${table(observed.get(k)!)}`);
  }
  const d = differences(expected, observed);
  parts.push(`${d.length} cells differ:\n${d.join('\n')}`);
  return parts.join('\n\n');
}
