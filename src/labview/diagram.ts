// The lab as an SVG diagram, drawn by a small fixed layout (pure, never throws): the underlay switch
// at the top, one box per node in a row below it (name, health, public IP, subnet, TUN) with its
// pods inside (name, IP, status), an uplink from every node to the switch, and under the nodes one
// arc per pair of nodes: the overlay link between them, with packets and bytes per second each way
// and what impairs it; an impaired link is orange, a partitioned one red and dashed.
// Elements carry data-node / data-pod / data-link and data-field attributes so the live page
// (web/app.ts) can update the texts and classes in place. Why not elkjs or cytoscape: the picture
// is one row of boxes in boxes; a few dozen lines lay it out, and the page stays one small module.
import type { LabSnapshot, LinkView, Rates } from './snapshot.js';

export const NODE_W = 280;
const GAP = 50;
const MARGIN = 30;
const SWITCH_H = 54;
const NODE_Y = 150;
const HEADER_H = 78;
const POD_H = 40;
const POD_GAP = 8;
const ARC_BASE = 70;
const ARC_STEP = 45;

export const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatRate(r: Rates | undefined): string {
  if (!r) return '–';
  const bytes =
    r.bps >= 1e6
      ? `${(r.bps / 1e6).toFixed(1)} MB/s`
      : r.bps >= 1e3
        ? `${(r.bps / 1e3).toFixed(1)} kB/s`
        : `${Math.round(r.bps)} B/s`;
  return `${r.pps >= 10 ? Math.round(r.pps) : r.pps.toFixed(1)} pkt/s ${bytes}`;
}

export function linkState(l: LinkView): 'partitioned' | 'impaired' | 'ok' {
  return l.partitioned ? 'partitioned' : l.impairment ? 'impaired' : 'ok';
}

export function linkNote(l: LinkView): string {
  return l.partitioned ? `✕ partitioned${l.impairment ? `; ${l.impairment}` : ''}` : l.impairment;
}

const STYLE = `
  .sw rect { fill: #e8eef7; stroke: #4a6fa5; stroke-width: 1.5 }
  .node > rect.box { fill: #fbfbfd; stroke: #555; stroke-width: 1.5; cursor: pointer }
  .node text, .sw text, .pod text, .link text { font-family: system-ui, sans-serif; fill: #222 }
  .title { font-weight: 600; font-size: 15px } .small { font-size: 12px } .tiny { font-size: 11px; fill: #555 }
  .pod rect { fill: #eef7ee; stroke: #5a9a5a; cursor: pointer } .pod.bad rect { fill: #fbeaea; stroke: #b44 }
  .uplink { stroke: #4a6fa5; stroke-width: 2 }
  .health { fill: #3a3 } .health.bad { fill: #c33 }
  .link path { fill: none; stroke: #2b7bb9; stroke-width: 2.5 }
  .link.impaired path { stroke: #e08a00 } .link.partitioned path { stroke: #d22; stroke-dasharray: 8 6 }
  .link.partitioned text.note { fill: #d22; font-weight: 600 } .link.impaired text.note { fill: #b86e00 }
  .selected > rect { stroke: #000; stroke-width: 3 }
`;

export interface DiagramSize {
  width: number;
  height: number;
}

function nodeX(i: number): number {
  return MARGIN + i * (NODE_W + GAP);
}

