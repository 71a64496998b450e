// Posting Events for pods, aggregated as the kubelet's event correlator does: a repeat of the same
// (object, type, reason, message) within 10 minutes bumps `count` and `lastTimestamp` of the Event
// already posted (PATCH) instead of creating a new one. Names are `<pod>.<16 hex>` like the kubelet's.
// Failures to post are counted and dropped (events are best-effort); nothing throws.
import { randomBytes } from 'node:crypto';
import type { Event, Pod } from '../k8s/types.js';
import type { ApiClient } from '../kclient/api-client.js';

interface Posted {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  at: number;
}

export class EventRecorder {
  private readonly posted = new Map<string, Posted>();
  private queue: Promise<void> = Promise.resolve();
  failures = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly node: string,
    private readonly now: () => number = Date.now,
  ) {}

  record(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    this.queue = this.queue
      .then(() => this.post(pod, type, reason, message, fieldPath))
      .catch(() => {
        this.failures++;
      });
  }

  /** Resolves when everything recorded so far was sent. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async post(
    pod: Pod,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    fieldPath?: string,
  ): Promise<void> {
    const ns = pod.metadata.namespace ?? 'default';
    const key = `${pod.metadata.uid}|${fieldPath ?? ''}|${type}|${reason}|${message}`;
    const nowIso = new Date(this.now()).toISOString();
    const prev = this.posted.get(key);
    if (prev && this.now() - prev.at < 600_000) {
      prev.count++;
      prev.at = this.now();
      const r = await this.api.request(
        'PATCH',
        `/api/v1/namespaces/${prev.namespace}/events/${prev.name}`,
        { count: prev.count, lastTimestamp: nowIso },
        'application/merge-patch+json',
      );
      if (r.status < 300) return;
    }
    const name = `${pod.metadata.name}.${randomBytes(8).toString('hex')}`;
    const ev: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        name: pod.metadata.name,
        namespace: ns,
        uid: pod.metadata.uid,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: this.node },
      count: 1,
      firstTimestamp: nowIso,
      lastTimestamp: nowIso,
      eventTime: null,
      reportingComponent: 'kubelet',
      reportingInstance: this.node,
    };
    const r = await this.api.request('POST', `/api/v1/namespaces/${ns}/events`, ev);
    if (r.status >= 300) throw new Error(`event: ${r.status}`);
    this.posted.set(key, { name, namespace: ns, count: 1, firstTimestamp: nowIso, at: this.now() });
  }
}
