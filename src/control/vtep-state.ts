// The node's VTEP MAC, kept across restarts in a small JSON state file ({"vtepMac":"0e:..."}), so a
// restarted node keeps the MAC its peers already know (flannel keeps it the same way). Generated once
// with the injected Rng. A missing or unreadable file is replaced (with a warning for the latter);
// a failure to write it is logged and the MAC is still returned. Never throws.
import fs from 'node:fs';
import { formatMac, isUnicastLocal, parseMac, randomMac, type Mac } from '../addr/mac.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { writeFileAtomic } from './subnet-env.js';

export function loadOrCreateVtepMac(file: string | undefined, rng: Rng, log: Logger): Mac {
  if (file !== undefined) {
    try {
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { vtepMac?: unknown };
      if (typeof raw.vtepMac === 'string') {
        const mac = parseMac(raw.vtepMac);
        if (isUnicastLocal(mac)) return mac;
      }
      log.warn({ file }, 'state file has no usable vtepMac; generating a new one');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ err, file }, 'state file unreadable; generating a new VTEP MAC');
    }
  }
  const mac = randomMac(rng);
  if (file !== undefined) {
    try {
      writeFileAtomic(file, `${JSON.stringify({ vtepMac: formatMac(mac) })}\n`);
    } catch (err) {
      log.error({ err, file }, 'cannot save the VTEP MAC; it will change on restart');
    }
  }
  return mac;
}
