// A Kubernetes API client for in-lab components (kubelet, kube-proxy, policy enforcer): HTTP/1.1 JSON over the control plane's unix socket with the bearer
// token (K8S-CONTRACT.md). request() resolves with the status code and parsed body for every answer
// (callers decide what a 404 or 409 means) and rejects with DeviceError when the server cannot be reached;
// watch() streams a watch (one JSON WatchEvent a line) until the server ends it, the signal aborts, or the
// connection breaks (then it resolves; the caller re-watches).
import http from 'node:http';
import { DeviceError } from '../util/errors.js';
import type { WatchEvent } from '../k8s/types.js';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

export class ApiClient {
  constructor(
    private readonly socketPath: string,
    private readonly token: () => string,
    private readonly userAgent = 'flannelette-kubelet/v1.32.0',
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      Authorization: `Bearer ${this.token()}`,
      Accept: 'application/json',
      'User-Agent': this.userAgent,
      ...extra,
    };
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    timeoutMs = 10_000,
  ): Promise<ApiResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          timeout: timeoutMs,
          headers: this.headers(
            payload === undefined
              ? {}
              : { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(payload)) },
          ),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', (err) => reject(new DeviceError(`${method} ${path}: ${err.message}`, { cause: err })));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new DeviceError(`${method} ${path}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }

  /** Streams a watch; resolves when it ends. Rejects only when the request cannot be made at all. */
  watch(path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<{ status: number }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { socketPath: this.socketPath, method: 'GET', path, headers: this.headers(), signal },
        (res) => {
          if ((res.statusCode ?? 0) !== 200) {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line) as WatchEvent);
              } catch {
                // a malformed line: skip it
              }
            }
          });
          res.on('end', () => resolve({ status: 200 }));
          res.on('error', () => resolve({ status: 200 }));
          res.on('aborted', () => resolve({ status: 200 }));
        },
      );
      req.on('error', (err) => {
        if (signal.aborted) resolve({ status: 0 });
        else reject(new DeviceError(`watch ${path}: ${err.message}`, { cause: err }));
      });
      req.end();
    });
  }
}
