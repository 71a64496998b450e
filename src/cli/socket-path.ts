// Finds the control socket of a running node from what the user typed: a path to a socket, a node
// name under --state-dir, or a node of a lab (`<state-dir>/labs/<lab>/run/<node>.sock`; `lab/node`
// names one when several labs have a node of that name).
// With no name, the only node running. Throws ConfigError naming what was not found.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, PermissionError } from '../util/errors.js';

function socketsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.sock'))
      .map((f) => path.join(dir, f));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM')
      throw new PermissionError(`permission denied reading ${dir} (run as root)`);
    return [];
  }
}

export function allNodeSockets(stateDir: string): string[] {
  const labs = path.join(stateDir, 'labs');
  let labDirs: string[] = [];
  try {
    labDirs = fs.readdirSync(labs).map((d) => path.join(labs, d, 'run'));
  } catch {
    // no labs
  }
  return [...socketsIn(stateDir), ...labDirs.flatMap(socketsIn)];
}

export function resolveNodeSocket(stateDir: string, node: string | undefined): string {
  if (node && (node.endsWith('.sock') || node.startsWith('/'))) return node;
  const all = allNodeSockets(stateDir);
  if (!node) {
    if (all.length === 1) return all[0];
    if (all.length === 0) throw new ConfigError(`no running node found under ${stateDir}`);
    throw new ConfigError(
      `several nodes are running; name one of: ${all.map((s) => path.basename(s, '.sock')).join(', ')}`,
    );
  }
  if (node.includes('/')) {
    const [lab, name] = node.split('/', 2);
    const p = path.join(stateDir, 'labs', lab, 'run', `${name}.sock`);
    if (fs.existsSync(p)) return p;
    throw new ConfigError(`no running node "${name}" in lab "${lab}"`);
  }
  const matches = all.filter((s) => path.basename(s, '.sock') === node);
  if (matches.length === 1) return matches[0];
  if (matches.length > 1)
    throw new ConfigError(
      `"${node}" runs in several labs; say which, e.g. ${path.basename(path.dirname(path.dirname(matches[0])))}/${node}`,
    );
  throw new ConfigError(`no running node named "${node}" under ${stateDir}`);
}
