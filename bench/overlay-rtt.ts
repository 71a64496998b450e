// The RTT A/B bench: testbeds of several rows up at once, then alternating rounds of pings (2 ms apart)
// through each, so drifts in background load hit every row alike. Reports per row the median over
// rounds of each round's p50 and p99, the percentiles of all pings pooled, and the node processes'
// CPU time per ping (utime+stime of both node processes over the rounds / pings). Root only.
//
//   node dist/bench/overlay-rtt.js --rows kernel-vxlan,flannelette-vxlan,flannelette-vxlan-busy-poll,openvpn --rounds 5
//
// Throws nothing to the caller: a failed round is reported as missing; testbeds are always deleted.
import { Command } from 'commander';
import fs from 'node:fs';
import { createTestbed, PATHS, type PathName, type Testbed } from './lib/testbed.js';
import { pingTimes, processCpuSeconds } from './lib/measure.js';
import { cleanupAll, cleanupAllSync } from './lib/sys.js';
import { median, percentile, renderTable } from './lib/stats.js';

interface RowResult {
  p50s: number[];
  p99s: number[];
  all: number[];
  cpuSeconds: number;
  pings: number;
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--rows <list>', `comma-separated rows (${PATHS.join(',')})`, 'flannelette-vxlan,openvpn')
    .option('--rounds <n>', 'rounds (each: one ping series per row)', '5')
    .option('--pings <n>', 'pings per series', '500')
    .option('--interval <s>', 'seconds between pings', '0.002')
    .option('--node-flags <flags>', 'flags for `node` of the flannelette rows (e.g. --trace-gc)', '')
    .parse()
    .opts<{ rows: string; rounds: string; pings: string; interval: string; nodeFlags: string }>();
  const rows = o.rows.split(',').map((r) => r.trim()) as PathName[];
  for (const r of rows) if (!PATHS.includes(r)) throw new Error(`unknown row ${r}`);
  const rounds = Number(o.rounds);
  const pings = Number(o.pings);
  const nodeFlags = o.nodeFlags.split(' ').filter((f) => f !== '');
  const loadStart = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const beds: Testbed[] = [];
  for (const r of rows) beds.push(await createTestbed(r, { nodeFlags }));
  const res = rows.map((): RowResult => ({ p50s: [], p99s: [], all: [], cpuSeconds: 0, pings: 0 }));
  for (const bed of beds) await pingTimes(bed, 100, o.interval).catch(() => []); // warm-up
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < beds.length; i++) {
      const cpu0 = beds[i].procs.map((p) => processCpuSeconds(p.pid!) ?? 0);
      const t = await pingTimes(beds[i], pings, o.interval).catch(() => [] as number[]);
      const cpu1 = beds[i].procs.map((p) => processCpuSeconds(p.pid!) ?? 0);
      if (t.length === 0) continue;
      res[i].p50s.push(percentile(t, 50));
      res[i].p99s.push(percentile(t, 99));
      res[i].all.push(...t);
      res[i].cpuSeconds += cpu1.reduce((a, b, j) => a + b - cpu0[j], 0);
      res[i].pings += t.length;
      console.error(`round ${k + 1} ${rows[i]}: p50 ${percentile(t, 50)} p99 ${percentile(t, 99)}`);
    }
  }
  const loadEnd = fs.readFileSync('/proc/loadavg', 'utf8').trim();
  const table = rows.map((r, i) => {
    const x = res[i];
    const all = [...x.all].sort((a, b) => a - b);
    const cpu = x.pings > 0 && beds[i].procs.length > 0 ? ((x.cpuSeconds / x.pings) * 1e6).toFixed(0) : 'n/a';
    return [
      r,
      (median(x.p50s) ?? NaN).toFixed(3),
      (median(x.p99s) ?? NaN).toFixed(3),
      percentile(all, 50).toFixed(3),
      percentile(all, 99).toFixed(3),
      (percentile(all, 99) / percentile(all, 50)).toFixed(2),
      cpu,
      x.p50s.map((v) => v.toFixed(3)).join(' '),
    ];
  });
  const header = ['row', 'p50 med', 'p99 med', 'p50 all', 'p99 all', 'p99/p50', 'node CPU µs/ping', 'p50 per round'];
  console.log(`load ${loadStart} -> ${loadEnd}; ${rounds} rounds x ${pings} pings, interval ${o.interval} s`);
  console.log(renderTable(header, table));
  for (const b of beds) await b.close();
}

process.on('SIGINT', () => void cleanupAll().then(() => process.exit(130)));
process.on('exit', cleanupAllSync);
main()
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
