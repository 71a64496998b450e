// Kubernetes name rules and generated names: DNS-1123 labels and subdomains (with kube's exact error
// messages), the random 5-character suffix of generated names and the pod-template-hash, both from
// kube's "safe" alphabet (no vowels, no 0/1/3, so no words and no look-alike characters).
// Pure: randomness comes from the caller's `random()`.

export const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** kube's message for a bad DNS-1123 label (container names, namespace names), or undefined. */
export function dns1123LabelError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_RE.test(value)) {
    return (
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start " +
      "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    );
  }
  return undefined;
}

/** kube's message for a bad DNS-1123 subdomain (most object names), or undefined. */
export function dns1123SubdomainError(value: string): string | undefined {
  if (value.length > 253) return 'must be no more than 253 characters';
  if (!SUBDOMAIN_RE.test(value)) {
    return (
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and " +
      "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
  }
  return undefined;
}

/** `n` characters from the safe alphabet. */
export function randomSuffix(random: () => number, n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE_ALPHABET[Math.floor(random() * SAFE_ALPHABET.length) % SAFE_ALPHABET.length];
  return s;
}

/** generateName + suffix, cut so that the result stays within 63 characters as kube does. */
export function generatedName(prefix: string, random: () => number): string {
  const maxPrefix = 63 - 5;
  return (prefix.length > maxPrefix ? prefix.slice(0, maxPrefix) : prefix) + randomSuffix(random);
}

/** JSON with object keys sorted: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. */
export function fnv32a(text: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The pod-template-hash of a pod template: FNV-32a (as kube's ComputeHash) over the template's
 * canonical JSON (kube hashes its Go printing; this is a stable equivalent), plus the collision count,
 * encoded as kube's SafeEncodeString does: each decimal digit mapped into the safe alphabet.
 */
export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const text = canonicalJson(template) + (collisionCount ? `#${collisionCount}` : '');
  const decimal = String(fnv32a(text));
  let out = '';
  for (const ch of decimal) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}
