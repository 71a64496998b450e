// Test helpers for the lab's Kubernetes API: a raw HTTP client over the API's unix socket (token in a
// bearer header), a kubectl runner (async, so an in-process server keeps serving) with its own
// KUBECONFIG and discovery cache, and a kubelet TEST DOUBLE: it is not the real kubelet (src/kubelet/),
// only a client of the API that registers nodes, heartbeats, reports bound pods Running+Ready with an
// address from the node's podCIDR, and finishes graceful deletes with a grace-0 DELETE as the real
// kubelet does — so that control-plane tests can run without root or network namespaces.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { KubeList, Pod } from '../../src/k8s/types.js';

export const KUBECTL = '/usr/bin/kubectl';
export const hasKubectl = fs.existsSync(KUBECTL);

export interface ApiResponse {
  status: number;
  /** The parsed JSON body (undefined when not JSON): callers cast it to the kind they expect. */
  body: unknown;
  text: string;
  headers: http.IncomingHttpHeaders;
}

export function apiRequest(
  socketPath: string,
  token: string | undefined,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const payload =
      body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json' };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = http.request({ socketPath, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(
  env: { kubeconfig: string; cacheDir: string },
  args: string[],
  input?: string,
  timeoutMs = 60_000,
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn(KUBECTL, args, {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: env.cacheDir,
        KUBECONFIG: env.kubeconfig,
        KUBECACHEDIR: env.cacheDir,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** Polls `check` until it returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err as Error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The kubelet test double (see the file comment). */
export class FakeKubelet {
  private timer: NodeJS.Timeout | undefined;
  private readonly next = new Map<string, number>();
  private busy = false;
  /** Failures of the double's requests (the next tick retries), for test diagnostics. */
  readonly errors: string[] = [];

  constructor(
    private readonly socket: string,
    private readonly token: string,
    private readonly nodes: { name: string; subnet: number }[],
  ) {}

  async start(): Promise<void> {
    for (const n of this.nodes) {
      const ip = `192.168.50.${n.subnet}`;
      await apiRequest(this.socket, this.token, 'POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' } },
        spec: { podCIDR: `10.244.${n.subnet}.0/24`, podCIDRs: [`10.244.${n.subnet}.0/24`] },
        status: {
          addresses: [
            { type: 'InternalIP', address: ip },
            { type: 'Hostname', address: n.name },
          ],
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              message: 'fake kubelet is posting ready status',
              lastHeartbeatTime: new Date().toISOString(),
              lastTransitionTime: new Date().toISOString(),
            },
          ],
          nodeInfo: {
            kubeletVersion: 'v1.32.0-fake',
            osImage: 'Debian',
            kernelVersion: '6.1',
            containerRuntimeVersion: 'fake://1',
          },
        },
      });
    }
    const tick = async (): Promise<void> => {
      if (this.busy) return;
      this.busy = true;
      try {
        await this.step();
      } catch (err) {
        this.errors.push(String(err));
      } finally {
        this.busy = false;
      }
    };
    this.timer = setInterval(() => void tick(), 150);
  }

  private async step(): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const n of this.nodes) {
      await apiRequest(
        this.socket,
        this.token,
        'PATCH',
        `/api/v1/nodes/${n.name}/status`,
        {
          status: {
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'fake kubelet is posting ready status',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
        'application/strategic-merge-patch+json',
      );
      const list = await apiRequest(
        this.socket,
        this.token,
        'GET',
        `/api/v1/pods?fieldSelector=spec.nodeName%3D${n.name}`,
      );
      for (const pod of (list.body as KubeList<Pod> | undefined)?.items ?? []) {
        const path = `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
        if (pod.metadata.deletionTimestamp) {
          const r = await apiRequest(this.socket, this.token, 'DELETE', path, {
            kind: 'DeleteOptions',
            apiVersion: 'v1',
            gracePeriodSeconds: 0,
          });
          if (r.status >= 300) this.errors.push(`DELETE ${pod.metadata.name}: ${r.status} ${r.text.slice(0, 300)}`);
          continue;
        }
        if (pod.status?.phase === 'Running') continue;
        const host = this.next.get(n.name) ?? 2;
        this.next.set(n.name, host + 1);
        const ip = `10.244.${n.subnet}.${host}`;
        pod.status = {
          phase: 'Running',
          podIP: ip,
          podIPs: [{ ip }],
          hostIP: `192.168.50.${n.subnet}`,
          hostIPs: [{ ip: `192.168.50.${n.subnet}` }],
          startTime: now,
          conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({
            type,
            status: 'True',
            lastProbeTime: null,
            lastTransitionTime: now,
          })),
          containerStatuses: pod.spec.containers.map((c) => ({
            name: c.name,
            image: c.image!, // the API's validation requires it
            imageID: '',
            ready: true,
            started: true,
            restartCount: 0,
            state: { running: { startedAt: now } },
            lastState: {},
          })),
        };
        const r = await apiRequest(this.socket, this.token, 'PUT', `${path}/status`, pod);
        if (r.status >= 300) this.errors.push(`PUT status ${pod.metadata.name}: ${r.status} ${r.text.slice(0, 300)}`);
      }
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
