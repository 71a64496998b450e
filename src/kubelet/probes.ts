// Container probes (exec, tcpSocket, httpGet) as the kubelet runs them, from the root network namespace:
// exec runs the command inside the container (nsenter into its namespaces and root); tcpSocket and httpGet
// run nc(1) / curl(1) inside the pod's network namespace against the pod IP (or probe.host), with the
// probe's timeoutSeconds (default 1). runProbe never throws: it resolves { ok, message } where message is
// what the real kubelet puts in the Unhealthy event.
import { execFile } from 'node:child_process';
import type { Container, Probe } from '../k8s/types.js';
import { execArgv } from './containers.js';

export interface ProbeTarget {
  netns: string;
  podIp: string;
  containerPid: number;
  env: Record<string, string>;
  container: Container;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

function runCmd(
  argv: string[],
  env: Record<string, string> | undefined,
  timeoutMs: number,
): Promise<{ code: number; out: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(argv[0], argv.slice(1), { timeout: timeoutMs, env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim(), timedOut: Boolean(e?.killed) });
    });
  });
}

/** A probe's port: a number, or the name of one of the container's ports. */
export function probePort(port: number | string, c: Container): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

export async function runProbe(probe: Probe, t: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  const inPod = (argv: string[]): string[] => ['nsenter', `--net=/run/netns/${t.netns}`, '--', ...argv];
  if (probe.exec) {
    const cmd = probe.exec.command ?? [];
    const r = await runCmd(execArgv(t.containerPid, cmd), t.env, timeoutMs);
    if (r.timedOut) return { ok: false, message: `command "${cmd.join(' ')}" timed out` };
    return r.code === 0
      ? { ok: true, message: r.out }
      : { ok: false, message: r.out || `command "${cmd.join(' ')}" exited with ${r.code}` };
  }
  if (probe.tcpSocket) {
    const port = probePort(probe.tcpSocket.port, t.container);
    const host = probe.tcpSocket.host ?? t.podIp;
    if (port === undefined) return { ok: false, message: `unknown port "${probe.tcpSocket.port}"` };
    const r = await runCmd(
      inPod(['nc', '-z', '-w', String(Math.max(1, timeoutMs / 1000)), host, String(port)]),
      undefined,
      timeoutMs + 1000,
    );
    return r.code === 0
      ? { ok: true, message: '' }
      : {
          ok: false,
          message: `dial tcp ${host}:${port}: connect: ${r.timedOut ? 'i/o timeout' : 'connection refused'}`,
        };
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const port = probePort(g.port, t.container);
    if (port === undefined) return { ok: false, message: `unknown port "${g.port}"` };
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const url = `${scheme}://${g.host ?? t.podIp}:${port}${g.path ?? '/'}`;
    const headers = (g.httpHeaders ?? []).flatMap((h) => ['-H', `${h.name}: ${h.value}`]);
    const r = await runCmd(
      inPod([
        'curl',
        '-sk',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '-A',
        'kube-probe/1.32',
        '--max-time',
        String(timeoutMs / 1000),
        ...headers,
        url,
      ]),
      undefined,
      timeoutMs + 1000,
    );
    const status = Number(r.out);
    if (r.code === 0 && status >= 200 && status < 400) return { ok: true, message: '' };
    if (r.code === 0) return { ok: false, message: `HTTP probe failed with statuscode: ${status}` };
    return {
      ok: false,
      message: `Get "${url}": ${r.code === 28 ? 'context deadline exceeded' : 'dial tcp: connect: connection refused'}`,
    };
  }
  return { ok: true, message: '' };
}
