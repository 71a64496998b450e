// A node's packet capture: the files asked for with --capture (inner and/or outer) and live
// captures that clients attach over the control socket (`flannelette capture NODE -w -`). Both
// points are always tapped so a live capture can start at any time; with no sink attached a tap
// costs one length check per batch. A client that goes away is detached and its sink closed.
import type net from 'node:net';
import { parseCaptureConfig, openCaptureFiles, type CaptureConfig, type CaptureFiles, type CaptureFlags, type CapturePoint } from '../capture/config.js';
import { parseCaptureFilter } from '../capture/filter.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../capture/pcap.js';
import { createStreamSink, type CaptureSink, type CaptureStats } from '../capture/sink.js';
import type { TappedTun, TappedUnderlay } from '../capture/taps.js';
import type { BackendName } from '../backend/table.js';
import type { TunDevice } from '../tun/device.js';
import type { Underlay } from '../underlay/underlay.js';
import type { Clock } from '../util/clock.js';
import { ConfigError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { StreamReply } from '../util/rpc.js';

export type NodeCaptureOptions = CaptureConfig;

/** Reads the capture flags of `flannelette node` (undefined when capture is off). */
export function parseNodeCaptureOptions(flags: CaptureFlags): NodeCaptureOptions | undefined {
  const config = parseCaptureConfig(flags);
  return config.points.length > 0 ? config : undefined;
}

export interface LiveCaptureStats {
  point: CapturePoint;
  filter: string;
  stats: CaptureStats;
}

export class NodeCapture {
  private tunTap?: TappedTun;
  private underlayTap?: TappedUnderlay;
  private readonly live = new Set<{ point: CapturePoint; sink: CaptureSink; filter: string }>();

  private constructor(
    private readonly files: CaptureFiles,
    private readonly backend: BackendName,
    private readonly log: Logger,
  ) {}

  static async create(node: string, backend: BackendName, opts: NodeCaptureOptions | undefined, clock: Clock, log: Logger): Promise<NodeCapture> {
    const config = opts ?? parseCaptureConfig({});
    const files = await openCaptureFiles(config, {
      node,
      clock,
      onError: (point, err) => log.error({ point, err: err.message }, 'capture file failed; captured copies are now dropped'),
    });
    if (config.points.length > 0) log.info({ points: config.points, dir: config.dir }, 'capturing to files');
    return new NodeCapture(files, backend, log);
  }

  wrapTun(tun: TunDevice): TunDevice {
    this.tunTap = this.files.tapTun(tun);
    return this.tunTap;
  }

  wrapUnderlay(underlay: Underlay): Underlay {
    this.underlayTap = this.files.tapUnderlay(underlay, this.backend);
    return this.underlayTap;
  }

  /** Starts a live capture to a control-socket client; the reply is followed by a pcap stream. */
  startLive(params: Record<string, unknown>): StreamReply {
    const point = params.point === undefined ? 'inner' : params.point;
    if (point !== 'inner' && point !== 'outer') throw new ConfigError(`--point ${String(point)}: expected inner or outer`);
    const filterText = typeof params.filter === 'string' ? params.filter : '';
    const filter = parseCaptureFilter(filterText);
    const snaplen = params.snaplen === undefined ? undefined : Number(params.snaplen);
    if (snaplen !== undefined && (!Number.isInteger(snaplen) || snaplen < 64 || snaplen > 262144)) throw new ConfigError(`--snaplen ${String(params.snaplen)}: expected 64 to 262144`);
    const tap = point === 'inner' ? this.tunTap : this.underlayTap;
    if (!tap) throw new ConfigError('the node is not running its data path yet');
    return new StreamReply({ point, linktype: point === 'inner' ? LINKTYPE_RAW : LINKTYPE_ETHERNET, backend: this.backend }, (socket: net.Socket) => {
      const sink = createStreamSink(socket, { linktype: point === 'inner' ? LINKTYPE_RAW : LINKTYPE_ETHERNET, snaplen, filter });
      const entry = { point: point as CapturePoint, sink, filter: filterText };
      this.live.add(entry);
      tap.addSink(sink);
      this.log.info({ point, filter: filterText || undefined }, 'live capture started');
      socket.once('close', () => {
        tap.removeSink(sink);
        this.live.delete(entry);
        const s = sink.stats();
        void sink.close().catch(() => {});
        this.log.info({ point, written: s.written, dropped: s.dropped }, 'live capture ended');
      });
    });
  }

  stats(): { files: ReturnType<CaptureFiles['stats']>; live: LiveCaptureStats[] } {
    return { files: this.files.stats(), live: [...this.live].map((l) => ({ point: l.point, filter: l.filter, stats: l.sink.stats() })) };
  }

  async close(): Promise<void> {
    for (const l of this.live) await l.sink.close().catch(() => {});
    this.live.clear();
    await this.files.close();
  }
}
