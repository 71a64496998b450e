// lab check's probes at small scale (check-probe.ts): one fping and one TCP prober thread per source
// namespace for all its targets. Three namespaces wired by veths (src—a, src—b) and one that does not
// exist; every outcome lab check tells apart is produced for real: ping and TCP both fine (a refused
// connection counts: the RST came back), an open port, TCP dropped (nft) while ping works, ICMP dropped
// while TCP is refused, an on-link address nobody has, a network with no route, a missing namespace; and a
// lossy path (nft drops the first two echo requests and the first SYN, as a full queue under load would)
// that the second pass finds, while the broken paths fail both passes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFpingAlive, probeSources } from '../../../src/lab/check-probe.js';
import { cleanupNetns, createNetns, createVethPair, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { waitUntil } from '../../helpers/wait.js';

const PREFIX = 'flt-chkp';
const have = (cmd: string, arg: string): boolean => spawnSync(cmd, [arg]).status === 0;
const skip =
  requireRootOrSkip('lab check probes') ||
  requireOrSkip(have('fping', '-v'), 'lab check probes: needs fping (apt-get install fping)') ||
  requireOrSkip(have('nft', '--version'), 'lab check probes: needs nft (apt-get install nftables)');

describe('parseFpingAlive', () => {
  it('takes the address lines fping -a prints and nothing else', () => {
    const out = '10.77.1.2\nfc00::1\n\nICMP Host Unreachable from 10.77.1.1 for ICMP Echo sent to 10.77.1.9\n';
    expect([...parseFpingAlive(out)]).toEqual(['10.77.1.2', 'fc00::1']);
  });
});

describe.skipIf(skip)('lab check probes (one prober per source)', () => {
  let src: Netns, a: Netns, b: Netns, c: Netns;
  let listener: ChildProcess | undefined;

  beforeAll(async () => {
    await cleanupNetns(PREFIX);
    [src, a, b, c] = [
      await createNetns(PREFIX),
      await createNetns(PREFIX),
      await createNetns(PREFIX),
      await createNetns(PREFIX),
    ];
    for (const ns of [src, a, b, c]) await ns.ip('link', 'set', 'lo', 'up');
    await createVethPair(src, 'ck-c', '10.77.3.1/24', c, 'ck-src', '10.77.3.2/24');
    // c loses the first pass's probes: both echo requests (84 bytes each) and the first SYN (60 bytes)
    await c.exec('nft', ['add', 'table', 'inet', 'chkp']);
    await c.exec('nft', ['add', 'chain', 'inet', 'chkp', 'input', '{ type filter hook input priority 0; }']);
    await c.exec('nft', ['add rule inet chkp input icmp type echo-request quota until 168 bytes drop']);
    await c.exec('nft', ['add rule inet chkp input tcp flags syn quota until 100 bytes drop']);
    await createVethPair(src, 'ck-a', '10.77.1.1/24', a, 'ck-src', '10.77.1.2/24');
    await createVethPair(src, 'ck-b', '10.77.2.1/24', b, 'ck-src', '10.77.2.2/24');
    await b.ip('addr', 'add', '10.77.2.3/24', 'dev', 'ck-src');
    await a.ip('addr', 'add', '10.77.9.1/32', 'dev', 'lo'); // a's own: src has no route to it
    await b.exec('nft', ['add', 'table', 'inet', 'chkp']);
    await b.exec('nft', ['add', 'chain', 'inet', 'chkp', 'input', '{ type filter hook input priority 0; }']);
    await b.exec('nft', ['add', 'rule', 'inet', 'chkp', 'input', 'tcp', 'dport', '81', 'drop']);
    await b.exec('nft', ['add rule inet chkp input ip daddr 10.77.2.3 icmp type echo-request drop']);
    listener = spawn('ip', ['netns', 'exec', b.name, 'socat', 'TCP-LISTEN:8080,reuseaddr,fork', 'EXEC:/bin/true'], {
      stdio: 'ignore',
    });
    await waitUntil(async () => (await b.exec('ss', ['-ltnH'])).stdout.includes(':8080'), 'socat listening');
  }, 60_000);

  afterAll(async () => {
    if (listener?.pid) listener.kill('SIGKILL');
    await cleanupNetns(PREFIX);
  });

  it('tells every outcome apart, per target, in the targets order', async () => {
    const [fromSrc, fromA, missing] = await probeSources(
      [
        {
          netns: src.name,
          targets: [
            { ip: '10.77.1.2', port: 80 }, // refused: ok
            { ip: '10.77.2.2', port: 8080 }, // open
            { ip: '10.77.2.2', port: 81 }, // TCP dropped, ping fine
            { ip: '10.77.2.3', port: 80 }, // ICMP dropped, TCP refused
            { ip: '10.77.1.9', port: 80 }, // on the link, nobody has it
          ],
        },
        {
          netns: a.name,
          targets: [
            { ip: '10.77.1.1', port: 80 }, // back to src: refused, ok
            { ip: '10.77.2.2', port: 80 }, // a has no route there
          ],
        },
        { netns: `${PREFIX}-missing`, targets: [{ ip: '10.77.1.1', port: 80 }] },
      ],
      { pingTimeoutMs: 300, tcpTimeoutMs: 1000, recheck: { pingTimeoutMs: 600, tcpTimeoutMs: 1500 } },
    );
    expect(fromSrc).toEqual({ ping: [true, true, true, false, false], tcp: [true, true, false, true, false] });
    expect(fromA).toEqual({ ping: [true, false], tcp: [true, false] });
    expect(missing).toEqual({ ping: [false], tcp: [false] });
  }, 60_000);

  it('probes many sources through a bounded pool and keeps each source its own namespace', async () => {
    // 12 jobs over 2 prober threads, alternating namespaces: a thread that stayed in the last one
    // would get the other side's answers (10.77.2.2 only src reaches, 10.77.9.1 only a)
    const jobs = Array.from({ length: 12 }, (_, i) => ({
      netns: i % 2 === 0 ? src.name : a.name,
      targets: [
        { ip: '10.77.2.2', port: 80 },
        { ip: '10.77.9.1', port: 80 },
      ],
    }));
    const r = await probeSources(jobs, {
      workers: 2,
      sourceConcurrency: 3,
      pingTimeoutMs: 300,
      tcpTimeoutMs: 1000,
      recheck: false,
    });
    r.forEach((x, i) =>
      expect(x, `job ${i}`).toEqual(
        i % 2 === 0 ? { ping: [true, false], tcp: [true, false] } : { ping: [false, true], tcp: [false, true] },
      ),
    );
  }, 60_000);

  it('finds a lossy path on the second pass and counts it; a broken one fails both', async () => {
    const probe = (recheck: false | { pingTimeoutMs: number; tcpTimeoutMs: number }) =>
      probeSources(
        [
          {
            netns: src.name,
            targets: [
              { ip: '10.77.3.2', port: 80 }, // loses the first probes, then answers (refused)
              { ip: '10.77.1.9', port: 80 }, // broken: nobody has it
            ],
          },
        ],
        { pingTimeoutMs: 300, tcpTimeoutMs: 500, recheck },
      );
    // the first pass loses both probes to c (recovered counts them), the second passes; 10.77.1.9 fails both
    const both = await probe({ pingTimeoutMs: 2000, tcpTimeoutMs: 3000 });
    expect(both[0]).toEqual({ ping: [true, false], tcp: [true, false] });
    expect(both.recovered).toBe(2);
    // the quotas are used up now: the same path passes the first pass, nothing to recover
    const again = await probe(false);
    expect(again[0]).toEqual({ ping: [true, false], tcp: [true, false] });
    expect(again.recovered).toBeUndefined();
  }, 60_000);
});
