// The kubelet's local door to OS tools (until src/sys/run.ts exists): run a command without a shell,
// and run several ip(8) commands in one process. Every failure becomes a DeviceError whose one-line
// message names the command and quotes the first line of its stderr. Platform code (Linux).
import { execFile } from 'node:child_process';
import { DeviceError } from '../util/errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a command (no shell); rejects with DeviceError when it cannot start or exits non-zero. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 20_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const first = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
          reject(new DeviceError(`${cmd} ${args.join(' ')}: ${first}`, { cause: err }));
        } else resolve({ stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Runs ip(8) commands in one process (`ip [-n NS] -batch -`); stops at the first failure. */
export async function ipBatch(netns: string | undefined, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  const args = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  await run('ip', args, { input: lines.join('\n') + '\n' });
}
