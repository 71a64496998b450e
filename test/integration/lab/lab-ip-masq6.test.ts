// flanneld's --ip-masq for IPv6 and on host-gw nodes, with traffic (static dual-stack labs on an IPv6
// underlay, real node agents and real nft; one lab per backend): each node agent installs
// `table ip6 flannel-ipv6` beside `table ip flannel-ipv4` — for vxlan and for host-gw alike, as
// flanneld sets masquerading up whatever the backend — and a pod reaches the lab's `internet`
// namespace over IPv6 as its node's PublicIPv6 (over IPv4 as its node's public IP), while it reaches a
// pod on the other node, over IPv6 and IPv4, with its own addresses.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { builtWithPrograms, cliIn, fetchFrom, waitPodRunning } from '../../helpers/static-lab.js';

const haveNft = spawnSync('nft', ['--version']).status === 0;
const skip =
  requireRootOrSkip('ip-masq6 lab integration') ||
  requireOrSkip(builtWithPrograms(), 'ip-masq6 lab integration: build first (npm run build)') ||
  requireOrSkip(haveNft, 'ip-masq6 lab integration: needs nft (apt-get install nftables)');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-masq6-lab-'));
const suffix = Math.random()
  .toString(36)
  .slice(2, 6)
  .replace(/[^a-z0-9]/g, 'x');

const cli = cliIn(tmp);

function topology(name: string, backend: string): string {
  const file = path.join(tmp, `${name}.yaml`);
  fs.writeFileSync(
    file,
    [
      `name: ${name}`,
      'network: 10.244.0.0/16',
      'ipv6Network: fd00:10:244::/56',
      'ipv6Underlay: fd00:192:168:1::/64',
      `backend: ${backend}`,
      'underlay: 192.168.1.0/24',
      'ipMasq: true',
      'nodes:',
      '  - name: node1',
      '  - name: node2',
      'pods:',
      '  - name: client',
      '    node: node1',
      '    containers: [{ name: client, program: sleep infinity }]',
      '  - name: web',
      '    node: node2',
      '    containers: [{ name: web, program: http }]',
      '',
    ].join('\n'),
  );
  return file;
}

for (const backend of ['vxlan', 'host-gw']) {
  const lab = `m6${backend === 'vxlan' ? 'vx' : 'hg'}${suffix}`;
  /** The built-in HTTP server's answer at `url`, fetched from the client pod (node1's first pod). */
  const fetchFromClient = (url: string): string => fetchFrom(`flt-${lab}-pod-client`, url);

  describe.skipIf(skip)(`--ip-masq for IPv6 on ${backend} nodes, towards the internet namespace`, () => {
    beforeAll(async () => {
      const up = await cli(['lab', 'up', '--static', topology(lab, backend), '--name', lab]);
      expect(up.code, up.err).toBe(0);
      await waitPodRunning(cli, lab, 'web');
    }, 150_000);
    afterAll(async () => {
      await cli(['lab', 'down', '--name', lab]);
    });

    it("installs flannel's ip6 flannel-ipv6 table beside ip flannel-ipv4 in each node", () => {
      for (const [node, sub6] of [
        ['node1', 'fd00:10:244:1::/64'],
        ['node2', 'fd00:10:244:2::/64'],
      ]) {
        const list = (family: string, table: string) =>
          spawnSync('ip', ['netns', 'exec', `flt-${lab}-${node}`, 'nft', 'list', 'table', family, table], {
            encoding: 'utf8',
          });
        expect(list('ip', 'flannel-ipv4').status).toBe(0);
        const r = list('ip6', 'flannel-ipv6');
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.replace(/\s+/g, ' ')).toContain(
          [
            'meta mark 0x00004000 return',
            `ip6 saddr ${sub6} ip6 daddr fd00:10:244::/56 return`,
            `ip6 saddr fd00:10:244::/56 ip6 daddr ${sub6} return`,
            `ip6 saddr != ${sub6} ip6 daddr fd00:10:244::/56 return`,
            'ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random',
            'ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244::/56 masquerade fully-random',
          ].join(' '),
        );
      }
    });

    it('the internet namespace has an IPv6 address on the IPv6 underlay', async () => {
      const r = await cli(['lab', 'exec', 'internet', '--name', lab, '--', 'ip', '-6', '-o', 'addr', 'show', 'eth0']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('fd00:192:168:1::fc/64');
    });

    it("a pod reaches the internet over IPv6 as its node's PublicIPv6, over IPv4 as its public IP", () => {
      expect(fetchFromClient('http://[fd00:192:168:1::fc]/')).toMatch(/; you are fd00:192:168:1::2$/);
      expect(fetchFromClient('http://192.168.1.252/')).toMatch(/; you are 192\.168\.1\.2$/);
    });

    it('the same pod reaches the pod on the other node with its own IPv6 and IPv4 addresses', () => {
      expect(fetchFromClient('http://[fd00:10:244:2::2]/')).toMatch(/; you are fd00:10:244:1::2$/);
      expect(fetchFromClient('http://10.244.2.2/')).toMatch(/; you are 10\.244\.1\.2$/);
    });
  });
}

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
