// Entry point of the kubelet's built-in container programs: `node programs/main.js NAME ARGS...` with
// NAME agnhost (see agnhost.ts), coredns (coredns.ts), nginx-standin, or one of the lab's programs (builtin.ts: http, echo,
// fetch, sleep). Exits with the program's code; a bad argument prints one line and exits 2 (agnhost: 1).
import { oneLine } from '../../util/errors.js';
import { runAgnhost } from './agnhost.js';
import { runProgram } from './builtin.js';
import { runCoreDns } from './coredns.js';
import { runNginxStandin } from './nginx-standin.js';

const [name, ...args] = process.argv.slice(2);
const done = (code: number): never => process.exit(code);
const failed = (err: unknown): never => {
  process.stderr.write(`${name}: ${oneLine(err)}\n`);
  return process.exit(2);
};

if (name === 'agnhost') {
  runAgnhost(args, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    onSignal: (handler) => {
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => handler(sig));
    },
  }).then(done, failed);
} else if (name === 'coredns') {
  runCoreDns(args, (handler) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, handler);
  }).then(done, failed);
} else {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
  const run =
    name === 'nginx-standin'
      ? runNginxStandin((line) => process.stdout.write(`${line}\n`))
      : runProgram(name ?? '', args);
  run.then(done, failed);
}
