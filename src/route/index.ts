// The route layer: longest-prefix match of node subnets to peers.
export * from './table.js';
export * from './table6.js';
