// The `flannelette node` entry: a program with only the node command, so a node agent never loads
// the lab, control plane, kubelet or Wireshark code (lean agents: each module costs RSS in every
// node of a lab). bin/flannelette.js runs this for `flannelette node …`; everything else (and
// `flannelette --help`) goes through main.ts. Same errors and exit codes as main.ts.
import { Command, CommanderError } from 'commander';
import { fail } from './exit.js';
import { registerNodeCommand } from './node-command.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program.name('flannelette').showHelpAfterError('(run with --help for usage)').exitOverride();
  registerNodeCommand(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0);
      process.exit(2);
    }
    fail(err);
  }
}
