// The kubelet's own server on its unix socket (mode 0600, no auth), with the real kubelet's endpoints that
// the API server proxies to: GET /containerLogs/{ns}/{pod}/{container} (logs.ts) and /exec/{ns}/{pod}/
// {container} upgraded to a WebSocket (exec.ts; /attach is refused as not supported), plus /healthz and
// /pods. Errors are meta/v1 Status bodies. start() throws DeviceError when the socket cannot be bound.
import fs from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Status } from '../k8s/types.js';
import { DeviceError } from '../util/errors.js';
import { logFileOf, type AttemptInfo } from './containers.js';
import { parseExecQuery, runExecSession } from './exec.js';
import { dockerNameOf } from './docker-runtime.js';
import { parseLogOptions, streamLog } from './logs.js';

export const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

/** What the server needs from the kubelet: the pods it runs and their containers' starts. */
export interface ContainerSource {
  /** undefined: no such pod on this node; [] containers: the pod exists. */
  pod(
    ns: string,
    name: string,
  ):
    | {
        containers: string[];
        latest(c: string): AttemptInfo | undefined;
        previous(c: string): AttemptInfo | undefined;
        env(c: string): Record<string, string>;
      }
    | undefined;
  podList(): unknown;
}

function status(code: number, reason: string, message: string): Status {
  return { apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message, reason, code };
}

function sendStatus(res: http.ServerResponse, s: Status): void {
  res.writeHead(s.code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(s));
}

function refuseUpgrade(socket: Duplex, s: Status): void {
  const body = JSON.stringify(s);
  socket.end(
    `HTTP/1.1 ${s.code} ${http.STATUS_CODES[s.code] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

type Lookup = { info: AttemptInfo; env: Record<string, string> } | Status;

export class KubeletServer {
  private readonly server: http.Server;
  /** Made on the first exec (`ws` is loaded then: 0.1 s of every kubelet's start, issue 16). */
  private wss: Promise<WebSocketServer> | undefined;
  private wssMade: WebSocketServer | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly source: ContainerSource,
  ) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  private websockets(): Promise<WebSocketServer> {
    this.wss ??= import('ws').then((m) => {
      this.wssMade = new m.WebSocketServer({
        noServer: true,
        maxPayload: 16 << 20,
        handleProtocols: (offered) => EXEC_PROTOCOLS.find((p) => offered.has(p)) ?? false,
      });
      return this.wssMade;
    });
    return this.wss;
  }

  start(): Promise<void> {
    fs.rmSync(this.socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', (err) =>
        reject(new DeviceError(`kubelet: cannot listen on ${this.socketPath}: ${err.message}`)),
      );
      this.server.listen(this.socketPath, () => {
        fs.chmodSync(this.socketPath, 0o600);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    for (const c of this.wssMade?.clients ?? []) c.terminate();
    this.server.closeAllConnections();
    return new Promise((resolve) =>
      this.server.close(() => {
        fs.rmSync(this.socketPath, { force: true });
        resolve();
      }),
    );
  }

  private lookup(parts: string[], previous: boolean, forExec: boolean): Lookup {
    const [ns, name, container] = parts.map(decodeURIComponent);
    if (!ns || !name || !container) return status(400, 'BadRequest', 'expected /{namespace}/{pod}/{container}');
    const pod = this.source.pod(ns, name);
    if (!pod) return status(404, 'NotFound', `pod "${name}" in namespace "${ns}" is not running on this node`);
    if (!pod.containers.includes(container)) {
      return status(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    }
    const info = previous ? pod.previous(container) : pod.latest(container);
    if (!info) {
      return status(
        400,
        'BadRequest',
        previous
          ? `previous terminated container "${container}" in pod "${name}" not found`
          : `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`,
      );
    }
    if (forExec && info.phase !== 'running') {
      return status(400, 'BadRequest', `container ${container} is not running (pod ${name}); cannot exec into it`);
    }
    return { info, env: pod.env(container) };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && url.pathname === '/healthz') {
      res.end('ok');
      return;
    }
    if (req.method === 'GET' && url.pathname === '/pods') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(this.source.podList()));
      return;
    }
    if (req.method === 'GET' && parts[0] === 'containerLogs') {
      const opts = parseLogOptions(url.searchParams);
      const found = this.lookup(parts.slice(1), opts.previous, false);
      if ('kind' in found) return sendStatus(res, found);
      const { info } = found;
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      const running = (): boolean => {
        const [ns, name, c] = parts.slice(1).map(decodeURIComponent) as [string, string, string];
        const now = this.source.pod(ns, name)?.latest(c);
        return (
          now !== undefined && now.attempt === info.attempt && (now.phase === 'running' || now.phase === 'starting')
        );
      };
      void streamLog(logFileOf(info.dir), opts, running, res).then(
        () => res.end(),
        () => res.end(),
      );
      return;
    }
    sendStatus(res, status(404, 'NotFound', `the kubelet has no ${req.method} ${url.pathname}`));
  }

  private upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'exec') {
      return refuseUpgrade(
        socket,
        status(
          parts[0] === 'attach' ? 501 : 404,
          'NotFound',
          parts[0] === 'attach'
            ? 'attach is not supported by this kubelet; use exec'
            : `no WebSocket endpoint ${url.pathname}`,
        ),
      );
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!EXEC_PROTOCOLS.some((p) => offered.includes(p))) {
      return refuseUpgrade(
        socket,
        status(400, 'BadRequest', `no supported subprotocol offered (want ${EXEC_PROTOCOLS.join(' or ')})`),
      );
    }
    const found = this.lookup(parts.slice(1), false, true);
    const execReq = parseExecQuery(url.searchParams);
    void this.websockets().then((wss) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        if ('kind' in found) {
          ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(found))]));
          ws.close(1000);
          return;
        }
        void runExecSession(ws, execReq, {
          pid: found.info.state!.pid,
          env: found.env,
          docker: dockerNameOf(found.info.dir),
        });
      }),
    );
  }
}
