// A YAML document parsed with its line numbers, for validators whose every message starts with
// `<file>:<line>: `. parseYamlSource throws ConfigError for text that is not YAML (naming the line
// of the first syntax error); lineOf(node) and lineAt(path) find the line of a node, or of the
// closest existing node on a path (a missing field is reported at its parent); fail() throws the
// ConfigError. Used by the cluster file (control/cluster-file.ts) and lab topologies
// (lab/topology.ts).
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from './errors.js';

export type YamlPath = ReadonlyArray<string | number>;

export interface YamlSource {
  readonly doc: Document;
  /** The name used in messages. */
  readonly file: string;
  /** 1-based line of a node's first character (1 for a node without a position). */
  lineOf(node: unknown): number;
  /** Line of the node at `path`, or of its closest ancestor that exists. */
  lineAt(path: YamlPath): number;
  /** Throws ConfigError `<file>:<line>: <what>`. */
  fail(line: number, what: string): never;
}

export interface YamlSourceOptions {
  /** Reject a mapping with the same key twice (default true, as the yaml package does). */
  uniqueKeys?: boolean;
}

export function parseYamlSource(text: string, file: string, opts: YamlSourceOptions = {}): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: opts.uniqueKeys ?? true });
  const lineOfOffset = (offset: number): number => lines.linePos(offset).line;
  const fail = (line: number, what: string): never => {
    throw new ConfigError(`${file}:${line}: ${what}`);
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(`${file}:${lineOfOffset(e.pos[0])}: not valid YAML: ${e.message.split('\n')[0]}`, {
      cause: e,
    });
  }
  const lineOf = (node: unknown): number => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? lineOfOffset(range[0]) : 1;
  };
  const lineAt = (path: YamlPath): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
      if ((node as { range?: unknown } | undefined)?.range) return lineOf(node);
    }
    return 1;
  };
  return { doc, file, lineOf, lineAt, fail };
}
