// Before `lab down` deletes the lab's namespaces and kills what is still inside them: the sandboxes of
// attached pods (`lab attach`, kubelet/sandbox.ts) are bind mounts of a user's namespace, whose own
// processes must survive. This finds their sandbox.json files under the lab directory and unmounts
// them (`ip netns delete` only unmounts; the namespace lives on) after deleting their eth0, so labDown never
// sees them. The lab's own processes there (pause, containers, exec sessions: they carry its FLT_LAB mark,
// kubelet/process-mark.ts) teardown has killed by that mark before; `lab node stop`/`remove` kill what runs
// in a failed node's pod namespaces, but in these (attachedNetnsNames) only what carries the mark. Never throws.
import fs from 'node:fs';
import path from 'node:path';
import { readSandbox } from '../kubelet/sandbox.js';
import { run } from '../sys/run.js';
import { POD_IFACE } from './names.js';

function sandboxDirs(dir: string, depth: number, out: string[]): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  if (entries.some((e) => e.isFile() && e.name === 'sandbox.json')) out.push(dir);
  if (depth > 0) for (const e of entries) if (e.isDirectory()) sandboxDirs(path.join(dir, e.name), depth - 1, out);
  return out;
}

/** The /run/netns names of the lab's attached pods (their processes are the user's, never killed). */
export function attachedNetnsNames(labDir: string): Set<string> {
  const out = new Set<string>();
  for (const dir of sandboxDirs(labDir, 6, [])) {
    const s = readSandbox(dir);
    if (s?.attached) out.add(s.netns);
  }
  return out;
}

/**
 * Deletes the pod's eth0 in an attached namespace. It would go with the node's end of the veth, but only once
 * the kernel has cleaned the node's namespace up (asynchronously): removed now, the user's namespace is back as
 * it was when the command returns. Never throws.
 */
export async function removeAttachedIface(netns: string): Promise<void> {
  await run('ip', ['-n', netns, 'link', 'delete', POD_IFACE]).catch(() => undefined);
}

/** Unmounts every attached pod's namespace of the lab in `labDir`; resolves with how many. */
export async function releaseAttachedNamespaces(labDir: string): Promise<number> {
  let n = 0;
  for (const dir of sandboxDirs(labDir, 6, [])) {
    const s = readSandbox(dir);
    if (!s?.attached || !fs.existsSync(`/run/netns/${s.netns}`)) continue;
    await removeAttachedIface(s.netns);
    await run('ip', ['netns', 'delete', s.netns]).catch(() => undefined);
    n++;
  }
  return n;
}
