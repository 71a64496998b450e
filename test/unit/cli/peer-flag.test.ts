// src/cli/peer-flag.ts: `--peer name=..,ip=..,subnet=..[,mac=..][,key=..]` and its one-line errors
// (key= itself: test/unit/wireguard/config.test.ts).
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../../src/addr/ipv4.js';
import { formatMac } from '../../../src/addr/mac.js';
import { parsePeerFlag } from '../../../src/cli/peer-flag.js';
import { ConfigError } from '../../../src/util/errors.js';

describe('parsePeerFlag', () => {
  it('parses every field, with or without a MAC', () => {
    const p = parsePeerFlag('name=node2,ip=192.168.1.3,subnet=10.244.2.0/24,mac=0e:00:00:00:02:01');
    expect([p.name, formatIpv4(p.publicIp), p.subnet.toString(), p.vtepMac && formatMac(p.vtepMac)]).toEqual([
      'node2',
      '192.168.1.3',
      '10.244.2.0/24',
      '0e:00:00:00:02:01',
    ]);
    expect(parsePeerFlag('subnet=10.244.3.0/24, ip=192.168.1.4 ,name=node3').vtepMac).toBeUndefined();
  });

  it.each([
    ['name=node2,ip=192.168.1.3', '--peer name=node2,ip=192.168.1.3: missing subnet='],
    [
      'name=node2,port=1,ip=192.168.1.3,subnet=10.244.2.0/24',
      '--peer name=node2,port=1,ip=192.168.1.3,subnet=10.244.2.0/24: expected name=..,ip=..,subnet=..[,mac=..][,key=..], got "port=1"',
    ],
    [
      'name=node2,ip=192.168.1.300,subnet=10.244.2.0/24',
      /^--peer name=node2,ip=192\.168\.1\.300,subnet=10\.244\.2\.0\/24: /,
    ],
    ['name=node2,ip=192.168.1.3,subnet=10.244.2.1/24', /^--peer .*: /],
  ])('rejects %s', (text, message) => {
    expect(() => parsePeerFlag(text)).toThrow(ConfigError);
    expect(() => parsePeerFlag(text)).toThrow(message);
  });
});
