// The extcap program against a stand-in node (a real control socket answering `capture` with a pcap
// stream, as a node does) in a temporary state dir: interface listing (nodes and lab nodes, dead
// sockets left out), DLTs, config, filter validation, and a capture into a real fifo that ends
// when Wireshark signals stop. Plus the install files (Lua plugin, wrapper) and the read hints.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINKTYPE_RAW, pcapFileHeader, pcapRecordHeader, readPcap } from '../../../src/capture/pcap.js';
import { combinedFilter, runExtcap } from '../../../src/wireshark/extcap.js';
import { readCommandHint } from '../../../src/wireshark/hints.js';
import { extcapWrapperText, luaPluginText, targets } from '../../../src/wireshark/install.js';
import { parsePointValue } from '../../../src/wireshark/points.js';
import { startRpcServer, StreamReply, type RpcServer } from '../../../src/util/rpc.js';

let dir: string;
const servers: RpcServer[] = [];
const captureParams: Record<string, unknown>[] = [];
const openStreams = new Set<net.Socket>();

async function fakeNode(socketPath: string): Promise<void> {
  servers.push(
    await startRpcServer(socketPath, {
      capture: (params) => {
        captureParams.push(params);
        return new StreamReply({ point: params.point, linktype: LINKTYPE_RAW }, (socket) => {
          openStreams.add(socket);
          socket.once('close', () => openStreams.delete(socket));
          const rec = Buffer.alloc(16);
          pcapRecordHeader(rec, 0, 1_796_000_000_000_000_007n, 4, 4);
          socket.write(Buffer.concat([pcapFileHeader(LINKTYPE_RAW, 262144), rec, Buffer.from('ping')]));
        });
      },
    }),
  );
}

function labState(lab: string, node: string): void {
  const labDir = path.join(dir, 'labs', lab);
  fs.mkdirSync(path.join(labDir, 'run'), { recursive: true });
  const topology = { name: lab, nodes: [{ name: node, publicIp: '192.168.1.2', subnet: '10.244.1.0/24' }], pods: [] };
  fs.writeFileSync(
    path.join(labDir, 'state.json'),
    JSON.stringify({
      version: 1,
      topology,
      createdAt: 0,
      phase: 'running',
      agents: true,
      nodePids: {},
      containerPids: {},
    }),
  );
}

async function extcap(args: string[], stop?: Promise<void>): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  const code = await runExtcap(args, { stdout, stderr, stateDir: dir, stopSignal: stop });
  return { code, out, err };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-extcap-'));
  await fakeNode(path.join(dir, 'solo.sock'));
  labState('lab1', 'node1');
  await fakeNode(path.join(dir, 'labs/lab1/run/node1.sock'));
  fs.writeFileSync(path.join(dir, 'dead.sock'), ''); // not a listening socket: not listed
});

