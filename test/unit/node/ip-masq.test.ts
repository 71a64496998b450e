// flanneld's --ip-masq rules in its nftables layout (pkg/trafficmngr/nftables): the script the node
// agent hands to `nft -f -`, rule for rule and in flannel's order.
import { describe, expect, it } from 'vitest';
import { Cidr } from '../../../src/addr/ipv4.js';
import { ipMasqRuleset } from '../../../src/node/ip-masq.js';

describe('ipMasqRuleset', () => {
  const network = Cidr.parse('10.244.0.0/16');
  const subnet = Cidr.parse('10.244.1.0/24');

  it("is flannel's table flannel-ipv4 with chains forward and postrtg, the 0x4000 RETURN first", () => {
    expect(ipMasqRuleset({ network, subnet }).split('\n')).toEqual([
      'add table ip flannel-ipv4 { comment "rules for flannel-ipv4"; }',
      'flush table ip flannel-ipv4',
      'add chain ip flannel-ipv4 forward { comment "chain to accept flannel traffic"; ' +
        'type filter hook forward priority filter; }',
      'add rule ip flannel-ipv4 forward ip saddr 10.244.0.0/16 accept',
      'add rule ip flannel-ipv4 forward ip daddr 10.244.0.0/16 accept',
      'add chain ip flannel-ipv4 postrtg { comment "chain to manage traffic masquerading by flannel"; ' +
        'type nat hook postrouting priority srcnat; }',
      'add rule ip flannel-ipv4 postrtg meta mark 0x4000 return',
      'add rule ip flannel-ipv4 postrtg ip saddr 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
      'add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr 10.244.1.0/24 return',
      'add rule ip flannel-ipv4 postrtg ip saddr != 10.244.1.0/24 ip daddr 10.244.0.0/16 return',
      'add rule ip flannel-ipv4 postrtg ip saddr 10.244.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random',
      'add rule ip flannel-ipv4 postrtg ip saddr != 10.244.0.0/16 ip daddr 10.244.0.0/16 masquerade fully-random',
      '',
    ]);
  });

  it('drops fully-random with --ip-masq-fully-random-disable', () => {
    const text = ipMasqRuleset({ network, subnet, fullyRandomDisable: true });
    expect(text).not.toContain('fully-random');
    expect(text.match(/ masquerade$/gm)).toHaveLength(2);
  });
});
