// A small typed Kubernetes API client for the lab CLI: HTTP/1.1 over the control plane's unix
// socket (`<dir>/run/apiserver.sock`) with the lab's bearer token. JSON requests and replies, server
// Tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), watches (newline-delimited
// WatchEvents) and raw streams (pods/log). The lab's only path to the objects.
// Throws KubeApiError (util/errors.ts: the server's Status reason, message and details) for a non-2xx
// reply, DeviceError when the socket does not answer. Buffers: none kept; bodies are parsed strings.
import http from 'node:http';
import { DeviceError, KubeApiError } from '../util/errors.js';

export { KubeApiError };
import type { KubeObject, Status, Table, WatchEvent } from '../k8s/types.js';

export const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

/** The exit code a refused request means for the CLI: 2 when the input was wrong (400, 409, 422). */
export function exitCodeOfApiError(err: unknown): number | undefined {
  if (!(err instanceof KubeApiError)) return undefined;
  return [400, 409, 422].includes(err.httpStatus) ? 2 : 1;
}

function apiError(httpStatus: number, st: Partial<Status>, message: string): KubeApiError {
  return new KubeApiError(httpStatus, st.reason ?? '', message, st.details);
}

export interface RequestOptions {
  accept?: string;
  contentType?: string;
  timeoutMs?: number;
}

export interface Reply {
  status: number;
  text: string;
}

export interface KubeClientOptions {
  socket: string;
  token: string;
  timeoutMs?: number;
}

export class KubeClient {
  constructor(private readonly opts: KubeClientOptions) {}

  private requestOptions(method: string, path: string, headers: Record<string, string>): http.RequestOptions {
    return {
      socketPath: this.opts.socket,
      path,
      method,
      headers: { Authorization: `Bearer ${this.opts.token}`, 'User-Agent': 'flannelette-lab', ...headers },
    };
  }

  /** One request; resolves with the status and body text whatever the status. */
  raw(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<Reply> {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { Accept: o.accept ?? 'application/json' };
    if (data !== undefined) {
      headers['Content-Type'] = o.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(data));
    }
    return new Promise((resolve, reject) => {
      const req = http.request(this.requestOptions(method, path, headers), (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.setTimeout(o.timeoutMs ?? this.opts.timeoutMs ?? 15_000, () => req.destroy(new Error('timed out')));
      req.on('error', (err) =>
        reject(
          new DeviceError(`the lab's API server at ${this.opts.socket} does not answer: ${err.message}`, {
            cause: err,
          }),
        ),
      );
      req.end(data);
    });
  }

  /** A request whose 2xx reply is JSON; anything else throws KubeApiError. */
  async request<T = unknown>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const r = await this.raw(method, path, body, o);
    let parsed: unknown;
    try {
      parsed = r.text ? JSON.parse(r.text) : {};
    } catch {
      parsed = undefined;
    }
    if (r.status < 200 || r.status > 299) {
      const st = (parsed as Partial<Status> | undefined) ?? {};
      throw apiError(r.status, st, st.message ?? `${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
    }
    if (parsed === undefined) throw apiError(r.status, {}, `${method} ${path}: the reply is not JSON`);
    return parsed as T;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  table(path: string): Promise<Table> {
    return this.request<Table>('GET', path, undefined, { accept: TABLE_ACCEPT });
  }

  create<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.request<T>('POST', path, obj);
  }

  put<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.request<T>('PUT', path, obj);
  }

  patch<T = KubeObject>(path: string, patch: unknown, type = 'application/merge-patch+json'): Promise<T> {
    return this.request<T>('PATCH', path, patch, { contentType: type });
  }

  delete<T = KubeObject>(path: string, options?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, options);
  }

  /**
   * Streams a GET (pods/log, watches): calls onChunk with text as it arrives, resolves when the
   * server ends the reply or `signal` aborts. A non-2xx reply rejects with KubeApiError.
   */
  stream(
    path: string,
    onChunk: (text: string) => void,
    o: RequestOptions & { signal?: AbortSignal } = {},
  ): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = http.request(this.requestOptions('GET', path, { Accept: o.accept ?? '*/*' }), (res) => {
        res.setEncoding('utf8');
        if ((res.statusCode ?? 0) > 299) {
          let text = '';
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            let st: Partial<Status> = {};
            try {
              st = JSON.parse(text) as Partial<Status>;
            } catch {
              // not a Status
            }
            reject(apiError(res.statusCode ?? 0, st, st.message ?? `GET ${path}: HTTP ${res.statusCode}`));
          });
          return;
        }
        res.on('data', onChunk);
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
      const onAbort = (): void => {
        req.destroy();
        resolve();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => o.signal?.removeEventListener('abort', onAbort));
      req.on('error', (err) => {
        if (o.signal?.aborted) resolve();
        else
          reject(
            new DeviceError(`the lab's API server at ${this.opts.socket} does not answer: ${err.message}`, {
              cause: err,
            }),
          );
      });
      req.end();
    });
  }

  /** Watches `path` (a list path; `watch=1` is added) and calls onEvent per WatchEvent line. */
  watch<T extends KubeObject = KubeObject>(
    path: string,
    onEvent: (e: WatchEvent<T>) => void,
    o: RequestOptions & { signal?: AbortSignal } = {},
  ): Promise<void> {
    let buf = '';
    const sep = path.includes('?') ? '&' : '?';
    return this.stream(
      `${path}${sep}watch=1`,
      (chunk) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (!line) continue;
          try {
            onEvent(JSON.parse(line) as WatchEvent<T>);
          } catch {
            // a partial or foreign line: ignore
          }
        }
      },
      { accept: o.accept ?? 'application/json', signal: o.signal },
    );
  }
}

/** True when the API server answers (any HTTP reply counts). */
export async function apiAnswers(client: KubeClient): Promise<boolean> {
  try {
    const r = await client.raw('GET', '/api/v1/namespaces/default', undefined, { timeoutMs: 2000 });
    return r.status === 200;
  } catch {
    return false;
  }
}
