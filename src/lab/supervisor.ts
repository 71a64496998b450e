// The lab supervisor (`flannelette lab supervise --name LAB`): runs the children listed in the lab's
// supervisor spec file (control plane, node agents, kubelets), restarts each one that exits with an
// exponential back-off (base, doubling, capped; reset once a child has run `resetAfterMs`), counts
// restarts, and keeps a status file (pid, restarts, state per child) current. SIGHUP re-reads the
// spec: children no longer listed (or marked stopped) are stopped, new ones started. `stop()`
// (SIGTERM in the CLI) stops every child: SIGTERM, a grace period, SIGKILL.
// Children in a network namespace run as `ip netns exec NS argv…` (ip execs, so the pid is the
// program's). With `startConcurrency` in the spec, first starts go through a StartGate (start-gate.ts):
// at most that many children start at once, each holding its slot until its `readyPath` exists (restarts
// are not gated). Spec and status files are JSON; status writes are atomic (rename). Throws only from
// the constructor's first spec read (ConfigError for an unreadable spec).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError } from '../util/errors.js';
import { StartGate } from './start-gate.js';

export interface ChildSpec {
  /** Unique: `controlplane`, `agent/<node>`, `kubelet/<node>`. */
  name: string;
  argv: string[];
  netns?: string;
  logFile: string;
  env?: Record<string, string>;
  /** Listed but not to be run (a stopped node). */
  stopped?: boolean;
  /** A file (e.g. the child's socket) that exists once the child is up: ends its start-gate slot. */
  readyPath?: string;
  /** Scheduling priority (nice, -20…19) set once the child is spawned: the control plane runs at -5, so a
   * hundred kubelets retrying against it cannot starve it of the CPU it needs to answer them. */
  nice?: number;
}

export interface SupervisorSpec {
  lab: string;
  children: ChildSpec[];
  /** At most this many first starts at once (default: no limit). Read from the first spec only. */
  startConcurrency?: number;
}

export interface ChildStatus {
  pid?: number;
  restarts: number;
  state: 'running' | 'backoff' | 'stopped';
  startedAt?: number;
  lastExit?: string;
}

export interface SupervisorStatus {
  pid: number;
  updatedAt: number;
  children: Record<string, ChildStatus>;
}

export interface SupervisorOptions {
  specFile: string;
  statusFile: string;
  /** First restart delay (default 250 ms); doubles per consecutive failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  resetAfterMs?: number;
  graceMs?: number;
  log?: (line: string) => void;
}

interface Running {
  spec: ChildSpec;
  proc?: ChildProcess;
  status: ChildStatus;
  failures: number;
  timer?: NodeJS.Timeout;
  exited?: Promise<void>;
  /** Waiting in the start gate. */
  queued?: boolean;
}

/**
 * Sets the nice of a detached child's scheduler autogroup (/proc/PID/autogroup) once the child runs in its
 * own session (setsid happens in the child after spawn returns: written earlier, it would go to ours).
 * Tries for about a second; a kernel without autogroups is fine.
 */
function setAutogroupNice(pid: number, nice: number, tries = 20): void {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const session = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
    if (session !== pid) {
      if (tries > 0) setTimeout(() => setAutogroupNice(pid, nice, tries - 1), 50).unref();
      return;
    }
    fs.writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    // gone, or no autogroups (CONFIG_SCHED_AUTOGROUP off): the process nice is all there is
  }
}

