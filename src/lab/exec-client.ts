// `lab exec`: the pods/exec subresource over a WebSocket (`v5.channel.k8s.io`, falling back to
// `v4.channel.k8s.io`) through the control plane's unix socket, as kubectl 1.32 speaks it: each
// message's first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 error Status, 4 resize,
// 255 close in v5). With `tty` and a terminal on stdin, the terminal goes to raw mode and window
// size changes are sent as resize messages. Resolves with the remote exit code (the error channel's
// NonZeroExitCode cause, 0 on Success). Rejects with KubeApiError when the server refuses the
// upgrade (its Status message), DeviceError when the socket does not answer.
import WebSocket from 'ws';
import { DeviceError, KubeApiError } from '../util/errors.js';
import type { Status } from '../k8s/types.js';

export interface ExecRequest {
  socket: string;
  token: string;
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin: boolean;
  tty: boolean;
}

export interface ExecIo {
  input?: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: NodeJS.WritableStream & { columns?: number; rows?: number; on?: (ev: string, fn: () => void) => unknown };
  error: NodeJS.WritableStream;
  /** Aborting closes the session and rejects with the signal's reason (the library's exec timeout). */
  signal?: AbortSignal;
}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

export function execPath(r: ExecRequest): string {
  const q = new URLSearchParams();
  for (const c of r.command) q.append('command', c);
  if (r.container) q.set('container', r.container);
  if (r.stdin) q.set('stdin', 'true');
  q.set('stdout', 'true');
  q.set('stderr', r.tty ? 'false' : 'true');
  if (r.tty) q.set('tty', 'true');
  return `/api/v1/namespaces/${encodeURIComponent(r.namespace)}/pods/${encodeURIComponent(r.pod)}/exec?${q.toString()}`;
}

/** The exit code a final error-channel Status means. */
export function exitCodeOf(status: Partial<Status>): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = Number(cause?.message);
  return Number.isInteger(n) ? n : 1;
}

export function execInPod(r: ExecRequest, io: ExecIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${r.socket}:${execPath(r)}`, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], {
      headers: { Authorization: `Bearer ${r.token}` },
    });
    let code: number | undefined;
    let failure: string | undefined;
    let raw = false;
    const restore = (): void => {
      if (raw) io.input?.setRawMode?.(false);
      raw = false;
    };
    const send = (channel: number, data: Buffer | string): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
    };
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        let st: Partial<Status> = {};
        try {
          st = JSON.parse(text) as Partial<Status>;
        } catch {
          // not a Status
        }
        reject(
          new KubeApiError(
            res.statusCode ?? 0,
            st.reason ?? '',
            st.message ?? `exec: HTTP ${res.statusCode} ${text.slice(0, 200)}`,
            st.details,
          ),
        );
      });
    });
    ws.on('error', (err) => {
      restore();
      reject(new DeviceError(`exec: ${err.message}`, { cause: err }));
    });
    ws.on('open', () => {
      const v5 = ws.protocol === 'v5.channel.k8s.io';
      if (r.tty) {
        if (io.input?.isTTY && io.input.setRawMode) {
          io.input.setRawMode(true);
          raw = true;
        }
        const resize = (): void => {
          if (io.output.columns && io.output.rows)
            send(RESIZE, JSON.stringify({ Width: io.output.columns, Height: io.output.rows }));
        };
        resize();
        io.output.on?.('resize', resize);
      }
      if (r.stdin && io.input) {
        io.input.on('data', (d: Buffer | string) => send(STDIN, typeof d === 'string' ? Buffer.from(d) : d));
        io.input.on('end', () => {
          if (v5) send(CLOSE, Buffer.from([STDIN]));
        });
        io.input.resume();
      }
    });
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case STDOUT:
          io.output.write(payload);
          break;
        case STDERR:
          io.error.write(payload);
          break;
        case ERROR: {
          if (payload.length === 0) break;
          try {
            const st = JSON.parse(payload.toString('utf8')) as Partial<Status>;
            code = exitCodeOf(st);
            if (st.status !== 'Success' && st.reason !== 'NonZeroExitCode') failure = st.message;
          } catch {
            failure = payload.toString('utf8');
            code = 1;
          }
          break;
        }
        default:
          break;
      }
    });
    const onAbort = (): void => {
      ws.terminate();
      reject(io.signal!.reason as Error);
    };
    if (io.signal?.aborted) return onAbort();
    io.signal?.addEventListener('abort', onAbort, { once: true });
    ws.on('close', () => {
      io.signal?.removeEventListener('abort', onAbort);
      restore();
      if (io.input && r.stdin) io.input.pause();
      if (failure) io.error.write(`error: ${failure}\n`);
      resolve(code ?? 0);
    });
  });
}