export function renderDiagram(s: LabSnapshot): string {
  const n = s.nodes.length;
  const width = Math.max(2 * MARGIN + n * NODE_W + (n - 1) * GAP, 600);
  const maxPods = Math.max(1, ...s.nodes.map((node) => s.pods.filter((p) => p.node === node.name).length));
  const nodeH = HEADER_H + maxPods * (POD_H + POD_GAP) + 4;
  const bottom = NODE_Y + nodeH;
  const arcs = s.links.map((l) => {
    const i = s.nodes.findIndex((x) => x.name === l.a);
    const j = s.nodes.findIndex((x) => x.name === l.b);
    return { l, i, j, depth: ARC_BASE + (Math.abs(j - i) - 1) * ARC_STEP };
  });
  const height = bottom + Math.max(40, ...arcs.map((a) => a.depth + 64)) + MARGIN;
  const out: string[] = [];
  /** A <text> element; `body` is markup (escape what comes from outside). */
  const text = (cls: string, x: number, y: number, body: string, extra = ''): void =>
    void out.push(`<text class="${cls}" x="${x}" y="${y}"${extra}>${body}</text>`);
  const middle = ' text-anchor="middle"';
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"`);
  out.push(` viewBox="0 0 ${width} ${height}" data-lab="${esc(s.lab)}">`);
  out.push(`<style>${STYLE}</style>`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // the switch
  const swW = Math.min(420, width - 2 * MARGIN);
  const swX = (width - swW) / 2;
  out.push(`<g class="sw"><rect x="${swX}" y="${MARGIN}" width="${swW}" height="${SWITCH_H}" rx="8"/>`);
  text('title', width / 2, MARGIN + 22, `underlay switch br0 · ${esc(s.underlay)}`, middle);
  const about = `lab ${esc(s.lab)} · ${esc(s.backend)} backend · pods ${esc(s.network)}`;
  text('small', width / 2, MARGIN + 42, about, middle);
  out.push('</g>');
  // uplinks
  s.nodes.forEach((_, i) => {
    const cx = nodeX(i) + NODE_W / 2;
    out.push(`<line class="uplink" x1="${cx}" y1="${MARGIN + SWITCH_H}" x2="${cx}" y2="${NODE_Y}"/>`);
  });
  // nodes and pods
  s.nodes.forEach((node, i) => {
    const x = nodeX(i);
    const ok = node.health === 'Ready';
    out.push(`<g class="node" data-node="${esc(node.name)}">`);
    out.push(`<rect class="box" x="${x}" y="${NODE_Y}" width="${NODE_W}" height="${nodeH}" rx="10"/>`);
    const dot = `class="health${ok ? '' : ' bad'}" data-field="health-dot"`;
    out.push(`<circle ${dot} cx="${x + 16}" cy="${NODE_Y + 20}" r="6"/>`);
    text('title', x + 28, NODE_Y + 25, esc(node.name));
    text('small', x + NODE_W - 12, NODE_Y + 25, esc(node.health), ' data-field="health" text-anchor="end"');
    text('small', x + 12, NODE_Y + 45, `${esc(node.publicIp)} · ${esc(node.subnet)}`);
    const drops = `<tspan data-field="drops">drops ${node.counters.drops + node.impairDrops}</tspan>`;
    text('tiny', x + 12, NODE_Y + 63, `TUN ${esc(node.tun)} · ${drops}`);
    s.pods
      .filter((p) => p.node === node.name)
      .forEach((p, k) => {
        const py = NODE_Y + HEADER_H + k * (POD_H + POD_GAP);
        out.push(`<g class="pod${p.status === 'Running' ? '' : ' bad'}" data-pod="${esc(p.name)}">`);
        out.push(`<rect x="${x + 10}" y="${py}" width="${NODE_W - 20}" height="${POD_H}" rx="6"/>`);
        text('small', x + 18, py + 16, esc(p.name.length > 36 ? `${p.name.slice(0, 35)}…` : p.name));
        const status = `<tspan class="tiny" data-field="pod-status">${esc(p.status)}</tspan>`;
        text('small', x + 18, py + 32, `${esc(p.ip)} · ${status}`);
        out.push('</g>');
      });
    out.push('</g>');
  });
  // overlay links between node pairs
  for (const { l, i, j, depth } of arcs) {
    const x1 = nodeX(i) + NODE_W / 2 + 20;
    const x2 = nodeX(j) + NODE_W / 2 - 20;
    const mid = (x1 + x2) / 2;
    const r = s.rates?.links[l.id];
    out.push(`<g class="link ${linkState(l)}" data-link="${esc(l.id)}">`);
    out.push(`<path d="M ${x1} ${bottom} Q ${mid} ${bottom + depth * 2} ${x2} ${bottom}"/>`);
    const ty = bottom + depth + 20;
    const ab = `<tspan data-field="rate-ab">${formatRate(r?.aToB)}</tspan>`;
    const ba = `<tspan data-field="rate-ba">${formatRate(r?.bToA)}</tspan>`;
    text('small', mid, ty, `${esc(l.a)} → ${esc(l.b)}: ${ab}`, middle);
    text('small', mid, ty + 16, `${esc(l.b)} → ${esc(l.a)}: ${ba}`, middle);
    text('small note', mid, ty + 34, esc(linkNote(l)), ` data-field="note"${middle}`);
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}
