// What the kubelet needs to know about this host: where flannelette's built entry points are (the
// shim, the built-in programs) and which tools are installed (nginx, busybox, curl). The entry points
// are found from this file by walking up to flannelette's package.json; a missing build is a
// DeviceError naming the file. Nothing else throws.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeviceError } from '../util/errors.js';
import type { HostFacts } from './images.js';

export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    try {
      if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'flannelette') return dir;
    } catch {
      // not here
    }
    if (path.dirname(dir) === dir) throw new DeviceError(`cannot find flannelette's package.json above ${from}`);
  }
}

function builtEntry(root: string, rel: string): string {
  const file = path.join(root, 'dist', 'src', 'kubelet', rel);
  if (!fs.existsSync(file)) throw new DeviceError(`${file} is missing: build flannelette first (npm run build)`);
  return file;
}

/**
 * The container shim: the C one (build/Release/flt-shim, ~1 MB per container, built by `npm install`)
 * when it is built, else [node, shim-main.js] (same protocol, ~40 MB per container).
 */
export function shimCommand(root = packageRoot(), preferNative = true): string[] {
  const native = path.join(root, 'build', 'Release', 'flt-shim');
  if (preferNative && fs.existsSync(native)) return [native];
  return [process.execPath, builtEntry(root, 'shim-main.js')];
}

/** [node, programs/main.js]: runs a built-in program (agnhost, http, echo, …). */
export function builtinCommand(root = packageRoot()): string[] {
  return [process.execPath, builtEntry(root, path.join('programs', 'main.js'))];
}

function firstExisting(paths: readonly string[]): string | undefined {
  return paths.find((p) => fs.existsSync(p));
}

export function detectHost(root = packageRoot()): HostFacts {
  return {
    nginx: firstExisting(['/usr/sbin/nginx', '/usr/local/sbin/nginx']),
    busybox: firstExisting(['/usr/bin/busybox', '/bin/busybox']),
    curl: firstExisting(['/usr/bin/curl']),
    builtin: builtinCommand(root),
  };
}
