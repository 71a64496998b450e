// The control plane process's composition root: the token (created 0600 if absent), the persisted
// store under <dir>/controlplane/, the first-start namespaces, the API server on 127.0.0.1 and
// <dir>/run/apiserver.sock (HTTPS on TCP with a self-signed cert, see tls.ts), the controllers, and the
// files clients read: <dir>/controlplane.json
// {url, socket, pid} and <dir>/kubeconfig (0600, all names flannelette-<lab>). Throws DeviceError when the
// directory or the port cannot be used.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { realClock } from '../util/clock.js';
import { DeviceError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { RESOURCES, resourceForKind } from '../k8s/resources.js';
import { ApiDelete } from './api-delete.js';
import { ApiOps } from './api-ops.js';
import { ApiServer } from './api-server.js';
import { startControllers, type ControllerOptions, type Controllers } from './controllers/index.js';
import { ensureKubernetesService } from './kubernetes-service.js';
import { ServiceAllocator, type ServiceNetwork } from './service-alloc.js';
import { ObjectStore } from './store.js';
import { ensureServerCert } from './tls.js';

export interface ControlPlaneOptions {
  dir: string;
  /** Port on 127.0.0.1 (0 = any free port). */
  port: number;
  logger: Logger;
  controllers?: Partial<ControllerOptions>;
  /** The service CIDR and NodePort range (default 10.96.0.0/12, 30000-32767). */
  serviceNetwork?: ServiceNetwork;
}

export interface RunningControlPlane {
  url: string;
  socket: string;
  token: string;
  store: ObjectStore;
  close(): Promise<void>;
}

export const FIRST_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}

/** Reads <dir>/token, creating it (0600) when absent. */
export function ensureToken(dir: string): string {
  const file = path.join(dir, 'token');
  try {
    const t = fs.readFileSync(file, 'utf8').trim();
    if (t) return t;
  } catch {
    // created below
  }
  const token = crypto.randomBytes(32).toString('hex');
  try {
    fs.writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  } catch {
    return fs.readFileSync(file, 'utf8').trim(); // someone else created it first
  }
  return token;
}

export function kubeconfigText(lab: string, url: string, token: string, caPem: string): string {
  const n = `flannelette-${lab}`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'preferences: {}',
    'clusters:',
    `- name: ${n}`,
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${n}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${n}`,
    '  context:',
    `    cluster: ${n}`,
    `    user: ${n}`,
    '    namespace: default',
    `current-context: ${n}`,
    '',
  ].join('\n');
}

export async function startControlPlane(opts: ControlPlaneOptions): Promise<RunningControlPlane> {
  const dir = path.resolve(opts.dir);
  const runDir = path.join(dir, 'run');
  try {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new DeviceError(`cannot create ${runDir}: ${(err as Error).message}`);
  }
  const token = ensureToken(dir);
  const now = (): number => Date.now();
  const store = new ObjectStore({ dir: path.join(dir, 'controlplane'), now, random: Math.random }, RESOURCES);
  const ops = new ApiOps(store, now, new ServiceAllocator(store, opts.serviceNetwork));
  const deleter = new ApiDelete(store, now);
  const nsRes = resourceForKind('v1', 'Namespace')!;
  for (const name of FIRST_NAMESPACES) {
    if (!store.get(nsRes, undefined, name))
      ops.create(nsRes, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  ensureKubernetesService(ops);
  const tls = ensureServerCert(path.join(dir, 'controlplane'));
  const server = new ApiServer({ ops, deleter, token, runDir, logger: opts.logger, now, tls });
  const socket = path.join(runDir, 'apiserver.sock');
  let url: string;
  try {
    url = await server.listen(opts.port, socket);
  } catch (err) {
    store.close();
    throw new DeviceError(`cannot listen on 127.0.0.1:${opts.port} and ${socket}: ${(err as Error).message}`);
  }
  const controllers: Controllers = startControllers({
    ops,
    deleter,
    logger: opts.logger,
    clock: realClock,
    now,
    ...opts.controllers,
  });
  const lab = path.basename(dir);
  writeAtomic(path.join(dir, 'kubeconfig'), kubeconfigText(lab, url, token, tls.cert), 0o600);
  writeAtomic(path.join(dir, 'controlplane.json'), JSON.stringify({ url, socket, pid: process.pid }) + '\n', 0o644);
  opts.logger.info({ url, socket }, 'control plane listening');
  return {
    url,
    socket,
    token,
    store,
    async close() {
      controllers.stop();
      await server.close();
      store.close();
      fs.rmSync(path.join(dir, 'controlplane.json'), { force: true });
      fs.rmSync(socket, { force: true });
    },
  };
}
