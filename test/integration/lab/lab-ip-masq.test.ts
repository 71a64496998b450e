// --ip-masq in a lab (static: pods as plain processes, real node agents and real nft): each node
// agent installs flannel's nftables layout in its namespace (table ip flannel-ipv4, chains forward
// and postrtg with the RETURN for kube-proxy's 0x4000 mark); a pod reaches the lab's `internet`
// namespace (outside the cluster, on the underlay) as its node's public IP, and reaches a pod on the
// other node with its own IP; `lab down` leaves nothing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/live-lab.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { builtWithPrograms, cliIn, fetchFrom, waitPodRunning } from '../../helpers/static-lab.js';

const haveNft = spawnSync('nft', ['--version']).status === 0;
const skip =
  requireRootOrSkip('ip-masq lab integration') ||
  requireOrSkip(builtWithPrograms(), 'ip-masq lab integration: build first (npm run build)') ||
  requireOrSkip(haveNft, 'ip-masq lab integration: needs nft (apt-get install nftables)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-masq-lab-'));
const lab = `mq${Math.random().toString(36).slice(2, 8)}`.replace(/[^a-z0-9]/g, 'x');

const cli = cliIn(tmp);

/** The answer of the built-in HTTP server at `url`, fetched from the client pod. */
const fetchFromClient = (url: string): string => fetchFrom(`flt-${lab}-pod-client`, url);

describe.skipIf(skip)('--ip-masq in a lab, towards the internet namespace', () => {
  beforeAll(async () => {
    const up = await cli(['lab', 'up', '--static', path.join(ROOT, 'examples/ip-masq.yaml'), '--name', lab]);
    expect(up.code, up.err).toBe(0);
    await waitPodRunning(cli, lab, 'client');
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("installs flannel's nftables layout in each node's namespace", () => {
    for (const node of ['node1', 'node2']) {
      const r = spawnSync('ip', ['netns', 'exec', `flt-${lab}-${node}`, 'nft', 'list', 'table', 'ip', 'flannel-ipv4'], {
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const sub = node === 'node1' ? '10.244.1.0/24' : '10.244.2.0/24';
      const text = r.stdout.replace(/\s+/g, ' ');
      expect(text).toContain('chain forward { comment "chain to accept flannel traffic" type filter hook forward');
      expect(text).toContain('ip saddr 10.244.0.0/16 accept ip daddr 10.244.0.0/16 accept');
      expect(text).toContain(
        'chain postrtg { comment "chain to manage traffic masquerading by flannel" type nat hook postrouting priority srcnat;',
      );
      expect(text).toContain(
        [
          'meta mark 0x00004000 return',
          `ip saddr ${sub} ip daddr 10.244.0.0/16 return`,
          `ip saddr 10.244.0.0/16 ip daddr ${sub} return`,
          `ip saddr != ${sub} ip daddr 10.244.0.0/16 return`,
          'ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
          'ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random',
        ].join(' '),
      );
    }
  });

  it("a pod reaches the internet namespace as its node's public IP", () => {
    expect(fetchFromClient('http://192.168.1.252/')).toBe('Hello from internet (192.168.1.252); you are 192.168.1.2');
  });

  it('the same pod reaches a pod on the other node with its own IP', () => {
    // the client pod's own address (it is node1's first pod), not node1's
    expect(fetchFromClient('http://10.244.2.2/')).toBe('Hello from web (10.244.2.2); you are 10.244.1.2');
  });

  it('lab exec internet runs in the internet namespace', async () => {
    const r = await cli(['lab', 'exec', 'internet', '--name', lab, '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('192.168.1.252/24');
  });

  it('lab down removes the internet namespace with the rest', async () => {
    expect((await cli(['lab', 'down', '--name', lab])).code).toBe(0);
    const list = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(list).not.toContain(`flt-${lab}-`);
  });
});
