// HTML around the diagram. `staticPage` is what `lab graph -o FILE.html` writes: the SVG and a
// legend, self-contained. `livePage` is the page `lab ui` serves: the same SVG, a details panel (a
// click on a node or pod), a packets panel (last packets of a chosen capture point) and the
// front-end module /app.js, which updates the diagram from /events (Server-Sent Events). Pure.
import { esc, renderDiagram } from './diagram.js';
import type { LabSnapshot } from './snapshot.js';

const LEGEND = `<p class="legend">Links between nodes: <b style="color:#2b7bb9">blue</b> healthy,
<b style="color:#e08a00">orange</b> impaired, <b style="color:#d22">red dashed</b> partitioned.
Rates are inner packets and bytes per second each way.</p>`;

const CSS = `body { font-family: system-ui, sans-serif; margin: 16px; color: #222 }
h1 { font-size: 20px; margin: 0 0 8px } .legend { font-size: 13px; color: #444 }
#main { display: flex; gap: 16px; align-items: flex-start } #diagram { overflow-x: auto }
aside { min-width: 340px; max-width: 520px; font-size: 13px }
aside section { border: 1px solid #ccc; border-radius: 8px; padding: 8px 12px; margin-bottom: 12px }
aside h2 { font-size: 15px; margin: 4px 0 8px } pre { white-space: pre-wrap; font-size: 12px; margin: 0 }
table { border-collapse: collapse; font-size: 12px } td, th { padding: 1px 6px; text-align: left; vertical-align: top }
#status { font-size: 12px; color: #666 } .packet { border-top: 1px solid #eee; padding: 3px 0 }`;

export function staticPage(s: LabSnapshot): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lab ${esc(s.lab)}</title><style>${CSS}</style></head>
<body><h1>flannelette lab ${esc(s.lab)}</h1>${LEGEND}
<div id="diagram">${renderDiagram(s)}</div>
<p class="legend">Drawn ${esc(new Date(s.at).toISOString())} by <code>flannelette lab graph</code>.</p>
</body></html>
`;
}

export function livePage(s: LabSnapshot): string {
  const points = s.nodes.flatMap((n) => [`${n.name}/inner`, `${n.name}/outer`]);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lab ${esc(s.lab)} · flannelette</title><style>${CSS}</style></head>
<body><h1>flannelette lab ${esc(s.lab)} <span id="status">connecting…</span></h1>${LEGEND}
<div id="main">
<div id="diagram">${renderDiagram(s)}</div>
<aside>
<section id="details"><h2>Details</h2><div id="details-body">Click a node or a pod.</div></section>
<section id="packets"><h2>Last packets at
<select id="point"><option value="">(choose a capture point)</option>
${points.map((p) => `<option>${esc(p)}</option>`).join('')}</select></h2>
<div id="packets-body"></div></section>
</aside>
</div>
<script type="module" src="/app.js"></script>
</body></html>
`;
}
