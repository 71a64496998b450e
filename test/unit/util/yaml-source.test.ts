// src/util/yaml-source.ts: line numbers of nodes and paths, and the file:line of a syntax error.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/util/errors.js';
import { parseYamlSource } from '../../../src/util/yaml-source.js';

const text = 'name: t\nnodes:\n  - name: a\n    ip: 1.2.3.4\n  - name: b\n';

describe('parseYamlSource', () => {
  it('finds the line of a path, or of its closest existing ancestor', () => {
    const y = parseYamlSource(text, 'lab.yaml');
    expect(y.lineAt(['nodes', 0, 'ip'])).toBe(4);
    expect(y.lineAt(['nodes', 1, 'name'])).toBe(5);
    expect(y.lineAt(['nodes', 1, 'ip'])).toBe(5); // missing: its mapping
    expect(y.lineAt(['pods', 0])).toBe(1); // missing at the top: the document
    expect(y.lineOf(y.doc.getIn(['nodes', 1], true))).toBe(5);
    expect(y.lineOf(undefined)).toBe(1);
  });

  it('fail() and syntax errors are ConfigErrors that start with file:line', () => {
    const y = parseYamlSource(text, 'lab.yaml');
    expect(() => y.fail(4, 'nodes[0].ip is wrong')).toThrow(new ConfigError('lab.yaml:4: nodes[0].ip is wrong'));
    const bad = (() => {
      try {
        parseYamlSource('a: 1\nb: [1, 2\nc: 3\n', 'bad.yaml');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(bad).toBeInstanceOf(ConfigError);
    expect(bad!.message).toMatch(/^bad\.yaml:\d+: not valid YAML: /);
    expect(() => parseYamlSource('a: 1\na: 2\n', 'dup.yaml')).toThrow(/^dup\.yaml:2: not valid YAML: /);
  });
});
