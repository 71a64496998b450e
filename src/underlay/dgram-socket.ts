// What the two node:dgram underlays (udp.ts for IPv4, udp6.ts for IPv6) share: binding a socket
// (the errno of a failed bind mapped to flannelette's errors) and the checked, counted, copying
// send with its bound on sends in flight. One path, so both families refuse, drop and count alike.
//
// Throws: bindDgram → DeviceError (port in use, address not on this host, other failures),
// PermissionError (privileged port). DgramSender.send never throws: false (counted) when closed,
// when the length/offset/port is bad, or when `maxInflight` sends are already waiting.
// Buffer ownership: send() copies the bytes (node:dgram keeps its buffer until the send callback).
import dgram from 'node:dgram';
import { DeviceError, PermissionError, type FlanError } from '../util/errors.js';

/** Maps a bind failure (an errno `code`) on `where` (`10.0.0.1` or `[fd00::1]`) to a FlanError. */
export function dgramBindError(err: unknown, where: string, addrText: string, port: number): FlanError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return new DeviceError(`UDP port ${port} on ${where} is already in use`, { cause: err });
  if (code === 'EADDRNOTAVAIL')
    return new DeviceError(`address ${addrText} is not on this host (or namespace)`, { cause: err });
  if (code === 'EACCES' || code === 'EPERM')
    return new PermissionError(`binding UDP port ${port} on ${where} needs root or CAP_NET_BIND_SERVICE`, {
      cause: err,
    });
  const text = err instanceof Error ? err.message : String(err);
  return new DeviceError(`cannot bind UDP ${where}:${port}: ${text}`, { cause: err });
}

/** Binds a udp4/udp6 socket exclusively at addrText:port and sizes its buffers (best effort). */
export async function bindDgram(
  type: 'udp4' | 'udp6',
  addrText: string,
  port: number,
  bufBytes: { rcv: number; snd: number },
): Promise<dgram.Socket> {
  const socket =
    type === 'udp6'
      ? dgram.createSocket({ type, ipv6Only: true, reuseAddr: false })
      : dgram.createSocket({ type, reuseAddr: false });
  const where = type === 'udp6' ? `[${addrText}]` : addrText;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      try {
        socket.close();
      } catch {
        // never bound
      }
      reject(dgramBindError(err, where, addrText, port));
    };
    socket.once('error', onError);
    socket.bind({ address: addrText, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  try {
    socket.setRecvBufferSize(bufBytes.rcv);
    socket.setSendBufferSize(bufBytes.snd);
  } catch {
    // the kernel refused the size: keep its default
  }
  return socket;
}

/** The send counters both underlays report. */
export interface DgramSendCounters {
  sent: number;
  /** send() returned false: too many sends in flight. */
  sendDrops: number;
  /** Sends that node:dgram reported as failed (asynchronously). */
  sendErrors: number;
  /** send() refused: closed, or bad length/offset/port. */
  refused: number;
}

/** The checked send: one per underlay, counting into the underlay's own counters. */
export class DgramSender {
  private inflight = 0;
  private readonly onSent = (err: Error | null): void => {
    this.inflight--;
    if (err) this.counters.sendErrors++;
    else this.counters.sent++;
  };

  constructor(
    private readonly counters: DgramSendCounters,
    private readonly maxPayload: number,
    private readonly maxInflight: number,
  ) {}

  /** Copies buf[off, off+len) and sends it from `socket` to addrText:port; false when refused or dropped. */
  send(
    socket: dgram.Socket,
    closed: boolean,
    buf: Buffer,
    off: number,
    len: number,
    addrText: string,
    port: number,
  ): boolean {
    if (
      closed ||
      !(len >= 0 && len <= this.maxPayload && off >= 0 && off + len <= buf.length) ||
      !Number.isInteger(off + len) ||
      !(port > 0 && port <= 65535)
    ) {
      this.counters.refused++;
      return false;
    }
    if (this.inflight >= this.maxInflight) {
      this.counters.sendDrops++;
      return false;
    }
    const copy = Buffer.allocUnsafe(len);
    buf.copy(copy, 0, off, off + len);
    this.inflight++;
    try {
      socket.send(copy, 0, len, port, addrText, this.onSent);
    } catch {
      this.inflight--;
      this.counters.sendErrors++;
      return false;
    }
    return true;
  }
}
