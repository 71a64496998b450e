// pods/log and pods/exec (and attach), proxied to the kubelet of the pod's node over its unix socket
// `<runDir>/kubelet-<node>.sock` (the contract in notes/K8S-CONTRACT.md): logs as a streamed HTTP
// response; exec as a WebSocket (v5.channel.k8s.io / v4.channel.k8s.io, as kubectl 1.32 speaks it)
// whose frames are piped both ways, unchanged, to a WebSocket opened to the kubelet's /exec endpoint.
// kube's query names (stdin/stdout/stderr/tty, container, command) become the kubelet's
// (input/output/error/tty). Errors are answered as Status objects; a dead kubelet never hurts the server.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { KubeApiError } from '../util/errors.js';
import type { Pod } from '../k8s/types.js';
import { statusFromError } from './status.js';

export const EXEC_PROTOCOLS = [
  'v5.channel.k8s.io',
  'v4.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

export function kubeletSocket(runDir: string, node: string): string {
  return path.join(runDir, `kubelet-${node}.sock`);
}

/** The container a request means: the named one (400 if unknown) or the pod's only/first one. */
export function pickContainer(pod: Pod, requested: string | null, requireForMany: boolean): string {
  const names = (pod.spec.containers ?? []).map((c) => c.name);
  if (requested) {
    if (!names.includes(requested) && !(pod.spec.initContainers ?? []).some((c) => c.name === requested)) {
      throw new KubeApiError(400, 'BadRequest', `container ${requested} is not valid for pod ${pod.metadata.name}`);
    }
    return requested;
  }
  if (names.length > 1 && requireForMany) {
    throw new KubeApiError(
      400,
      'BadRequest',
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
    );
  }
  return names[0];
}

function nodeOf(pod: Pod): string {
  if (!pod.spec.nodeName)
    throw new KubeApiError(400, 'BadRequest', `pod ${pod.metadata.name} does not have a host assigned`);
  return pod.spec.nodeName;
}

export function proxyLogs(runDir: string, pod: Pod, q: URLSearchParams, res: http.ServerResponse): void {
  const container = pickContainer(pod, q.get('container'), true);
  const node = nodeOf(pod);
  const out = new URLSearchParams();
  for (const k of ['follow', 'previous', 'timestamps']) if (q.get(k) === 'true' || q.get(k) === '1') out.set(k, 'true');
  for (const k of ['tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes']) if (q.get(k)) out.set(k, q.get(k)!);
  const upstream = http.request(
    {
      socketPath: kubeletSocket(runDir, node),
      method: 'GET',
      path:
        `/containerLogs/${[pod.metadata.namespace!, pod.metadata.name!, container].map(encodeURIComponent).join('/')}` +
        `?${out.toString()}`,
    },
    (up) => {
      const code = up.statusCode ?? 500;
      if (code >= 400) {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          let status: unknown;
          try {
            const parsed = JSON.parse(text) as { kind?: unknown } | null;
            status = parsed;
            if (parsed?.kind !== 'Status') throw new Error();
          } catch {
            status = statusFromError(
              new KubeApiError(code, code === 404 ? 'NotFound' : 'BadRequest', text || `kubelet answered ${code}`),
            );
          }
          res.writeHead(code, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(status));
        });
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => {
    if (res.headersSent) return void res.destroy();
    const s = statusFromError(
      new KubeApiError(500, 'InternalError', `the kubelet of node ${node} does not answer: ${err.message}`),
    );
    res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(s));
  });
  res.on('close', () => upstream.destroy());
  upstream.end();
}

