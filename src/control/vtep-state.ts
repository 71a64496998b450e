// The node's VTEP MACs, kept across restarts in a small JSON state file ({"vtepMac":"0e:...",
// "vtepMacV6":"0e:..."}), so a restarted node keeps the MACs its peers already know (flannel keeps
// them the same way, in its node annotations). The IPv6 VTEP has a MAC of its own, as flanneld's
// flannel-v6.1 device has (pkg/backend/vxlan: mac.NewHardwareAddr per device). Each is generated
// once with the injected Rng. A missing or unreadable file is replaced (with a warning for the
// latter), other keys kept; a failure to write it is logged and the MAC is still returned. Never throws.
import fs from 'node:fs';
import { formatMac, isUnicastLocal, parseMac, randomMac, type Mac } from '../addr/mac.js';
import type { Logger } from '../util/logger.js';
import type { Rng } from '../util/rng.js';
import { writeFileAtomic } from './subnet-env.js';

type MacKey = 'vtepMac' | 'vtepMacV6';

/** The IPv4 VTEP's MAC (flannel.1). */
export function loadOrCreateVtepMac(file: string | undefined, rng: Rng, log: Logger): Mac {
  return loadOrCreateMac(file, 'vtepMac', rng, log);
}

/** The IPv6 VTEP's MAC (flannel-v6.1), distinct from the IPv4 one. */
export function loadOrCreateVtepMacV6(file: string | undefined, rng: Rng, log: Logger, v4: Mac): Mac {
  return loadOrCreateMac(file, 'vtepMacV6', rng, log, v4);
}

function loadOrCreateMac(file: string | undefined, key: MacKey, rng: Rng, log: Logger, notEqual?: Mac): Mac {
  let saved: Record<string, unknown> = {};
  if (file !== undefined) {
    try {
      saved = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      const text = saved[key];
      if (typeof text === 'string') {
        const mac = parseMac(text);
        if (isUnicastLocal(mac) && !(notEqual && mac.equals(notEqual))) return mac;
      }
      log.warn({ file }, `state file has no usable ${key}; generating a new one`);
    } catch (err) {
      saved = {};
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn({ err, file }, 'state file unreadable; generating a new VTEP MAC');
    }
  }
  let mac = randomMac(rng);
  while (notEqual && mac.equals(notEqual)) mac = randomMac(rng);
  if (file !== undefined) {
    try {
      writeFileAtomic(file, `${JSON.stringify({ ...saved, [key]: formatMac(mac) })}\n`);
    } catch (err) {
      log.error({ err, file }, 'cannot save the VTEP MAC; it will change on restart');
    }
  }
  return mac;
}
