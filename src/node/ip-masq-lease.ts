// flanneld's --ip-masq for a node's lease, whatever the backend (flannel's main.go sets the masquerade
// rules up after the backend, from the config's Network/IPv6Network and the lease, for vxlan, udp and
// host-gw alike): `table ip flannel-ipv4` (ip-masq.ts) and, when the lease has an IPv6 subnet,
// `table ip6 flannel-ipv6` (ip-masq6.ts). Each table's removal is pushed on `undo` before it is
// installed. Throws DeviceError with nft's message.
import type { LocalLease } from '../control/membership.js';
import { installIpMasq, removeIpMasq } from './ip-masq.js';
import { installIpMasq6, removeIpMasq6 } from './ip-masq6.js';
import type { UndoStack } from './undo.js';

export async function installLeaseMasq(
  lease: Pick<LocalLease, 'network' | 'subnet' | 'network6' | 'subnet6'>,
  opts: { fullyRandomDisable?: boolean },
  undo: UndoStack,
): Promise<void> {
  undo.push(() => removeIpMasq());
  await installIpMasq({ network: lease.network, subnet: lease.subnet, ...opts });
  if (lease.network6 && lease.subnet6) {
    undo.push(() => removeIpMasq6());
    await installIpMasq6({ network6: lease.network6, subnet6: lease.subnet6, ...opts });
  }
}
