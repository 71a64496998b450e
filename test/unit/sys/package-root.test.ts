// src/sys/package-root.ts: finds the checkout's root from a module inside it, skips a package.json
// that is not flannelette's, and names the start directory when there is none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../../src/sys/package-root.js';
import { DeviceError } from '../../../src/util/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-package-root-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('packageRoot', () => {
  it('is the checkout this test runs in', () => {
    const root = packageRoot();
    expect((JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: unknown }).name).toBe(
      'flannelette',
    );
    expect(here.startsWith(root + path.sep)).toBe(true);
  });

  it('walks past a package.json of another package', () => {
    fs.mkdirSync(path.join(tmp, 'ours', 'other', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'ours', 'package.json'), '{"name":"flannelette"}');
    fs.writeFileSync(path.join(tmp, 'ours', 'other', 'package.json'), '{"name":"something-else"}');
    expect(packageRoot(path.join(tmp, 'ours', 'other', 'deep'))).toBe(path.join(tmp, 'ours'));
  });

  it('throws DeviceError when there is none above', () => {
    fs.mkdirSync(path.join(tmp, 'none'), { recursive: true });
    expect(() => packageRoot(path.join(tmp, 'none'))).toThrow(DeviceError);
  });
});
