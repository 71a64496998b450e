// One pod's lifecycle on this node (the kubelet's pod worker): `sync()` is one reconcile pass — make the
// sandbox, start containers that should run, restart exited ones per restartPolicy with the restart
// back-off (CrashLoopBackOff while waiting), report unknown images as ErrImagePull / ImagePullBackOff,
// run readiness and liveness probes (Ready follows readiness; a liveness failure restarts the container);
// `terminate(grace)` is a graceful delete (SIGTERM, the grace period, SIGKILL) and the teardown of the
// sandbox. A worker created over an existing pod directory adopts its running containers.
// Events go to the injected recorder; sync and terminate do not throw (failures become events/state).
import type { Container, Pod, PodStatus } from '../k8s/types.js';
import { attempts, readAttempt, stopContainer, type AttemptInfo } from './containers.js';
import type { ResolvedImage } from './images.js';
import { containerEnv, type PodRuntime } from './runtime.js';
import { RestartBackoff } from './backoff.js';
import { containerStatus, podConditions, podPhase, type ContainerView } from './pod-status.js';
import { runProbe } from './probes.js';
import { readSandbox, sandboxHealthy, type Sandbox } from './sandbox.js';

export type EventType = 'Normal' | 'Warning';

/** How each container ended in a termination: within the grace period, killed, or not running. */
export type StopSummary = Record<string, { result: 'exited' | 'killed' | 'gone'; exitCode?: number }>;

export interface WorkerDeps {
  runtime: PodRuntime;
  resolve: (image: string) => ResolvedImage | undefined;
  knownImages: readonly string[];
  event: (pod: Pod, type: EventType, reason: string, message: string, fieldPath?: string) => void;
  backoff: RestartBackoff;
  now?: () => number;
  /** The Service environment variables for a container starting now (service-env.ts). */
  serviceEnv?: (pod: Pod) => Promise<Record<string, string>>;
}

interface ProbeState {
  nextAt: number;
  failures: number;
  successes: number;
  inflight: boolean;
}

interface ContainerRuntimeState {
  info?: AttemptInfo;
  waiting?: { reason: string; message?: string };
  ready: boolean;
  readiness?: ProbeState;
  liveness?: ProbeState;
  pullBackoffUntil?: number;
  backoffNoticeFor?: number;
  killing?: boolean;
}

export class PodWorker {
  pod: Pod;
  sandbox?: Sandbox;
  terminated = false;
  private readonly containers = new Map<string, ContainerRuntimeState>();
  private busy = false;
  private terminating?: Promise<StopSummary>;
  private lastConditions?: PodStatus['conditions'];
  private readonly now: () => number;
  private sandboxError?: string;

  constructor(
    pod: Pod,
    private readonly deps: WorkerDeps,
  ) {
    this.pod = pod;
    this.now = deps.now ?? Date.now;
    const s = readSandbox(deps.runtime.podDir(this.uid));
    if (s && sandboxHealthy(s)) this.sandbox = s;
  }

  get uid(): string {
    return this.pod.metadata.uid!;
  }

  private get dir(): string {
    return this.deps.runtime.podDir(this.uid);
  }

  private key(c: string): string {
    return `${this.uid}/${c}`;
  }

  private state(name: string): ContainerRuntimeState {
    let s = this.containers.get(name);
    if (!s) {
      s = { ready: false };
      this.containers.set(name, s);
    }
    return s;
  }

  update(pod: Pod): void {
    this.pod = pod;
  }

  /** The latest attempt of a container (undefined before its first start). */
  latest(name: string): AttemptInfo | undefined {
    const list = attempts(this.dir, name);
    return list.length > 0 ? readAttempt(this.dir, name, list[list.length - 1]) : undefined;
  }

  /** The attempt before the latest (for `logs --previous`). */
  previous(name: string): AttemptInfo | undefined {
    const list = attempts(this.dir, name);
    return list.length > 1 ? readAttempt(this.dir, name, list[list.length - 2]) : undefined;
  }

