// The line to read a capture file with, printed by `flannelette capture -w FILE` and `lab capture`:
// plain `tshark -r FILE` (and `wireshark FILE`) once `flannelette wireshark install` registered
// flannel's ports, otherwise with the `-d` that decodes them. Pure but for the installed check.
import { decodePluginInstalled } from './install.js';

export function decodeFlag(backend: 'vxlan' | 'udp', port: number): string {
  return backend === 'vxlan' ? `-d udp.port==${port},vxlan` : `-d udp.port==${port},ip`;
}

const quote = (s: string): string => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `tshark -r FILE` (+ `-d …` when needed); `wireshark FILE` when installed. */
export function readCommandHint(
  file: string,
  backend: 'vxlan' | 'udp',
  port: number,
  installed = decodePluginInstalled(),
): string {
  const f = quote(file);
  const standardPort = backend === 'vxlan' && port === 4789;
  if (installed || standardPort) return `tshark -r ${f}   (or: wireshark ${f})`;
  const tip = '(flannelette wireshark install --user: no -d needed, also in Wireshark)';
  return `tshark -r ${f} ${decodeFlag(backend, port)}   ${tip}`;
}
