// Where flannelette is installed: the directory whose package.json is named "flannelette", found
// by walking up from a module's own directory (src/… under vitest, dist/src/… when built). The
// native addon (build/Release), the CLI (bin/) and the lab's programs (dist/) are found from it.
// Throws DeviceError when no such package.json is above `from`.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceError } from '../util/errors.js';

export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flannelette') return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new DeviceError(`cannot find flannelette's package.json above ${from}`);
    dir = parent;
  }
}