export function readSpec(file: string): SupervisorSpec {
  try {
    const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as SupervisorSpec;
    if (!spec || !Array.isArray(spec.children)) throw new Error('no children list');
    return spec;
  } catch (err) {
    throw new ConfigError(`cannot read supervisor spec ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function writeSpec(file: string, spec: SupervisorSpec): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(spec, null, 2));
  fs.renameSync(tmp, file);
}

export function readSupervisorStatus(file: string): SupervisorStatus | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SupervisorStatus;
  } catch {
    return undefined;
  }
}

export class Supervisor {
  private readonly children = new Map<string, Running>();
  private stopping = false;
  private readonly base: number;
  private readonly max: number;
  private readonly resetAfter: number;
  private readonly grace: number;
  private readonly log: (line: string) => void;
  private gate: StartGate | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    this.base = opts.baseBackoffMs ?? 250;
    this.max = opts.maxBackoffMs ?? 10_000;
    this.resetAfter = opts.resetAfterMs ?? 10_000;
    this.grace = opts.graceMs ?? 5_000;
    this.log = opts.log ?? (() => undefined);
    const spec = readSpec(opts.specFile);
    if (spec.startConcurrency) this.gate = new StartGate({ limit: spec.startConcurrency });
    this.apply(spec);
  }

  /** Re-reads the spec file (SIGHUP). A spec that cannot be read changes nothing. */
  reload(): void {
    try {
      this.apply(readSpec(this.opts.specFile));
    } catch (err) {
      this.log(`reload failed: ${(err as Error).message}`);
    }
  }

  status(): SupervisorStatus {
    const children: Record<string, ChildStatus> = {};
    for (const [name, r] of this.children) children[name] = { ...r.status };
    return { pid: process.pid, updatedAt: Date.now(), children };
  }

  private apply(spec: SupervisorSpec): void {
    const wanted = new Map(spec.children.map((c) => [c.name, c]));
    for (const [name, r] of this.children) {
      const next = wanted.get(name);
      if (!next || next.stopped) {
        void this.stopChild(r).then(() => {
          if (!next) this.children.delete(name);
          this.writeStatus();
        });
      } else r.spec = next;
    }
    for (const [name, c] of wanted) {
      const r = this.children.get(name);
      if (c.stopped) {
        if (!r) this.children.set(name, { spec: c, status: { restarts: 0, state: 'stopped' }, failures: 0 });
        continue;
      }
      if (!r) {
        const fresh: Running = { spec: c, status: { restarts: 0, state: 'stopped' }, failures: 0 };
        this.children.set(name, fresh);
        this.firstStart(fresh);
      } else if (r.status.state === 'stopped' && !r.proc && !r.queued) {
        // a stopped node started again: a fresh start, its restart count kept
        r.failures = 0;
        this.start(r);
      }
    }
    this.writeStatus();
  }

  /** Starts a new child, through the start gate when there is one. */
  private firstStart(r: Running): void {
    const gate = this.gate;
    if (!gate) return this.start(r);
    r.queued = true;
    gate.enqueue({
      start: () => {
        r.queued = false;
        if (this.stopping || r.spec.stopped || r.proc || this.children.get(r.spec.name) !== r) return undefined;
        this.start(r);
        return r.proc ? r.exited : undefined;
      },
      ready: () => (r.spec.readyPath ? fs.existsSync(r.spec.readyPath) : true),
    });
  }

  private start(r: Running): void {
    if (this.stopping) return;
    const c = r.spec;
    const argv = c.netns ? ['ip', 'netns', 'exec', c.netns, ...c.argv] : c.argv;
    let fd: number | undefined;
    try {
      fd = fs.openSync(c.logFile, 'a');
      // A child with a priority gets a session of its own (detached: setsid), hence its own scheduler
      // autogroup (kernel.sched_autogroup_enabled): nice only orders processes within one autogroup,
      // and in the lab's the control plane at -5 shared the CPU with 200 agents and kubelets (it got
      // 0.3 s of CPU in 10 s at load 90 and stopped answering). The group's nice is set too.
      const detached = c.nice !== undefined;
      const proc = spawn(argv[0], argv.slice(1), {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, ...c.env },
        detached,
      });
      r.proc = proc;
      r.status.pid = proc.pid;
      if (c.nice !== undefined && proc.pid !== undefined) {
        try {
          os.setPriority(proc.pid, c.nice);
        } catch (err) {
          this.log(`cannot set the priority of ${c.name}: ${(err as Error).message}`);
        }
        setAutogroupNice(proc.pid, c.nice);
      }
      r.status.state = 'running';
      r.status.startedAt = Date.now();
      r.exited = new Promise((resolve) => {
        proc.on('error', (err) => {
          r.status.lastExit = `could not start: ${err.message}`;
        });
        proc.on('close', (code, signal) => {
          resolve();
          this.onExit(r, proc, code, signal);
        });
      });
      this.log(`started ${c.name} pid ${proc.pid}`);
    } catch (err) {
      r.status.lastExit = `could not start: ${(err as Error).message}`;
      this.scheduleRestart(r);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    this.writeStatus();
  }

  private onExit(r: Running, proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (r.proc !== proc) return;
    r.proc = undefined;
    r.status.pid = undefined;
    r.status.lastExit = signal ? `killed by ${signal}` : `exited with ${code}`;
    this.log(`${r.spec.name} ${r.status.lastExit}`);
    if (this.stopping || r.status.state === 'stopped') {
      r.status.state = 'stopped';
      this.writeStatus();
      return;
    }
    const ranFor = Date.now() - (r.status.startedAt ?? 0);
    r.failures = ranFor >= this.resetAfter ? 1 : r.failures + 1;
    this.scheduleRestart(r);
  }

  private scheduleRestart(r: Running): void {
    const delay = Math.min(this.max, this.base * 2 ** Math.max(0, r.failures - 1));
    r.status.state = 'backoff';
    this.writeStatus();
    r.timer = setTimeout(() => {
      r.timer = undefined;
      if (this.stopping || r.status.state !== 'backoff') return;
      r.status.restarts++;
      this.start(r);
    }, delay);
  }

  private async stopChild(r: Running): Promise<void> {
    if (r.timer) clearTimeout(r.timer);
    r.timer = undefined;
    r.status.state = 'stopped';
    const proc = r.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), this.grace);
    await r.exited;
    clearTimeout(killer);
  }

  /** Stops every child (SIGTERM, grace, SIGKILL) and resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.gate?.close();
    await Promise.all([...this.children.values()].map((r) => this.stopChild(r)));
    this.writeStatus();
  }

  private writeStatus(): void {
    try {
      const tmp = `${this.opts.statusFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.status(), null, 2));
      fs.renameSync(tmp, this.opts.statusFile);
    } catch (err) {
      this.log(`cannot write status: ${(err as Error).message}`);
    }
  }
}
