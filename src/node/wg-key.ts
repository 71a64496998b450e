// This node's WireGuard private key, kept in a key file as `wg genkey` writes it (base64 of 32
// bytes and a newline) with mode 0600, created on first use and reused on every restart so peers'
// leases and configs stay valid. Default path: <state-dir>/<name>.wg-key (flanneld keeps its key
// in a file given by --wg-private-key too; the option of that name points here).
//
// loadOrCreateWgKey throws ConfigError naming the file when it is malformed or readable by group
// or others, DeviceError when it cannot be read or written. The key is loaded lazily, once.
import fs from 'node:fs';
import path from 'node:path';
import { generateKeys, staticKeys } from '../wireguard/crypto.js';
import { isWgKeyText } from '../backend/table.js';
import { ConfigError, DeviceError, oneLine } from '../util/errors.js';

export interface WgKeySource {
  readonly file: string;
  privateKey(): Buffer;
  publicKey(): Buffer;
}

export function wgKeySource(file: string): WgKeySource {
  let keys: { privateKey: Buffer; publicKey: Buffer } | undefined;
  const load = (): { privateKey: Buffer; publicKey: Buffer } => (keys ??= loadOrCreateWgKey(file));
  return { file, privateKey: () => load().privateKey, publicKey: () => load().publicKey };
}

export function loadOrCreateWgKey(file: string): { privateKey: Buffer; publicKey: Buffer } {
  let text: string;
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o077) !== 0) {
      throw new ConfigError(
        `${file}: WireGuard key file is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
      );
    }
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new DeviceError(`${file}: cannot read WireGuard key: ${oneLine(err)}`, { cause: err });
    const fresh = generateKeys();
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, `${fresh.privateKey.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      fs.renameSync(tmp, file);
    } catch (e) {
      throw new DeviceError(`${file}: cannot write WireGuard key: ${oneLine(e)}`, { cause: e });
    }
    return { privateKey: fresh.privateKey, publicKey: fresh.publicKey };
  }
  if (!isWgKeyText(text))
    throw new ConfigError(`${file}: not a WireGuard private key (base64 of 32 bytes, as wg genkey writes it)`);
  const k = staticKeys(Buffer.from(text, 'base64'));
  return { privateKey: k.privateKey, publicKey: k.publicKey };
}
