// Probe runner for the NetworkPolicy e2e suite, run inside a source pod's network namespace
// (`ip netns exec NS node netpol-probe.mjs JSON`): the built-in agnhost's `connect` (dist/, the same
// code a pod's /agnhost runs) to every target of JSON ([{ip, port, proto, timeoutMs}]) at once, and one
// JSON line of booleans (connected / answered) on stdout, in the targets' order.
import { runAgnhost } from '../../dist/src/kubelet/programs/agnhost.js';

const targets = JSON.parse(process.argv[2] ?? '[]');
const io = { out: () => undefined, err: () => undefined, onSignal: () => undefined };
const results = await Promise.all(
  targets.map(async (t) => {
    const code = await runAgnhost(
      ['connect', `${t.ip}:${t.port}`, `--timeout=${t.timeoutMs}ms`, `--protocol=${t.proto}`],
      io,
    );
    return code === 0;
  }),
);
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
