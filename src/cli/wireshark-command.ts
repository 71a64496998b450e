// `flannelette wireshark install|uninstall [--user|--system]`: the extcap program and the decode
// plugin (src/wireshark/install.ts). Prints what was written where and what to run next.
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.js';
import { installWireshark, uninstallWireshark, type InstallScope } from '../wireshark/install.js';
import { fail } from './exit.js';

function scopeOf(o: { user?: boolean; system?: boolean }): InstallScope {
  if (o.user && o.system) throw new ConfigError('give --user or --system, not both');
  return o.system ? 'system' : 'user';
}

export function registerWiresharkCommand(program: Command): void {
  const ws = program
    .command('wireshark')
    .description('make Wireshark and tshark list flannelette capture points and decode flannel ports');
  ws.command('install')
    .description(
      'install the extcap program (interfaces lab/node/point) and the plugin decoding UDP 8472 as VXLAN, 8285 as IP',
    )
    .option('--user', "for the current user (default): Wireshark's personal folders")
    .option('--system', "for every user: Wireshark's global folders (root)")
    .action((o: { user?: boolean; system?: boolean }) => {
      try {
        const r = installWireshark(scopeOf(o));
        process.stdout.write(`extcap program: ${r.extcap}\ndecode plugin:  ${r.plugin}\n`);
        for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
        process.stdout.write(
          'Try: tshark -D | grep flannelette     tshark -r pcaps/node1-outer.pcap   (no -d needed)\n',
        );
      } catch (err) {
        fail(err);
      }
    });
  ws.command('uninstall')
    .description('remove what install put there')
    .option('--user', 'from the personal folders (default)')
    .option('--system', 'from the global folders')
    .action((o: { user?: boolean; system?: boolean }) => {
      try {
        const removed = uninstallWireshark(scopeOf(o));
        process.stdout.write(removed.length ? removed.map((f) => `removed ${f}\n`).join('') : 'nothing to remove\n');
      } catch (err) {
        fail(err);
      }
    });
}
