// Wireshark-native capture against a real two-node vxlan lab (root), through the built CLI and the
// real tshark/capinfos:
//  - `lab capture -w FILE`: pcapng (capinfos), the SHB comment naming the lab, four interfaces
//    node1/node2 × inner/outer that all saw the pods' ICMP, in timestamp order; `-w -` into tshark;
//  - a reader that never reads: pings between pods all answered, copies dropped and counted;
//  - `wireshark install --user` in a temporary HOME: the example outer captures and the lab's outer
//    interfaces decode VXLAN / IP-in-UDP with no -d (and do not without the install);
//  - the extcap program: `tshark -D` lists lab/node/point, `tshark -i lab/node1/inner -a duration:3`
//    captures the pods' pings;
//  - `lab follow`: one ping request at the six points it crosses between nodes (two on one node).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsReply } from '../../../src/node/rpc-handlers.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI = path.join(ROOT, 'bin/flannelette.js');
const built = fs.existsSync(path.join(ROOT, 'dist/src/wireshark/extcap-main.js'));
const tools = ['tshark', 'capinfos'].every((t) => spawnSync(t, ['-h']).status === 0);
const skip =
  requireRootOrSkip('wireshark lab capture') ||
  requireOrSkip(built, 'wireshark lab capture: build first (npm run build)') ||
  requireOrSkip(tools, 'wireshark lab capture: needs tshark and capinfos (apt-get install tshark wireshark-common)');

const lab = `ws${Math.random()
  .toString(36)
  .slice(2, 8)
  .replace(/[^a-z0-9]/g, 'x')}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-ws-test-'));
const home = path.join(tmp, 'home');
const children = new Set<ChildProcess>();

interface Run {
  code: number;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: tmp, env: { ...process.env, ...opts.env } });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? 128, out, err });
    });
  });
}

const cli = (args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> =>
  run(process.execPath, [CLI, ...args], opts);

/** Resolves once `pattern` appears in the child's stderr (rejects after the deadline). */
function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in: ${text}`)), timeoutMs);
    child.stderr!.on('data', (d) => {
      text += String(d);
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code ?? 128));
  });
}

const tshark = (args: string[], env: NodeJS.ProcessEnv = { HOME: path.join(tmp, 'empty-home') }): string =>
  spawnSync('tshark', args, { encoding: 'utf8', env: { ...process.env, ...env } }).stdout;

const ping = (count: number, extra: string[] = []): Promise<Run> =>
  cli([
    'lab',
    'exec',
    '--name',
    lab,
    'busybox',
    '--',
    'ping',
    '-c',
    String(count),
    '-i',
    '0.2',
    ...extra,
    '10.244.2.2',
  ]);

