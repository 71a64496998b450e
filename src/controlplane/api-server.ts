// The lab's Kubernetes API over HTTP/1.1 (node:http/https): HTTPS on 127.0.0.1:<port> for kubectl and on a unix
// socket for kubelets and the lab CLI, both behind one bearer token (401 Status otherwise, compared in
// constant time). Routes /version, discovery, OpenAPI v3, the resource endpoints (http-resources.ts),
// pods/log and pods/exec (kubelet-proxy.ts). Every request is handled on its own; a malformed one gets
// a Status and never reaches the store; no request can crash the process. `close()` ends everything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger.js';
import { KubeApiError } from '../util/errors.js';
import type { Pod } from '../k8s/types.js';
import type { ApiDelete } from './api-delete.js';
import type { ApiOps } from './api-ops.js';
import { apiGroupList, apiResourceList, apiVersions, KUBE_VERSION } from './discovery.js';
import { parseResourcePath } from './http-path.js';
import { handleResource } from './http-resources.js';
import { sendError, sendJson } from './http-util.js';
import { ExecProxy, proxyLogs } from './kubelet-proxy.js';
import { buildOpenApiV3 } from './openapi.js';
import { notFoundPath } from './status.js';

export interface ApiServerOptions {
  ops: ApiOps;
  deleter: ApiDelete;
  token: string;
  /** Where the kubelets' sockets are (`<dir>/run`). */
  runDir: string;
  logger: Logger;
  now: () => number;
  /** TLS key and certificate for the TCP listener (kubectl sends tokens only over HTTPS). */
  tls: { key: string; cert: string };
}

const UNAUTHORIZED = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'Unauthorized',
  reason: 'Unauthorized',
  code: 401,
};

export class ApiServer {
  private readonly servers: http.Server[] = [];
  private readonly exec: ExecProxy;
  private readonly openapi = buildOpenApiV3();
  private readonly token: Buffer;
  url = '';

  constructor(private readonly opts: ApiServerOptions) {
    this.exec = new ExecProxy(opts.runDir);
    this.token = Buffer.from(opts.token);
  }

  private authorized(req: http.IncomingMessage): boolean {
    const m = String(req.headers['authorization'] ?? '').match(/^Bearer\s+(\S+)$/i);
    if (!m) return false;
    const given = Buffer.from(m[1]);
    return given.length === this.token.length && crypto.timingSafeEqual(given, this.token);
  }

  private makeServer(tls?: { key: string; cert: string }): http.Server {
    const options = { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 65_000 };
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handle(req, res).catch((err) => {
        if (!(err instanceof KubeApiError)) this.opts.logger.warn({ err: String(err), url: req.url }, 'request failed');
        if (res.headersSent) res.destroy();
        else sendError(res, err);
      });
    };
    const server: http.Server = tls
      ? https.createServer({ ...options, ...tls }, handler)
      : http.createServer(options, handler);
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    this.servers.push(server);
    return server;
  }

  /** Listens with TLS on 127.0.0.1:<port> (0 = a free port) and plain on the unix socket; resolves with the URL. */
  async listen(port: number, socketPath: string): Promise<string> {
    const tcp = this.makeServer(this.opts.tls);
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, '127.0.0.1', () => resolve());
    });
    this.url = `https://127.0.0.1:${(tcp.address() as AddressInfo).port}`;
    fs.rmSync(socketPath, { force: true });
    const unix = this.makeServer();
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(socketPath, () => resolve());
    });
    fs.chmodSync(socketPath, 0o600);
    return this.url;
  }

  async close(): Promise<void> {
    this.exec.close();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.authorized(req)) {
      req.resume();
      return sendJson(res, 401, UNAUTHORIZED);
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    if (req.method === 'GET') {
      const fixed = this.fixedDocument(p);
      if (fixed !== undefined) {
        if (typeof fixed === 'string') {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(fixed) });
          return void res.end(fixed);
        }
        return sendJson(res, 200, fixed);
      }
    }
    const rp = parseResourcePath(p);
    if (!rp) throw notFoundPath();
    if (
      rp.resource.kind === 'Pod' &&
      rp.name &&
      (rp.subresource === 'log' || rp.subresource === 'exec' || rp.subresource === 'attach')
    ) {
      const pod = this.opts.ops.store.mustGet(rp.resource, rp.namespace, rp.name) as Pod;
      if (rp.subresource === 'log' && req.method === 'GET') return proxyLogs(this.opts.runDir, pod, q, res);
      throw new KubeApiError(
        400,
        'BadRequest',
        `Upgrade request required: ${rp.subresource} needs a WebSocket (${'v5.channel.k8s.io'})`,
      );
    }
    await handleResource({ ops: this.opts.ops, deleter: this.opts.deleter, now: this.opts.now }, req, res, rp, q);
  }

  private fixedDocument(p: string): unknown {
    if (p === '/version') return KUBE_VERSION;
    if (p === '/healthz' || p === '/readyz' || p === '/livez') return 'ok';
    if (p === '/api') return apiVersions(this.url.replace(/^https:\/\//, ''));
    if (p === '/apis') return apiGroupList();
    if (p === '/openapi/v3') return this.openapi.index;
    if (p.startsWith('/openapi/v3/')) return this.openapi.docs.get(p.slice('/openapi/v3/'.length))?.body;
    const core = p.match(/^\/api\/([^/]+)$/);
    if (core) return apiResourceList('', core[1]);
    const group = p.match(/^\/apis\/([^/]+)\/([^/]+)$/);
    if (group) return apiResourceList(group[1], group[2]);
    const g = p.match(/^\/apis\/([^/]+)$/);
    if (g) return (apiGroupList() as { groups: { name: string }[] }).groups.find((x) => x.name === g[1]);
    return undefined;
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const reject = (code: number, body: unknown): void => {
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
      );
    };
    if (!this.authorized(req)) return reject(401, UNAUTHORIZED);
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const rp = parseResourcePath(url.pathname);
      if (!rp || rp.resource.kind !== 'Pod' || !rp.name || (rp.subresource !== 'exec' && rp.subresource !== 'attach'))
        throw notFoundPath();
      const pod = this.opts.ops.store.mustGet(rp.resource, rp.namespace, rp.name) as Pod;
      this.exec.upgrade(req, socket, head, pod, rp.subresource, url.searchParams);
    } catch (err) {
      const s = err instanceof KubeApiError ? err : new KubeApiError(500, 'InternalError', String(err));
      reject(s.httpStatus, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: s.message,
        reason: s.reason,
        code: s.httpStatus,
      });
    }
  }
}
