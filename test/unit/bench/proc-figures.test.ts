import { describe, expect, it } from 'vitest';
import {
  classify,
  cpuSecondsByKind,
  parseSmapsRollup,
  parseStatChildTicks,
  parseStatTicks,
  parseStatus,
  readProc,
  summarizeMemory,
  type ProcSample,
} from '../../../bench/lib/proc-figures.js';

const STATUS = `Name:\tnode
Umask:\t0022
VmPeak:\t 1234567 kB
VmRSS:\t   60512 kB
RssAnon:\t   16300 kB
RssFile:\t   44212 kB
RssShmem:\t       0 kB
Threads:\t7
`;

const ROLLUP = `55d0c0000000-7ffd00000000 ---p 00000000 00:00 0                          [rollup]
Rss:               60512 kB
Pss:               20250 kB
Pss_Anon:          16300 kB
Shared_Clean:      44000 kB
Shared_Dirty:          0 kB
Private_Clean:       212 kB
Private_Dirty:     16300 kB
`;

// a command with a space and a parenthesis in it, as /proc/PID/stat shows it
const STAT = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 9000 0 0 0 137 42 5 3 20 0 7 0 100 1000 15000 0';

const sample = (pid: number, kind: string, vmRss: number, priv: number, ticks: number): ProcSample => ({
  pid,
  kind,
  vmRss,
  rssAnon: priv,
  rssFile: vmRss - priv,
  pss: priv + 5000,
  private: priv,
  ticks,
  childTicks: 0,
});

describe('proc figures', () => {
  it('parses VmRSS/RssAnon/RssFile, Pss and private memory, and utime+stime and cutime+cstime', () => {
    expect(parseStatus(STATUS)).toEqual({ vmRss: 60512, rssAnon: 16300, rssFile: 44212 });
    expect(parseSmapsRollup(ROLLUP)).toEqual({ pss: 20250, private: 16512 });
    expect(parseStatTicks(STAT)).toBe(179);
    expect(parseStatus('')).toEqual({ vmRss: 0, rssAnon: 0, rssFile: 0 });
    expect(parseStatTicks('garbage')).toBe(0);
    expect(parseStatChildTicks(STAT)).toBe(8);
    expect(parseStatChildTicks('garbage')).toBe(0);
  });

  it('names lab processes by their command line', () => {
    const bin = ['/usr/bin/node', '/x/bin/flannelette.js'];
    expect(classify([...bin, 'node', '--cluster', 'c.yaml'])).toBe('agent');
    expect(classify([...bin, 'kubelet', '--config', 'k.json'])).toBe('kubelet');
    expect(classify([...bin, 'controlplane', '--dir', 'd'])).toBe('controlplane');
    expect(classify([...bin, 'lab', 'supervise', '--name', 'l'])).toBe('supervisor');
    expect(classify(['/x/build/Release/flt-shim', 'sleep'])).toBe('other');
  });

  it('sums memory per kind in MB and CPU seconds per kind between two samples of the same pids', () => {
    const a = [sample(1, 'agent', 60_000, 16_000, 100), sample(2, 'agent', 62_000, 18_000, 150)];
    const k = [sample(3, 'kubelet', 70_000, 25_000, 500)];
    const [agents, kubelets] = summarizeMemory([...a, ...k]);
    expect(agents).toMatchObject({ kind: 'agent', count: 2, vmRssMax: 63.49, privateTotal: 34.82 });
    expect(agents.vmRssMean).toBeCloseTo(62.46, 2);
    expect(kubelets).toMatchObject({ kind: 'kubelet', count: 1, vmRssTotal: 71.68, pssTotal: 30.72 });
    const later = [
      sample(1, 'agent', 60_000, 16_000, 103),
      sample(2, 'agent', 62_000, 18_000, 150),
      sample(3, 'kubelet', 70_000, 25_000, 650),
      sample(9, 'agent', 1, 1, 999), // started in between: not counted
    ];
    expect(cpuSecondsByKind([...a, ...k], later)).toEqual({
      agent: { count: 2, seconds: 0.03 },
      kubelet: { count: 1, seconds: 1.5 },
    });
  });

  it('reads this process from /proc (Linux), and nothing for a pid that does not exist', () => {
    const me = readProc(process.pid);
    expect(me).toBeDefined();
    expect(me!.vmRss).toBeGreaterThan(0);
    expect(me!.pss).toBeGreaterThan(0);
    expect(me!.ticks).toBeGreaterThanOrEqual(0);
    expect(readProc(2 ** 30)).toBeUndefined();
  });
});
