// The pod runtime without any API (root): sandbox network, hostname, private files, emptyDir, env,
// image mapping (real nginx, busybox applets, curl, the built-in agnhost), teardown without leaks.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../../src/k8s/types.js';
import { attempts, execArgv, logFileOf, readAttempt, stopContainer } from '../../../src/kubelet/containers.js';
import { detectHost, shimCommand } from '../../../src/kubelet/host.js';
import { resolveImage } from '../../../src/kubelet/images.js';
import { PodRuntime } from '../../../src/kubelet/runtime.js';
import type { Sandbox } from '../../../src/kubelet/sandbox.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { createTestNode, makePod, waitFor, type TestNode } from './fixture.js';

const execFileP = promisify(execFile);

describe.skipIf(requireRootOrSkip('kubelet pod runtime'))('kubelet pod runtime', () => {
  let node: TestNode;
  let rt: PodRuntime;
  const started: { pod: Pod; sandbox: Sandbox }[] = [];

  beforeAll(async () => {
    node = await createTestNode('krt');
    rt = new PodRuntime(node.cfg, detectHost(), shimCommand());
  });

  afterAll(async () => {
    for (const { pod } of started) await stopPod(pod).catch(() => undefined);
    await node?.cleanup();
  });

  async function startPod(pod: Pod): Promise<Sandbox> {
    const { sandbox } = await rt.ensureSandbox(pod);
    started.push({ pod, sandbox });
    for (const c of pod.spec.containers) {
      const img = resolveImage(c.image!, rt.host);
      if (!img) throw new Error(`unknown image ${c.image}`);
      await rt.startContainer(pod, c, img, sandbox, 0);
    }
    return sandbox;
  }

  async function stopPod(pod: Pod): Promise<void> {
    const dir = rt.podDir(pod.metadata.uid!);
    for (const c of pod.spec.containers) {
      for (const n of attempts(dir, c.name)) await stopContainer(readAttempt(dir, c.name, n), 2000);
    }
    await rt.removePod(pod.metadata.uid!);
  }

  const running = (pod: Pod, c: string): number => {
    const info = readAttempt(rt.podDir(pod.metadata.uid!), c, 0);
    return info.phase === 'running' ? info.state!.pid : 0;
  };

  async function execIn(pod: Pod, c: string, argv: string[]): Promise<string> {
    const pid = await waitFor(`${c} running`, () => running(pod, c));
    const { env } = JSON.parse(
      fs.readFileSync(path.join(readAttempt(rt.podDir(pod.metadata.uid!), c, 0).dir, 'container.json'), 'utf8'),
    ) as { env: Record<string, string> };
    const [cmd, ...args] = execArgv(pid, argv);
    const { stdout } = await execFileP(cmd, args, { env, timeout: 15_000 });
    return stdout;
  }

  const log = (pod: Pod, c: string): string => {
    try {
      return fs.readFileSync(logFileOf(readAttempt(rt.podDir(pod.metadata.uid!), c, 0).dir), 'utf8');
    } catch {
      return '';
    }
  };

  /** What curl (2 s at most) gets from `url`, run in the node's namespace. */
  const curlFromNode = async (url: string): Promise<string> =>
    (await execFileP('ip', ['netns', 'exec', node.cfg.nodeNetns, 'curl', '-s', '--max-time', '2', url])).stdout;

  it('nginx pod: its own netns and address, hostname = pod name, the real nginx page, access log, private html', async () => {
    const hostHtml = fs.readFileSync('/usr/share/nginx/html/index.html', 'utf8');
    const pod = makePod('web-a', [
      { name: 'nginx', image: 'nginx:1.25' },
      {
        name: 'writer',
        image: 'busybox',
        command: [
          '/bin/sh',
          '-c',
          'mkdir -p /usr/share/nginx/html && echo "Hello from Container 2" >> /usr/share/nginx/html/index.html; ' +
            'sleep 1000',
        ],
      },
    ]);
    const sb = await startPod(pod);
    expect(sb.ip).toMatch(/^10\.250\.7\.\d+$/);
    expect(sb.ip).not.toBe('10.250.7.1');
    // reachable from the node namespace through cni0
    const page = await waitFor('nginx answers', async () => {
      const stdout = await curlFromNode(`http://${sb.ip}/`);
      return stdout.includes('Welcome to nginx!') ? stdout : '';
    });
    expect(page).not.toContain('Hello from Container 2');
    expect((await execIn(pod, 'nginx', ['hostname'])).trim()).toBe('web-a');
    expect(await execIn(pod, 'writer', ['cat', '/etc/hostname'])).toBe('web-a\n');
    expect(await execIn(pod, 'nginx', ['cat', '/etc/hosts'])).toContain(`${sb.ip}\tweb-a`);
    // the busybox container wrote its own copy; the host's file is untouched
    await waitFor('writer wrote', async () =>
      (await execIn(pod, 'writer', ['cat', '/usr/share/nginx/html/index.html'])).includes('Hello from Container 2'),
    );
    expect(fs.readFileSync('/usr/share/nginx/html/index.html', 'utf8')).toBe(hostHtml);
    // localhost inside the pod reaches nginx (shared network namespace), wget is busybox's applet
    expect(await execIn(pod, 'writer', ['wget', '-qO-', 'http://localhost'])).toContain('Welcome to nginx!');
    expect(
      fs.readlinkSync(
        path.join(readAttempt(rt.podDir(pod.metadata.uid!), 'writer', 0).dir, 'rw', 'usr-local-bin', 'wget'),
      ),
    ).toBe('/usr/bin/busybox');
    await waitFor('access log line', () => /GET \/ HTTP\/1\.1" 200/.test(log(pod, 'nginx')));
    expect(log(pod, 'nginx')).toMatch(/^\S+Z stdout F \S+ - - \[/m);
    // the host's /tmp and /etc are not the container's
    await execIn(pod, 'writer', ['sh', '-c', 'echo x > /tmp/flt-kubelet-probe && echo y > /etc/flt-kubelet-probe']);
    expect(fs.existsSync('/tmp/flt-kubelet-probe')).toBe(false);
    expect(fs.existsSync('/etc/flt-kubelet-probe')).toBe(false);
  });

  it('emptyDir is shared by the containers of a pod; env with fieldRef and $(VAR)', async () => {
    const pod = makePod(
      'share-b',
      [
        {
          name: 'a',
          image: 'busybox',
          command: ['sh', '-c', 'echo "$GREETING from $MY_POD" > /data/hello; sleep 1000'],
          env: [
            { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'MY_NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
            { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'GREETING', value: 'hi $(MY_NS)' },
          ],
          volumeMounts: [{ name: 'shared', mountPath: '/data' }],
        },
        {
          name: 'b',
          image: 'busybox',
          command: ['sleep', '1000'],
          volumeMounts: [{ name: 'shared', mountPath: '/srv/x' }],
        },
      ],
      { volumes: [{ name: 'shared', emptyDir: {} }] },
    );
    const sb = await startPod(pod);
    expect(await waitFor("b sees a's file", async () => execIn(pod, 'b', ['cat', '/srv/x/hello']))).toBe(
      'hi default from share-b\n',
    );
    const env = await execIn(pod, 'a', ['env']);
    expect(env).toContain(`MY_IP=${sb.ip}\n`);
    expect(env).toContain('MY_NODE=node1\n');
    expect(env).toContain('HOSTNAME=share-b\n');
  });

  it('agnhost netexec and connect, curl image, and a recreated pod gets a new address; teardown frees it', async () => {
    const server = makePod('agn-c', [
      {
        name: 'agnhost',
        image: 'registry.k8s.io/e2e-test-images/agnhost:2.52',
        args: ['netexec', '--http-port=8080', '--udp-port=8081'],
      },
    ]);
    const sb = await startPod(server);
    const hostname = await waitFor('netexec /hostname', () => curlFromNode(`http://${sb.ip}:8080/hostname`));
    expect(hostname).toBe('agn-c');
    const client = makePod('curl-d', [{ name: 'c', image: 'curlimages/curl', command: ['sleep', '1000'] }]);
    const csb = await startPod(client);
    expect(await execIn(client, 'c', ['curl', '-s', `http://${sb.ip}:8080/clientip`])).toMatch(
      new RegExp(`^${csb.ip.replace(/\./g, '\\.')}:\\d+$`),
    );
    expect(await execIn(client, 'c', ['curl', '-s', `http://${sb.ip}:8080/echo?msg=ping`])).toBe('ping');
    // agnhost connect: exit 0 when open, 1 and REFUSED when closed
    const ok = await execIn(server, 'agnhost', ['/agnhost', 'connect', `${csb.ip}:1`, '--timeout=2s']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(ok).toMatchObject({ code: 1, stderr: 'REFUSED\n' });
    expect(await execIn(server, 'agnhost', ['/agnhost', 'connect', `${sb.ip}:8080`, '--timeout=2s'])).toBe('');
    // delete and recreate: a new address, the old one freed
    await stopPod(client);
    started.splice(
      started.findIndex((s) => s.pod === client),
      1,
    );
    expect(rt.ipam!.addressOf(client.metadata.uid!)).toBeUndefined();
    expect(fs.existsSync(`/run/netns/${csb.netns}`)).toBe(false);
    const again = makePod('curl-d', client.spec.containers);
    const asb = await startPod(again);
    expect(asb.ip).not.toBe(csb.ip);
  });

  it("without nginx installed the stand-in serves the same page; flannelette/http is the lab's program", async () => {
    const noNginx = new PodRuntime(node.cfg, { ...detectHost(), nginx: undefined }, shimCommand());
    const pod = makePod('standin-e', [{ name: 'web', image: 'nginx' }]);
    const img = resolveImage('nginx', noNginx.host)!;
    expect(img.warning).toMatch(/nginx is not installed/);
    const { sandbox } = await noNginx.ensureSandbox(pod);
    started.push({ pod, sandbox });
    await noNginx.startContainer(pod, pod.spec.containers[0], img, sandbox, 0);
    const page = await waitFor('stand-in answers', () => curlFromNode(`http://${sandbox.ip}/`));
    expect(page).toBe(fs.readFileSync('/usr/share/nginx/html/index.html', 'utf8'));
    const hello = makePod('hello-f', [{ name: 'http', image: 'flannelette/http' }]);
    const hsb = await startPod(hello);
    const greeting = await waitFor('http answers', () => curlFromNode(`http://${hsb.ip}/`));
    expect(greeting).toBe(`Hello from hello-f (${hsb.ip}); you are ${node.cfg.gateway}\n`);
  });

  it('the C shim and its Node.js fallback write the same log and exit records', async () => {
    expect(shimCommand()[0]).toMatch(/build\/Release\/flt-shim$/);
    for (const [tag, shim] of [
      ['c', shimCommand()],
      ['node', shimCommand(undefined, false)],
    ] as const) {
      const r = new PodRuntime(node.cfg, detectHost(), shim);
      const pod = makePod(`shim-${tag}`, [
        { name: 'c', image: 'busybox', command: ['sh', '-c', 'echo out; echo err >&2; printf partial; exit 4'] },
      ]);
      const { sandbox } = await r.ensureSandbox(pod);
      started.push({ pod, sandbox });
      await r.startContainer(pod, pod.spec.containers[0], resolveImage('busybox', r.host)!, sandbox, 0);
      const a = await waitFor('exited', () => {
        const x = readAttempt(r.podDir(pod.metadata.uid!), 'c', 0);
        return x.exit ? x : undefined;
      });
      expect(a.exit).toMatchObject({ exitCode: 4 });
      const lines = fs
        .readFileSync(logFileOf(a.dir), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/^\S+ /, ''));
      expect(lines.sort()).toEqual(['stderr F err', 'stdout F out', 'stdout P partial']);
    }
  });

  it('removing every pod leaves no namespace, veth, address, process or file behind', async () => {
    const shims = started
      .flatMap(({ pod }) => pod.spec.containers.map((c) => readAttempt(rt.podDir(pod.metadata.uid!), c.name, 0)))
      .map((a) => a.state?.shimPid)
      .filter((p): p is number => p !== undefined);
    expect(shims.length).toBeGreaterThan(0);
    for (const { pod } of started.splice(0)) await stopPod(pod);
    expect(
      fs.readdirSync('/run/netns').filter((n) => n.startsWith(node.cfg.netnsPrefix) && n !== node.cfg.nodeNetns),
    ).toEqual([]);
    const { stdout } = await execFileP('ip', ['-n', node.cfg.nodeNetns, '-o', 'link', 'show', 'type', 'veth']);
    expect(stdout).toBe('');
    expect(rt.ipam!.allocations().size).toBe(0);
    expect(fs.readdirSync(rt.podsDir)).toEqual([]);
    await waitFor('shims exited', () =>
      shims.every((pid) => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      }),
    );
  });
});