describe.skipIf(skip)('Wireshark-native capture of a lab', () => {
  beforeAll(async () => {
    fs.mkdirSync(home, { recursive: true });
    fs.mkdirSync(path.join(tmp, 'empty-home'), { recursive: true });
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/two-nodes.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
  });

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('lab capture -w FILE: one pcapng, an interface per node and point, ICMP between pods at all four', async () => {
    const file = path.join(tmp, 'lab.pcapng');
    const capture = spawn(
      process.execPath,
      [CLI, 'lab', 'capture', '--name', lab, '--filter', 'host 10.244.2.2 and proto icmp', '-w', file],
      { cwd: tmp },
    );
    children.add(capture);
    let err = '';
    capture.stderr.on('data', (d) => (err += String(d)));
    await waitForStderr(capture, /^capturing /m);
    const p = await ping(3);
    expect(p.out).toMatch(/3 packets transmitted, 3 received/);
    capture.kill('SIGINT');
    expect(await exited(capture)).toBe(0);
    expect(err).toMatch(
      new RegExp(
        'stopped \\(interrupted\\): 24 packets written ' +
          '\\(node1/inner 6, node1/outer 6, node2/inner 6, node2/outer 6\\); 0 copies dropped',
      ),
    );
    expect(err).toContain(`read it with: tshark -r ${file} -d udp.port==8472,vxlan`);

    const info = spawnSync('capinfos', [file], { encoding: 'utf8' }).stdout;
    expect(info).toMatch(/File type:\s+Wireshark\/\.\.\. - pcapng/);
    expect(info).toMatch(/Number of interfaces in file: 4/);
    expect(info).toMatch(/Strict time order:\s+True/);
    expect(info).toMatch(new RegExp(`Capture comment:\\s+flannelette lab ${lab}: vxlan \\(VNI 1, UDP 8472\\)`));
    expect(info).toMatch(
      /node1: public IP 192\.168\.1\.2, subnet 10\.244\.1\.0\/24, TUN flannel\.1; pods: .*busybox 10\.244\.1\.3/,
    );
    expect(info).toMatch(/Description = node2 outer: vxlan datagrams on the underlay at 192\.168\.1\.3 \(UDP 8472\)/);

    const rows = tshark([
      '-r',
      file,
      '-d',
      'udp.port==8472,vxlan',
      '-T',
      'fields',
      '-e',
      'frame.interface_name',
      '-e',
      'icmp.type',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
    ])
      .trim()
      .split('\n');
    expect(rows).toHaveLength(24);
    const names = new Set(rows.map((r) => r.split('\t')[0]));
    expect([...names].sort()).toEqual(['node1/inner', 'node1/outer', 'node2/inner', 'node2/outer']);
    // every hop decoded down to ICMP; outer rows carry the underlay and the pod addresses
    for (const r of rows) expect(r.split('\t')[1]).toMatch(/^(8|0)$/);
    expect(rows.filter((r) => r.startsWith('node1/outer')).every((r) => r.includes('192.168.1.'))).toBe(true);
    // the first request seen at each point, in the order it crossed them
    const firstRequest = rows
      .filter((r) => /\t8\t/.test(r))
      .slice(0, 4)
      .map((r) => r.split('\t')[0]);
    expect(firstRequest).toEqual(['node1/inner', 'node1/outer', 'node2/outer', 'node2/inner']);
  });

  it('lab capture -w - into tshark, stopping after --count', async () => {
    const traffic = ping(10);
    const r = await run(
      'sh',
      [
        '-c',
        `${process.execPath} ${CLI} lab capture --name ${lab} --nodes node2 --points inner --count 4 -q --filter 'host 10.244.1.3' -w - | ` +
          'tshark -r - -T fields -e frame.interface_name -e icmp.type',
      ],
      {
        env: { HOME: path.join(tmp, 'empty-home') },
      },
    );
    await traffic;
    expect(r.out.trim().split('\n')).toEqual(['node2/inner\t8', 'node2/inner\t0', 'node2/inner\t8', 'node2/inner\t0']);
  });

  it("a reader that never reads: the pods' pings are all answered, copies are dropped and counted", async () => {
    const capture = spawn(process.execPath, [CLI, 'lab', 'capture', '--name', lab, '--buffer-mb', '0.25', '-w', '-'], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(capture);
    capture.stdout.pause(); // nobody reads: the pipe fills, then the capture's buffer
    let err = '';
    capture.stderr.on('data', (d) => (err += String(d)));
    await waitForStderr(capture, /^capturing /m);
    const p = await cli([
      'lab',
      'exec',
      '--name',
      lab,
      'busybox',
      '--',
      'ping',
      '-c',
      '200',
      '-i',
      '0.005',
      '-s',
      '1300',
      '-q',
      '10.244.2.2',
    ]);
    expect(p.out).toMatch(/200 packets transmitted, 200 received, 0% packet loss/);
    capture.kill('SIGTERM');
    await exited(capture);
    expect(err).toMatch(/^stopped \(terminated\): /m); // it kept going until told to stop
    expect(err).not.toMatch(/system error|EAGAIN/);
    const m = /; (\d+) copies dropped/.exec(err);
    expect(m, err).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(err).toMatch(/the reader is slower than the lab|never taken by the reader|copies dropped/);
  });

  it('wireshark install --user: outer captures decode VXLAN and IP-in-UDP with no -d', async () => {
    const examples = path.join(ROOT, 'pcaps/examples');
    const before = tshark([
      '-r',
      path.join(examples, 'vxlan/node1-outer.pcap'),
      '-T',
      'fields',
      '-e',
      'frame.protocols',
    ]);
    expect(before).not.toContain('vxlan');
    const inst = await cli(['wireshark', 'install', '--user'], { env: { HOME: home } });
    expect(inst.code, inst.err).toBe(0);
    expect(inst.out).toContain(path.join(home, '.local/lib/wireshark/plugins/flannelette.lua'));
    const env = { HOME: home };
    const vx = tshark(
      [
        '-r',
        path.join(examples, 'vxlan/node1-outer.pcap'),
        '-T',
        'fields',
        '-e',
        'frame.protocols',
        '-e',
        'vxlan.vni',
        '-e',
        'icmp.type',
      ],
      env,
    )
      .trim()
      .split('\n');
    expect(vx[0]).toMatch(/^eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp:data\t1\t8$/);
    const udp = tshark(
      ['-r', path.join(examples, 'udp/node1-outer.pcap'), '-T', 'fields', '-e', 'frame.protocols'],
      env,
    )
      .trim()
      .split('\n');
    expect(udp[0]).toBe('eth:ethertype:ip:udp:ip:icmp:data');
    // the lab's own merged file too
    const file = path.join(tmp, 'lab.pcapng');
    const outer = tshark(
      ['-r', file, '-Y', 'frame.interface_name == "node2/outer"', '-T', 'fields', '-e', 'frame.protocols'],
      env,
    )
      .trim()
      .split('\n');
    expect(outer.length).toBeGreaterThan(0);
    for (const row of outer) expect(row).toMatch(/:udp:vxlan:eth:ethertype:ip:icmp/);
    // and the capture command now prints the plain line
    const hint = await run(
      process.execPath,
      [CLI, 'capture', `${lab}/node1`, '--point', 'outer', '--duration', '0.5', '-w', path.join(tmp, 'n1.pcap')],
      { env },
    );
    expect(hint.code, hint.err).toBe(0);
    expect(hint.err).toContain(`read it with: tshark -r ${path.join(tmp, 'n1.pcap')}   (or: wireshark`);
  });

  it('extcap: tshark -D lists lab/node/point; tshark -i captures pings through it', async () => {
    if (!fs.existsSync(path.join(home, '.local/lib/wireshark/plugins/flannelette.lua'))) {
      const inst = await cli(['wireshark', 'install', '--user'], { env: { HOME: home } });
      expect(inst.code).toBe(0);
    }
    const env = { HOME: home };
    const list = tshark(['-D'], env);
    for (const n of ['node1', 'node2'])
      for (const p of ['inner', 'outer']) expect(list).toContain(`${lab}/${n}/${p} (flannelette lab ${lab}, ${n} (`);

    const out = path.join(tmp, 'extcap.pcapng');
    // Wireshark's capture filter box reaches the extcap as --extcap-capture-filter
    const cap = spawn('tshark', ['-i', `${lab}/node1/inner`, '-f', 'proto icmp', '-a', 'duration:5', '-w', out], {
      env: { ...process.env, ...env },
    });
    children.add(cap);
    await waitForStderr(cap, /Capturing on/);
    const traffic = ping(30); // outlasts the capture, so the extcap's start-up time does not matter
    const code = await exited(cap);
    children.delete(cap);
    await traffic;
    expect(code).toBe(0);
    const rows = tshark(['-r', out, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'icmp.type'], env)
      .trim()
      .split('\n');
    expect(rows).toContain('10.244.1.3\t10.244.2.2\t8');
    expect(rows).toContain('10.244.2.2\t10.244.1.3\t0');
    // a capture filter flannelette does not understand: tshark reports the extcap's line and ends
    const bad = await run('tshark', ['-i', `${lab}/node1/inner`, '-f', 'hots 1.2.3.4', '-a', 'duration:1'], {
      env,
      timeoutMs: 60_000,
    });
    expect(bad.code).not.toBe(128); // not killed: it ended by itself
    expect(bad.err).toContain('flannelette extcap: capture filter: unknown keyword "hots"');
  });

  it('lab capture with bad input: one line, exit 2, no capture left running', async () => {
    for (const [args, message] of [
      [['--nodes', 'node9'], /^flannelette: --nodes: "node9" is not a node of lab \w+ \(nodes: node1, node2\)$/],
      [['--points', 'middle'], /^flannelette: --points: "middle" is not a capture point \(inner, outer\)$/],
      [['--duration', '-1'], /^flannelette: --duration -1: expected a positive number$/],
      [['--filter', 'hots 1.2.3.4'], /^flannelette: capture filter: unknown keyword "hots"/],
    ] as const) {
      const r = await cli(['lab', 'capture', '--name', lab, ...args, '-w', path.join(tmp, 'bad.pcapng')]);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim()).toMatch(message);
    }
    const stats = await cli(['stats', `${lab}/node1`, '--json']);
    expect((JSON.parse(stats.out) as StatsReply).capture.live).toEqual([]);
  });

  it('lab follow with no traffic: says so after --timeout, exit 1', async () => {
    const r = await cli([
      'lab',
      'follow',
      '--name',
      lab,
      '--from',
      'multi-container',
      '--to',
      'busybox',
      '--timeout',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('no matching packet was seen');
    expect(r.err).toMatch(/waiting for the next packet from multi-container to busybox at 6 points/);
  });

  it('lab follow: one ping request at all six points between nodes, in path order, with its headers', async () => {
    const follow = spawn(
      process.execPath,
      [CLI, 'lab', 'follow', '--name', lab, '--from', 'busybox', '--to', '10.244.2.2', '--proto', 'icmp', '--json'],
      { cwd: tmp },
    );
    children.add(follow);
    let out = '';
    follow.stdout.on('data', (d) => (out += String(d)));
    await waitForStderr(follow, /^waiting for the next icmp packet from busybox to 10\.244\.2\.2 at 6 points/m);
    const traffic = ping(3);
    expect(await exited(follow)).toBe(0);
    await traffic;
    const r = JSON.parse(out) as { hops: { node: string; point: string; headers: string[] }[]; missed: string[] };
    expect(r.missed).toEqual([]);
    expect(r.hops.map((h) => `${h.node}/${h.point}`)).toEqual([
      'node1/veth',
      'node1/inner',
      'node1/outer',
      'node2/outer',
      'node2/inner',
      'node2/veth',
    ]);
    const icmpLine = r.hops[0].headers.at(-1)!;
    expect(icmpLine).toMatch(/^ICMP echo request id 0x[0-9a-f]{4} seq \d+$/);
    for (const h of r.hops) expect(h.headers.at(-1)).toBe(icmpLine); // the same packet everywhere
    expect(r.hops[2].headers.slice(1, 4)).toEqual([
      expect.stringMatching(/^IPv4 192\.168\.1\.2 → 192\.168\.1\.3 /),
      expect.stringMatching(/^UDP \d+ → 8472 /),
      'VXLAN VNI 1',
    ]);
    expect(r.hops[4].headers[0]).toMatch(/^IPv4 10\.244\.1\.3 → 10\.244\.2\.2 ttl \d+ /);
    const ttl = (h: { headers: string[] }): number =>
      Number(/ttl (\d+)/.exec(h.headers.find((x) => x.startsWith('IPv4 10.244'))!)![1]);
    expect(ttl(r.hops[0])).toBeGreaterThan(ttl(r.hops[5])); // routed: the TTL went down on the way
  });

  it('lab follow on one node: the two veths, no overlay', async () => {
    const follow = spawn(
      process.execPath,
      [CLI, 'lab', 'follow', '--name', lab, '--from', 'busybox', '--to', '10.244.1.2', '--proto', 'icmp'],
      { cwd: tmp },
    );
    children.add(follow);
    let out = '';
    follow.stdout.on('data', (d) => (out += String(d)));
    await waitForStderr(follow, /at 2 points/);
    const traffic = cli(['lab', 'exec', '--name', lab, 'busybox', '--', 'ping', '-c', '3', '-i', '0.2', '10.244.1.2']);
    expect(await exited(follow)).toBe(0);
    await traffic;
    expect(out).toMatch(/^1\. node1 veth[0-9a-f]{8} \(busybox's veth, leaving the pod\)/m);
    expect(out).toMatch(/^2\. node1 veth[0-9a-f]{8} \(nginx-[a-z0-9]+-[a-z0-9]+'s veth, into the pod\)/m);
    expect(out).toContain('never enters the overlay');
  });

  it('lab follow -o json: the documented envelope (docs/json.md, FollowResult), every field of every hop', async () => {
    const follow = spawn(
      process.execPath,
      [CLI, 'lab', 'follow', '--name', lab, '--from', 'busybox', '--to', '10.244.1.2', '--proto', 'icmp', '-o', 'json'],
      { cwd: tmp },
    );
    children.add(follow);
    let out = '';
    follow.stdout.on('data', (d) => (out += String(d)));
    await waitForStderr(follow, /at 2 points/);
    const traffic = cli(['lab', 'exec', '--name', lab, 'busybox', '--', 'ping', '-c', '3', '-i', '0.2', '10.244.1.2']);
    expect(await exited(follow)).toBe(0);
    await traffic;
    const doc = JSON.parse(out) as Record<string, unknown> & { hops: Record<string, unknown>[] };
    // docs/json.md: apiVersion and kind, then from, to, hops ({node, point, label, tsNs, headers}), missed
    expect(Object.keys(doc).sort()).toEqual(['apiVersion', 'from', 'hops', 'kind', 'missed', 'to']);
    expect(doc).toMatchObject({ apiVersion: 'flannelette.io/v1', kind: 'FollowResult', from: 'busybox', missed: [] });
    expect(doc.to).toMatch(/^nginx-[a-z0-9]+-[a-z0-9]+$/);
    expect(doc.hops).toHaveLength(2);
    for (const h of doc.hops) {
      expect(Object.keys(h).sort()).toEqual(['headers', 'label', 'node', 'point', 'tsNs']);
      expect(h).toMatchObject({ node: 'node1', point: 'veth' });
      expect(h.label).toMatch(/^node1 veth[0-9a-f]{8} \([a-z0-9-]+'s veth, (leaving|into) the pod\)$/);
      expect(h.tsNs).toMatch(/^\d+$/); // nanoseconds as a string: a JSON number would lose digits
      expect((h.headers as string[]).at(-1)).toMatch(/^ICMP echo request id 0x[0-9a-f]{4} seq \d+$/);
    }
    expect(BigInt(doc.hops[1].tsNs as string)).toBeGreaterThanOrEqual(BigInt(doc.hops[0].tsNs as string));
  });

  it('lab follow with an unknown pod: one line, exit 2', async () => {
    const r = await cli(['lab', 'follow', '--name', lab, '--from', 'nosuchpod', '--to', 'busybox']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toMatch(/^flannelette: "nosuchpod" is not a pod \(name or IP\) of lab/);
  });
});