afterAll(async () => {
  for (const s of openStreams) s.destroy();
  for (const s of servers) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('extcap protocol', () => {
  it('--extcap-interfaces: the extcap line, then inner and outer of every running node and lab node', async () => {
    const r = await extcap(['--extcap-interfaces', '--extcap-version=4.0']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^extcap \{version=1\.0\}\{help=[^}]+\}$/);
    const values = lines.slice(1).map((l) => /^interface \{value=([^}]+)\}\{display=[^{}]+\}$/.exec(l)?.[1]);
    expect(values).toEqual(['solo/inner', 'solo/outer', 'lab1/node1/inner', 'lab1/node1/outer']);
    expect(lines[3]).toContain('lab lab1, node1 (192.168.1.2, 10.244.1.0/24) inner');
  });

  it('--extcap-dlts: Ethernet for outer, raw IP for inner', async () => {
    expect((await extcap(['--extcap-interface', 'lab1/node1/outer', '--extcap-dlts'])).out).toBe(
      'dlt {number=1}{name=EN10MB}{display=Ethernet (outer headers rebuilt from the underlay addresses)}\n',
    );
    expect((await extcap(['--extcap-dlts', '--extcap-interface', 'solo/inner'])).out).toMatch(
      /^dlt \{number=101\}\{name=RAW\}/,
    );
  });

  it('--extcap-config: the capture filter and the snap length', async () => {
    const r = await extcap(['--extcap-interface', 'solo/inner', '--extcap-config']);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^arg \{number=0\}\{call=--filter\}\{display=Capture filter\}\{type=string\}/);
    expect(lines[1]).toMatch(
      /^arg \{number=1\}\{call=--snaplen\}\{display=Snap length\}\{type=unsigned\}\{range=64,262144\}/,
    );
  });

  it('--extcap-capture-filter alone validates: silent when valid, one line when not', async () => {
    expect(
      await extcap(['--extcap-interface', 'solo/inner', '--extcap-capture-filter', 'host 10.244.2.2 and proto icmp']),
    ).toMatchObject({ code: 0, out: '' });
    const bad = await extcap(['--extcap-interface', 'solo/inner', '--extcap-capture-filter', 'hots 1.2.3.4']);
    expect(bad.code).toBe(0);
    expect(bad.out).toMatch(/^capture filter: unknown keyword "hots".*\n$/);
  });

  it('bad interface names and missing arguments exit 1 with one line', async () => {
    for (const args of [
      ['--extcap-interface', 'solo/middle', '--extcap-dlts'],
      ['--extcap-dlts'],
      ['--extcap-interface', 'solo/inner', '--capture'],
    ]) {
      const r = await extcap(args);
      expect(r.code).toBe(1);
      expect(r.err.trim().split('\n')).toHaveLength(1);
    }
    expect(parsePointValue('a/b/c/inner')).toBeUndefined();
    expect(parsePointValue('lab/node/outer')).toEqual({ lab: 'lab', node: 'node', point: 'outer' });
  });

  it("--capture writes the node's pcap stream into the fifo until told to stop", async () => {
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const chunks: Buffer[] = [];
    const reader = fs.createReadStream(fifo);
    reader.on('data', (c) => chunks.push(c as Buffer));
    let stop!: () => void;
    const stopSignal = new Promise<void>((r) => (stop = r));
    const running = extcap(
      [
        '--extcap-interface',
        'lab1/node1/inner',
        '--capture',
        '--fifo',
        fifo,
        '--filter',
        'proto icmp',
        '--extcap-capture-filter',
        'host 10.244.2.2',
        '--snaplen',
        '128',
      ],
      stopSignal,
    );
    const deadline = Date.now() + 5000;
    while (Buffer.concat(chunks).length < 24 + 16 + 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    stop();
    expect((await running).code).toBe(0);
    await new Promise<void>((r) => reader.once('close', () => r()));
    const pcap = readPcap(Buffer.concat(chunks));
    expect(pcap.linktype).toBe(LINKTYPE_RAW);
    expect(pcap.records.map((r) => r.data.toString())).toEqual(['ping']);
    expect(captureParams.at(-1)).toEqual({ point: 'inner', filter: 'proto icmp and host 10.244.2.2', snaplen: '128' });
    const until = Date.now() + 5000;
    while (openStreams.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(openStreams.size).toBe(0); // the node's stream was closed, so the node detaches its sink
  });

  it('--capture against a node that is gone exits 2 with one line', async () => {
    const r = await extcap(['--extcap-interface', 'gone/outer', '--capture', '--fifo', path.join(dir, 'nofifo')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no node is listening/);
    expect(fs.existsSync(path.join(dir, 'nofifo'))).toBe(false);
  });

  it('--capture that cannot start still opens and closes the fifo, so Wireshark is not left waiting', async () => {
    const fifo = path.join(dir, 'fifo-bad');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const reader = fs.createReadStream(fifo);
    const eof = new Promise<void>((resolve) => reader.once('end', () => resolve()));
    reader.resume();
    const r = await extcap(['--extcap-interface', 'solo/inner', '--capture', '--fifo', fifo, '--filter', 'hots 1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^flannelette extcap: capture filter: unknown keyword "hots"/);
    await eof;
  });

  it('combinedFilter joins the two filters with and', () => {
    expect(combinedFilter(undefined, ' ')).toBe('');
    expect(combinedFilter('proto icmp', undefined)).toBe('proto icmp');
  });
});

describe('install files', () => {
  it('the Lua plugin maps 8472 to VXLAN and 8285 to IPv4; the wrapper execs node with the extcap main', () => {
    expect(luaPluginText()).toContain('udp:add(8472, vxlan)');
    expect(luaPluginText()).toContain('udp:add(8285, DissectorTable.get("ip.proto"):get_dissector(4))');
    expect(extcapWrapperText('/usr/bin/node', "/opt/it's/extcap-main.js")).toBe(
      '#!/bin/sh\n' +
        "# Installed by `flannelette wireshark install`: flannelette's capture points as Wireshark interfaces.\n" +
        "exec '/usr/bin/node' '/opt/it'\\''s/extcap-main.js' \"$@\"\n",
    );
    const folders = {
      personalLuaPlugins: '/h/p',
      globalLuaPlugins: '/g/p',
      globalExtcap: '/g/e',
      personalExtcap: '/h/e',
      personalConfig: '/h/c',
      version: '4.0.17',
    };
    expect(targets('user', folders)).toEqual({ extcap: '/h/e/flannelette', plugin: '/h/p/flannelette.lua' });
    expect(targets('system', folders)).toEqual({ extcap: '/g/e/flannelette', plugin: '/g/p/flannelette.lua' });
  });

  it('read hints: -d until installed, plain tshark -r after', () => {
    expect(readCommandHint('pcaps/n1.pcap', 'vxlan', 8472, false)).toMatch(
      /^tshark -r pcaps\/n1\.pcap -d udp\.port==8472,vxlan /,
    );
    expect(readCommandHint('a b.pcap', 'udp', 8285, false)).toMatch(/^tshark -r 'a b\.pcap' -d udp\.port==8285,ip /);
    expect(readCommandHint('x.pcapng', 'vxlan', 8472, true)).toBe('tshark -r x.pcapng   (or: wireshark x.pcapng)');
  });
});
