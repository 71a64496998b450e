// src/util/yaml-fields.ts: field readers whose errors name the file, line and field path.
import { describe, expect, it } from 'vitest';
import { pathText, YamlFields } from '../../../src/util/yaml-fields.js';
import { parseYamlSource } from '../../../src/util/yaml-source.js';

class Reader extends YamlFields {
  read(): { name: string; count?: number; args: string[] } {
    const top = this.obj(this.yaml.doc.toJS(), [], ['name', 'count', 'args', 'items']);
    this.list(top['items'], ['items']);
    return {
      name: this.str(top, 'name', [], true),
      count: this.int(top, 'count', [], 1, 9),
      args: this.words(top['args'], ['args'], false),
    };
  }
}

const read = (text: string) => new Reader(parseYamlSource(text, 'f.yaml')).read();
const errorOf = (text: string): string => {
  try {
    read(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
};

describe('YamlFields', () => {
  it('reads strings, integers, word lists', () => {
    expect(read('name: a\ncount: 3\nargs: x  y\nitems: []\n')).toEqual({ name: 'a', count: 3, args: ['x', 'y'] });
    expect(read('name: 7\nargs: [p, 2]\nitems: [1]\n')).toEqual({ name: '7', count: undefined, args: ['p', '2'] });
  });

  it('fails at the line of the field, or of its parent when it is missing', () => {
    expect(errorOf('name: a\ncount: 30\nargs: x\nitems: []\n')).toBe(
      'f.yaml:2: count must be an integer from 1 to 9 (got 30)',
    );
    expect(errorOf('count: 3\nargs: x\nitems: []\n')).toBe('f.yaml:1: name is missing');
    expect(errorOf('name: a\nargs: x\nitems: []\nextra: 1\n')).toMatch(/^f\.yaml:4: extra is not a known field/);
    expect(errorOf('name: a\nargs: []\nitems: []\n')).toBe('f.yaml:2: args is empty');
    expect(errorOf('name: a\nargs: x\nitems: 5\n')).toBe('f.yaml:3: items must be a list');
  });

  it('writes paths as a reader would', () => {
    expect(pathText(['pods', 2, 'containers', 0, 'name'])).toBe('pods[2].containers[0].name');
    expect(pathText([])).toBe('(top level)');
  });
});
