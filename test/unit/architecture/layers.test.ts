// The layer table of docs/ARCHITECTURE.md is enforced: the tree follows it, and the checker itself
// recognises the imports it must refuse (so a broken checker cannot pass silently).
import { describe, expect, it } from 'vitest';
import { check, importsOf, parseLayerTable } from '../../../scripts/check-layers.mjs';

describe('the layer table', () => {
  it('every import in src/ follows docs/ARCHITECTURE.md and no file is over 400 lines', () => {
    expect(check()).toEqual([]);
  });

  it('parses the layers block, with type-only and any-folder rules', () => {
    const table = parseLayerTable(
      'text\n```layers\nutil:\nwire: addr util # comment\ndataplane: wire type:tun\nlab: *\n```\n',
    );
    expect([...table.keys()]).toEqual(['util', 'wire', 'dataplane', 'lab']);
    expect([...table.get('wire')!.values]).toEqual(['addr', 'util']);
    expect([...table.get('dataplane')!.types]).toEqual(['tun']);
    expect(table.get('lab')!.values.has('*')).toBe(true);
  });

  it('finds value, type-only, re-export and dynamic imports with their lines', () => {
    const text = [
      "import { a } from '../wire/a.js';",
      "import type { B } from '../tun/b.js';",
      "import { type C, type D } from '../tun/c.js';",
      "export { e } from './e.js';",
      "const m = await import('../lab/m.js');",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(importsOf(text)).toEqual([
      { spec: '../wire/a.js', line: 1, typeOnly: false },
      { spec: '../tun/b.js', line: 2, typeOnly: true },
      { spec: '../tun/c.js', line: 3, typeOnly: true },
      { spec: './e.js', line: 4, typeOnly: false },
      { spec: '../lab/m.js', line: 5, typeOnly: false },
    ]);
  });
});
