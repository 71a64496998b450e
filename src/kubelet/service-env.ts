// The Service environment variables the kubelet gives a container (kubelet_pods.go getServiceEnvVarMap
// and envvars.FromServices): for every Service with a ClusterIP in the pod's namespace (only the
// `kubernetes` Service of `default` when spec.enableServiceLinks is false), `<NAME>_SERVICE_HOST`,
// `<NAME>_SERVICE_PORT` (first port), `<NAME>_SERVICE_PORT_<PORTNAME>`, and the docker-link variables
// `<NAME>_PORT=tcp://ip:port`, `<NAME>_PORT_<port>_<PROTO>` with `_PROTO`, `_PORT`, `_ADDR`. Only
// Services existing when the container starts are seen, as in Kubernetes. fetchServiceEnv never throws
// (an unreachable API gives no variables).
import type { ApiClient } from '../kclient/api-client.js';
import type { Service } from '../k8s/service-types.js';
import type { KubeList, Pod } from '../k8s/types.js';

const envName = (s: string): string => s.toUpperCase().replace(/-/g, '_');

export function serviceEnvVars(services: readonly Service[]): Record<string, string> {
  const env: Record<string, string> = {};
  const sorted = [...services].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  for (const svc of sorted) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None' || !svc.spec.ports?.length) continue;
    const name = envName(svc.metadata.name ?? '');
    const first = svc.spec.ports[0];
    env[`${name}_SERVICE_HOST`] = ip;
    env[`${name}_SERVICE_PORT`] = String(first.port);
    for (const p of svc.spec.ports) if (p.name) env[`${name}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const proto = (first.protocol ?? 'TCP').toLowerCase();
    env[`${name}_PORT`] = `${proto}://${ip}:${first.port}`;
    for (const p of svc.spec.ports) {
      const pr = (p.protocol ?? 'TCP').toUpperCase();
      const prefix = `${name}_PORT_${p.port}_${pr}`;
      env[prefix] = `${pr.toLowerCase()}://${ip}:${p.port}`;
      env[`${prefix}_PROTO`] = pr.toLowerCase();
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}

export async function fetchServiceEnv(api: ApiClient, pod: Pod): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const links = (pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
  try {
    const list = async (n: string): Promise<Service[]> => {
      const r = await api.request<KubeList<Service>>('GET', `/api/v1/namespaces/${n}/services`);
      return r.status === 200 ? r.body.items : [];
    };
    const own = links ? await list(ns) : [];
    const master =
      ns === 'default' && links ? [] : (await list('default')).filter((s) => s.metadata.name === 'kubernetes');
    return serviceEnvVars([...master, ...own]);
  } catch {
    return {};
  }
}
