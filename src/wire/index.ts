// The wire layer: pure packet codecs (no I/O, no node:* imports). See each module's contract.
export * from './checksum.js';
export * from './ethernet.js';
export * from './flow-hash.js';
export * from './icmp.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './ipv6-ext.js';
export * from './icmpv6.js';
export * from './tcp.js';
export * from './udp.js';
export * from './vxlan.js';