function rejectUpgrade(socket: Duplex, err: unknown): void {
  const s = statusFromError(err);
  const body = JSON.stringify(s);
  socket.end(
    `HTTP/1.1 ${s.code} ${http.STATUS_CODES[s.code] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class ExecProxy {
  private readonly chosen = new WeakMap<http.IncomingMessage, string>();
  private readonly wss: WebSocketServer;
  private readonly live = new Set<WebSocket>();

  constructor(private readonly runDir: string) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: 16 * 1024 * 1024,
      handleProtocols: (_protocols, req) => this.chosen.get(req) ?? false,
    });
  }

  /** Handles an upgrade request for pods/<name>/exec or /attach of `pod`. */
  upgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    pod: Pod,
    verb: 'exec' | 'attach',
    q: URLSearchParams,
  ): void {
    let target: string;
    try {
      const container = pickContainer(pod, q.get('container'), false);
      const node = nodeOf(pod);
      const out = new URLSearchParams();
      for (const c of q.getAll('command')) out.append('command', c);
      const flag = (a: string, b: string): void => {
        if (q.get(a) === 'true' || q.get(a) === '1') out.set(b, '1');
      };
      flag('stdin', 'input');
      flag('stdout', 'output');
      flag('stderr', 'error');
      flag('tty', 'tty');
      target =
        `ws+unix://${kubeletSocket(this.runDir, node)}:/${verb}/${encodeURIComponent(pod.metadata.namespace!)}/` +
        `${encodeURIComponent(pod.metadata.name!)}/${encodeURIComponent(container)}?${out.toString()}`;
    } catch (err) {
      return rejectUpgrade(socket, err);
    }
    const kubeletSock = kubeletSocket(this.runDir, pod.spec.nodeName!);
    if (!fs.existsSync(kubeletSock)) {
      return rejectUpgrade(
        socket,
        new KubeApiError(
          500,
          'InternalError',
          `the kubelet of node ${pod.spec.nodeName} does not answer: no socket ${kubeletSock}`,
        ),
      );
    }
    if (
      String(req.headers['upgrade'] ?? '')
        .toLowerCase()
        .startsWith('spdy')
    ) {
      return rejectUpgrade(
        socket,
        new KubeApiError(
          400,
          'BadRequest',
          'SPDY is not supported for exec/attach: use a WebSocket with v5.channel.k8s.io (kubectl 1.30 and later)',
        ),
      );
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => EXEC_PROTOCOLS.includes(s));
    if (offered.length === 0)
      return rejectUpgrade(
        socket,
        new KubeApiError(
          400,
          'BadRequest',
          'no supported channel subprotocol offered (want v5.channel.k8s.io or v4.channel.k8s.io)',
        ),
      );
    const upstream = new WebSocket(target, offered, { maxPayload: 16 * 1024 * 1024 });
    socket.on('error', () => upstream.terminate());
    upstream.on('unexpected-response', (_r, resp) => {
      const chunks: Buffer[] = [];
      resp.on('data', (c: Buffer) => chunks.push(c));
      resp.on('end', () =>
        rejectUpgrade(
          socket,
          new KubeApiError(
            resp.statusCode ?? 500,
            'BadRequest',
            `the kubelet refused: ${Buffer.concat(chunks).toString('utf8').trim().slice(0, 300)}`,
          ),
        ),
      );
    });
    upstream.on('error', (err) => {
      if (!socket.destroyed && !this.chosen.has(req)) {
        rejectUpgrade(
          socket,
          new KubeApiError(
            500,
            'InternalError',
            `the kubelet of node ${pod.spec.nodeName} does not answer: ${err.message}`,
          ),
        );
      }
    });
    upstream.on('open', () => {
      this.chosen.set(req, upstream.protocol || offered[0]);
      this.wss.handleUpgrade(req, socket, head, (client) => this.pipe(client, upstream));
    });
  }

  private pipe(client: WebSocket, upstream: WebSocket): void {
    this.live.add(client);
    this.live.add(upstream);
    client.on('message', (data, isBinary) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data, { binary: isBinary });
    });
    upstream.on('message', (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const closeBoth = (code?: number, reason?: Buffer): void => {
      const c = code && code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000;
      for (const w of [client, upstream]) {
        this.live.delete(w);
        if (w.readyState === WebSocket.OPEN) w.close(c, reason);
      }
    };
    client.on('close', (code, reason) => closeBoth(code, reason));
    upstream.on('close', (code, reason) => closeBoth(code, reason));
    client.on('error', () => closeBoth());
    upstream.on('error', () => closeBoth());
  }

  close(): void {
    for (const w of this.live) w.terminate();
    this.wss.close();
  }
}
