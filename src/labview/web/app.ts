// The live page's front end (runs in the browser; compiled by tsc at build time, served by
// server.ts as /app.js with /diagram.js beside it — no bundler, no CDN, nothing fetched from
// elsewhere). Subscribes to /events and updates the server-drawn diagram in place: node health and
// drops, pod status, each link's rates, impairment and partition. A click on a node or pod shows
// its details (/api/node, /api/pod); the packets panel polls /api/packets for the chosen point.
import { formatRate, linkNote, linkState } from '../diagram.js';
import type { LabSnapshot } from '../snapshot.js';

const q = <T extends Element>(sel: string, root: ParentNode = document): T | null => root.querySelector<T>(sel);
const text = (el: Element | null, value: string): void => {
  if (el && el.textContent !== value) el.textContent = value;
};
const h = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attr = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

function apply(s: LabSnapshot): void {
  text(q('#status'), `live · ${new Date(s.at).toLocaleTimeString()}`);
  for (const n of s.nodes) {
    const g = q(`[data-node="${attr(n.name)}"]`);
    if (!g) continue;
    text(q('[data-field=health]', g), n.health);
    q('[data-field=health-dot]', g)?.setAttribute('class', n.health === 'Ready' ? 'health' : 'health bad');
    const perSecond = s.rates?.nodeDrops[n.name] ?? 0;
    text(
      q('[data-field=drops]', g),
      `drops ${n.counters.drops + n.impairDrops}${perSecond > 0 ? ` (${perSecond.toFixed(1)}/s)` : ''}`,
    );
  }
  for (const p of s.pods) {
    const g = q(`[data-pod="${attr(p.name)}"]`);
    if (!g) continue;
    g.setAttribute('class', p.status === 'Running' ? 'pod' : 'pod bad');
    text(q('[data-field=pod-status]', g), p.status);
  }
  for (const l of s.links) {
    const g = q(`[data-link="${attr(l.id)}"]`);
    if (!g) continue;
    g.setAttribute('class', `link ${linkState(l)}`);
    const r = s.rates?.links[l.id];
    text(q('[data-field=rate-ab]', g), formatRate(r?.aToB));
    text(q('[data-field=rate-ba]', g), formatRate(r?.bToA));
    text(q('[data-field=note]', g), linkNote(l));
  }
}

function table(rows: string[][], head: string[]): string {
  const tr = (cells: string[], tag: string): string =>
    `<tr>${cells.map((c) => `<${tag}>${h(c)}</${tag}>`).join('')}</tr>`;
  return `<table>${tr(head, 'th')}${rows.map((r) => tr(r, 'td')).join('')}</table>`;
}

interface NodeDetails {
  name: string;
  error?: string;
  status?: {
    backend: string;
    tun: string;
    mtu: number;
    publicIp: string;
    subnet: string;
    uptimeSeconds: number;
    peers: { name: string; publicIp: string; txPackets: number; rxPackets: number; txBytes: number; rxBytes: number }[];
  };
  routes?: { subnet: string; peer: string; publicIp: string; port: number; device: string }[];
  stats?: { counters: { txPackets: number; rxPackets: number; drops: Record<string, number> } };
}

async function showNode(name: string): Promise<void> {
  const d = (await (await fetch(`/api/node/${encodeURIComponent(name)}`)).json()) as NodeDetails;
  const body = q('#details-body')!;
  if (d.error || !d.status) {
    body.innerHTML = `<b>${h(name)}</b>: ${h(d.error ?? 'no answer')}`;
    return;
  }
  const s = d.status;
  const drops = Object.entries(d.stats?.counters.drops ?? {}).filter(([, v]) => v > 0);
  body.innerHTML =
    `<b>node ${h(name)}</b> · ${h(s.publicIp)} · ${h(s.subnet)} · ${h(s.backend)}` +
    ` · TUN ${h(s.tun)} (MTU ${s.mtu}) · up ${s.uptimeSeconds} s` +
    `<h3>Routes</h3>${table(
      (d.routes ?? []).map((r) => [r.subnet, `via ${r.peer} ${r.publicIp}:${r.port}`, r.device]),
      ['subnet', 'peer', 'device'],
    )}` +
    `<h3>Peers</h3>${table(
      s.peers.map((p) => [p.name, p.publicIp, `${p.txPackets} / ${p.txBytes} B`, `${p.rxPackets} / ${p.rxBytes} B`]),
      ['peer', 'address', 'sent', 'received'],
    )}` +
    `<h3>Drops</h3>${
      drops.length
        ? table(
            drops.map(([k, v]) => [k, String(v)]),
            ['reason', 'count'],
          )
        : 'none'
    }`;
}

interface PodDetails {
  name: string;
  ip: string;
  node: string;
  netns: string;
  hostVeth: string;
  gateway?: string;
  status?: string;
  ready?: string;
  containers: { name: string; kind: string; argv: string[] }[];
}

async function showPod(name: string): Promise<void> {
  const p = (await (await fetch(`/api/pod/${encodeURIComponent(name)}`)).json()) as PodDetails;
  q('#details-body')!.innerHTML =
    `<b>pod ${h(p.name)}</b> · ${h(p.ip)} on ${h(p.node)} · ${h(p.status ?? '?')} (${h(p.ready ?? '?')})` +
    `<br>namespace ${h(p.netns)} · veth ${h(p.hostVeth)} on ${h(p.node)} · default via ${h(p.gateway ?? '?')} (cni0)` +
    `<h3>Containers</h3>${table(
      p.containers.map((c) => [c.name, `${c.kind}: ${c.argv.join(' ')}`]),
      ['name', 'runs'],
    )}`;
}

function select(el: Element): void {
  document.querySelectorAll('.selected').forEach((x) => x.classList.remove('selected'));
  el.classList.add('selected');
}

document.addEventListener('click', (ev) => {
  const target = ev.target as Element;
  const pod = target.closest('[data-pod]');
  const node = target.closest('[data-node]');
  if (pod) {
    select(pod);
    void showPod(pod.getAttribute('data-pod')!);
  } else if (node) {
    select(node);
    void showNode(node.getAttribute('data-node')!);
  }
});

interface Packets {
  point: string;
  packets: { t: number; len: number; headers: string[] }[];
  error?: string;
}

let pollTimer: number | undefined;
async function pollPackets(point: string): Promise<void> {
  const r = (await (await fetch(`/api/packets?point=${encodeURIComponent(point)}`)).json()) as Packets;
  const body = q('#packets-body')!;
  if (r.error) body.textContent = r.error;
  else if (r.packets.length === 0) body.textContent = 'no packets yet';
  else
    body.innerHTML = r.packets
      .slice(0, 12)
      .map(
        (p) =>
          `<div class="packet">${h(new Date(p.t).toLocaleTimeString())} · ${p.len} B` +
          `<pre>${h(p.headers.join('\n'))}</pre></div>`,
      )
      .join('');
}

q<HTMLSelectElement>('#point')?.addEventListener('change', (ev) => {
  const point = (ev.target as HTMLSelectElement).value;
  if (pollTimer !== undefined) window.clearInterval(pollTimer);
  pollTimer = undefined;
  q('#packets-body')!.textContent = '';
  if (!point) return;
  void pollPackets(point);
  pollTimer = window.setInterval(() => void pollPackets(point), 1000);
});

const events = new EventSource('/events');
events.onmessage = (ev: MessageEvent<string>) => apply(JSON.parse(ev.data) as LabSnapshot);
events.onerror = () => text(q('#status'), 'disconnected: retrying…');
