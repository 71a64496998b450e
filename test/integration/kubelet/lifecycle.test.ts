// Pod lifecycle on one node without the API (root): restart back-off and CrashLoopBackOff, readiness
// gating, liveness restarts, graceful termination (SIGTERM, grace, SIGKILL), kill -9 of a container,
// adoption of running containers by a new runtime over the same state (a kubelet restart), unknown images.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerStatus, Pod } from '../../../src/k8s/types.js';
import { RestartBackoff } from '../../../src/kubelet/backoff.js';
import { execArgv, logFileOf } from '../../../src/kubelet/containers.js';
import { detectHost, shimCommand } from '../../../src/kubelet/host.js';
import { knownImages, resolveImage } from '../../../src/kubelet/images.js';
import { PodWorker } from '../../../src/kubelet/pod-worker.js';
import { PodRuntime } from '../../../src/kubelet/runtime.js';
import { hostVethName } from '../../../src/kubelet/sandbox.js';
import { run } from '../../helpers/netns.js';
import { requireRootOrSkip } from '../../helpers/root.js';
import { createTestNode, makePod, waitFor, type TestNode } from './fixture.js';

interface Recorded {
  pod: string;
  at: number;
  type: string;
  reason: string;
  message: string;
}

describe.skipIf(requireRootOrSkip('kubelet pod lifecycle'))('kubelet pod lifecycle', () => {
  let node: TestNode;
  let rt: PodRuntime;
  const events: Recorded[] = [];
  const workers: PodWorker[] = [];
  const timers: NodeJS.Timeout[] = [];
  const backoff = new RestartBackoff(400, 5000);

  beforeAll(async () => {
    node = await createTestNode('klc', 8);
    rt = new PodRuntime(node.cfg, detectHost(), shimCommand());
  });

  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    await Promise.all(workers.map((w) => w.terminate(0)));
    await node?.cleanup();
  });

  function worker(pod: Pod, runtime = rt): PodWorker {
    const w = new PodWorker(pod, {
      runtime,
      resolve: (image) => resolveImage(image, runtime.host),
      knownImages: knownImages(),
      event: (p, type, reason, message) =>
        events.push({ pod: p.metadata.name!, at: Date.now(), type, reason, message }),
      backoff,
    });
    workers.push(w);
    timers.push(setInterval(() => void w.sync(), 100));
    return w;
  }

  const cs = (w: PodWorker, i = 0): ContainerStatus => w.status().containerStatuses![i];
  const ready = (w: PodWorker): string => w.status().conditions!.find((c) => c.type === 'Ready')!.status;
  const eventsOf = (pod: string, reason: string): Recorded[] =>
    events.filter((e) => e.pod === pod && e.reason === reason);

  async function execIn(w: PodWorker, argv: string[]): Promise<void> {
    const pid = w.latest(w.pod.spec.containers[0].name)!.state!.pid;
    const [cmd, ...args] = execArgv(pid, argv);
    await run(cmd, args);
  }

  it('a crashing container is restarted with a growing back-off and shows CrashLoopBackOff', async () => {
    const w = worker(
      makePod('crash', [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo "run $(date +%s%N)"; exit 3'] }]),
    );
    let sawBackoff = false;
    await waitFor(
      '4 restarts',
      () => {
        const s = cs(w);
        if (s.state.waiting?.reason === 'CrashLoopBackOff') {
          sawBackoff = true;
          expect(s.state.waiting.message).toMatch(
            /^back-off [\d.]+s restarting failed container=c pod=crash_default\(/,
          );
          expect(s.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
        }
        return s.restartCount >= 4;
      },
      30_000,
    );
    expect(sawBackoff).toBe(true);
    expect(w.status().phase).toBe('Running');
    // When the kubelet started each attempt (its Pulled event comes right after the back-off allowed it)
    const starts = eventsOf('crash', 'Pulled')
      .map((e) => e.at)
      .slice(0, 5);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    // restart 1 at once; then each at least 400, 800, 1600 ms (base 400 doubling) after the previous start
    expect(gaps[1]).toBeGreaterThanOrEqual(400 - 20);
    expect(gaps[2]).toBeGreaterThanOrEqual(800 - 20);
    expect(gaps[3]).toBeGreaterThanOrEqual(1600 - 20);
    expect(eventsOf('crash', 'BackOff')[0].message).toMatch(
      /^Back-off restarting failed container c in pod crash_default/,
    );
    expect(fs.readFileSync(logFileOf(w.previous('c')!.dir), 'utf8')).toMatch(/ stdout F run \S+\n$/);
  });

  it('Ready follows the readiness probe', async () => {
    const w = worker(
      makePod('ready', [
        {
          name: 'c',
          image: 'busybox',
          command: ['sleep', '1000'],
          readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 1, failureThreshold: 1 },
        },
      ]),
    );
    await waitFor('running', () => cs(w).state.running);
    await waitFor('an Unhealthy event', () => eventsOf('ready', 'Unhealthy').length > 0);
    expect(ready(w)).toBe('False');
    expect(cs(w).ready).toBe(false);
    expect(eventsOf('ready', 'Unhealthy')[0].message).toMatch(
      /^Readiness probe failed: cat: can't open '\/tmp\/ready'/,
    );
    await execIn(w, ['touch', '/tmp/ready']);
    await waitFor('Ready', () => ready(w) === 'True');
    await execIn(w, ['rm', '/tmp/ready']);
    await waitFor('not Ready again', () => ready(w) === 'False');
    expect(cs(w).restartCount).toBe(0);
  });

  it('a failing liveness probe restarts the container', async () => {
    const w = worker(
      makePod(
        'live',
        [
          {
            name: 'c',
            image: 'busybox',
            command: ['sh', '-c', 'touch /tmp/alive; exec sleep 1000'],
            livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
        { terminationGracePeriodSeconds: 1 },
      ),
    );
    await waitFor(
      'running and alive',
      async () => cs(w).state.running && (await execIn(w, ['test', '-e', '/tmp/alive']), true),
    );
    await execIn(w, ['rm', '/tmp/alive']);
    await waitFor('restarted', () => cs(w).restartCount === 1 && cs(w).state.running, 20_000);
    expect(
      eventsOf('live', 'Unhealthy').filter((e) => e.message.startsWith('Liveness probe failed')).length,
    ).toBeGreaterThanOrEqual(2);
    expect(eventsOf('live', 'Killing')[0].message).toBe('Container c failed liveness probe, will be restarted');
    expect(cs(w).lastState.terminated).toBeDefined();
  });

  it('kill -9 of a container: it is restarted, lastState shows exit 137', async () => {
    const w = worker(makePod('kill9', [{ name: 'web', image: 'nginx' }]));
    await waitFor('running', () => cs(w).state.running);
    process.kill(w.latest('web')!.state!.pid, 'SIGKILL');
    await waitFor('restarted', () => cs(w).restartCount === 1 && cs(w).state.running);
    expect(cs(w).lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
  });

  it('graceful termination: SIGTERM first; a container that ignores it is killed after the grace period', async () => {
    const polite = worker(
      makePod('polite', [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'trap "echo got TERM; exit 0" TERM; while true; do sleep 0.1; done'],
        },
      ]),
    );
    const stubborn = worker(
      makePod(
        'stubborn',
        [{ name: 'c', image: 'registry.k8s.io/e2e-test-images/agnhost:2.52', args: ['serve-hostname', '--port=9376'] }],
        { terminationGracePeriodSeconds: 2 },
      ),
    );
    const logOf = (w: PodWorker): string => fs.readFileSync(logFileOf(w.latest('c')!.dir), 'utf8');
    await waitFor(
      'both serving',
      async () =>
        cs(polite).state.running &&
        logOf(stubborn).includes('Serving on port 9376') &&
        (await execIn(polite, ['true']), true),
    );
    const logs: Record<string, string> = {};
    const copyLogs = setInterval(() => {
      for (const w of [polite, stubborn]) {
        try {
          logs[w.pod.metadata.name!] = logOf(w);
        } catch {
          // removed with the pod
        }
      }
    }, 20);
    const t0 = Date.now();
    const [p, s] = await Promise.all([polite.terminate(), stubborn.terminate()]);
    clearInterval(copyLogs);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
    expect(p).toEqual({ c: { result: 'exited', exitCode: 0 } });
    expect(s).toEqual({ c: { result: 'killed', exitCode: 137 } });
    expect(eventsOf('stubborn', 'Killing')[0].message).toBe('Stopping container c');
    expect(logs['polite']).toContain('stdout F got TERM');
    expect(logs['stubborn']).toContain('Shutting down after receiving signal: terminated.');
    expect(fs.existsSync(rt.podDir(stubborn.uid))).toBe(false);
  });

  it('a new runtime over the same state adopts running containers (kubelet restart)', async () => {
    const pod = makePod('adopt', [{ name: 'web', image: 'nginx' }]);
    const w1 = worker(pod);
    await waitFor('running', () => cs(w1).state.running);
    const pid = w1.latest('web')!.state!.pid;
    clearInterval(timers.pop());
    workers.pop();
    const rt2 = new PodRuntime(node.cfg, detectHost(), shimCommand());
    expect(rt2.listPods().map((p) => p.name)).toContain('adopt');
    const w2 = worker(pod, rt2);
    expect(w2.sandbox?.ip).toBe(w1.sandbox!.ip);
    await w2.sync();
    expect(cs(w2)).toMatchObject({ restartCount: 0, ready: true });
    expect(w2.latest('web')!.state!.pid).toBe(pid);
  });

  it('an unknown image: ErrImagePull, then ImagePullBackOff, and an event listing the known images', async () => {
    const w = worker(makePod('noimg', [{ name: 'c', image: 'example.com/nothing:1' }]));
    await waitFor('ErrImagePull', () => cs(w).state.waiting?.reason === 'ErrImagePull');
    await waitFor('ImagePullBackOff', () => cs(w).state.waiting?.reason === 'ImagePullBackOff');
    expect(w.status().phase).toBe('Pending');
    const failed = eventsOf('noimg', 'Failed').find((e) => e.message.startsWith('Failed to pull image'))!;
    expect(failed.message).toContain('known images: nginx[:tag], busybox[:tag]');
  });

  it('a sandbox that cannot be built: FailedCreatePodSandBox, and no namespace, veth or address is left', async () => {
    const broken = new PodRuntime({ ...node.cfg, bridge: 'nobridge0' }, detectHost(), shimCommand());
    const w = worker(makePod('nosandbox', [{ name: 'c', image: 'busybox', command: ['sleep', '100'] }]), broken);
    await waitFor('FailedCreatePodSandBox', () => eventsOf('nosandbox', 'FailedCreatePodSandBox').length > 0);
    expect(eventsOf('nosandbox', 'FailedCreatePodSandBox')[0].message).toMatch(/nobridge0/);
    expect(w.status().phase).toBe('Pending');
    expect(fs.readdirSync('/run/netns').filter((n) => n.startsWith(`${node.cfg.netnsPrefix}pod-nosandbox-`))).toEqual(
      [],
    );
    expect([...broken.ipam!.allocations().values()]).not.toContain(w.uid);
    const { stdout } = await run('ip', ['-n', node.cfg.nodeNetns, '-o', 'link', 'show', 'type', 'veth']);
    expect(stdout).not.toContain(hostVethName(w.uid));
  });
});
