// `lab logs POD [-c C] [-f] [--previous] [--tail N]` and `lab exec POD [-c C] [-i] [-t] -- CMD` of a
// live lab, through the API (pods/log, pods/exec). Without -c, exec uses the pod's default container
// (annotation kubectl.kubernetes.io/default-container, else the first; says so on stderr like
// kubectl when the pod has several) and logs prints every container's log under a `==> pod/c <==`
// header (the lab's older behaviour; kubectl would ask for -c). Throws ConfigError (unknown
// container, no command), KubeApiError, DeviceError.
import { ConfigError } from '../util/errors.js';
import type { Pod } from '../k8s/types.js';
import { execInPod, type ExecIo } from './exec-client.js';
import type { KubeClient } from './kube-client.js';
import { query } from './kube-resources.js';

export interface LogsOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  tail?: string;
  namespace?: string;
  signal?: AbortSignal;
}

function podPath(ns: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`;
}

function containerNames(pod: Pod): string[] {
  return pod.spec.containers.map((c) => c.name);
}

function checkContainer(pod: Pod, c: string): void {
  if (!containerNames(pod).includes(c)) {
    throw new ConfigError(
      `container ${c} is not valid for pod ${pod.metadata.name} (containers: ${containerNames(pod).join(', ')})`,
    );
  }
}

export async function podLogs(
  client: KubeClient,
  name: string,
  o: LogsOptions,
  out: NodeJS.WritableStream,
): Promise<number> {
  const ns = o.namespace ?? 'default';
  const pod = await client.get<Pod>(podPath(ns, name));
  if (o.container) checkContainer(pod, o.container);
  const list = o.container ? [o.container] : containerNames(pod);
  const params = (c: string): string =>
    query({
      container: c,
      follow: o.follow ? 'true' : undefined,
      previous: o.previous ? 'true' : undefined,
      tailLines: o.tail,
    });
  if (list.length === 1 || o.follow) {
    if (list.length > 1)
      throw new ConfigError(`a container name must be specified for pod ${name}, choose one of: [${list.join(' ')}]`);
    await client.stream(`${podPath(ns, name)}/log${params(list[0])}`, (t) => void out.write(t), { signal: o.signal });
    return 0;
  }
  for (const c of list) {
    out.write(`==> ${name}/${c} <==\n`);
    let text = '';
    await client.stream(`${podPath(ns, name)}/log${params(c)}`, (t) => (text += t));
    out.write(text);
    if (text && !text.endsWith('\n')) out.write('\n');
  }
  return 0;
}

export interface ExecOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  namespace?: string;
}

export async function podExec(
  client: KubeClient,
  conn: { socket: string; token: string },
  name: string,
  command: string[],
  o: ExecOptions,
  io: ExecIo,
): Promise<number> {
  if (command.length === 0) throw new ConfigError('you must specify at least one command for the container (after --)');
  const ns = o.namespace ?? 'default';
  const pod = await client.get<Pod>(podPath(ns, name));
  let container = o.container;
  if (container) checkContainer(pod, container);
  else {
    const names = containerNames(pod);
    container = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'] ?? names[0];
    if (names.length > 1) io.error.write(`Defaulted container "${container}" out of: ${names.join(', ')}\n`);
  }
  return execInPod(
    { ...conn, namespace: ns, pod: name, container, command, stdin: o.stdin === true, tty: o.tty === true },
    io,
  );
}
