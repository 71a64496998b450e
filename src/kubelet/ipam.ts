// Host-local IPAM over a node's podCIDR, stored as the CNI host-local plugin does it: one file per
// allocated address (`<dir>/<ip>`, containing the owner — here the pod uid) plus `last_reserved_ip`,
// so allocation continues round-robin after the last address handed out (a recreated pod gets a new
// address) and the state survives a kubelet restart. Files are created with O_EXCL, so two
// allocations can never get the same address. The network address, the gateway and the broadcast
// address are never handed out.
// allocate throws CapacityError when the subnet is full; release is idempotent.
import fs from 'node:fs';
import path from 'node:path';
import { Cidr, formatIpv4, parseIpv4 } from '../addr/ipv4.js';
import { CapacityError } from '../util/errors.js';

export class HostLocalIpam {
  private readonly subnet: Cidr;
  private readonly gateway: number;

  constructor(
    private readonly dir: string,
    podCIDR: string,
    gateway: string,
  ) {
    this.subnet = Cidr.parse(podCIDR);
    this.gateway = parseIpv4(gateway);
    fs.mkdirSync(dir, { recursive: true });
  }

  /** The address already held by `owner`, if any. */
  addressOf(owner: string): string | undefined {
    for (const name of this.allocatedNames()) {
      if (this.read(name) === owner) return name;
    }
    return undefined;
  }

  /** Every allocated address and its owner. */
  allocations(): Map<string, string> {
    const out = new Map<string, string>();
    for (const name of this.allocatedNames()) out.set(name, this.read(name) ?? '');
    return out;
  }

  /** Allocates the next free address after the last one reserved (or returns owner's current one). */
  allocate(owner: string): string {
    const existing = this.addressOf(owner);
    if (existing) return existing;
    const hosts = this.subnet.size - 2;
    const last = this.lastReserved();
    const startIndex = last !== undefined && this.subnet.contains(last) ? last - this.subnet.network : 0;
    for (let step = 1; step <= hosts; step++) {
      const index = ((startIndex + step - 1) % hosts) + 1;
      const ip = this.subnet.at(index);
      if (ip === this.gateway) continue;
      const text = formatIpv4(ip);
      try {
        fs.writeFileSync(path.join(this.dir, text), owner, { flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      fs.writeFileSync(path.join(this.dir, 'last_reserved_ip.0'), text);
      return text;
    }
    throw new CapacityError(
      `no free address left in ${this.subnet.toString()} (${this.allocatedNames().length} allocated)`,
    );
  }

  /** Frees every address held by `owner`; returns the addresses freed. */
  release(owner: string): string[] {
    const freed: string[] = [];
    for (const name of this.allocatedNames()) {
      if (this.read(name) !== owner) continue;
      fs.rmSync(path.join(this.dir, name), { force: true });
      freed.push(name);
    }
    return freed;
  }

  private lastReserved(): number | undefined {
    try {
      return parseIpv4(fs.readFileSync(path.join(this.dir, 'last_reserved_ip.0'), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  private allocatedNames(): string[] {
    return fs.readdirSync(this.dir).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
  }

  private read(name: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.dir, name), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
}
