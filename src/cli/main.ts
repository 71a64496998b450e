// The `flannelette` command line (commander). Each area registers its own commands; this file only
// assembles them and turns errors into a one-line message and an exit code (cli/exit.ts).
import { Command } from 'commander';
import { runProgram } from './one-command.js';
import { registerNodeCommand } from './node-command.js';
import { registerInspectCommands } from './inspect-commands.js';
import { registerLabCommands } from './lab-commands.js';
import { registerCaptureCommand } from './capture-command.js';
import { registerImpairCommand } from './impair-command.js';
import { registerNetworkCommand } from './network-command.js';
import { registerControlPlaneCommand } from './controlplane-command.js';
import { registerKubeletCommand } from './kubelet-command.js';
import { registerWiresharkCommand } from './wireshark-command.js';
import { registerCniCommand } from './cni-command.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('flannelette')
    .description("a packet-level overlay network emulator: flannel's vxlan and udp backends in userspace")
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerNodeCommand(program);
  registerInspectCommands(program);
  registerCaptureCommand(program);
  registerImpairCommand(program);
  registerNetworkCommand(program);
  registerLabCommands(program);
  registerControlPlaneCommand(program);
  registerKubeletCommand(program);
  registerWiresharkCommand(program);
  registerCniCommand(program);
  return program;
}

export function main(argv: string[]): Promise<void> {
  return runProgram(buildProgram(), argv);
}
