// Built-in container programs, so a lab needs no container images (the kubelet runs them for the
// images flannelette/http|echo|fetch|sleep). Each runs as its own process inside a pod's network
// namespace (`flannelette container NAME ...`, the lab's container-main.js, or the kubelet's entry):
//   http  [--port 80]        HTTP server, the nginx stand-in: "Hello from <pod> (<ip>); you are <client>"
//   echo  [--port 7]         TCP and UDP echo server on the same port
//   sleep [SECONDS|infinity] does nothing, like busybox's `sleep 1000`
//   fetch URL [--every S] [--timeout MS] [--retries N]
//                            HTTP GET (like wget/curl); prints the body; exit 0 on a 2xx answer
// The pod's name and IP come from POD_NAME / POD_IP (set by the lab) or --pod / --ip. When
// FLT_READY_FILE is set, a server creates that file once it listens (the lab's readiness signal).
// runProgram resolves with the exit code for programs that finish; servers run until SIGTERM.
// Bad arguments reject with ConfigError.
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from '../../util/errors.js';

export const PROGRAM_NAMES = ['http', 'echo', 'sleep', 'fetch'] as const;

interface Io {
  out: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const defaultIo = (): Io => ({ out: (line) => process.stdout.write(`${line}\n`), env: process.env });

/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:10.244.1.3`). */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return '?';
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}

/** The greeting of the http program; the demo parses the client address back out of it. */
export function greeting(pod: string, ip: string, client: string): string {
  return `Hello from ${pod} (${ip}); you are ${client}`;
}

const GREETING_RE = /^Hello from (\S+) \(([^)]*)\); you are (\S+)$/m;

export function parseGreeting(text: string): { pod: string; ip: string; client: string } | undefined {
  const m = GREETING_RE.exec(text);
  return m ? { pod: m[1], ip: m[2], client: m[3] } : undefined;
}

function flags(
  args: readonly string[],
  known: Record<string, 'value'>,
): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (!(key in known)) throw new ConfigError(`unknown option --${key}`);
      const value = inline ?? args[++i];
      if (value === undefined) throw new ConfigError(`option --${key} needs a value`);
      values[key] = value;
    } else rest.push(a);
  }
  return { values, rest };
}

function port(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`not a port number: "${text}"`);
  return n;
}

function markReady(io: Io): void {
  const file = io.env['FLT_READY_FILE'];
  if (file) fs.writeFileSync(file, `${process.pid}\n`);
}

function listenDualStack(server: net.Server | http.Server, p: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const tryListen = (host: string, fallback?: string): void => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        if (fallback && (err.code === 'EAFNOSUPPORT' || err.code === 'EADDRNOTAVAIL')) tryListen(fallback);
        else reject(new ConfigError(`cannot listen on port ${p}: ${err.message}`, { cause: err }));
      });
      server.listen({ port: p, host, ipv6Only: false }, () => resolve());
    };
    tryListen('::', '0.0.0.0');
  });
}

/** Never resolves, and keeps the process alive (a pending promise alone would not). */
const forever = (): Promise<number> =>
  new Promise<number>(() => {
    setInterval(() => undefined, 1 << 30);
  });

async function httpProgram(args: readonly string[], io: Io): Promise<number> {
  const { values } = flags(args, { port: 'value', pod: 'value', ip: 'value' });
  const pod = values['pod'] ?? io.env['POD_NAME'] ?? os.hostname();
  const ip = values['ip'] ?? io.env['POD_IP'] ?? '?';
  const p = port(values['port'], 80);
  const server = http.createServer((req, res) => {
    const client = plainAddress(req.socket.remoteAddress);
    io.out(`${new Date().toISOString()} ${req.method} ${req.url} from ${client}`);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-client-address': client });
    res.end(`${greeting(pod, ip, client)}\n`);
  });
  await listenDualStack(server, p);
  io.out(`http: ${pod} (${ip}) listening on port ${p}`);
  markReady(io);
  return forever();
}

async function echoProgram(args: readonly string[], io: Io): Promise<number> {
  const { values } = flags(args, { port: 'value' });
  const p = port(values['port'], 7);
  const tcp = net.createServer((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await listenDualStack(tcp, p);
  const udp = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(p, '::', () => resolve());
  }).catch(async () => {
    await new Promise<void>((resolve) => {
      const udp4 = dgram.createSocket('udp4');
      udp4.on('message', (msg, rinfo) => udp4.send(msg, rinfo.port, rinfo.address));
      udp4.bind(p, '0.0.0.0', () => resolve());
    });
  });
  udp.on('message', (msg, rinfo) => udp.send(msg, rinfo.port, rinfo.address));
  io.out(`echo: listening on tcp and udp port ${p}`);
  markReady(io);
  return forever();
}

async function sleepProgram(args: readonly string[], io: Io): Promise<number> {
  const what = args[0] ?? 'infinity';
  markReady(io);
  if (what === 'infinity') return forever();
  const seconds = Number(what);
  if (!Number.isFinite(seconds) || seconds < 0) throw new ConfigError(`sleep: not a number of seconds: "${what}"`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return 0;
}

/** One HTTP GET: resolves with status and body, rejects on network errors/timeouts. */
export function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs, autoSelectFamily: true } as http.RequestOptions, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

async function fetchProgram(args: readonly string[], io: Io): Promise<number> {
  const { values, rest } = flags(args, { every: 'value', timeout: 'value', retries: 'value' });
  const url = rest[0];
  if (!url) throw new ConfigError('fetch: give a URL, e.g. fetch http://10.244.2.2/');
  if (!/^http:\/\//.test(url)) throw new ConfigError(`fetch: only http:// URLs are supported: "${url}"`);
  const timeoutMs = values['timeout'] ? Number(values['timeout']) : 3000;
  const retries = values['retries'] ? Number(values['retries']) : 0;
  const every = values['every'] ? Number(values['every']) : undefined;
  const once = async (): Promise<number> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await httpGet(url, timeoutMs);
        io.out(r.body.trimEnd());
        return r.status >= 200 && r.status < 300 ? 0 : 1;
      } catch (err) {
        if (attempt >= retries) {
          io.out(`fetch ${url}: ${(err as Error).message}`);
          return 1;
        }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  };
  if (every === undefined) return once();
  for (;;) {
    await once();
    await new Promise((r) => setTimeout(r, every * 1000));
  }
}

const PROGRAMS: Record<(typeof PROGRAM_NAMES)[number], (args: readonly string[], io: Io) => Promise<number>> = {
  http: httpProgram,
  echo: echoProgram,
  sleep: sleepProgram,
  fetch: fetchProgram,
};

/** Runs built-in program `name`. Resolves with an exit code (servers never resolve). */
export async function runProgram(name: string, args: readonly string[], io: Io = defaultIo()): Promise<number> {
  const program = (PROGRAMS as Record<string, (a: readonly string[], io: Io) => Promise<number>>)[name];
  if (!program)
    throw new ConfigError(`unknown container program "${name}" (expected one of: ${PROGRAM_NAMES.join(', ')})`);
  return program(args, io);
}
