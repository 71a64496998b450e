// flanneld's health server (--healthz-ip, --healthz-port; main.go mustRunHealthz): GET /healthz
// answers 200 "flanneld is running" as soon as the agent runs; GET /readyz answers 503 "flanneld is
// not ready yet" until the lease, the routes and subnet.env are in place, then 200 "flanneld is
// ready". Anything else is 404. It listens in the agent's network namespace. startHealthz rejects
// with DeviceError when it cannot listen; close() never throws.
import http from 'node:http';
import { DeviceError } from '../util/errors.js';

export interface HealthzAddress {
  ip: string;
  port: number;
}

export interface HealthzServer {
  /** The agent is ready: lease, routes and subnet.env in place. */
  setReady(): void;
  close(): Promise<void>;
}

export function startHealthz(addr: HealthzAddress): Promise<HealthzServer> {
  let ready = false;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
    } else if (url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('flanneld is running');
    } else if (url === '/readyz') {
      if (ready) res.writeHead(200, { 'content-type': 'text/plain' }).end('flanneld is ready');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('flanneld is not ready yet');
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(new DeviceError(`cannot serve healthz on ${addr.ip}:${addr.port}: ${err.message}`, { cause: err })),
    );
    server.listen(addr.port, addr.ip, () =>
      resolve({
        setReady: () => {
          ready = true;
        },
        close: () => new Promise((done) => server.close(() => done())),
      }),
    );
  });
}
