// `lab node add` in a live dual-stack lab on an IPv6 underlay (examples/ipv6-underlay.yaml): the new
// node gets an IPv6 pod subnet and a PublicIPv6 on the underlay's IPv6 range, its agent opens the
// IPv6 underlay, the other nodes learn both, and a pod pinned to it (kubectl, real /usr/bin/kubectl)
// gets an IPv6 address that web1 pings over IPv6 (VXLAN over UDP/IPv6: the agents' IPv6 counters).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlSocket, labPaths } from '../../../src/lab/state.js';
import { rpcCall } from '../../../src/util/rpc.js';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, cli, KUBECTL, kubectlFor, labName, ROOT, waitFor } from '../../helpers/live-lab.js';

const skip =
  requireRootOrSkip('live lab node add (IPv6 underlay)') ||
  requireOrSkip(built(), 'live lab node add (IPv6 underlay): build first (npm run build)') ||
  requireOrSkip(fs.existsSync(KUBECTL), `live lab node add (IPv6 underlay): ${KUBECTL} is not installed`);

const lab = labName('na6');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-na6-'));
const l = (...args: string[]) => {
  const at = args[0] === 'node' ? 2 : 1;
  return cli(['lab', ...args.slice(0, at), '--name', lab, ...args.slice(at)]);
};
let kubectl: ReturnType<typeof kubectlFor>;

type Status = {
  subnet6?: string;
  publicIpv6?: string;
  vtepMacV6?: string;
  peers: Array<{ name: string; subnet6?: string; publicIpv6?: string }>;
};
type Stats = { underlay6?: { sent: number; received: number } };
const sock = (node: string): string => controlSocket(labPaths(lab), node);

describe.skipIf(skip)('lab node add in a dual-stack lab on an IPv6 underlay', () => {
  beforeAll(async () => {
    const up = await cli(['lab', 'up', path.join(ROOT, 'examples/ipv6-underlay.yaml'), '--name', lab], {
      timeoutMs: 180_000,
    });
    if (up.code !== 0) throw new Error(`lab up failed (${up.code}): ${up.err}${up.out}`);
    kubectl = kubectlFor((await l('kubeconfig')).out.trim());
  });
  afterAll(async () => {
    await cli(['lab', 'down', '--name', lab]);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the new node gets an IPv6 subnet and PublicIPv6, and IPv6 pod-to-pod to a pod on it works', async () => {
    const add = await l('node', 'add', 'node3');
    expect(add.code, add.err).toBe(0);
    const s3 = (await rpcCall(sock('node3'), 'status')) as Status;
    expect(s3.subnet6).toMatch(/^fd00:10:244:[0-9a-f]+::\/64$/);
    expect(s3.publicIpv6).toMatch(/^fd00:192:168:1::[0-9a-f]+$/);
    expect(s3.vtepMacV6).toBeDefined();
    const s1 = await waitFor('node1 to learn node3 with its IPv6 fields', async () => {
      const s = (await rpcCall(sock('node1'), 'status')) as Status;
      const p = s.peers.find((x) => x.subnet6 === s3.subnet6);
      return p?.publicIpv6 === s3.publicIpv6 && s;
    });
    expect(s1.peers.length).toBe(2);
    const pod = path.join(tmp, 'on3.yaml');
    fs.writeFileSync(
      pod,
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: on3\nspec:\n  nodeName: node3\n  containers:\n' +
        '  - name: web\n    image: flannelette/http\n',
    );
    expect((await kubectl(['apply', '-f', pod])).code).toBe(0);
    const ip6 = await waitFor('on3 to be Running with an IPv6 address', async () => {
      const r = await kubectl(['get', 'pod', 'on3', '-o', 'json']);
      if (r.code !== 0) return false;
      const p = JSON.parse(r.out) as { status: { phase?: string; podIPs?: Array<{ ip: string }> } };
      return p.status.phase === 'Running' && p.status.podIPs?.find((x) => x.ip.includes(':'))?.ip;
    });
    expect(ip6.startsWith(s3.subnet6!.replace(/::\/64$/, ':'))).toBe(true);
    const before = (await rpcCall(sock('node3'), 'stats')) as Stats;
    await waitFor('web1 to ping on3 over IPv6', async () => {
      const r = await l('exec', 'web1', '--', 'ping', '-6', '-c', '1', '-W', '2', ip6);
      return r.code === 0;
    });
    const ping = await l('exec', 'web1', '--', 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', ip6);
    expect(ping.out).toContain('3 received');
    const after = (await rpcCall(sock('node3'), 'stats')) as Stats;
    expect(after.underlay6!.received - before.underlay6!.received).toBeGreaterThanOrEqual(4);
    expect(after.underlay6!.sent - before.underlay6!.sent).toBeGreaterThanOrEqual(4);
  });
});
