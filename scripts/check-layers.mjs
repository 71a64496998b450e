#!/usr/bin/env node
// Checks that src/ keeps the shape docs/ARCHITECTURE.md describes: every import between folders of
// src/ is allowed by the layer table (the ```layers block of that document is the one source of the
// rules), and no file in src/ is longer than 400 lines. Prints one line per violation
// (`file:line: message`) and exits 1 if there is any, 0 otherwise. No dependencies: plain Node.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 400;

/** Parses the ```layers block: `folder: dep dep type:dep` per line; `*` means any folder but cli. */
export function parseLayerTable(markdown) {
  const block = /```layers\n([\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error('docs/ARCHITECTURE.md has no ```layers block');
  const table = new Map();
  for (const raw of block[1].split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const m = /^([a-z0-9-]+):(.*)$/.exec(line);
    if (!m) throw new Error(`bad line in the layers block: ${raw}`);
    const values = new Set();
    const types = new Set();
    for (const dep of m[2].trim().split(/\s+/).filter(Boolean)) {
      if (dep.startsWith('type:')) types.add(dep.slice(5));
      else values.add(dep);
    }
    table.set(m[1], { values, types });
  }
  return table;
}

/** Every import/export-from/dynamic import of a relative module, with its line and whether it is type-only. */
export function importsOf(text) {
  const found = [];
  const re = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    const spec = m[4] ?? m[5];
    if (!spec.startsWith('.')) continue;
    const offset = m.index + (m[0].startsWith('\n') ? 1 : 0);
    const line = text.slice(0, offset).split('\n').length;
    const clause = m[3] ?? '';
    const typeOnly = Boolean(m[2]) || (/^\{[^}]*\}$/.test(clause.trim()) && clause
      .replace(/[{}]/g, '').split(',').map((s) => s.trim()).filter(Boolean).every((s) => s.startsWith('type ')));
    found.push({ spec, line, typeOnly });
  }
  return found;
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function check(rootDir = root) {
  const table = parseLayerTable(fs.readFileSync(path.join(rootDir, 'docs/ARCHITECTURE.md'), 'utf8'));
  const src = path.join(rootDir, 'src');
  const problems = [];
  const folderOf = (file) => path.relative(src, file).split(path.sep)[0];
  for (const file of walk(src)) {
    const rel = path.relative(rootDir, file);
    const text = fs.readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > MAX_LINES) problems.push(`${rel}:1: ${lines} lines (at most ${MAX_LINES})`);
    const from = folderOf(file);
    const rules = table.get(from);
    if (!rules) {
      problems.push(`${rel}:1: folder src/${from}/ is not in the layer table of docs/ARCHITECTURE.md`);
      continue;
    }
    for (const imp of importsOf(text)) {
      const target = path.resolve(path.dirname(file), imp.spec);
      if (!target.startsWith(src + path.sep)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      const anyBelowCli = rules.values.has('*') && to !== 'cli';
      const ok = anyBelowCli || rules.values.has(to) || (imp.typeOnly && rules.types.has(to));
      if (!ok) {
        const how = imp.typeOnly ? 'types of ' : '';
        problems.push(`${rel}:${imp.line}: src/${from}/ may not import ${how}src/${to}/ (${imp.spec})`);
      }
    }
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const problems = check();
  for (const p of problems) console.log(p);
  if (problems.length > 0) {
    console.log(`check-layers: ${problems.length} problem(s); the rules are the layers block of docs/ARCHITECTURE.md`);
    process.exit(1);
  }
  console.log('check-layers: every import follows docs/ARCHITECTURE.md; no file in src/ over 400 lines');
}
