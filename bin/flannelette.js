#!/usr/bin/env node
// Entry point of the `flannelette` command: runs the compiled CLI (built by `npm install`).
// `flannelette node …` loads only the node command (dist/src/cli/node-main.js): a lean agent;
// `flannelette kubelet …` only the kubelet command (dist/src/cli/kubelet-main.js).
const lean = { node: '../dist/src/cli/node-main.js', kubelet: '../dist/src/cli/kubelet-main.js' };
const entry = Object.hasOwn(lean, process.argv[2] ?? '') ? lean[process.argv[2]] : '../dist/src/cli/main.js';
import(entry)
  .then((m) => m.main(process.argv))
  .catch((err) => {
    console.error(`flannelette: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
