// The lab's built-in container programs now live with the kubelet (src/kubelet/programs/builtin.ts),
// which runs them for the `flannelette/*` images; this module keeps the lab's import path.
export * from '../kubelet/programs/builtin.js';
