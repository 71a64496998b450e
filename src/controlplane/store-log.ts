// Persistence of the object store: an append-only JSON-lines log under the lab's controlplane/ dir.
// Each line is `{"rv":N,"key":K,"object":{…}}` (object null = deleted). On open the log is replayed and
// compacted: the live objects are written to a new file that atomically replaces the old one (rename),
// so a crash at any point leaves either the old or the new log, and a torn last line is ignored.
// Throws DeviceError when the directory cannot be written.
import fs from 'node:fs';
import path from 'node:path';
import { DeviceError } from '../util/errors.js';
import type { KubeObject } from '../k8s/types.js';

export interface LoadedState {
  objects: Map<string, KubeObject>;
  resourceVersion: number;
}

/** One line of the store's append-only log. */
interface LogRecord {
  rv: number;
  key: string;
  object: KubeObject | null;
}

export class StoreLog {
  private fd: number | undefined;
  private readonly file: string;

  constructor(readonly dir: string) {
    this.file = path.join(dir, 'objects.jsonl');
  }

  /** Replays and compacts the log; afterwards `append` writes to it. */
  open(): LoadedState {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const objects = new Map<string, KubeObject>();
      let rv = 0;
      if (fs.existsSync(this.file)) {
        for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
          if (!line.trim()) continue;
          let rec: LogRecord;
          try {
            rec = JSON.parse(line) as LogRecord;
          } catch {
            continue; // a torn last line after a crash
          }
          rv = Math.max(rv, rec.rv);
          if (rec.object) objects.set(rec.key, rec.object);
          else objects.delete(rec.key);
        }
      }
      const tmp = `${this.file}.tmp`;
      const lines = [...objects].map(([key, object]) =>
        JSON.stringify({ rv: Number(object.metadata.resourceVersion ?? rv), key, object }),
      );
      lines.push(JSON.stringify({ rv, key: '', object: null }));
      fs.writeFileSync(tmp, lines.join('\n') + '\n', { mode: 0o600 });
      fs.renameSync(tmp, this.file);
      this.fd = fs.openSync(this.file, 'a', 0o600);
      return { objects, resourceVersion: rv };
    } catch (err) {
      throw new DeviceError(`cannot open the control plane's state in ${this.dir}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  append(rv: number, key: string, object: KubeObject | null): void {
    if (this.fd === undefined) return;
    fs.writeSync(this.fd, JSON.stringify({ rv, key, object }) + '\n');
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
