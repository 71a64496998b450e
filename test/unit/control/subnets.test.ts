import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cidr } from '../../../src/addr/ipv4.js';
import { parseNetworkConfig } from '../../../src/control/flannel-format.js';
import { chooseSubnet, freeSubnets, isSubnetCompatible } from '../../../src/control/subnet-alloc.js';
import { formatSubnetEnv, parseSubnetEnv, readSubnetEnv, writeSubnetEnv } from '../../../src/control/subnet-env.js';
import { seededRng } from '../../../src/util/rng.js';
import { errorLike } from '../../helpers/matchers.js';

const c = (s: string) => Cidr.parse(s);

describe('subnet choice', () => {
  const cfg = parseNetworkConfig('{"Network":"10.244.0.0/16","SubnetMin":"10.244.10.0","SubnetMax":"10.244.20.0"}');

  it('stays within SubnetMin..SubnetMax and avoids taken subnets', () => {
    const taken = [c('10.244.10.0/24'), c('10.244.12.0/24'), c('10.244.14.0/23'), c('10.244.0.0/24')];
    const free = freeSubnets(cfg, taken).map(String);
    expect(free).toEqual(['10.244.11.0/24', '10.244.13.0/24', ...[16, 17, 18, 19, 20].map((i) => `10.244.${i}.0/24`)]);
    const rng = seededRng(1);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = chooseSubnet(cfg, taken, rng)!;
      expect(free).toContain(s.toString());
      seen.add(s.toString());
    }
    expect(seen.size).toBe(free.length); // every free one gets picked eventually
  });

  it('is repeatable from a seed and reports exhaustion', () => {
    const a = chooseSubnet(cfg, [], seededRng(42))!.toString();
    expect(chooseSubnet(cfg, [], seededRng(42))!.toString()).toBe(a);
    const all = Array.from({ length: 11 }, (_, i) => c(`10.244.${10 + i}.0/24`));
    expect(chooseSubnet(cfg, all, seededRng(1))).toBeUndefined();
  });

  it('looks at no more than the first 100 free subnets, as flannel does', () => {
    const big = parseNetworkConfig('{"Network":"10.0.0.0/8"}');
    const free = freeSubnets(big, []);
    expect(free).toHaveLength(100);
    expect(free[99].toString()).toBe('10.0.100.0/24');
  });

  it('knows which subnets fit the config', () => {
    expect(isSubnetCompatible(cfg, c('10.244.15.0/24'))).toBe(true);
    expect(isSubnetCompatible(cfg, c('10.244.21.0/24'))).toBe(false);
    expect(isSubnetCompatible(cfg, c('10.244.15.0/25'))).toBe(false);
  });
});

describe('subnet.env', () => {
  it("writes flannel's format (first address of the subnet) and reads it back", () => {
    const env = { network: c('10.244.0.0/16'), subnet: c('10.244.1.0/24'), mtu: 1450, ipMasq: false };
    expect(formatSubnetEnv(env)).toBe(
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flt-env-'));
    const file = path.join(dir, 'run', 'flannel', 'subnet.env');
    expect(readSubnetEnv(file)).toBeUndefined();
    writeSubnetEnv(file, env);
    const back = readSubnetEnv(file)!;
    expect(back.subnet.toString()).toBe('10.244.1.0/24');
    expect(back.network.toString()).toBe('10.244.0.0/16');
    expect([back.mtu, back.ipMasq]).toEqual([1450, false]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['subnet.env']); // no temp file left
    fs.rmSync(dir, { recursive: true });
  });

  it('reads files written by flanneld, including dual-stack lines, and rejects broken ones', () => {
    const text =
      'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_IPV6_NETWORK=fd00::/56\nFLANNEL_IPV6_SUBNET=fd00:0:0:7::1/64\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=true\n';
    const env = parseSubnetEnv(text);
    expect([env.subnet.toString(), env.mtu, env.ipMasq]).toEqual(['10.244.7.0/24', 1400, true]);
    expect(() => parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\n')).toThrow(/FLANNEL_SUBNET is missing/);
    expect(() => parseSubnetEnv('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=x\n')).toThrow(
      errorLike({ name: 'ConfigError' }),
    );
    expect(() => parseSubnetEnv('garbage\n')).toThrow(/NAME=value/);
  });
});
