#!/usr/bin/env node
// Entry point of the `flannelette` command: runs the compiled CLI (built by `npm install`).
import('../dist/src/cli/main.js')
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(`flannelette: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
