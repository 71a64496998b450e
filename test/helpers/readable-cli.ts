// A copy of the built CLI that any user can read, for tests that run the CLI as another user
// (e.g. `nobody` against a root-only control socket). The checkout itself may live under a private
// directory (a `mktemp -d` clone is 0700), where another user cannot even load bin/flannelette.js;
// the copy goes to a fresh world-readable directory under the system temp dir with what the CLI
// loads at run time: package.json, bin/, dist/src/, the native addon and the production
// dependencies (`npm ls --omit=dev`). remove() deletes it.
// Throws when the copy cannot be made, or when `user` still cannot load it (then the temp dir
// itself is private: set TMPDIR to a directory every user can enter).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './cluster.js';

export interface ReadableCli {
  /** The copy's bin/flannelette.js. */
  cli: string;
  dir: string;
  remove(): void;
}

/** Top-level packages (`node_modules/x`, `node_modules/@s/x`) the CLI needs at run time. */
function productionPackages(): string[] {
  const out = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const top = /^node_modules\/(@[^/]+\/)?[^/]+$/;
  return [
    ...new Set(
      out
        .split('\n')
        .map((p) => path.relative(ROOT, p.trim()))
        .filter((rel) => top.test(rel)),
    ),
  ].sort();
}

export function makeReadableCli(user: string): ReadableCli {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-cli-copy-'));
  const remove = (): void => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const copy = (rel: string): void =>
      fs.cpSync(path.join(ROOT, rel), path.join(dir, rel), { recursive: true, dereference: true });
    for (const rel of [
      'package.json',
      'bin',
      path.join('dist', 'src'),
      path.join('build', 'Release', 'flannelette.node'),
      ...productionPackages(),
    ])
      copy(rel);
    // mkdtemp makes the directory 0700; open it and everything below for reading
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    const probe = spawnSync(
      'setpriv',
      [
        `--reuid=${user}`,
        '--regid=nogroup',
        '--clear-groups',
        process.execPath,
        path.join(dir, 'bin', 'flannelette.js'),
        '--help',
      ],
      {
        cwd: '/',
        encoding: 'utf8',
      },
    );
    if (probe.status !== 0) {
      throw new Error(
        `${user} cannot run the CLI copy in ${dir} (is ${os.tmpdir()} private?): ${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]}`,
      );
    }
    return { cli: path.join(dir, 'bin', 'flannelette.js'), dir, remove };
  } catch (err) {
    remove();
    throw err;
  }
}
