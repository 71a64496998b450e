// The topology's lab-wide container runtime, `runtime: docker` (or `lab up --runtime docker`): every
// pod of the lab runs in Docker containers, as one with the annotation `flannelette.io/runtime:
// docker` does (kubelet/docker-runtime.ts); `host` (the default) is the built-in runtime. A pod's own
// annotation wins, so the lab's cluster DNS pod, which is built in, stays on `host`.
// resolveRuntime calls `fail` (which throws ConfigError with file:line) for any other value.
import type { YamlPath } from '../util/yaml-source.js';

export type LabRuntime = 'docker' | 'host';
export const LAB_RUNTIMES: readonly LabRuntime[] = ['docker', 'host'];

/** `{ runtime: 'docker' }` for a Docker lab, `{}` for the default. */
export function resolveRuntime(raw: unknown, fail: (path: YamlPath, what: string) => never): { runtime?: 'docker' } {
  if (raw === undefined || raw === 'host') return {};
  if (raw === 'docker') return { runtime: 'docker' };
  return fail(['runtime'], `must be one of ${LAB_RUNTIMES.join(', ')}`);
}
