// Entry point of the `flannel` CNI plugin executable (bin/cni/flannel runs this file; `flannelette cni`
// runs the same function): reads the configuration from stdin and the CNI_* variables from the
// environment, prints the result or the spec's error JSON on stdout, the log on stderr, and sets the
// exit status (flannel-plugin.ts). Loads nothing but src/cni/, so each invocation starts fast.
import { runFlannelPlugin } from './flannel-plugin.js';

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs one invocation with this process's stdio; resolves with the exit status. */
export async function cniMain(): Promise<number> {
  const out = await runFlannelPlugin(process.env, await readStdin());
  if (out.stdout) process.stdout.write(out.stdout + '\n');
  if (out.stderr) process.stderr.write(out.stderr);
  return out.code;
}
