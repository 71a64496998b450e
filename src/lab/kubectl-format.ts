// Printing as kubectl prints: server-side Tables through kubectl's tabwriter settings (cells padded
// to the widest in the column plus 3 spaces, minimum width 6, the last column unpadded), `-o wide`
// showing priority>0 columns, `-A` adding NAMESPACE, and ages with kube's duration.HumanDuration (src/k8s/age.ts).
// Pure; never throws.
import { humanDuration } from '../k8s/age.js';
import type { Table, TableRow } from '../k8s/types.js';

export { humanDuration };

const PADDING = 3;
const MIN_WIDTH = 6;

/**
 * Go's text/tabwriter: each line is a list of cells, all but the last tab-terminated; a column's
 * width is set per block of consecutive lines that have a terminated cell in it (max cell width +
 * padding, at least minWidth). Returns the laid-out lines.
 */
export function goTabwriter(lines: readonly (readonly string[])[], minWidth: number, padding: number): string[] {
  const widths: number[][] = lines.map(() => []);
  const format = (from: number, to: number, col: number): void => {
    for (let i = from; i < to; i++) {
      if (col >= lines[i].length - 1) continue;
      let j = i;
      let width = minWidth;
      for (; j < to && col < lines[j].length - 1; j++) width = Math.max(width, lines[j][col].length + padding);
      for (let k = i; k < j; k++) widths[k][col] = width;
      format(i, j, col + 1);
      i = j - 1;
    }
  };
  format(0, lines.length, 0);
  return lines.map((cells, i) => cells.map((c, k) => (k === cells.length - 1 ? c : c.padEnd(widths[i][k]))).join(''));
}

/** Lines of cells as kubectl get's tabwriter (minwidth 6, padding 3) lays them out. */
export function tabwrite(rows: readonly (readonly string[])[]): string[] {
  return goTabwriter(rows, MIN_WIDTH, PADDING);
}

export function ageSince(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

/** A cell as kubectl prints it (`%v`; null → `<none>`, a date → its age). */
export function cellText(cell: unknown, format?: string, now = Date.now()): string {
  if (cell === null || cell === undefined) return '<none>';
  if (typeof cell === 'string' && format === 'date-time') return ageSince(cell, now);
  if (Array.isArray(cell)) return cell.map((c) => cellText(c)).join(',');
  if (typeof cell === 'string' || typeof cell === 'number' || typeof cell === 'boolean') return String(cell);
  return JSON.stringify(cell) ?? '';
}

export interface TableOptions {
  wide?: boolean;
  /** Prefix each row with the row object's namespace (`-A`). */
  withNamespace?: boolean;
  noHeaders?: boolean;
  now?: number;
}

function rowNamespace(row: TableRow): string {
  const meta = (row.object as { metadata?: { namespace?: string } } | undefined)?.metadata;
  return meta?.namespace ?? '';
}

/** The header and row cells of a server Table, before layout. */
export function tableCells(table: Table, o: TableOptions = {}): { header: string[]; rows: string[][] } {
  const shown = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => o.wide || c.priority === 0);
  const header = shown.map(({ c }) => c.name.toUpperCase());
  const rows = table.rows.map((r) => shown.map(({ c, i }) => cellText(r.cells[i], c.format, o.now)));
  if (o.withNamespace) {
    header.unshift('NAMESPACE');
    table.rows.forEach((r, k) => rows[k].unshift(rowNamespace(r)));
  }
  return { header, rows };
}

/** The whole printed table (no trailing newline); '' when it has no rows. */
export function formatServerTable(table: Table, o: TableOptions = {}): string {
  const { header, rows } = tableCells(table, o);
  if (rows.length === 0) return '';
  return tabwrite(o.noHeaders ? rows : [header, ...rows]).join('\n');
}
