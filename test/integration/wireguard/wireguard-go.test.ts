// Interop with the real wireguard-go (Debian's wireguard-go, configured with `wg` from
// wireguard-tools): node1 is a flannelette node with the wireguard backend, node2 runs wireguard-go
// configured from node1's lease values (PublicIP, BackendData.PublicKey, the subnet and port, as
// flanneld's wireguard backend configures its peers), each with a pod behind it, on a veth
// underlay in namespaces this test creates. Checked: ping and 20 MB TCP both ways, handshakes
// started by either side, and rekeys during a long transfer — node1 runs with --wg-rekey-after 1
// (REKEY_AFTER_TIME 1 s instead of 120 s and REKEY_TIMEOUT, the least spacing of initiations, 1 s
// instead of 5; wireguard-go's own timers are compiled in), so flannelette, the initiator, starts a
// new handshake about every second while it sends.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIpv4 } from '../../../src/addr/ipv4.js';
import { decodeLeaseAttrs, encodeLeaseAttrs } from '../../../src/control/flannel-format.js';
import { rpcCall } from '../../../src/util/rpc.js';
import {
  createTwoNodeCluster,
  ping,
  stopProcess,
  tcpTransfer,
  type ClusterNode,
  type TwoNodeCluster,
} from '../../helpers/cluster.js';
import { cleanupNetns, run } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';

const PREFIX = 'flt-wggo';
const MB20 = 20 * 1024 * 1024;
const hasTools = async (): Promise<boolean> => {
  try {
    await run('sh', ['-c', 'command -v wireguard-go && command -v wg']);
    return true;
  } catch {
    return false;
  }
};
const skip =
  requireRootOrSkip('wireguard-go interop (network namespaces, TUN devices)') ||
  requireOrSkip(
    await hasTools(),
    'wireguard-go interop: needs wireguard-go and wg (apt-get install wireguard-go wireguard-tools)',
  );

interface WgStatus {
  publicKey: string;
  wireguard: {
    initiationsSent: number;
    responsesSent: number;
    handshakesCompleted: number;
    peers: Array<{ endpoint: string | null; handshakes: number }>;
  };
  counters: { rxPackets: number; drops: Record<string, number> };
}

