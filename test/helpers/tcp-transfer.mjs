// A tiny TCP transfer tool for integration tests, run inside a namespace with
// `ip netns exec NS node tcp-transfer.mjs ...`:
//   serve PORT [HOST]    accept one connection (on HOST, default 0.0.0.0; "::" for IPv6), print JSON {remote, bytes, sha256} when it ends
//   send HOST PORT BYTES SEED   send BYTES of seeded pseudo-random data, print JSON {bytes, sha256}
import net from 'node:net';
import { createHash } from 'node:crypto';

const [mode, ...args] = process.argv.slice(2);

function seededBlock(seed, size) {
  const block = Buffer.alloc(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    block.writeUInt32LE(s, i);
  }
  return block;
}

if (mode === 'serve') {
  const server = net.createServer((sock) => {
    const hash = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d) => {
      hash.update(d);
      bytes += d.length;
    });
    sock.on('end', () => {
      process.stdout.write(JSON.stringify({ remote: sock.remoteAddress, bytes, sha256: hash.digest('hex') }) + '\n');
      sock.end();
      server.close();
    });
  });
  server.listen(Number(args[0]), args[1] ?? '0.0.0.0', () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(3), 60_000).unref();
} else if (mode === 'send') {
  const [host, port, total, seed] = [args[0], Number(args[1]), Number(args[2]), Number(args[3] ?? 1)];
  const hash = createHash('sha256');
  const sock = net.connect(port, host, () => {
    let sent = 0;
    let n = 0;
    const pump = () => {
      while (sent < total) {
        const block = seededBlock(seed + n++, Math.min(65536, total - sent));
        hash.update(block);
        sent += block.length;
        if (!sock.write(block)) return sock.once('drain', pump);
      }
      sock.end();
    };
    pump();
  });
  sock.on('close', () => process.stdout.write(JSON.stringify({ bytes: total, sha256: hash.digest('hex') }) + '\n'));
  sock.on('error', (e) => {
    process.stderr.write(String(e) + '\n');
    process.exit(2);
  });
} else {
  process.stderr.write('usage: serve PORT | send HOST PORT BYTES SEED\n');
  process.exit(2);
}
