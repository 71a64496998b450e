// The built-in agnhost (registry.k8s.io/e2e-test-images/agnhost): the subcommands Kubernetes' network
// tests use, with agnhost's flags, defaults, outputs and exit codes (test/images/agnhost in kubernetes):
//   netexec [--http-port 8080] [--udp-port 8081|-1]   HTTP /, /clientip, /echo?msg=&code=, /exit?code=,
//       /healthz, /hostname, /hostName, /shell?cmd=, /shutdown; UDP "hostname", "echo MSG", "clientip"
//   serve-hostname [--tcp] [--udp] [--http=true] [--close] [--port 9376]
//   connect HOST:PORT [--timeout D] [--protocol tcp|udp]  exit 0, or 1 with TIMEOUT / REFUSED / DNS: / OTHER:
//   pause                                              waits for SIGTERM/SIGINT, exits 0
// runAgnhost resolves with an exit code (servers never resolve); bad flags print a line and give 1.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { ConfigError } from '../../util/errors.js';
import { parseGoFlags } from './goflags.js';

export interface AgnhostIo {
  out: (text: string) => void;
  err: (text: string) => void;
  onSignal: (handler: (sig: NodeJS.Signals) => void) => void;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** Go's log package prefix: "2006/01/02 15:04:05 ". */
function goLog(io: AgnhostIo, msg: string): void {
  const d = new Date();
  const date = `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())}`;
  io.err(`${date} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${msg}\n`);
}

const forever = (): Promise<number> => new Promise(() => setInterval(() => undefined, 1 << 30));

const remote = (sock: net.Socket): string => {
  const a = (sock.remoteAddress ?? '').replace(/^::ffff:/, '');
  return net.isIPv6(a) ? `[${a}]:${sock.remotePort}` : `${a}:${sock.remotePort}`;
};

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve());
  });
}

function udpServer(port: number, handle: (msg: string, from: string) => string | undefined): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
    sock.on('message', (buf, rinfo) => {
      const a = rinfo.address.replace(/^::ffff:/, '');
      const reply = handle(buf.toString('utf8').trim(), net.isIPv6(a) ? `[${a}]:${rinfo.port}` : `${a}:${rinfo.port}`);
      if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
    });
    sock.once('error', reject);
    sock.bind(port, '::', () => resolve(sock));
  });
}

async function netexec(argv: readonly string[], io: AgnhostIo): Promise<number> {
  const { values } = parseGoFlags(argv, {
    'http-port': { kind: 'int', default: 8080 },
    'udp-port': { kind: 'int', default: 8081 },
    'sctp-port': { kind: 'int', default: -1 },
    'http-override': { kind: 'string', default: '' },
    'udp-listen-addresses': { kind: 'string', default: '' },
  });
  const httpPort = values['http-port'] as number;
  const udpPort = values['udp-port'] as number;
  let udpReady = udpPort === -1;
  const hostname = os.hostname();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = (k: string): string => url.searchParams.get(k) ?? '';
    switch (url.pathname) {
      case '/clientip':
        goLog(io, 'GET /clientip');
        res.end(remote(req.socket));
        return;
      case '/echo': {
        goLog(io, `GET /echo?msg=${q('msg')}&code=${q('code')}`);
        if (q('code') !== '') res.statusCode = Number(q('code'));
        res.end(q('msg'));
        return;
      }
      case '/healthz':
        goLog(io, 'GET /healthz');
        res.statusCode = udpReady ? 200 : 412;
        res.end();
        return;
      case '/hostname':
      case '/hostName':
        goLog(io, `GET ${url.pathname}`);
        res.end(hostname);
        return;
      case '/shell': {
        const cmd = q('shellCommand') || q('cmd');
        goLog(io, `GET /shell?cmd=${cmd}`);
        execFile('/bin/sh', ['-c', cmd], (err, stdout, stderr) => {
          const output: Record<string, string> = {};
          if (stdout || stderr) output['output'] = `${stdout}${stderr}`;
          if (err) output['error'] = `exit status ${err.code ?? 1}`;
          res.end(JSON.stringify(output));
        });
        return;
      }
      case '/exit':
      case '/shutdown': {
        const code = url.pathname === '/exit' && q('code') !== '' ? Number(q('code')) : 0;
        goLog(io, `GET ${url.pathname}`);
        res.end();
        setTimeout(() => process.exit(code), 10);
        return;
      }
      default:
        goLog(io, 'GET /');
        res.end(`NOW: ${new Date().toString()}`);
    }
  });
  if (udpPort !== -1) {
    await udpServer(udpPort, (msg, from) => {
      goLog(io, `UDP request: ${msg}`);
      if (msg === 'hostname' || msg === 'hostName') return hostname;
      if (msg.startsWith('echo ')) return msg.slice(5);
      if (msg === 'clientip') return from;
      return undefined;
    });
    udpReady = true;
  }
  await listen(server, httpPort);
  goLog(io, `Started HTTP server on port ${httpPort}`);
  if (udpPort !== -1) goLog(io, `Started UDP server on port ${udpPort}`);
  return forever();
}

