// The library's Node: two node agents of their own (no lab) in namespaces this test makes, one
// named, one given as a path (/proc/PID/ns/net of a process inside it, as for podman or unshare):
// they route to each other's subnet over the overlay, answer typed requests, partition and heal,
// and stop() removes the TUN device. A bad option fails before anything starts (ConfigError).
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Node } from '../../../src/api/index.js';
import { cleanupNetns, createNetns, createVethPair, type Netns } from '../../helpers/netns.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built } from '../../helpers/live-lab.js';

const PREFIX = 'flt-apinode';
const skip = requireRootOrSkip('library Node') || requireOrSkip(built(), 'library Node: build first (npm run build)');
let a: Netns;
let b: Netns;
let holder: ChildProcess;
let n1: Node;
let n2: Node;

describe.skipIf(skip)('the library: Node', () => {
  beforeAll(async () => {
    a = await createNetns(PREFIX);
    b = await createNetns(PREFIX);
    await createVethPair(a, 'ul0', '192.168.77.1/24', b, 'ul0', '192.168.77.2/24');
    holder = spawn('ip', ['netns', 'exec', b.name, 'sleep', '1000'], { stdio: 'ignore' });
    const common = { network: '10.250.0.0/16', logLevel: 'warn' };
    n1 = await Node.start({
      ...common,
      name: 'n1',
      vtepMac: '0e:00:00:00:01:01',
      netns: a.name,
      publicIp: '192.168.77.1',
      subnet: '10.250.1.0/24',
      peers: [{ name: 'n2', publicIp: '192.168.77.2', subnet: '10.250.2.0/24', vtepMac: '0e:00:00:00:02:01' }],
    });
    n2 = await Node.start({
      ...common,
      name: 'n2',
      vtepMac: '0e:00:00:00:02:01',
      netns: `/proc/${holder.pid}/ns/net`,
      publicIp: '192.168.77.2',
      subnet: '10.250.2.0/24',
      peers: [{ name: 'n1', publicIp: '192.168.77.1', subnet: '10.250.1.0/24', vtepMac: '0e:00:00:00:01:01' }],
    });
  });
  afterAll(async () => {
    await n1?.stop();
    await n2?.stop();
    holder?.kill();
    await cleanupNetns(PREFIX);
  });

  it('two agents route over the overlay and answer typed requests', async () => {
    expect((await n1.status()).subnet).toBe('10.250.1.0/24');
    expect(await n2.routes()).toMatchObject([{ subnet: '10.250.1.0/24', peer: 'n1' }]);
    const tun2 = (await n2.status()).tun;
    const addr2 = (await b.ip('-4', '-o', 'addr', 'show', 'dev', tun2)).stdout;
    const target = /inet (\S+)\//.exec(addr2)![1];
    await a.exec('ping', ['-c', '2', '-W', '2', target]);
    expect((await n2.stats()).counters.rxPackets).toBeGreaterThan(0);
    const trace = await n1.trace({ from: '10.250.1.5', to: '10.250.2.5' });
    expect(trace.verdict).toBeTruthy();

    await n1.partition('n2');
    await expect(a.exec('ping', ['-c', '1', '-W', '1', target])).rejects.toThrow();
    await n1.heal('n2');
    await a.exec('ping', ['-c', '1', '-W', '2', target]);
  });

  it('stop() removes the TUN device; bad options fail before starting', async () => {
    const tun1 = (await n1.status()).tun;
    await n1.stop();
    await expect(a.ip('link', 'show', 'dev', tun1)).rejects.toThrow();
    await expect(Node.start({ name: 'bad', subnet: '10.250.3.0/24' })).rejects.toBeInstanceOf(ConfigError);
    await expect(Node.start({ name: 'bad', cluster: 'x.yaml', netns: '/proc/999999999/ns/net' })).rejects.toThrow(
      ConfigError,
    );
  });
});
