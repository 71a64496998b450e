// `await using`: the lab is removed when the block ends, also when an assertion inside it throws —
// no network namespace, process or state directory of the lab is left.
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

it('await using removes the lab after a thrown assertion', async () => {
  const name = `cu${Math.random()
    .toString(36)
    .slice(2, 7)
    .replace(/[^a-z0-9]/g, 'x')}`;
  let sawNamespaces = 0;
  const failing = async (): Promise<void> => {
    await using lab = await Lab.up(path.join(here, '..', 'topology.yaml'), { name });
    sawNamespaces = namespacesOf(name).length;
    const r = await lab.exec('client', ['sh', '-c', 'exit 7']);
    expect(r.exitCode).toBe(7);
    await expect(lab.waitFor(() => false, { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
    expect(r.exitCode, 'a failing assertion inside the block').toBe(0);
  };
  await expect(failing()).rejects.toThrow('a failing assertion inside the block');
  expect(sawNamespaces).toBeGreaterThanOrEqual(5); // underlay, two nodes, two pods
  expect(namespacesOf(name)).toEqual([]);
  expect(fs.existsSync(`/run/flannelette/labs/${name}`)).toBe(false);
  const marked = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(`FLT_LAB=${name}`);
      } catch {
        return false;
      }
    });
  expect(marked).toEqual([]);
});
