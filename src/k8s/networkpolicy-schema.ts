// The field schemas of networking.k8s.io/v1 NetworkPolicy (see schema-defs.ts for the core kinds),
// named and nested as in the Kubernetes API reference. Pure data.
import type { Definition, FieldSpec } from './schema-types.js';

const net = (n: string): FieldSpec => ({ ref: `io.k8s.api.networking.v1.${n}` });
const meta = (n: string): FieldSpec => ({ ref: `io.k8s.apimachinery.pkg.apis.meta.v1.${n}` });

export const NETWORKPOLICY_DEFINITIONS: Definition[] = [
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicy',
    gvk: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' },
    fields: { apiVersion: 'string', kind: 'string', metadata: meta('ObjectMeta'), spec: net('NetworkPolicySpec') },
  },
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicySpec',
    fields: {
      podSelector: meta('LabelSelector'),
      policyTypes: { list: 'string' },
      ingress: { list: net('NetworkPolicyIngressRule') },
      egress: { list: net('NetworkPolicyEgressRule') },
    },
  },
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicyIngressRule',
    fields: { from: { list: net('NetworkPolicyPeer') }, ports: { list: net('NetworkPolicyPort') } },
  },
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicyEgressRule',
    fields: { to: { list: net('NetworkPolicyPeer') }, ports: { list: net('NetworkPolicyPort') } },
  },
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicyPeer',
    fields: { podSelector: meta('LabelSelector'), namespaceSelector: meta('LabelSelector'), ipBlock: net('IPBlock') },
  },
  {
    name: 'io.k8s.api.networking.v1.NetworkPolicyPort',
    fields: { protocol: 'string', port: 'int-or-string', endPort: 'integer' },
  },
  { name: 'io.k8s.api.networking.v1.IPBlock', fields: { cidr: 'string', except: { list: 'string' } } },
];