  async sync(): Promise<void> {
    if (this.busy || this.terminating || this.terminated) return;
    this.busy = true;
    try {
      if (!this.sandbox || !sandboxHealthy(this.sandbox)) {
        const retryKey = `${this.uid}#sandbox`;
        if (this.deps.backoff.remaining(retryKey, this.now()) > 0) return;
        try {
          const had = this.sandbox !== undefined;
          this.sandbox = (await this.deps.runtime.ensureSandbox(this.pod)).sandbox;
          this.sandboxError = undefined;
          if (had)
            this.deps.event(
              this.pod,
              'Normal',
              'SandboxChanged',
              'Pod sandbox changed, it will be killed and re-created.',
            );
        } catch (err) {
          const msg = `Failed to create pod sandbox: ${(err as Error).message}`;
          if (msg !== this.sandboxError) this.deps.event(this.pod, 'Warning', 'FailedCreatePodSandBox', msg);
          this.sandboxError = msg;
          this.deps.backoff.next(retryKey, this.now());
          return;
        }
      }
      for (const c of this.pod.spec.containers) await this.syncContainer(c, this.sandbox);
    } finally {
      this.busy = false;
    }
  }

  private async syncContainer(c: Container, sandbox: Sandbox): Promise<void> {
    const st = this.state(c.name);
    const fieldPath = `spec.containers{${c.name}}`;
    const img = this.deps.resolve(c.image ?? '');
    const now = this.now();
    if (!img) {
      if (st.pullBackoffUntil !== undefined && now < st.pullBackoffUntil) {
        if (st.waiting?.reason !== 'ImagePullBackOff') {
          this.deps.event(this.pod, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`, fieldPath);
        }
        st.waiting = { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` };
        return;
      }
      const msg =
        `Failed to pull image "${c.image}": this lab has no registry and does not know this image; ` +
        `known images: ${this.deps.knownImages.join(', ')}`;
      this.deps.event(this.pod, 'Normal', 'Pulling', `Pulling image "${c.image}"`, fieldPath);
      this.deps.event(this.pod, 'Warning', 'Failed', msg, fieldPath);
      this.deps.event(this.pod, 'Warning', 'Failed', 'Error: ErrImagePull', fieldPath);
      st.waiting = { reason: 'ErrImagePull', message: msg };
      this.deps.backoff.next(`${this.key(c.name)}#pull`, now);
      st.pullBackoffUntil = now + this.deps.backoff.delay(`${this.key(c.name)}#pull`);
      return;
    }
    const info = this.latest(c.name);
    st.info = info;
    if (info && (info.phase === 'running' || info.phase === 'starting')) {
      st.waiting = undefined;
      if (info.phase === 'running' && !st.killing) this.probe(c, st, info, sandbox);
      return;
    }
    st.ready = false;
    st.readiness = st.liveness = undefined;
    if (!info) {
      await this.start(c, img, sandbox, 0, st);
      return;
    }
    const exitCode = info.exit?.exitCode ?? 255;
    const policy = this.pod.spec.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      st.waiting = undefined;
      return;
    }
    const wait = this.deps.backoff.remaining(this.key(c.name), now);
    if (wait > 0) {
      const delay = Math.round(this.deps.backoff.delay(this.key(c.name)) / 100) / 10;
      const p = this.pod.metadata;
      st.waiting = {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay}s restarting failed container=${c.name} pod=${p.name}_${p.namespace}(${p.uid})`,
      };
      if (st.backoffNoticeFor !== info.attempt) {
        st.backoffNoticeFor = info.attempt;
        this.deps.event(
          this.pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${p.name}_${p.namespace}(${p.uid})`,
          fieldPath,
        );
      }
      return;
    }
    this.deps.backoff.next(this.key(c.name), now);
    await this.start(c, img, sandbox, info.attempt + 1, st);
  }

  private async start(
    c: Container,
    img: ResolvedImage,
    sandbox: Sandbox,
    attempt: number,
    st: ContainerRuntimeState,
  ): Promise<void> {
    const fieldPath = `spec.containers{${c.name}}`;
    this.deps.event(
      this.pod,
      'Normal',
      'Pulled',
      `Container image "${c.image}" already present on machine (runs as ${img.mappedTo})`,
      fieldPath,
    );
    if (img.warning) this.deps.event(this.pod, 'Warning', 'ImageStandIn', img.warning, fieldPath);
    try {
      const svcEnv = (await this.deps.serviceEnv?.(this.pod)) ?? {};
      st.info = await this.deps.runtime.startContainer(this.pod, c, img, sandbox, attempt, svcEnv);
      st.waiting = undefined;
      st.killing = false;
      this.deps.event(this.pod, 'Normal', 'Created', `Created container: ${c.name}`, fieldPath);
      this.deps.event(this.pod, 'Normal', 'Started', `Started container ${c.name}`, fieldPath);
    } catch (err) {
      st.waiting = { reason: 'CreateContainerError', message: (err as Error).message };
      this.deps.event(this.pod, 'Warning', 'Failed', `Error: ${(err as Error).message}`, fieldPath);
    }
  }

  private probe(c: Container, st: ContainerRuntimeState, info: AttemptInfo, sandbox: Sandbox): void {
    const startedAt = Date.parse(info.state!.startedAt);
    const now = this.now();
    const env = () =>
      containerEnv(this.pod, c, this.deps.resolve(c.image ?? '')!, sandbox.ip, this.deps.runtime.cfg.publicIp);
    if (!c.readinessProbe) st.ready = true;
    for (const kind of ['readiness', 'liveness'] as const) {
      const probe = kind === 'readiness' ? c.readinessProbe : c.livenessProbe;
      if (!probe) continue;
      let ps = st[kind];
      if (!ps)
        ps = st[kind] = {
          nextAt: startedAt + (probe.initialDelaySeconds ?? 0) * 1000,
          failures: 0,
          successes: 0,
          inflight: false,
        };
      if (ps.inflight || now < ps.nextAt) continue;
      ps.inflight = true;
      ps.nextAt = now + (probe.periodSeconds ?? 10) * 1000;
      const attempt = info.attempt;
      void runProbe(probe, {
        netns: sandbox.netns,
        podIp: sandbox.ip,
        containerPid: info.state!.pid,
        env: env(),
        container: c,
      }).then(async (r) => {
        ps.inflight = false;
        if (this.terminating || st.info?.attempt !== attempt) return;
        if (r.ok) {
          ps.failures = 0;
          ps.successes++;
          if (kind === 'readiness' && ps.successes >= (probe.successThreshold ?? 1)) st.ready = true;
          return;
        }
        ps.successes = 0;
        ps.failures++;
        const label = kind === 'readiness' ? 'Readiness' : 'Liveness';
        this.deps.event(
          this.pod,
          'Warning',
          'Unhealthy',
          `${label} probe failed: ${r.message}`,
          `spec.containers{${c.name}}`,
        );
        if (ps.failures < (probe.failureThreshold ?? 3)) return;
        if (kind === 'readiness') {
          st.ready = false;
          return;
        }
        st.killing = true;
        st.ready = false;
        this.deps.event(
          this.pod,
          'Normal',
          'Killing',
          `Container ${c.name} failed liveness probe, will be restarted`,
          `spec.containers{${c.name}}`,
        );
        await stopContainer(info, this.graceMs());
      });
    }
  }

  private graceMs(): number {
    const p = this.pod;
    return (p.metadata.deletionGracePeriodSeconds ?? p.spec.terminationGracePeriodSeconds ?? 30) * 1000;
  }

  /** Graceful stop of every container, then the teardown of the sandbox and address. Idempotent. */
  terminate(graceSeconds?: number): Promise<StopSummary> {
    if (!this.terminating) {
      this.terminating = (async () => {
        const summary: StopSummary = {};
        while (this.busy) await new Promise((r) => setTimeout(r, 20));
        const graceMs = graceSeconds !== undefined ? graceSeconds * 1000 : this.graceMs();
        await Promise.all(
          this.pod.spec.containers.map(async (c) => {
            const info = this.latest(c.name);
            summary[c.name] = { result: 'gone', exitCode: info?.exit?.exitCode };
            if (!info || info.phase !== 'running') return;
            this.deps.event(
              this.pod,
              'Normal',
              'Killing',
              `Stopping container ${c.name}`,
              `spec.containers{${c.name}}`,
            );
            const result = await stopContainer(info, graceMs);
            summary[c.name] = { result, exitCode: this.latest(c.name)?.exit?.exitCode };
          }),
        );
        await this.deps.runtime.removePod(this.uid).catch(() => undefined);
        for (const c of this.pod.spec.containers) {
          this.deps.backoff.forget(this.key(c.name));
          this.deps.backoff.forget(`${this.key(c.name)}#pull`);
        }
        this.deps.backoff.forget(`${this.uid}#sandbox`);
        this.sandbox = undefined;
        this.terminated = true;
        return summary;
      })();
    }
    return this.terminating;
  }

  /** The pod's status as the kubelet reports it. */
  status(): PodStatus {
    const nowIso = new Date(this.now()).toISOString();
    const views: ContainerView[] = this.pod.spec.containers.map((c) => this.view(c));
    const conditions = podConditions(this.lastConditions, Boolean(this.sandbox), views, nowIso);
    this.lastConditions = conditions;
    const hostIP = this.deps.runtime.cfg.publicIp;
    return {
      phase: podPhase(this.pod.spec.restartPolicy, views),
      conditions,
      hostIP,
      hostIPs: [{ ip: hostIP }],
      ...(this.sandbox ? { podIP: this.sandbox.ip, podIPs: podIps(this.sandbox) } : {}),
      startTime: this.pod.status?.startTime ?? this.sandbox?.createdAt ?? nowIso,
      containerStatuses: views.map(containerStatus),
      qosClass: 'BestEffort',
    };
  }

  private view(c: Container): ContainerView {
    const st = this.state(c.name);
    const info = this.latest(c.name);
    const prev = this.previous(c.name);
    const img = this.deps.resolve(c.image ?? '');
    const running = info && (info.phase === 'running' || info.phase === 'starting') && info.state;
    // Waiting to restart: the last termination is the latest attempt's; otherwise the one before it.
    const lastTerminated = !running && st.waiting && info?.exit ? info.exit : prev?.exit;
    return {
      name: c.name,
      image: c.image ?? '',
      imageID: img ? `flannelette://${img.name}:${img.tag}` : '',
      ...(info ? { containerID: `flannelette://${this.uid.slice(0, 8)}-${c.name}-${info.attempt}` } : {}),
      restartCount: info?.attempt ?? 0,
      ...(running ? { running: { startedAt: info.state!.startedAt } } : {}),
      ...(!running && info
        ? {
            terminated: info.exit ?? {
              exitCode: 255,
              finishedAt: info.state?.startedAt ?? '',
              message: "the container's shim is gone",
            },
          }
        : {}),
      ...(!running && st.waiting ? { waiting: st.waiting } : {}),
      ...(lastTerminated ? { lastTerminated } : {}),
      ready: Boolean(running) && st.ready && !st.killing,
      everRan: info !== undefined,
    };
  }
}

/** status.podIPs as Kubernetes lists them: the IPv4 address first, then the IPv6 one in a dual-stack lab. */
function podIps(s: Sandbox): { ip: string }[] {
  return s.ip6 ? [{ ip: s.ip }, { ip: s.ip6 }] : [{ ip: s.ip }];
}
