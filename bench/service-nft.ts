// kube-proxy's nft update time with 100 Services × 10 endpoints, in a network namespace this
// benchmark creates and removes (root only): the first full sync (base table + 100 services, one
// `nft -f`), then 50 incremental syncs that each move one endpoint of one Service (one transaction
// holding only that Service's changed chains and elements). Prints medians; `--services N --endpoints M`.
import { execFileSync } from 'node:child_process';
import type { ProxyServicePort } from '../src/proxy/model.js';
import { baseTableText, buildRuleset, diffRuleset, emptyRuleset } from '../src/proxy/ruleset.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SERVICES = arg('services', 100);
const ENDPOINTS = arg('endpoints', 10);
const ns = `flt-benchsvc-${process.pid}`;

function nft(text: string): number {
  const t = process.hrtime.bigint();
  execFileSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: text });
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function model(shift: number, which: number): ProxyServicePort[] {
  const out: ProxyServicePort[] = [];
  for (let s = 0; s < SERVICES; s++) {
    const endpoints = [];
    for (let e = 0; e < ENDPOINTS; e++) {
      const n = s === which && e === 0 ? ENDPOINTS + shift : e;
      endpoints.push({ ip: `10.244.${(n % 250) + 1}.${(s % 250) + 2}`, port: 8080, local: e % 2 === 0 });
    }
    out.push({
      namespace: 'default',
      name: `svc-${s}`,
      portName: 'http',
      protocol: 'tcp',
      port: 80,
      clusterIP: `10.96.${Math.floor(s / 250) + 1}.${(s % 250) + 1}`,
      nodePort: 30000 + s,
      loadBalancerIPs: [],
      externalLocal: false,
      affinityTimeout: s % 4 === 0 ? 10800 : undefined,
      endpoints,
    });
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

execFileSync('ip', ['netns', 'add', ns]);
try {
  const facts = { clusterCidr: '10.244.0.0/16' };
  let prev = buildRuleset(model(0, -1), facts);
  const fullText = baseTableText() + '\n' + diffRuleset(emptyRuleset(), prev);
  const full = nft(fullText);
  const incremental: number[] = [];
  let commands = 0;
  for (let i = 1; i <= 50; i++) {
    const next = buildRuleset(model(i, i % SERVICES), facts);
    const text = diffRuleset(prev, next);
    commands = text.split('\n').length - 1;
    incremental.push(nft(text));
    prev = next;
  }
  const rules = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kube-proxy']).toString();
  console.log(
    `${SERVICES} services × ${ENDPOINTS} endpoints: ${prev.chains.size} chains, ${rules.split('\n').length} lines listed\n` +
      `full sync (one nft -f of ${fullText.split('\n').length} lines): ${full.toFixed(1)} ms\n` +
      `incremental sync (one endpoint of one service, ${commands} commands): median ${median(incremental).toFixed(1)} ms, ` +
      `max ${Math.max(...incremental).toFixed(1)} ms over ${incremental.length}`,
  );
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}
