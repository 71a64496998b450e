// `flannelette kubelet --config` with bad input: one line naming the file and the field, exit 2.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const execFileP = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../../bin/flannelette.js');

async function runKubelet(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await execFileP(process.execPath, [BIN, 'kubelet', ...args], { timeout: 20_000 });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('flannelette kubelet: bad configuration', () => {
  it('a missing file, bad JSON, a missing field: one line, exit 2', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-kubelet-cli-'));
    try {
      const missing = await runKubelet(['--config', path.join(dir, 'nope.json')]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^flannelette: .*nope\.json: cannot read: .*\n$/);
      fs.writeFileSync(path.join(dir, 'bad.json'), '{ nodeName: x');
      const bad = await runKubelet(['--config', path.join(dir, 'bad.json')]);
      expect(bad).toMatchObject({ code: 2 });
      expect(bad.stderr).toMatch(/^flannelette: .*bad\.json: not JSON: .*\n$/);
      fs.writeFileSync(path.join(dir, 'partial.json'), JSON.stringify({ nodeName: 'n1', lab: 'x', labDir: '/tmp' }));
      const partial = await runKubelet(['--config', path.join(dir, 'partial.json')]);
      expect(partial.code).toBe(2);
      expect(partial.stderr).toMatch(/partial\.json: field "netnsPrefix" must be a non-empty string\n$/);
      expect(partial.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
