// The `flannelette kubelet` entry: a program with only the kubelet command (kubelet, kube-proxy and the
// NetworkPolicy enforcer), so a lab node's kubelet never loads the lab, control plane, node agent or
// Wireshark code: a 100-node lab starts 100 of them, and each module costs start-up CPU and RSS in
// every one. bin/flannelette.js runs this for `flannelette kubelet …`. Same errors and exit codes as main.ts.
import { runOneCommand } from './one-command.js';
import { registerKubeletCommand } from './kubelet-command.js';

export function main(argv: string[]): Promise<void> {
  return runOneCommand(argv, registerKubeletCommand);
}
