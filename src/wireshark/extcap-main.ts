// Entry point of the extcap program Wireshark runs (`flannelette wireshark install` puts a small
// shell wrapper that execs `node <this file>` into Wireshark's extcap folder). See extcap.ts.
import { runExtcap } from './extcap.js';

const stopSignal = new Promise<void>((resolve) => {
  process.once('SIGTERM', () => resolve());
  process.once('SIGINT', () => resolve());
});
// Wireshark closing the fifo is a normal end, not a crash.
process.on('SIGPIPE', () => undefined);

const code = await runExtcap(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stopSignal,
  stateDir: process.env['FLANNELETTE_STATE_DIR'] || undefined,
  labRoot: process.env['FLANNELETTE_LAB_ROOT'] || undefined,
});
process.exitCode = code;
process.exit(code);
