// A long-lived, slow TCP conversation for the partition test, run inside a namespace with
// `ip netns exec NS node line-echo.mjs ...`:
//   serve PORT                    accept one connection, echo every byte back; print "listening" once
//                                 bound and JSON {bytes} when the peer ends
//   talk HOST PORT LINES EVERY_MS send LINES numbered lines, one every EVERY_MS, then wait (up to 20 s)
//                                 until every byte is echoed; print JSON {sent, echoed, same, maxGapMs}
//                                 where maxGapMs is the longest wait between two echoed chunks
import net from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve') {
  const server = net.createServer((sock) => {
    let bytes = 0;
    sock.on('data', (d) => {
      bytes += d.length;
      sock.write(d);
    });
    sock.on('end', () => {
      process.stdout.write(JSON.stringify({ bytes }) + '\n');
      sock.end();
      server.close();
    });
    sock.on('error', (e) => process.stderr.write(String(e) + '\n'));
  });
  server.listen(Number(args[0]), '0.0.0.0', () => process.stdout.write('listening\n'));
  setTimeout(() => process.exit(3), 60_000).unref();
} else if (mode === 'talk') {
  const [host, port, lines, everyMs] = [args[0], Number(args[1]), Number(args[2]), Number(args[3])];
  let sentText = '';
  let sentLines = 0;
  const echoed = [];
  let echoedLen = 0;
  let last = 0;
  let maxGapMs = 0;
  const finish = (code) => {
    const got = Buffer.concat(echoed).toString('latin1');
    process.stdout.write(
      JSON.stringify({ sent: sentText.length, echoed: got.length, same: got === sentText, maxGapMs }) + '\n',
    );
    process.exit(code);
  };
  const sock = net.connect(port, host, () => {
    last = Date.now();
    let i = 0;
    const timer = setInterval(() => {
      const line = `line ${i} ${'x'.repeat(40)}\n`;
      sentText += line;
      sock.write(line);
      sentLines = ++i;
      if (i === lines) {
        clearInterval(timer);
        setTimeout(() => finish(4), 20_000).unref();
      }
    }, everyMs);
  });
  sock.on('data', (d) => {
    const now = Date.now();
    if (now - last > maxGapMs) maxGapMs = now - last;
    last = now;
    echoed.push(d);
    echoedLen += d.length;
    if (sentLines === lines && echoedLen === sentText.length) {
      sock.end();
      finish(0);
    }
  });
  sock.on('error', (e) => {
    process.stderr.write(String(e) + '\n');
    finish(2);
  });
} else {
  process.stderr.write('usage: serve PORT | talk HOST PORT LINES EVERY_MS\n');
  process.exit(2);
}
