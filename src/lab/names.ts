// Names of everything a lab creates, derived deterministically from the lab and topology names (no
// hidden randomness): network namespaces (all carry the prefix `flt-<lab>-`, the handle `lab down`
// uses to find leftovers), interface names (at most 15 characters, the kernel's IFNAMSIZ - 1), VTEP
// MACs and Deployment-style replica names (`nginx-<hash>-<5 chars>`). Nothing here throws.
import { createHash } from 'node:crypto';
import { anyBackendFacts, type AnyBackendName } from '../backend/table.js';

/** Longest interface name Linux accepts. */
export const IFNAME_MAX = 15;

/** Lab names: lowercase letters and digits, no dashes, so `flt-<lab>-` never matches another lab. */
export const LAB_NAME_RE = /^[a-z][a-z0-9]{0,15}$/;

/** Node, pod and container names: lowercase DNS labels, as Kubernetes requires. */
export const OBJECT_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const NETNS_PREFIX = 'flt-';

export function labPrefix(lab: string): string {
  return `${NETNS_PREFIX}${lab}-`;
}

export function underlayNetns(lab: string): string {
  return `${labPrefix(lab)}underlay`;
}

export function nodeNetns(lab: string, node: string): string {
  return `${labPrefix(lab)}${node}`;
}

export function podNetns(lab: string, pod: string): string {
  return `${labPrefix(lab)}pod-${pod}`;
}

/** The lab a namespace belongs to, if it looks like one of ours (`flt-<lab>-...`). */
export function labOfNetns(ns: string): string | undefined {
  const m = /^flt-([a-z][a-z0-9]{0,15})-./.exec(ns);
  return m ? m[1] : undefined;
}

/** The bridge in the underlay namespace that plays the role of the physical switch. */
export const UNDERLAY_BRIDGE = 'br0';
/** The node's uplink inside the node namespace, and the pod's interface inside the pod namespace. */
export const NODE_UPLINK = 'eth0';
export const POD_IFACE = 'eth0';
/** The node-local pod bridge, as the bridge CNI plugin names it. */
export const POD_BRIDGE = 'cni0';

/** The underlay-side end of node `index`'s (0-based) uplink: `to-<node>` when it fits, else `to-n<i>`. */
export function underlayPortName(node: string, index: number): string {
  const full = `to-${node}`;
  return full.length <= IFNAME_MAX ? full : `to-n${index + 1}`;
}

/** The node-side end of a pod's veth, named like the bridge CNI plugin does: `veth` + 8 hex digits. */
export function hostVethName(pod: string, attempt = 0): string {
  return `veth${hexHash(`${pod}#${attempt}`).slice(0, 8)}`;
}

/** The TUN device the node agent opens for a backend (flannel's names). */
export function tunDeviceName(backend: AnyBackendName): string {
  const facts = anyBackendFacts(backend);
  return facts.encapsulation === 'udp' ? facts.tunName : '-'; // host-gw: no TUN device
}

/** VTEP MAC of node `index` (0-based): 0e:00:00:HH:LL:01 where HHLL = index + 1. */
export function vtepMac(index: number): string {
  const n = index + 1;
  const hex = (b: number): string => b.toString(16).padStart(2, '0');
  return `0e:00:00:${hex((n >>> 8) & 255)}:${hex(n & 255)}:01`;
}

/**
 * The IPv6 VTEP's MAC for a node's VTEP MAC: the same but the last byte 02 (flanneld's flannel-v6.1 is a
 * device of its own with its own MAC, announced in BackendV6Data).
 */
export function vtepMacV6For(mac: string): string {
  return mac.replace(/:[0-9a-f]{2}$/, ':02');
}

// Kubernetes' "safe" alphabet for generated names (no vowels, no look-alike characters).
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function safeString(seed: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE_ALPHABET[digest[i] % SAFE_ALPHABET.length];
  return out;
}

function hexHash(seed: string): string {
  return createHash('sha256').update(seed).digest('hex');
}

/** The pod-template hash of a replicated pod (like a ReplicaSet's `9b644dcd5`): 9 or 10 characters. */
export function templateHash(lab: string, template: string, specJson: string): string {
  const len = 9 + (createHash('sha256').update(`len:${lab}/${template}`).digest()[0] & 1);
  return safeString(`tpl:${lab}/${template}/${specJson}`, len);
}

/** Replica `i` of a template: `<template>-<hash>-<5 chars>`. */
export function replicaName(lab: string, template: string, hash: string, i: number): string {
  return `${template}-${hash}-${safeString(`rep:${lab}/${template}/${hash}/${i}`, 5)}`;
}
