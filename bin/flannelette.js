#!/usr/bin/env node
// Entry point of the `flannelette` command: runs the compiled CLI (built by `npm install`).
// `flannelette node …` loads only the node command (dist/src/cli/node-main.js): a lean agent.
const entry = process.argv[2] === 'node' ? '../dist/src/cli/node-main.js' : '../dist/src/cli/main.js';
import(entry)
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(`flannelette: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
