// `flannelette cni`: the `flannel` CNI plugin (src/cni/), as a runtime runs it: configuration on
// stdin, CNI_COMMAND and the other CNI_* variables in the environment, the result or the spec's error
// JSON on stdout. bin/cni/flannel is the same plugin under the name CNI_PATH lookups need.
import type { Command } from 'commander';
import { cniMain } from '../cni/main.js';

export function registerCniCommand(program: Command): void {
  program
    .command('cni')
    .description('the flannel CNI plugin (spec 1.0.0; ADD/DEL/CHECK/VERSION from CNI_COMMAND, config on stdin)')
    .action(async () => {
      process.exit(await cniMain());
    });
}
