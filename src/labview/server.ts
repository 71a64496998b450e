// `lab ui`: an HTTP server on 127.0.0.1 with the live page of one lab.
//   GET /                 the page (page.ts livePage) with the diagram as it is now
//   GET /app.js           the front-end module (web/app.ts compiled by tsc at build time) and /diagram.js
//   GET /events           Server-Sent Events: a LabSnapshot with rates (snapshot.ts) every interval
//   GET /api/node/NAME    the node agent's status, routes and counters
//   GET /api/pod/NAME     the pod: IP, node, containers, status, and the route its node uses for it
//   GET /api/packets?point=node1/outer   the last packets seen at that point (packets.ts)
// The lab's snapshot is taken every `intervalMs` (default 1000) while the server runs.
// startLabUi rejects with DeviceError when the port cannot be bound; requests never crash it.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { controlSocket, labPaths, type LabState } from '../lab/state.js';
import { DeviceError, oneLine } from '../util/errors.js';
import { rpcCall } from '../util/rpc.js';
import { PacketWatcher } from './packets.js';
import { livePage } from './page.js';
import { collectSnapshot, withRates, type LabSnapshot } from './snapshot.js';

export interface LabUiOptions {
  state: LabState;
  port?: number;
  intervalMs?: number;
  root?: string;
}

export interface LabUi {
  url: string;
  close(): Promise<void>;
}

/** The browser modules, compiled by tsc with the rest (diagram.js is shared with the server). */
const MODULES: Record<string, string> = {
  '/app.js': fileURLToPath(new URL('./web/app.js', import.meta.url)),
  '/diagram.js': fileURLToPath(new URL('./diagram.js', import.meta.url)),
};

export async function startLabUi(opts: LabUiOptions): Promise<LabUi> {
  const { state } = opts;
  const t = state.topology;
  const paths = labPaths(t.name, opts.root);
  const watcher = new PacketWatcher(
    t.name,
    t.nodes.map((n) => n.name),
    { root: opts.root },
  );
  const clients = new Set<http.ServerResponse>();
  let current: LabSnapshot = withRates(undefined, await collectSnapshot(state, opts.root));
  let polling = false;
  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      current = withRates(current, await collectSnapshot(state, opts.root));
      const line = `data: ${JSON.stringify(current)}\n\n`;
      for (const c of clients) c.write(line);
    } catch {
      // the next tick tries again
    } finally {
      polling = false;
    }
  };
  const timer = setInterval(() => void poll(), opts.intervalMs ?? 1000);

  const json = (res: http.ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = url.pathname;
    if (req.method !== 'GET') return json(res, 405, { error: 'only GET' });
    if (route === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(livePage(current));
    }
    if (Object.hasOwn(MODULES, route)) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      return void res.end(fs.readFileSync(MODULES[route]));
    }
    if (route === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`data: ${JSON.stringify(current)}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
      return;
    }
    const m = /^\/api\/(node|pod)\/([^/]+)$/.exec(route);
    if (m) {
      const name = decodeURIComponent(m[2]);
      if (m[1] === 'node') {
        if (!t.nodes.some((n) => n.name === name)) return json(res, 404, { error: `no node ${name}` });
        const sock = controlSocket(paths, name);
        try {
          const [status, routes, stats] = await Promise.all(
            ['status', 'routes', 'stats'].map((method) => rpcCall(sock, method, {}, { timeoutMs: 2000 })),
          );
          return json(res, 200, { name, status, routes, stats });
        } catch (err) {
          return json(res, 200, { name, error: oneLine(err) });
        }
      }
      const pod = t.pods.find((p) => p.name === name);
      if (!pod) return json(res, 404, { error: `no pod ${name}` });
      const view = current.pods.find((p) => p.name === name);
      return json(res, 200, {
        ...pod,
        status: view?.status,
        ready: view?.ready,
        gateway: t.nodes.find((n) => n.name === pod.node)?.gateway,
      });
    }
    if (route === '/api/packets') return json(res, 200, await watcher.get(url.searchParams.get('point') ?? ''));
    json(res, 404, { error: `nothing at ${route}` });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: oneLine(err) });
      else res.end();
    });
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
  } catch (err) {
    clearInterval(timer);
    watcher.close();
    throw new DeviceError(
      `cannot serve on 127.0.0.1:${opts.port ?? 0}: ${(err as NodeJS.ErrnoException).code ?? oneLine(err)}`,
      { cause: err },
    );
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        watcher.close();
        for (const c of clients) c.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
