// The lab as an SVG diagram, drawn by a small fixed layout (pure, never throws): the underlay switch
// at the top, one box per node in a row below it (name, health, public IP, subnet, TUN) with its
// pods inside (name, IP, status), an uplink from every node to the switch, and under the nodes one
// arc per pair of nodes: the overlay link between them, with packets and bytes per second each way
// and what impairs it; an impaired link is orange, a partitioned one red and dashed.
// Elements carry data-node / data-pod / data-link and data-field attributes so the live page
// (web/app.ts) can update the texts and classes in place. Why not elkjs or cytoscape: the picture
// is one row of boxes in boxes; a 20-line layout draws it, and the page stays one small module.
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

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatRate(r: Rates | undefined): string {
  if (!r) return '–';
  const bytes = r.bps >= 1e6 ? `${(r.bps / 1e6).toFixed(1)} MB/s` : r.bps >= 1e3 ? `${(r.bps / 1e3).toFixed(1)} kB/s` : `${Math.round(r.bps)} B/s`;
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
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" data-lab="${esc(s.lab)}">`);
  out.push(`<style>${STYLE}</style>`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // the switch
  const swW = Math.min(420, width - 2 * MARGIN);
  const swX = (width - swW) / 2;
  out.push(`<g class="sw"><rect x="${swX}" y="${MARGIN}" width="${swW}" height="${SWITCH_H}" rx="8"/>`);
  out.push(`<text class="title" x="${width / 2}" y="${MARGIN + 22}" text-anchor="middle">underlay switch br0 · ${esc(s.underlay)}</text>`);
  out.push(`<text class="small" x="${width / 2}" y="${MARGIN + 42}" text-anchor="middle">lab ${esc(s.lab)} · ${esc(s.backend)} backend · pods ${esc(s.network)}</text></g>`);
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
    out.push(`<circle class="health${ok ? '' : ' bad'}" data-field="health-dot" cx="${x + 16}" cy="${NODE_Y + 20}" r="6"/>`);
    out.push(`<text class="title" x="${x + 28}" y="${NODE_Y + 25}">${esc(node.name)}</text>`);
    out.push(`<text class="small" data-field="health" x="${x + NODE_W - 12}" y="${NODE_Y + 25}" text-anchor="end">${esc(node.health)}</text>`);
    out.push(`<text class="small" x="${x + 12}" y="${NODE_Y + 45}">${esc(node.publicIp)} · ${esc(node.subnet)}</text>`);
    out.push(`<text class="tiny" x="${x + 12}" y="${NODE_Y + 63}">TUN ${esc(node.tun)} · <tspan data-field="drops">drops ${node.counters.drops + node.impairDrops}</tspan></text>`);
    s.pods
      .filter((p) => p.node === node.name)
      .forEach((p, k) => {
        const py = NODE_Y + HEADER_H + k * (POD_H + POD_GAP);
        out.push(`<g class="pod${p.status === 'Running' ? '' : ' bad'}" data-pod="${esc(p.name)}">`);
        out.push(`<rect x="${x + 10}" y="${py}" width="${NODE_W - 20}" height="${POD_H}" rx="6"/>`);
        out.push(`<text class="small" x="${x + 18}" y="${py + 16}">${esc(p.name.length > 36 ? `${p.name.slice(0, 35)}…` : p.name)}</text>`);
        out.push(`<text class="small" x="${x + 18}" y="${py + 32}">${esc(p.ip)} · <tspan class="tiny" data-field="pod-status">${esc(p.status)}</tspan></text>`);
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
    out.push(`<text class="small" x="${mid}" y="${ty}" text-anchor="middle">${esc(l.a)} → ${esc(l.b)}: <tspan data-field="rate-ab">${formatRate(r?.aToB)}</tspan></text>`);
    out.push(`<text class="small" x="${mid}" y="${ty + 16}" text-anchor="middle">${esc(l.b)} → ${esc(l.a)}: <tspan data-field="rate-ba">${formatRate(r?.bToA)}</tspan></text>`);
    out.push(`<text class="small note" data-field="note" x="${mid}" y="${ty + 34}" text-anchor="middle">${esc(linkNote(l))}</text>`);
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n');
}
