// The `flannelette node` entry: a program with only the node command, so a node agent never loads
// the lab, control plane, kubelet or Wireshark code (lean agents: each module costs RSS in every
// node of a lab). bin/flannelette.js runs this for `flannelette node …`; everything else (and
// `flannelette --help`) goes through main.ts. Same errors and exit codes as main.ts.
import { runOneCommand } from './one-command.js';
import { registerNodeCommand } from './node-command.js';

export function main(argv: string[]): Promise<void> {
  return runOneCommand(argv, registerNodeCommand);
}
