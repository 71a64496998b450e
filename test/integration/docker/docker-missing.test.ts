// "No Docker installed or daemon down" for a Docker lab (`lab up --runtime docker`, topology
// `runtime: docker`): one line naming what is missing, exit 1 (the environment), and nothing made —
// no lab directory, no namespace. A bad runtime value or Docker with --static is bad input (exit 2).
// Needs no Docker: the daemon is a socket nobody listens on, the command is hidden by PATH.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireOrSkip, requireRootOrSkip } from '../../helpers/root.js';
import { built, CLI, LAB_ROOT, netnsOf, run } from '../../helpers/live-lab.js';

const skip = requireRootOrSkip('no docker') || requireOrSkip(built(), 'no docker: build first (npm run build)');
const name = `dkmiss${process.pid.toString(36).slice(-4)}`;
const up = (args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, [CLI, 'lab', 'up', '--name', name, ...args], { env, timeoutMs: 60_000 });

function expectNothingMade(): void {
  expect(fs.existsSync(path.join(LAB_ROOT, name))).toBe(false);
  expect(netnsOf(name)).toEqual([]);
}

describe.skipIf(skip)('a Docker lab without Docker', () => {
  it('daemon down (DOCKER_HOST at a dead socket): one line naming it, exit 1, nothing made', async () => {
    const socket = path.join(os.tmpdir(), `flt-dead-${process.pid}.sock`);
    const r = await up(['--runtime', 'docker'], { DOCKER_HOST: `unix://${socket}` });
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^flannelette: the Docker daemon does not answer \\(.*${socket}.*\\); start dockerd$`),
      ),
    ]);
    expectNothingMade();
  });

  it('no docker command (not on PATH): one line naming it, exit 1, nothing made', async () => {
    const r = await up(['--runtime', 'docker'], { PATH: '/usr/sbin:/sbin' });
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe('flannelette: Docker is not installed: no `docker` command (install docker.io)');
    expectNothingMade();
  });

  it('a bad runtime in the topology (file:line) or Docker with --static: exit 2', async () => {
    const file = path.join(os.tmpdir(), `flt-runtime-${process.pid}.yaml`);
    fs.writeFileSync(file, 'name: x\nruntime: dockr\nnodes: [{ name: node1 }]\n');
    try {
      const bad = await up([file]);
      expect(bad.code).toBe(2);
      expect(bad.err.trim()).toBe(`flannelette: ${path.basename(file)}:2: runtime must be one of docker, host`);
    } finally {
      fs.rmSync(file, { force: true });
    }
    const r = await up(['--runtime', 'docker', '--static']);
    expect(r.code).toBe(2);
    expect(r.err.trim()).toBe(
      'flannelette: runtime docker runs the pods of a live lab: drop --static (or use --runtime host)',
    );
    expectNothingMade();
  });
});
