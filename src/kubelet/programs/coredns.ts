// The `flannelette/coredns` image's program: cluster DNS (src/dns) serving the cluster domain from the
// API, with CoreDNS's ports (53 UDP/TCP, health 8080 /health, ready 8181 /ready and /metrics). The
// kubelet gives this image the lab API's socket directory and token read-only (images.ts), as a
// service account's token is given to a pod, and names them in FLANNELETTE_API_SOCKET and
// FLANNELETTE_API_TOKEN_FILE. Flags (Go style): --api-socket, --token-file (default: those), --domain
// (cluster.local), --port (53), --ttl (30, as kubeadm's Corefile), --pods (insecure, as kubeadm's
// Corefile; verified, disabled), --health-port (8080), --ready-port (8181), --host (0.0.0.0).
// Resolves with the exit code (0 after SIGTERM/SIGINT); a bad flag is a ConfigError, a port that cannot
// be bound a DeviceError (main.ts prints either in one line).
import fs from 'node:fs';
import { startClusterDns } from '../../dns/cluster-dns.js';
import type { PodMode } from '../../dns/records.js';
import { ApiClient } from '../../kclient/api-client.js';
import { ConfigError } from '../../util/errors.js';
import { createLogger } from '../../util/logger.js';
import { parseGoFlags } from './goflags.js';

const POD_MODES: readonly PodMode[] = ['insecure', 'verified', 'disabled'];

export async function runCoreDns(argv: readonly string[], onSignal: (handler: () => void) => void): Promise<number> {
  const { values } = parseGoFlags(argv, {
    'api-socket': { kind: 'string', default: process.env['FLANNELETTE_API_SOCKET'] ?? '' },
    'token-file': { kind: 'string', default: process.env['FLANNELETTE_API_TOKEN_FILE'] ?? '' },
    domain: { kind: 'string', default: 'cluster.local' },
    port: { kind: 'int', default: 53 },
    ttl: { kind: 'int', default: 30 },
    pods: { kind: 'string', default: 'insecure' },
    'health-port': { kind: 'int', default: 8080 },
    'ready-port': { kind: 'int', default: 8181 },
    host: { kind: 'string', default: '0.0.0.0' },
  });
  const socket = values['api-socket'] as string;
  const tokenFile = values['token-file'] as string;
  if (!socket || !tokenFile) throw new ConfigError('--api-socket and --token-file are required');
  const pods = values['pods'] as PodMode;
  if (!POD_MODES.includes(pods)) throw new ConfigError(`--pods must be one of ${POD_MODES.join(', ')}, not "${pods}"`);
  const ttl = values['ttl'] as number;
  if (ttl < 0 || ttl > 3600) throw new ConfigError(`--ttl must be 0 to 3600, not ${ttl}`);
  const log = createLogger({ name: 'coredns' });
  const api = new ApiClient(socket, () => fs.readFileSync(tokenFile, 'utf8').trim(), 'flannelette-coredns/v1.32.0');
  const domain = (values['domain'] as string).replace(/\.$/, '');
  const dns = await startClusterDns(
    api,
    {
      domain,
      ttl,
      pods,
      dnsService: { namespace: 'kube-system', name: 'kube-dns' },
      host: values['host'] as string,
      port: values['port'] as number,
      healthPort: values['health-port'] as number,
      readyPort: values['ready-port'] as number,
    },
    log,
  );
  process.stdout.write(`.:${dns.port}\n[INFO] plugin/kubernetes: serving ${domain}. (pods ${pods}, ttl ${ttl})\n`);
  void dns.feed.synced.then(() => process.stdout.write('[INFO] plugin/ready: the zone is listed from the API\n'));
  return new Promise((resolve) => {
    onSignal(() => {
      process.stdout.write(`[INFO] SIGTERM: Shutting down; counters ${JSON.stringify(dns.counters)}\n`);
      void dns.stop().then(() => resolve(0));
    });
  });
}
