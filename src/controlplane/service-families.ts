// IP families of Services as kube-apiserver's REST strategy settles them (dual-stack Services, KEP-563):
// ipFamilyPolicy defaults to SingleStack (RequireDualStack when two ipFamilies or two clusterIPs are given,
// and for a headless Service without a selector on a dual-stack cluster); ipFamilies are inferred from
// clusterIPs, default to the cluster's primary family (IPv4) and, for PreferDualStack/RequireDualStack on a
// dual-stack cluster, get the other family appended; RequireDualStack on a single-stack cluster, a family
// the cluster has no range for, two families under SingleStack, duplicates and a clusterIP of the wrong
// family are refused with kube's messages (422 through `fail`). allocateIpv6 picks a free address of the
// IPv6 service range at random (rng injected) or checks a requested one. Mutates the Service; pure otherwise.
import { Cidr6, formatIpv6, isIpv6, parseIpv6 } from '../addr/ipv6.js';
import type { Service } from '../k8s/service-types.js';
import type { StatusCause } from '../k8s/types.js';

type Fail = (causes: StatusCause[]) => never;
type Family = 'IPv4' | 'IPv6';

const POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];

const familyOf = (ip: string): Family => (isIpv6(ip) ? 'IPv6' : 'IPv4');
const invalid = (field: string, value: string, why: string): StatusCause => ({
  reason: 'FieldValueInvalid',
  message: `Invalid value: "${value}": ${why}`,
  field,
});

/** Sets spec.ipFamilyPolicy and spec.ipFamilies of a non-ExternalName Service; throws through `fail`. */
export function resolveFamilies(svc: Service, dualStackCluster: boolean, fail: Fail): void {
  const s = svc.spec;
  const ips = (s.clusterIPs ?? (s.clusterIP ? [s.clusterIP] : [])).filter((ip) => ip && ip !== 'None');
  const headless = s.clusterIP === 'None';
  const causes: StatusCause[] = [];
  if (s.ipFamilyPolicy !== undefined && !POLICIES.includes(s.ipFamilyPolicy)) {
    fail([
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${s.ipFamilyPolicy}": supported values: ${POLICIES.map((p) => `"${p}"`).join(', ')}`,
        field: 'spec.ipFamilyPolicy',
      },
    ]);
  }
  let families = (s.ipFamilies ?? []).slice();
  families.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6')
      causes.push({
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${f}": supported values: "IPv4", "IPv6"`,
        field: `spec.ipFamilies[${i}]`,
      });
    else if (families.indexOf(f) !== i)
      causes.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: "${f}"`,
        field: `spec.ipFamilies[${i}]`,
      });
  });
  if (causes.length) fail(causes);
  ips.forEach((ip, i) => {
    if (families[i] === undefined) families[i] = familyOf(ip);
    else if (families[i] !== familyOf(ip))
      causes.push(
        invalid(`spec.clusterIPs[${i}]`, ip, `expected an ${families[i]} value as indicated by \`ipFamilies[${i}]\``),
      );
  });
  if (causes.length) fail(causes);
  let policy = s.ipFamilyPolicy;
  if (policy === undefined) {
    if (families.length === 2) policy = 'RequireDualStack';
    else if (headless && Object.keys(s.selector ?? {}).length === 0 && dualStackCluster) policy = 'RequireDualStack';
    else policy = 'SingleStack';
  }
  if (policy === 'SingleStack' && families.length > 1)
    causes.push(
      invalid(
        'spec.ipFamilyPolicy',
        policy,
        "must be 'RequireDualStack' or 'PreferDualStack' when multiple 'ipFamilies' are specified",
      ),
    );
  if (policy === 'RequireDualStack' && !dualStackCluster)
    causes.push(invalid('spec.ipFamilyPolicy', policy, 'this cluster is not configured for dual-stack services'));
  families.forEach((f, i) => {
    if (f === 'IPv6' && !dualStackCluster)
      causes.push(invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
  });
  if (causes.length) fail(causes);
  if (families.length === 0) families = ['IPv4'];
  if (policy !== 'SingleStack' && dualStackCluster && families.length === 1)
    families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
  s.ipFamilyPolicy = policy;
  s.ipFamilies = families;
}

/** The service range's address for `wanted`, or a free one at random; 422 through `fail` as kube words it. */
export function allocateIpv6(
  svc: Service,
  others: Service[],
  cidr6: string,
  wanted: string | undefined,
  random: () => number,
  fail: Fail,
): string {
  const range = Cidr6.parse(cidr6);
  const used = new Set(
    others
      .flatMap((o) => o.spec.clusterIPs ?? [])
      .filter((ip) => isIpv6(ip))
      .map((ip) => formatIpv6(parseIpv6(ip))),
  );
  const refuse = (ip: string, why: string): never =>
    fail([
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: ${why}`,
        field: 'spec.clusterIPs',
      },
    ]);
  const size = 1n << BigInt(128 - range.prefix);
  if (wanted) {
    const ip = parseIpv6(wanted);
    if (!range.contains(ip) || ip === range.network)
      refuse(wanted, `the provided IP (${wanted}) is not in the valid range. The range of valid IPs is ${range}`);
    const text = formatIpv6(ip);
    if (used.has(text)) refuse(wanted, 'provided IP is already allocated');
    return text;
  }
  // IPv6 ranges have no broadcast address: offsets 1 .. size−1, from a random start
  const count = size - 1n;
  const start = BigInt(Math.floor(random() * Number(count)));
  for (let i = 0n; i < count && i < 1_000_000n; i++) {
    const ip = formatIpv6(range.network + 1n + ((start + i) % count));
    if (!used.has(ip)) return ip;
  }
  return fail([
    {
      reason: 'FieldValueInvalid',
      message: 'Invalid value: []string{}: failed to allocate a serviceIP: range is full',
      field: 'spec.clusterIPs',
    },
  ]);
}
