// `flannelette lab graph [-o FILE.svg|FILE.html|-]` (the lab as a diagram, src/labview/diagram.ts)
// and `flannelette lab ui [--port N]` (the live page on 127.0.0.1, src/labview/server.ts, until
// Ctrl-C).
import fs from 'node:fs';
import type { Command } from 'commander';
import { requireState, resolveLabName } from '../lab/lab.js';
import { ConfigError } from '../util/errors.js';
import { renderDiagram } from '../labview/diagram.js';
import { staticPage } from '../labview/page.js';
import { startLabUi } from '../labview/server.js';
import { collectSnapshot } from '../labview/snapshot.js';
import { fail } from './exit.js';

export function registerLabViewCommands(lab: Command): void {
  lab
    .command('graph')
    .description('draw the lab: switch, nodes (public IP, subnet, TUN), pods with IPs, impaired and partitioned links')
    .option('-o, --output <file>', 'FILE.svg, FILE.html, or - for SVG on standard output', '-')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(async (o: { output: string; name?: string }) => {
      try {
        const html = o.output.endsWith('.html');
        if (o.output !== '-' && !html && !o.output.endsWith('.svg'))
          throw new ConfigError(`-o ${o.output}: give a .svg or .html file, or -`);
        const snapshot = await collectSnapshot(requireState(await resolveLabName(o.name)));
        const text = html ? staticPage(snapshot) : `${renderDiagram(snapshot)}\n`;
        if (o.output === '-') process.stdout.write(text);
        else {
          fs.writeFileSync(o.output, text);
          process.stderr.write(`wrote ${o.output}\n`);
        }
      } catch (err) {
        fail(err);
      }
    });

  lab
    .command('ui')
    .description('serve a live page of the lab on 127.0.0.1: diagram, link rates, drops, impairments, health, packets')
    .option('--port <n>', 'TCP port (0: any free port)', '8470')
    .option('--name <lab>', 'which lab (default: the only one running)')
    .action(async (o: { port: string; name?: string }) => {
      try {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new ConfigError(`--port ${o.port}: expected 0 to 65535`);
        const ui = await startLabUi({ state: requireState(await resolveLabName(o.name)), port });
        process.stdout.write(`serving the lab's live page at ${ui.url}   (Ctrl-C to stop)\n`);
        const stop = (): void => void ui.close().then(() => process.exit(0));
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      } catch (err) {
        fail(err);
      }
    });
}
