// Is a file a network namespace? For `lab attach --netns` and the kubelet's attached sandboxes
// (annotation flannelette.io/netns): the file is a name made by `ip netns add` (/run/netns/NAME) or any
// namespace file (/proc/PID/ns/net, a bind mount made by podman, systemd-nspawn or `unshare --net=FILE`).
// The test is `nsenter --net=FILE true`, which the kernel refuses for anything but a network namespace.
// Throws ConfigError (one line naming the flag and the file) for a missing file or another kind of file.
import { ConfigError } from '../util/errors.js';
import { netnsFile } from './netns-reexec.js';
import { run } from './run.js';

/** The namespace file of `netns` (a name or a path) once it is known to be a network namespace. */
export async function requireNetworkNamespace(netns: string): Promise<string> {
  const file = netnsFile(netns);
  try {
    await run('nsenter', [`--net=${file}`, '--', 'true']);
  } catch {
    throw new ConfigError(`--netns ${netns}: ${file} is not a network namespace (give /proc/PID/ns/net or a name)`);
  }
  return file;
}
