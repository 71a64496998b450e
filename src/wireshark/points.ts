// The capture points of every node running on this host, as Wireshark sees them: `<node>/<point>`
// for a node started by hand (socket `<stateDir>/<node>.sock`) and `<lab>/<node>/<point>` for a
// node of a lab (socket under the lab's run/ directory). Only sockets that accept a connection
// count as running. Never throws (unreadable directories list nothing).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { controlSocket, labDirs, labPaths, readState } from '../lab/state.js';
import type { CapturePoint } from '../lab/topology.js';

export const DEFAULT_STATE_DIR = '/run/flannelette';

export interface RunningPoint {
  /** The extcap interface value: `lab/node/point` or `node/point`. */
  value: string;
  lab?: string;
  node: string;
  point: CapturePoint;
  socket: string;
  /** A line for Wireshark's interface list. */
  display: string;
}

export interface PointSearch {
  stateDir?: string;
  labRoot?: string;
  /** How long to wait for each socket to accept (default 500 ms). */
  timeoutMs?: number;
}

function answers(socket: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

const POINTS: CapturePoint[] = ['inner', 'outer'];

function describe(point: CapturePoint, where: string): string {
  return point === 'inner'
    ? `${where} inner (pod packets at the TUN device)`
    : `${where} outer (encapsulated UDP on the underlay)`;
}

export async function runningPoints(opts: PointSearch = {}): Promise<RunningPoint[]> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  const root = opts.labRoot ?? path.join(stateDir, 'labs');
  const timeoutMs = opts.timeoutMs ?? 500;
  const candidates: { lab?: string; node: string; socket: string; where: string }[] = [];
  try {
    for (const f of fs.readdirSync(stateDir).sort()) {
      if (f.endsWith('.sock')) {
        const node = f.slice(0, -'.sock'.length);
        candidates.push({ node, socket: path.join(stateDir, f), where: `flannelette node ${node}` });
      }
    }
  } catch {
    // no state dir
  }
  for (const lab of labDirs(root)) {
    const state = readState(lab, root);
    if (!state) continue;
    for (const n of state.topology.nodes) {
      const socket = controlSocket(labPaths(lab, root), n.name);
      if (fs.existsSync(socket))
        candidates.push({
          lab,
          node: n.name,
          socket,
          where: `flannelette lab ${lab}, ${n.name} (${n.publicIp}, ${n.subnet})`,
        });
    }
  }
  const alive = await Promise.all(candidates.map((c) => answers(c.socket, timeoutMs)));
  return candidates
    .filter((_, i) => alive[i])
    .flatMap((c) =>
      POINTS.map((point) => ({
        value: c.lab ? `${c.lab}/${c.node}/${point}` : `${c.node}/${point}`,
        lab: c.lab,
        node: c.node,
        point,
        socket: c.socket,
        display: describe(point, c.where),
      })),
    );
}

/** Parses an interface value (`lab/node/point` or `node/point`); undefined when malformed. */
export function parsePointValue(value: string): { lab?: string; node: string; point: CapturePoint } | undefined {
  const parts = value.split('/');
  const point = parts[parts.length - 1] as CapturePoint;
  if (!POINTS.includes(point) || parts.some((p) => p === '')) return undefined;
  if (parts.length === 2) return { node: parts[0], point };
  if (parts.length === 3) return { lab: parts[0], node: parts[1], point };
  return undefined;
}

/** The control socket of a point value (it need not be running). */
export function socketOfPoint(value: { lab?: string; node: string }, opts: PointSearch = {}): string {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  const root = opts.labRoot ?? path.join(stateDir, 'labs');
  return value.lab ? controlSocket(labPaths(value.lab, root), value.node) : path.join(stateDir, `${value.node}.sock`);
}
