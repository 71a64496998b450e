// Parses a static peer given on the command line:
//   --peer name=node2,ip=192.168.1.3,subnet=10.244.2.0/24[,mac=0e:00:00:00:02:01][,key=<base64 public key>]
// Throws ConfigError naming the flag value and the bad field.
import { Cidr, parseIpv4 } from '../addr/ipv4.js';
import { parseMac } from '../addr/mac.js';
import { isWgKeyText } from '../backend/table.js';
import type { NamedPeer } from '../control/flag-membership.js';
import { ConfigError } from '../util/errors.js';

export type PeerFlag = NamedPeer;

const KEYS = new Set(['name', 'ip', 'subnet', 'mac', 'key']);

export function parsePeerFlag(text: string): PeerFlag {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq).trim() : '';
    if (!KEYS.has(key))
      throw new ConfigError(`--peer ${text}: expected name=..,ip=..,subnet=..[,mac=..][,key=..], got "${part}"`);
    fields.set(key, part.slice(eq + 1).trim());
  }
  for (const key of ['name', 'ip', 'subnet']) {
    if (!fields.get(key)) throw new ConfigError(`--peer ${text}: missing ${key}=`);
  }
  const key = fields.get('key');
  if (key !== undefined && !isWgKeyText(key))
    throw new ConfigError(`--peer ${text}: key=${key} is not a base64 32-byte public key`);
  try {
    const mac = fields.get('mac');
    return {
      name: fields.get('name')!,
      publicIp: parseIpv4(fields.get('ip')!),
      subnet: Cidr.parse(fields.get('subnet')!, { strict: true }),
      vtepMac: mac ? parseMac(mac) : undefined,
      publicKey: key ? Buffer.from(key, 'base64') : undefined,
    };
  } catch (err) {
    throw new ConfigError(`--peer ${text}: ${(err as Error).message}`, { cause: err });
  }
}