async function waitFor(what: string, ok: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skip)('flannelette wireguard backend ⇄ wireguard-go', () => {
  let c: TwoNodeCluster;
  let n1: ClusterNode;
  let n2: ClusterNode;
  let wgGo: ChildProcess | undefined;
  const dev = `fltwg${crypto.randomBytes(3).toString('hex')}`;
  const status = async (): Promise<WgStatus> => (await rpcCall(n1.socket, 'status')) as WgStatus;
  const wgShow = async (field: string): Promise<string> => (await n2.ns.exec('wg', ['show', dev, field])).stdout.trim();
  const latestHandshake = async (): Promise<number> => Number((await wgShow('latest-handshakes')).split(/\s+/)[1] ?? 0);

  beforeAll(async () => {
    c = await createTwoNodeCluster({ prefix: PREFIX, backend: 'wireguard' });
    [n1, n2] = c.nodes;
    await c.startNode(n1);
    // node1's lease, as it would be written to etcd, and what node2 reads back from it
    const s = await status();
    const lease = decodeLeaseAttrs(
      encodeLeaseAttrs({ publicIp: parseIpv4(n1.publicIp), backendType: 'wireguard', publicKey: s.publicKey }),
    );
    if (!lease.ok) throw new Error(lease.reason);
    expect(lease.value.publicKey).toBe(s.publicKey);
    // the key file is what `wg genkey` writes: `wg pubkey` derives the same public key from it
    const derived = spawnSync('wg', ['pubkey'], { input: fs.readFileSync(n1.keyFile), encoding: 'utf8' });
    expect(derived.stdout.trim()).toBe(s.publicKey);

    wgGo = spawn('ip', ['netns', 'exec', n2.ns.name, 'env', 'WG_PROCESS_FOREGROUND=1', 'wireguard-go', dev], {
      stdio: 'ignore',
    });
    await waitFor(
      'the wireguard-go device',
      async () =>
        await n2.ns.exec('wg', ['show', dev]).then(
          () => true,
          () => false,
        ),
    );
    await n2.ns.exec('wg', [
      'set',
      dev,
      'private-key',
      n2.keyFile,
      'listen-port',
      '51820',
      'peer',
      lease.value.publicKey!,
      'endpoint',
      `${n1.publicIp}:51820`,
      'allowed-ips',
      n1.subnet,
    ]);
    await n2.ns.ip('addr', 'add', `${n2.subnet.replace(/\/\d+$/, '')}/32`, 'dev', dev);
    await n2.ns.ip('link', 'set', dev, 'mtu', '1420', 'up');
    await n2.ns.ip('route', 'add', n1.subnet, 'dev', dev);
  });

  afterAll(async () => {
    await stopProcess(wgGo).catch(() => undefined);
    await c?.destroy();
    await cleanupNetns(PREFIX);
  });

  it('wireguard-go initiates: its pod pings ours, flannelette answers the handshake', async () => {
    expect(await ping(n2.pod, n1.podIp, 3)).toBe(3);
    const s = await status();
    expect(s.wireguard.responsesSent).toBeGreaterThanOrEqual(1);
    expect(s.wireguard.initiationsSent).toBe(0);
    expect(s.wireguard.peers[0].endpoint).toBe(`${n2.publicIp}:51820`);
    expect(await latestHandshake()).toBeGreaterThan(0);
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
  });

  it('flannelette initiates after a restart, with the same key from its key file', async () => {
    const before = (await status()).publicKey;
    expect(await c.stopNode(n1)).toBe(0);
    await c.startNode(n1);
    expect((await status()).publicKey).toBe(before);
    expect(await ping(n1.pod, n2.podIp, 3)).toBe(3);
    const s = await status();
    expect(s.wireguard.initiationsSent).toBeGreaterThanOrEqual(1);
    expect(s.wireguard.handshakesCompleted).toBeGreaterThanOrEqual(1);
    expect(await ping(n2.pod, n1.podIp, 3)).toBe(3);
  });

  it('moves 20 MB over TCP byte-identical both ways', async () => {
    const there = await tcpTransfer(n1.pod, n2.pod, n2.podIp, MB20);
    expect(there.received.bytes).toBe(MB20);
    expect(there.received.sha256).toBe(there.sent.sha256);
    expect(there.received.remote).toBe(n1.podIp);
    const back = await tcpTransfer(n2.pod, n1.pod, n1.podIp, MB20, 5002);
    expect(back.received.bytes).toBe(MB20);
    expect(back.received.sha256).toBe(back.sent.sha256);
    expect(back.received.remote).toBe(n2.podIp);
    const drops = (await status()).counters.drops;
    expect(drops['wg-decrypt-failed'] + drops['wg-replayed'] + drops['wg-unknown-index']).toBe(0);
  });

  it('rekeys during a long transfer (REKEY_AFTER_TIME shortened to 1 s) without losing a byte', async () => {
    expect(await c.stopNode(n1)).toBe(0);
    await c.startNode(n1, ['--wg-rekey-after', '1']);
    expect(await ping(n1.pod, n2.podIp, 2)).toBe(2); // flannelette starts the session: it is the initiator
    const before = await status();
    const bytes = 128 * 1024 * 1024;
    const t0 = Date.now();
    const r = await tcpTransfer(n1.pod, n2.pod, n2.podIp, bytes, 5003);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`rekey transfer: ${bytes} bytes in ${seconds.toFixed(1)} s`);
    expect(r.received.bytes).toBe(bytes);
    expect(r.received.sha256).toBe(r.sent.sha256);
    const after = await status();
    const rekeys = after.wireguard.handshakesCompleted - before.wireguard.handshakesCompleted;
    // about one handshake per second of sending; at least two in a transfer of several seconds
    expect(rekeys).toBeGreaterThanOrEqual(2);
    expect(after.wireguard.initiationsSent - before.wireguard.initiationsSent).toBeGreaterThanOrEqual(rekeys);
    expect(await latestHandshake()).toBeGreaterThan(0);
    const drops = after.counters.drops;
    expect(drops['wg-decrypt-failed'] + drops['wg-replayed'] + drops['wg-unknown-index'] + drops['wg-stale-key']).toBe(
      0,
    );
  });
});
