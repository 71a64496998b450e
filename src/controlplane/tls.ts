// The API server's TLS identity for the TCP listener: kubectl (client-go) sends a bearer token only over
// HTTPS, so the loopback port speaks TLS with a self-signed certificate for 127.0.0.1 (generated once by
// openssl(1) into <state>/tls.key + tls.crt, 0600, reused on restart so kubeconfigs stay valid). The
// kubeconfig carries it as certificate-authority-data. Throws DeviceError if openssl is missing or fails.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../util/errors.js';

export interface TlsIdentity {
  key: string;
  cert: string;
}

export function ensureServerCert(stateDir: string): TlsIdentity {
  const keyFile = path.join(stateDir, 'tls.key');
  const certFile = path.join(stateDir, 'tls.crt');
  if (fs.existsSync(keyFile) && fs.existsSync(certFile)) {
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
  }
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmpKey = `${keyFile}.tmp`;
  const tmpCert = `${certFile}.tmp`;
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '3650',
        '-subj',
        '/CN=flannelette-apiserver',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,digitalSignature,keyCertSign',
        '-keyout',
        tmpKey,
        '-out',
        tmpCert,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    fs.chmodSync(tmpKey, 0o600);
    fs.renameSync(tmpKey, keyFile);
    fs.renameSync(tmpCert, certFile);
  } catch (err) {
    throw new DeviceError(
      `cannot create the API server's TLS certificate with openssl: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') };
}
