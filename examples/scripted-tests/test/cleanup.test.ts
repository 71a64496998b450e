// `await using`: the lab is removed when the block ends, also when an assertion inside it throws —
// no network namespace, veth, container (the pods' processes carry the lab's FLT_LAB mark), other process
// or state directory of the lab is left.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Lab, TimeoutError } from 'flannelette';

const here = path.dirname(fileURLToPath(import.meta.url));

function namespacesOf(lab: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(`flt-${lab}-`));
}

/** Pids of processes carrying the lab's mark (its control plane, agents, kubelets and the pods' pause and containers). */
function markedBy(lab: string): { pid: string; pod: boolean }[] {
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const env = fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
        return env.includes(`FLT_LAB=${lab}`) ? [{ pid, pod: env.some((e) => e.startsWith('FLT_POD_UID=')) }] : [];
      } catch {
        return [];
      }
    });
}

/** The veths of this (the root) network namespace. */
const rootVeths = (): string[] =>
  execFileSync('ip', ['-o', 'link', 'show', 'type', 'veth'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(': ')[1].split('@')[0]);

it('await using removes the lab after a thrown assertion', async () => {
  const name = `cu${Math.random()
    .toString(36)
    .slice(2, 7)
    .replace(/[^a-z0-9]/g, 'x')}`;
  let sawNamespaces = 0;
  let sawPodProcesses = 0;
  const vethsBefore = rootVeths();
  const failing = async (): Promise<void> => {
    await using lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
    sawNamespaces = namespacesOf(name).length;
    sawPodProcesses = markedBy(name).filter((p) => p.pod).length;
    const r = await lab.exec('client', ['sh', '-c', 'exit 7']);
    expect(r.exitCode).toBe(7);
    await expect(lab.waitFor(() => false, { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
    expect(r.exitCode, 'a failing assertion inside the block').toBe(0);
  };
  await expect(failing()).rejects.toThrow('a failing assertion inside the block');
  expect(sawNamespaces).toBeGreaterThanOrEqual(5); // underlay, two nodes, two pods
  expect(sawPodProcesses).toBeGreaterThanOrEqual(4); // pause and container of web and client (and DNS)
  expect(namespacesOf(name)).toEqual([]);
  expect(rootVeths().filter((v) => !vethsBefore.includes(v))).toEqual([]);
  expect(fs.existsSync(`/run/flannelette/labs/${name}`)).toBe(false);
  expect(markedBy(name)).toEqual([]);
});
