// Network namespace helpers for integration tests (root only).
//
// How tests run code "inside" a namespace — two ways, pick per need:
//  1. ns.exec(cmd, args): runs `ip netns exec <name> cmd args…` as a child process (iproute2, ping,
//     socat, a whole node process via `node dist/…`). Rejects with the command's stderr.
//  2. ns.run(fn) / withNetns(name, fn) from src/sys/netns.ts: the native addon moves the calling
//     thread into the namespace with setns(2) for the synchronous duration of fn, then back. Any fd
//     opened inside (openLinuxTun, openNativeUdpUnderlay) lives in the namespace for its whole life,
//     so the test process itself reads/writes the TUN device and sockets there, with no child
//     process and no compile step. node:dgram sockets bind asynchronously: they do NOT work with
//     ns.run — use the native underlay or ns.exec.
//
// Names: `${prefix}-${random}`; prefix must start with "flt-". Every namespace created here is
// remembered and deleted by cleanupNetns() (call it in afterAll) and, as a last resort, when the
// process exits. cleanupNetns(prefix) also removes leftovers whose name starts with `prefix`
// (use a prefix unique to your test file so you never touch another run's namespaces).
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { withNetns } from '../../src/sys/netns.js';

const execFileP = promisify(execFile);

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface Netns {
  readonly name: string;
  /** Runs `ip netns exec <name> cmd ...args`; rejects with an Error carrying stderr. */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Runs `ip -n <name> ...args` (an iproute2 command in the namespace). */
  ip(...args: string[]): Promise<ExecResult>;
  /** Runs the synchronous fn with this thread inside the namespace (see the header). */
  run<T>(fn: () => T): T;
  /** Deletes the namespace (idempotent). */
  del(): Promise<void>;
}

const created = new Set<string>();
let exitHookInstalled = false;

/** Runs a command, rejecting with `cmd args: stderr` when it fails. */
export async function run(cmd: string, args: string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  try {
    const { stdout, stderr } = await execFileP(cmd, args, { timeout: opts.timeoutMs ?? 30_000, encoding: 'utf8' });
    return { stdout, stderr };
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    const detail = (e.stderr ?? '').trim() || e.message || String(err);
    throw new Error(`${cmd} ${args.join(' ')}: ${detail}`, { cause: err });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const name of created) {
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

/** Creates `${prefix}-${random}` with its loopback up. prefix must start with "flt-". */
export async function createNetns(prefix: string): Promise<Netns> {
  if (!/^flt-[a-z0-9-]{0,20}$/.test(prefix)) throw new Error(`netns prefix must match flt-[a-z0-9-]{0,20}, got "${prefix}"`);
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  installExitHook();
  await run('ip', ['netns', 'add', name]);
  created.add(name);
  const ns: Netns = {
    name,
    exec: (cmd, args, opts) => run('ip', ['netns', 'exec', name, cmd, ...args], opts),
    ip: (...args) => run('ip', ['-n', name, ...args]),
    run: (fn) => withNetns(name, fn),
    del: async () => {
      if (!created.has(name)) return;
      created.delete(name);
      await run('ip', ['netns', 'del', name]).catch(() => undefined);
    },
  };
  await ns.ip('link', 'set', 'lo', 'up');
  return ns;
}

/**
 * Creates a veth pair between two namespaces: ifA in nsA with addrA, ifB in nsB with addrB
 * (addresses in CIDR form, e.g. "10.10.0.1/24"; '' for none), both up. Nothing touches the root
 * namespace: the pair is created inside nsA and its peer moved to nsB.
 */
export async function createVethPair(nsA: Netns, ifA: string, addrA: string, nsB: Netns, ifB: string, addrB: string): Promise<void> {
  await nsA.ip('link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB.name);
  if (addrA) await nsA.ip('addr', 'add', addrA, 'dev', ifA);
  if (addrB) await nsB.ip('addr', 'add', addrB, 'dev', ifB);
  await nsA.ip('link', 'set', ifA, 'up');
  await nsB.ip('link', 'set', ifB, 'up');
}

/**
 * Deletes every namespace this process created and, if `prefix` is given, every existing namespace
 * whose name starts with it (leftovers of a crashed run). Never throws.
 */
export async function cleanupNetns(prefix?: string): Promise<void> {
  const names = new Set(created);
  if (prefix && /^flt-/.test(prefix)) {
    try {
      const { stdout } = await run('ip', ['netns', 'list']);
      for (const line of stdout.split('\n')) {
        const name = line.trim().split(/\s+/)[0];
        if (name && name.startsWith(prefix)) names.add(name);
      }
    } catch {
      // ip netns list failed: delete what we know
    }
  }
  for (const name of names) {
    created.delete(name);
    await run('ip', ['netns', 'del', name]).catch(() => undefined);
  }
}
