// Small HTTP helpers of the API server: JSON responses, Status errors, reading a bounded request body
// (kube-apiserver's 3 MiB limit → 413), content negotiation for Table output. Never throws out of
// `sendError`; `readBody` rejects with KubeApiError.
import type http from 'node:http';
import { KubeApiError } from '../util/errors.js';
import { decodeKubeProtobuf } from './protobuf.js';
import { statusFromError } from './status.js';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function sendJson(res: http.ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  };
  if (warnings.length) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendError(res: http.ServerResponse, err: unknown): void {
  const status = statusFromError(err);
  sendJson(res, status.code, status);
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return readBodyBytes(req).then((b) => b.toString('utf8'));
}

/**
 * The request body as JSON text: protobuf bodies (kubectl's typed clients) are decoded first
 * (protobuf.ts), everything else is taken as it came.
 */
export async function readBodyText(req: http.IncomingMessage): Promise<string> {
  const bytes = await readBodyBytes(req);
  if (String(req.headers['content-type'] ?? '').includes('protobuf')) return JSON.stringify(decodeKubeProtobuf(bytes));
  return bytes.toString('utf8');
}

export function readBodyBytes(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = (): KubeApiError =>
      new KubeApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      reject(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(tooLarge());
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new KubeApiError(400, 'BadRequest', `error decoding request body: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** True when the client asked for a meta.k8s.io Table (kubectl get). */
export function wantsTable(req: http.IncomingMessage): boolean {
  const accept = String(req.headers['accept'] ?? '');
  return accept.split(',')[0].includes('as=Table');
}
