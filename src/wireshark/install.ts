// `flannelette wireshark install [--user|--system]`: puts two files where Wireshark looks for them.
//  - the extcap program `flannelette` (a shell wrapper that execs this Node.js and extcap-main.js),
//    so every running node's capture points appear in Wireshark's interface list;
//  - the Lua plugin `flannelette.lua`, which hands UDP 8472 to the VXLAN dissector and UDP 8285 to
//    the IPv4 dissector (flannel's ports), so captures decode without `-d` or Decode As.
// Why a Lua plugin and not the profile's decode_as_entries: tshark 4.0 honours both (tried), but
// Wireshark rewrites decode_as_entries whenever the user saves Decode As, and it exists per profile
// only; the plugin works in every profile, for one user or system-wide, and leaves the user's own
// settings alone.
// Folders: --user uses the personal Lua plugin folder (`tshark -G folders`, normally
// ~/.local/lib/wireshark/plugins) and the personal extcap folder: ~/.local/lib/wireshark/extcap
// from Wireshark 4.1 on, `<personal configuration>/extcap` (~/.config/wireshark/extcap) before
// (Debian 12's tshark 4.0 reads that one; tried). --system uses the global folders of
// `tshark -G folders`.
// Throws PermissionError when a folder cannot be written (e.g. --system without root).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PermissionError } from '../util/errors.js';

export type InstallScope = 'user' | 'system';

export interface WiresharkFolders {
  personalLuaPlugins: string;
  globalLuaPlugins: string;
  globalExtcap: string;
  personalExtcap: string;
  personalConfig: string;
  version: string;
}

/** The folders of the installed Wireshark (from `tshark -G folders`), with defaults when tshark is missing. */
export function wiresharkFolders(env: NodeJS.ProcessEnv = process.env): WiresharkFolders {
  const home = env['HOME'] || os.homedir();
  const folders: WiresharkFolders = {
    personalLuaPlugins: path.join(home, '.local/lib/wireshark/plugins'),
    globalLuaPlugins: '/usr/lib/x86_64-linux-gnu/wireshark/plugins',
    globalExtcap: '/usr/lib/x86_64-linux-gnu/wireshark/extcap',
    personalExtcap: '',
    personalConfig: path.join(home, '.config/wireshark'),
    version: 'unknown',
  };
  const run = (args: string[]): string => {
    const r = spawnSync('tshark', args, { encoding: 'utf8', env, timeout: 20_000 });
    return r.status === 0 ? r.stdout : '';
  };
  for (const line of run(['-G', 'folders']).split('\n')) {
    const m = /^([^:]+):\s*(.+)$/.exec(line.trim());
    if (!m) continue;
    const [key, value] = [m[1].trim(), m[2].trim()];
    if (key === 'Personal Lua Plugins') folders.personalLuaPlugins = value;
    else if (key === 'Global Lua Plugins') folders.globalLuaPlugins = value;
    else if (key === 'Extcap path' || key === 'Global Extcap path') folders.globalExtcap = value;
    else if (key === 'Personal Extcap path') folders.personalExtcap = value;
    else if (key === 'Personal configuration') folders.personalConfig = value;
  }
  const v = /(\d+\.\d+\.\d+)/.exec(run(['--version']).split('\n')[0] ?? '');
  if (v) folders.version = v[1]!;
  if (!folders.personalExtcap) {
    const [major, minor] = folders.version.split('.').map(Number);
    const old = major !== undefined && minor !== undefined && (major < 4 || (major === 4 && minor < 1));
    folders.personalExtcap = old
      ? path.join(folders.personalConfig, 'extcap')
      : path.join(home, '.local/lib/wireshark/extcap');
  }
  return folders;
}

/** The Lua plugin: flannel's ports to the VXLAN and IPv4 dissectors. */
export function luaPluginText(): string {
  return `-- Installed by \`flannelette wireshark install\`: decode flannel's overlay ports without Decode As.
-- UDP 8472: VXLAN (flannel's vxlan backend, the kernel's default); UDP 8285: IPv4 in UDP (flannel's udp backend).
local udp = DissectorTable.get("udp.port")
local vxlan = udp:get_dissector(4789)
if vxlan == nil then vxlan = Dissector.get("vxlan") end
udp:add(8472, vxlan)
udp:add(8285, DissectorTable.get("ip.proto"):get_dissector(4))
`;
}

/** The extcap wrapper: this Node.js running extcap-main.js (absolute paths, so PATH does not matter). */
export function extcapWrapperText(nodePath = process.execPath, mainPath = extcapMainPath()): string {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return (
    '#!/bin/sh\n' +
    "# Installed by `flannelette wireshark install`: flannelette's capture points as Wireshark interfaces.\n" +
    `exec ${q(nodePath)} ${q(mainPath)} "$@"\n`
  );
}

export function extcapMainPath(): string {
  return path.join(path.dirname(fileURLToPath(import.meta.url)), 'extcap-main.js');
}

export const EXTCAP_NAME = 'flannelette';
export const PLUGIN_NAME = 'flannelette.lua';

export interface InstallResult {
  extcap: string;
  plugin: string;
  notes: string[];
}

function writeFile(file: string, text: string, mode: number): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text, { mode });
    fs.chmodSync(file, mode);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      throw new PermissionError(`cannot write ${file} (${code}); --system needs root`, { cause: err });
    throw err;
  }
}

export function targets(scope: InstallScope, folders: WiresharkFolders): { extcap: string; plugin: string } {
  return scope === 'system'
    ? { extcap: path.join(folders.globalExtcap, EXTCAP_NAME), plugin: path.join(folders.globalLuaPlugins, PLUGIN_NAME) }
    : {
        extcap: path.join(folders.personalExtcap, EXTCAP_NAME),
        plugin: path.join(folders.personalLuaPlugins, PLUGIN_NAME),
      };
}

export function installWireshark(scope: InstallScope, folders = wiresharkFolders()): InstallResult {
  const t = targets(scope, folders);
  writeFile(t.extcap, extcapWrapperText(), 0o755);
  writeFile(t.plugin, luaPluginText(), 0o644);
  const notes: string[] = [];
  if (scope === 'user')
    notes.push(
      'the capture points are root-only control sockets: capture as root, ' +
        'or install with --system and run Wireshark as root',
    );
  return { ...t, notes };
}

export function uninstallWireshark(scope: InstallScope, folders = wiresharkFolders()): string[] {
  const t = targets(scope, folders);
  const removed: string[] = [];
  for (const f of [t.extcap, t.plugin]) {
    if (fs.existsSync(f)) {
      fs.rmSync(f);
      removed.push(f);
    }
  }
  return removed;
}

/** True when the decode plugin is installed for this user or system-wide (no tshark call). */
export function decodePluginInstalled(env: NodeJS.ProcessEnv = process.env): boolean {
  const home = env['HOME'] || os.homedir();
  return [
    path.join(home, '.local/lib/wireshark/plugins', PLUGIN_NAME),
    path.join('/usr/lib/x86_64-linux-gnu/wireshark/plugins', PLUGIN_NAME),
  ].some((f) => fs.existsSync(f));
}
