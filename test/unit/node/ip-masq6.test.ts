// flanneld's --ip-masq for IPv6 (table ip6 flannel-ipv6, flannel's nftables layout): the rule set mirrors
// flannel-ipv4's postrtg logic with ip6 matches and ff00::/8, and loads into the real nft (in a throwaway
// network namespace) listing back the chains at flannel's hooks.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Cidr6 } from '../../../src/addr/ipv6.js';
import { ipMasq6Ruleset } from '../../../src/node/ip-masq6.js';
import { requireRootOrSkip } from '../../helpers/root.js';

const config = { network6: Cidr6.parse('fd00:10:244::/56'), subnet6: Cidr6.parse('fd00:10:244:1::/64') };

describe('ip-masq for IPv6 (flannel-ipv6)', () => {
  it("writes flannel's postrtg rules in order, for the IPv6 network and the node's IPv6 subnet", () => {
    const rules = ipMasq6Ruleset(config)
      .split('\n')
      .filter((l) => l.startsWith('add rule ip6 flannel-ipv6 postrtg '))
      .map((l) => l.slice('add rule ip6 flannel-ipv6 postrtg '.length));
    expect(rules).toEqual([
      'meta mark 0x4000 return',
      'ip6 saddr fd00:10:244:1::/64 ip6 daddr fd00:10:244::/56 return',
      'ip6 saddr fd00:10:244::/56 ip6 daddr fd00:10:244:1::/64 return',
      'ip6 saddr != fd00:10:244:1::/64 ip6 daddr fd00:10:244::/56 return',
      'ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random',
      'ip6 saddr != fd00:10:244::/56 ip6 daddr fd00:10:244::/56 masquerade fully-random',
    ]);
    expect(ipMasq6Ruleset({ ...config, fullyRandomDisable: true })).not.toContain('fully-random');
  });

  it.skipIf(requireRootOrSkip('loading table ip6 flannel-ipv6 into nft'))('loads into the real nft', () => {
    const listed = execFileSync('unshare', ['-n', 'sh', '-c', 'nft -f - && nft list table ip6 flannel-ipv6'], {
      input: ipMasq6Ruleset(config),
      encoding: 'utf8',
    });
    expect(listed).toContain('type filter hook forward priority filter; policy accept;');
    expect(listed).toContain('type nat hook postrouting priority srcnat; policy accept;');
    expect(listed).toContain('ip6 saddr fd00:10:244::/56 ip6 daddr != ff00::/8 masquerade fully-random');
    expect(listed).toMatch(/meta mark 0x0*4000 return/);
  });
});
