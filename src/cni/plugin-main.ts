// The executable part of the `flannel` CNI plugin: `node dist/src/cni/plugin-main.js` (bin/cni/flannel).
import { cniMain } from './main.js';

process.exitCode = await cniMain();