async function serveHostname(argv: readonly string[], io: AgnhostIo): Promise<number> {
  const { values } = parseGoFlags(argv, {
    tcp: { kind: 'bool', default: false },
    udp: { kind: 'bool', default: false },
    http: { kind: 'bool', default: true },
    close: { kind: 'bool', default: false },
    port: { kind: 'int', default: 9376 },
  });
  const port = values['port'] as number;
  if (values['http'] && (values['tcp'] || values['udp'])) {
    goLog(io, "Can't server TCP/UDP mode and HTTP mode at the same time");
    return 1;
  }
  const hostname = os.hostname();
  if (values['tcp']) {
    await listen(
      net.createServer((s) => {
        goLog(io, `TCP request from ${remote(s)}`);
        s.on('error', () => undefined);
        s.end(hostname);
      }),
      port,
    );
  }
  if (values['udp']) {
    await udpServer(port, (_msg, from) => {
      goLog(io, `UDP request from ${from}`);
      return hostname;
    });
  }
  if (values['http']) {
    await listen(
      http.createServer((req, res) => {
        goLog(io, `HTTP request from ${remote(req.socket)}`);
        if (values['close']) res.setHeader('Connection', 'close');
        res.end(hostname);
      }),
      port,
    );
  }
  goLog(io, `Serving on port ${port}.`);
  io.onSignal((sig) => {
    goLog(io, `Shutting down after receiving signal: ${sig === 'SIGTERM' ? 'terminated' : 'interrupt'}.`);
    goLog(io, 'Awaiting pod deletion.');
    setTimeout(() => process.exit(0), 60_000);
  });
  return forever();
}

function connect(argv: readonly string[], io: AgnhostIo): Promise<number> {
  const { values, args } = parseGoFlags(argv, {
    timeout: { kind: 'duration', default: 0 },
    protocol: { kind: 'string', default: 'tcp' },
    'udp-data': { kind: 'string', default: 'hostname' },
    'sctp-data': { kind: 'string', default: 'hostname' },
  });
  if (args.length !== 1) {
    io.err(`Error: accepts 1 arg(s), received ${args.length}\n`);
    return Promise.resolve(1);
  }
  const dest = args[0];
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(dest);
  if (!m) {
    io.err(`UNKNOWN: address ${dest}: missing port in address\n`);
    return Promise.resolve(1);
  }
  const host = m[1] ?? m[2];
  const port = Number(m[3]);
  const timeoutMs = values['timeout'] as number;
  const protocol = values['protocol'] as string;
  if (protocol !== 'tcp' && protocol !== '' && protocol !== 'udp') {
    io.err(`Unsupported protocol\n${protocol}`);
    return Promise.resolve(1);
  }
  if (!net.isIP(host) && host !== 'localhost') {
    io.err(`DNS: lookup ${host}: no such host\n`);
    return Promise.resolve(1);
  }
  return new Promise((resolve) => {
    const fail = (msg: string): void => {
      io.err(msg);
      resolve(1);
    };
    if (protocol === 'udp') {
      const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              sock.close();
              fail(`TIMEOUT: read udp ${dest}: i/o timeout\n`);
            }, timeoutMs)
          : undefined;
      sock.on('message', () => {
        clearTimeout(timer);
        sock.close();
        resolve(0);
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        sock.close();
        fail(
          err.code === 'ECONNREFUSED' ? `REFUSED: read udp ${dest}: connection refused\n` : `UNKNOWN: ${err.message}\n`,
        );
      });
      sock.connect(port, host, () => sock.send(`${values['udp-data']}\n`));
      return;
    }
    const s = net.connect({ host, port });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            s.destroy();
            fail('TIMEOUT\n');
          }, timeoutMs)
        : undefined;
    s.on('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(0);
    });
    s.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(err.code === 'ECONNREFUSED' ? 'REFUSED\n' : `OTHER: dial tcp ${dest}: ${err.message}\n`);
    });
  });
}

function pause(io: AgnhostIo): Promise<number> {
  io.err('Paused\n');
  return new Promise((resolve) => {
    io.onSignal(() => {
      io.err('Shutting down\n');
      resolve(0);
    });
    setInterval(() => undefined, 1 << 30);
  });
}

export const AGNHOST_SUBCOMMANDS = ['netexec', 'serve-hostname', 'connect', 'pause'];

export async function runAgnhost(argv: readonly string[], io: AgnhostIo): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'netexec':
        return await netexec(rest, io);
      case 'serve-hostname':
        return await serveHostname(rest, io);
      case 'connect':
        return await connect(rest, io);
      case 'pause':
        return await pause(io);
      default:
        io.err(
          `Error: unknown command "${sub ?? ''}" for "agnhost" ` +
            `(this lab's agnhost has: ${AGNHOST_SUBCOMMANDS.join(', ')})\n`,
        );
        return 1;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`Error: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
