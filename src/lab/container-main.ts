// Entry point for a built-in container program started by the lab:
// `node dist/src/lab/container-main.js PROGRAM [ARGS...]`. Lighter than the full CLI (no commander,
// no logger), so many containers start quickly. Exits with the program's code; SIGTERM/SIGINT exit 0;
// a bad argument prints one line and exits 2.
import { oneLine } from '../util/errors.js';
import { runProgram } from '../kubelet/programs/builtin.js';

for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));

const [name, ...args] = process.argv.slice(2);
runProgram(name ?? '', args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`flannelette container: ${oneLine(err)}\n`);
    process.exit(2);
  },
);
