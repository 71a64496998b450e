// Running a commander program with the CLI's exit codes (0 for --help, 2 for a usage error, fail()'s
// mapping for the rest), for main.ts and for the single-command entries a lab starts by the hundred
// (node-main.ts, kubelet-main.ts), which load just that command's modules.
import { Command, CommanderError } from 'commander';
import { fail } from './exit.js';

/** Parses `argv` with a program that has only the command `register` adds, and runs it. */
export function runOneCommand(argv: string[], register: (program: Command) => void): Promise<void> {
  const program = new Command();
  program.name('flannelette').showHelpAfterError('(run with --help for usage)').exitOverride();
  register(program);
  return runProgram(program, argv);
}

/** Parses `argv` with `program` (built with exitOverride) and runs the command; never returns on an error. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
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
