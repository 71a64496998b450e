// A program with only one command, for the entries a lab starts by the hundred (node-main.ts,
// kubelet-main.ts): they load just that command's modules, and keep main.ts's errors and exit codes
// (0 for --help, 2 for a usage error, fail()'s mapping for the rest).
import { Command, CommanderError } from 'commander';
import { fail } from './exit.js';

/** Parses `argv` with a program that has only the command `register` adds, and runs it. */
export async function runOneCommand(argv: string[], register: (program: Command) => void): Promise<void> {
  const program = new Command();
  program.name('flannelette').showHelpAfterError('(run with --help for usage)').exitOverride();
  register(program);
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
