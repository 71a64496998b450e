// `node dist/bench/dns-queries.js --server 10.96.0.10 [--count 1000] [--window 32] [--timeout-ms 2000]
//  NAME...`: sends COUNT A queries over UDP (the NAMEs in turn, at most WINDOW in flight, one socket),
// checks every answer (same id and question, NOERROR with an A record), and prints one JSON line:
// { queries, answered, failed, seconds, qps }. Run it inside a pod (`flannelette lab exec POD -- node
// …/dist/bench/dns-queries.js …`) to measure cluster DNS as pods see it. Exit 0 when every query was
// answered correctly, 1 otherwise, 2 on bad arguments.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

interface Args {
  server: string;
  port: number;
  count: number;
  window: number;
  timeoutMs: number;
  names: string[];
}

function parseArgs(argv: string[]): Args {
  const a: Args = { server: '', port: 53, count: 1000, window: 32, timeoutMs: 2000, names: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) throw new Error(`${k} needs a positive integer`);
      return v;
    };
    if (k === '--server') a.server = argv[++i] ?? '';
    else if (k === '--port') a.port = num();
    else if (k === '--count') a.count = num();
    else if (k === '--window') a.window = num();
    else if (k === '--timeout-ms') a.timeoutMs = num();
    else if (k.startsWith('--')) throw new Error(`unknown flag ${k}`);
    else a.names.push(k);
  }
  if (!a.server || a.names.length === 0) throw new Error('usage: dns-queries --server IP [--count N] NAME...');
  return a;
}

async function main(a: Args): Promise<boolean> {
  const sock = dgram.createSocket('udp4');
  const pending = new Map<number, { name: string; timer: NodeJS.Timeout; resolve: (ok: boolean) => void }>();
  sock.on('message', (msg) => {
    let d: ReturnType<typeof dnsPacket.decode>;
    try {
      d = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const p = pending.get(d.id ?? -1);
    if (!p) return;
    pending.delete(d.id!);
    clearTimeout(p.timer);
    const ok =
      (msg.readUInt16BE(2) & 0xf) === 0 &&
      d.questions?.[0]?.name.toLowerCase() === p.name.toLowerCase() &&
      (d.answers ?? []).some((x) => x.type === 'A');
    p.resolve(ok);
  });
  let nextId = 1;
  const ask = (name: string): Promise<boolean> =>
    new Promise((resolve) => {
      const id = nextId++ & 0xffff;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(false);
      }, a.timeoutMs);
      pending.set(id, { name, timer, resolve });
      sock.send(
        dnsPacket.encode({ id, type: 'query', flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] }),
        a.port,
        a.server,
      );
    });
  let sent = 0;
  let answered = 0;
  let failed = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(a.window, a.count) }, async () => {
      while (sent < a.count) {
        const name = a.names[sent++ % a.names.length];
        if (await ask(name)) answered++;
        else failed++;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sock.close();
  process.stdout.write(
    JSON.stringify({
      queries: a.count,
      answered,
      failed,
      seconds: Number(seconds.toFixed(4)),
      qps: Math.round(a.count / seconds),
    }) + '\n',
  );
  return failed === 0;
}

let args: Args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`dns-queries: ${(err as Error).message}\n`);
  process.exit(2);
}
main(args).then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    process.stderr.write(`dns-queries: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
