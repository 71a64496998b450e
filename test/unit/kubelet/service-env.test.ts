// The Service environment variables of containers, as the kubelet sets them (FOO_SERVICE_HOST, …).
import { describe, expect, it } from 'vitest';
import type { Service } from '../../../src/k8s/service-types.js';
import { serviceEnvVars } from '../../../src/kubelet/service-env.js';

const svc = (name: string, clusterIP: string, ports: Service['spec']['ports']): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP, ports },
});

describe('service environment variables', () => {
  it('gives the seed 003 Service its host, port and docker-link variables', () => {
    const env = serviceEnvVars([
      svc('myapp-service', '10.96.12.34', [{ port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30008 }]),
      svc('dns', '10.96.0.10', [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ]),
      svc('headless', 'None', [{ port: 80 }]),
    ]);
    expect(env).toMatchObject({
      MYAPP_SERVICE_SERVICE_HOST: '10.96.12.34',
      MYAPP_SERVICE_SERVICE_PORT: '80',
      MYAPP_SERVICE_PORT: 'tcp://10.96.12.34:80',
      MYAPP_SERVICE_PORT_80_TCP: 'tcp://10.96.12.34:80',
      MYAPP_SERVICE_PORT_80_TCP_PROTO: 'tcp',
      MYAPP_SERVICE_PORT_80_TCP_PORT: '80',
      MYAPP_SERVICE_PORT_80_TCP_ADDR: '10.96.12.34',
      DNS_SERVICE_PORT_DNS: '53',
      DNS_SERVICE_PORT_DNS_TCP: '53',
      DNS_PORT: 'udp://10.96.0.10:53',
      DNS_PORT_53_UDP: 'udp://10.96.0.10:53',
      DNS_PORT_53_TCP: 'tcp://10.96.0.10:53',
    });
    expect(Object.keys(env).some((k) => k.startsWith('HEADLESS_'))).toBe(false);
  });
});
