// The field schemas of core/v1 Service and Endpoints and discovery.k8s.io/v1 EndpointSlice (see
// schema-defs.ts for the other kinds), named and nested as in the Kubernetes API reference, with kube's
// strategic-merge keys (Service ports merge by `port`). Pure data.
import type { Definition, FieldSpec, ObjectSchema } from './schema-types.js';

const core = (n: string): FieldSpec => ({ ref: `io.k8s.api.core.v1.${n}` });
const disc = (n: string): FieldSpec => ({ ref: `io.k8s.api.discovery.v1.${n}` });
const meta = (n: string): FieldSpec => ({ ref: `io.k8s.apimachinery.pkg.apis.meta.v1.${n}` });
const strings: FieldSpec = { list: 'string' };
const top = (extra: ObjectSchema): ObjectSchema => ({
  apiVersion: 'string',
  kind: 'string',
  metadata: meta('ObjectMeta'),
  ...extra,
});

export const SERVICE_DEFINITIONS: Definition[] = [
  {
    name: 'io.k8s.api.core.v1.Service',
    gvk: { group: '', version: 'v1', kind: 'Service' },
    fields: top({ spec: core('ServiceSpec'), status: core('ServiceStatus') }),
  },
  {
    name: 'io.k8s.api.core.v1.ServiceSpec',
    fields: {
      allocateLoadBalancerNodePorts: 'boolean',
      clusterIP: 'string',
      clusterIPs: { list: 'string', strategy: 'merge' },
      externalIPs: strings,
      externalName: 'string',
      externalTrafficPolicy: 'string',
      healthCheckNodePort: 'integer',
      internalTrafficPolicy: 'string',
      ipFamilies: { list: 'string', strategy: 'merge' },
      ipFamilyPolicy: 'string',
      loadBalancerClass: 'string',
      loadBalancerIP: 'string',
      loadBalancerSourceRanges: strings,
      ports: { list: core('ServicePort'), mergeKey: 'port', strategy: 'merge' },
      publishNotReadyAddresses: 'boolean',
      selector: { map: 'string' },
      sessionAffinity: 'string',
      sessionAffinityConfig: core('SessionAffinityConfig'),
      trafficDistribution: 'string',
      type: 'string',
    },
  },
  {
    name: 'io.k8s.api.core.v1.ServicePort',
    fields: {
      appProtocol: 'string',
      name: 'string',
      nodePort: 'integer',
      port: 'integer',
      protocol: 'string',
      targetPort: 'int-or-string',
    },
  },
  { name: 'io.k8s.api.core.v1.SessionAffinityConfig', fields: { clientIP: core('ClientIPConfig') } },
  { name: 'io.k8s.api.core.v1.ClientIPConfig', fields: { timeoutSeconds: 'integer' } },
  {
    name: 'io.k8s.api.core.v1.ServiceStatus',
    fields: {
      conditions: { list: 'any', mergeKey: 'type', strategy: 'merge' },
      loadBalancer: core('LoadBalancerStatus'),
    },
  },
  { name: 'io.k8s.api.core.v1.LoadBalancerStatus', fields: { ingress: { list: core('LoadBalancerIngress') } } },
  {
    name: 'io.k8s.api.core.v1.LoadBalancerIngress',
    fields: { hostname: 'string', ip: 'string', ipMode: 'string', ports: { list: 'any' } },
  },
  {
    name: 'io.k8s.api.core.v1.Endpoints',
    gvk: { group: '', version: 'v1', kind: 'Endpoints' },
    fields: top({ subsets: { list: core('EndpointSubset') } }),
  },
  {
    name: 'io.k8s.api.core.v1.EndpointSubset',
    fields: {
      addresses: { list: core('EndpointAddress') },
      notReadyAddresses: { list: core('EndpointAddress') },
      ports: { list: core('EndpointPort') },
    },
  },
  {
    name: 'io.k8s.api.core.v1.EndpointAddress',
    fields: { hostname: 'string', ip: 'string', nodeName: 'string', targetRef: core('ObjectReference') },
  },
  {
    name: 'io.k8s.api.core.v1.EndpointPort',
    fields: { appProtocol: 'string', name: 'string', port: 'integer', protocol: 'string' },
  },
  {
    name: 'io.k8s.api.discovery.v1.EndpointSlice',
    gvk: { group: 'discovery.k8s.io', version: 'v1', kind: 'EndpointSlice' },
    fields: top({
      addressType: 'string',
      endpoints: { list: disc('Endpoint') },
      ports: { list: disc('EndpointPort') },
    }),
  },
  {
    name: 'io.k8s.api.discovery.v1.Endpoint',
    fields: {
      addresses: strings,
      conditions: disc('EndpointConditions'),
      deprecatedTopology: { map: 'string' },
      hints: 'any',
      hostname: 'string',
      nodeName: 'string',
      targetRef: core('ObjectReference'),
      zone: 'string',
    },
  },
  {
    name: 'io.k8s.api.discovery.v1.EndpointConditions',
    fields: { ready: 'boolean', serving: 'boolean', terminating: 'boolean' },
  },
  {
    name: 'io.k8s.api.discovery.v1.EndpointPort',
    fields: { appProtocol: 'string', name: 'string', port: 'integer', protocol: 'string' },
  },
];
