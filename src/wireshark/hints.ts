// The line to read a capture file with, printed by `flannelette capture -w FILE` and `lab capture`:
// plain `tshark -r FILE` (and `wireshark FILE`) once `flannelette wireshark install` registered
// flannel's ports, otherwise with the `-d` that decodes them. Pure but for the installed check.
import type { BackendName } from '../backend/table.js';
import { decodePluginInstalled } from './install.js';

/** tshark's `-d` for a backend's port: VXLAN, IP in UDP, or WireGuard. */
export function decodeFlag(backend: BackendName, port: number): string {
  const dissector = { vxlan: 'vxlan', udp: 'ip', wireguard: 'wg' }[backend];
  return `-d udp.port==${port},${dissector}`;
}

/** Ports Wireshark decodes without being told: VXLAN's IANA port, WireGuard's 51820. */
const STANDARD_PORTS: Partial<Record<BackendName, number>> = { vxlan: 4789, wireguard: 51820 };

const quote = (s: string): string => (/^[\w./@%+=:,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `tshark -r FILE` (+ `-d …` when needed); `wireshark FILE` when installed. */
export function readCommandHint(
  file: string,
  backend: BackendName,
  port: number,
  installed = decodePluginInstalled(),
): string {
  const f = quote(file);
  const standardPort = STANDARD_PORTS[backend] === port;
  if (installed || standardPort) return `tshark -r ${f}   (or: wireshark ${f})`;
  const tip = '(flannelette wireshark install --user: no -d needed, also in Wireshark)';
  return `tshark -r ${f} ${decodeFlag(backend, port)}   ${tip}`;
}
