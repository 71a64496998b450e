// `lab up --runtime docker|host`: the lab-wide container runtime, over the topology's `runtime:`
// (lab/topology-runtime.ts). Docker runs pods of a live lab only: with --static it is a ConfigError.
import { Option } from 'commander';
import { LAB_RUNTIMES } from '../lab/topology-runtime.js';
import type { LabTopology } from '../lab/topology-types.js';
import { ConfigError } from '../util/errors.js';

export function labRuntimeOption(): Option {
  return new Option(
    '--runtime <runtime>',
    "every pod's container runtime: docker (Docker containers) or host (built in); default the topology's runtime",
  ).choices(LAB_RUNTIMES);
}

/** Applies --runtime to the resolved topology; throws ConfigError for Docker in a --static lab. */
export function applyLabRuntime(t: LabTopology, runtime: string | undefined, isStatic: boolean | undefined): void {
  if (runtime !== undefined) t.runtime = runtime === 'docker' ? 'docker' : undefined;
  if (t.runtime === 'docker' && isStatic)
    throw new ConfigError('runtime docker runs the pods of a live lab: drop --static (or use --runtime host)');
}
