// The control-socket protocol shared by every command that talks to a running node (status, routes,
// stats, trace, capture, impair) and by the lab. One Unix socket per node, root-only (mode 0600).
//
// Framing: the client writes one JSON line `{"id":1,"method":"status","params":{...}}`; the server
// answers one JSON line `{"id":1,"ok":true,"result":...}` or `{"id":1,"ok":false,"error":{"name","message"}}`.
// Several requests may share a connection. A handler may instead return a `StreamReply`: the server
// writes the ok line, then hands the raw socket to the handler (e.g. a live pcap stream) and reads no
// more requests from it.
//
// Errors: rpcCall rejects with RpcError (name 'RpcError', code = the remote error's name, or
// 'ENOSOCKET' when nothing listens at the path, 'ETIMEDOUT' on timeout).
import net from 'node:net';
import fs from 'node:fs';
import { FlanError } from './errors.js';

/** A node agent refused a control-socket request: `code` is the agent's error name (e.g. ConfigError). */
export class RpcError extends FlanError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A handler's result may be a value or a Promise of one (`unknown` covers both). */
export type RpcHandler = (params: Record<string, unknown>) => unknown;

export class StreamReply {
  constructor(
    readonly result: unknown,
    readonly attach: (socket: net.Socket) => void,
  ) {}
}

export interface RpcServer {
  readonly path: string;
  close(): Promise<void>;
}

const MAX_LINE = 1 << 20;

export async function startRpcServer(path: string, handlers: Record<string, RpcHandler>): Promise<RpcServer> {
  if (fs.existsSync(path)) {
    if (await isListening(path)) throw new RpcError('EADDRINUSE', `control socket ${path} is in use by a running node`);
    fs.rmSync(path, { force: true });
  }
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    serveConnection(socket, handlers);
  });
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(oldMask);
  }
  fs.chmodSync(path, 0o600);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          fs.rmSync(path, { force: true });
          resolve();
        });
      }),
  };
}

function serveConnection(socket: net.Socket, handlers: Record<string, RpcHandler>): void {
  let pending = '';
  let streaming = false;
  const onData = (chunk: Buffer): void => {
    if (streaming) return;
    pending += chunk.toString('utf8');
    if (pending.length > MAX_LINE) {
      socket.destroy();
      return;
    }
    let nl: number;
    while (!streaming && (nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.trim()) void answer(line);
    }
  };
  const answer = async (line: string): Promise<void> => {
    let id: unknown = null;
    try {
      const req = JSON.parse(line) as { id?: unknown; method?: unknown; params?: unknown };
      id = req.id ?? null;
      const handler =
        typeof req.method === 'string' && Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined;
      if (!handler) throw new RpcError('EMETHOD', `unknown control method: ${String(req.method)}`);
      const params = req.params && typeof req.params === 'object' ? (req.params as Record<string, unknown>) : {};
      const result = await handler(params);
      if (result instanceof StreamReply) {
        streaming = true;
        socket.off('data', onData);
        socket.write(JSON.stringify({ id, ok: true, result: result.result ?? null }) + '\n');
        result.attach(socket);
        return;
      }
      if (!socket.destroyed) socket.write(JSON.stringify({ id, ok: true, result: result ?? null }) + '\n');
    } catch (err) {
      const e = err as Error;
      const name =
        (e as { code?: string }).code && e.name === 'RpcError'
          ? (e as unknown as { code: string }).code
          : e.name || 'Error';
      if (!socket.destroyed)
        socket.write(JSON.stringify({ id, ok: false, error: { name, message: e.message ?? String(err) } }) + '\n');
    }
  };
  socket.on('data', onData);
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function connect(path: string, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RpcError('ETIMEDOUT', `no answer from control socket ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        reject(new RpcError('EACCES', `permission denied on control socket ${path} (run as root)`, { cause: err }));
      } else {
        reject(new RpcError('ENOSOCKET', `no node is listening on ${path} (is it running?)`, { cause: err }));
      }
    });
  });
}

/** Reads one response line; resolves with the parsed line and any bytes that followed it. */
function readReply(
  socket: net.Socket,
  timeoutMs: number,
): Promise<{ reply: { ok: boolean; result?: unknown; error?: { name: string; message: string } }; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new RpcError('ETIMEDOUT', `control request timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (err?: Error, value?: { reply: { ok: boolean }; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(value as never);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      try {
        const reply = JSON.parse(buf.subarray(0, nl).toString('utf8')) as { ok: boolean };
        finish(undefined, { reply, rest: buf.subarray(nl + 1) });
      } catch (err) {
        finish(new RpcError('EPROTO', 'malformed control reply', { cause: err }));
      }
    };
    const onClose = (): void => finish(new RpcError('ECLOSED', 'control socket closed before replying'));
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

function unwrap(reply: { ok: boolean; result?: unknown; error?: { name: string; message: string } }): unknown {
  if (reply.ok) return reply.result;
  throw new RpcError(reply.error?.name ?? 'Error', reply.error?.message ?? 'control request failed');
}

/** One request, one reply, then the connection is closed. */
export async function rpcCall(
  path: string,
  method: string,
  params: unknown = {},
  opts: { timeoutMs?: number } = {},
): Promise<unknown> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const socket = await connect(path, timeoutMs);
  try {
    socket.write(JSON.stringify({ id: 1, method, params }) + '\n');
    const { reply } = await readReply(socket, timeoutMs);
    return unwrap(reply);
  } finally {
    socket.destroy();
  }
}

/**
 * A request whose reply is followed by a raw byte stream (e.g. live capture). Resolves with the
 * result and the connected socket (already unpaused, with any early bytes pushed back in).
 */
export async function rpcOpenStream(
  path: string,
  method: string,
  params: unknown = {},
  opts: { timeoutMs?: number } = {},
): Promise<{ result: unknown; socket: net.Socket }> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const socket = await connect(path, timeoutMs);
  socket.write(JSON.stringify({ id: 1, method, params }) + '\n');
  try {
    const { reply, rest } = await readReply(socket, timeoutMs);
    const result = unwrap(reply);
    socket.pause();
    if (rest.length > 0) socket.unshift(rest);
    return { result, socket };
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
