// UDP bursts for integration tests, run inside a namespace with `ip netns exec NS node udp-burst.mjs ...`:
//   recv PORT COUNT   print "listening", then, after COUNT datagrams (or 10 s), JSON {count, ok}:
//                     ok = how many carried the payload send() builds for their index
//   send HOST PORT COUNT SIZE   COUNT datagrams of SIZE bytes in bursts of 20, 5 ms apart
import dgram from 'node:dgram';

const [mode, ...args] = process.argv.slice(2);
const payload = (i, size) => {
  const b = Buffer.alloc(size);
  for (let k = 0; k < size; k++) b[k] = (i * 7 + k * 3) & 0xff;
  b.writeUInt32BE(i, 0);
  return b;
};

if (mode === 'recv') {
  const [port, count] = [Number(args[0]), Number(args[1])];
  const s = dgram.createSocket('udp4');
  let n = 0;
  let ok = 0;
  const done = () => {
    process.stdout.write(JSON.stringify({ count: n, ok }) + '\n');
    process.exit(0);
  };
  s.on('message', (m) => {
    n++;
    if (m.length >= 4 && m.equals(payload(m.readUInt32BE(0), m.length))) ok++;
    if (n >= count) done();
  });
  s.bind(port, () => process.stdout.write('listening\n'));
  setTimeout(done, 10_000).unref();
} else if (mode === 'send') {
  const [host, port, count, size] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
  const s = dgram.createSocket('udp4');
  let i = 0;
  const burst = () => {
    for (let k = 0; k < 20 && i < count; k++, i++) s.send(payload(i, size), port, host);
    if (i < count) setTimeout(burst, 5);
    else setTimeout(() => s.close(), 50);
  };
  burst();
}
