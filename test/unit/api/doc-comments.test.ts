// Issue 18: every public function of the library has a doc comment. Walks what src/api/index.ts exports
// (with the TypeScript compiler, following re-exports): each function, class and type has a /** */
// comment, and so does each public method, accessor and property of an exported class.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const entry = path.join(root, 'src/api/index.ts');

function undocumented(): { exported: string[]; missing: string[] } {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const documented = (s: ts.Symbol): boolean =>
    s.getDocumentationComment(checker).length > 0 ||
    (s.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0);
  const exported: string[] = [];
  const missing: string[] = [];
  for (const e of checker.getExportsOfModule(module)) {
    const s = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    exported.push(e.name);
    if (!documented(s)) missing.push(e.name);
    if (!(s.flags & ts.SymbolFlags.Class)) continue;
    const decl = s.declarations?.find(ts.isClassDeclaration);
    for (const m of decl?.members ?? []) {
      if (ts.isConstructorDeclaration(m) || !m.name) continue;
      const mods = ts.getCombinedModifierFlags(m);
      if (mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected) || ts.isPrivateIdentifier(m.name)) continue;
      const ms = checker.getSymbolAtLocation(m.name);
      if (ms && !documented(ms)) missing.push(`${e.name}.${m.name.getText()}`);
    }
  }
  return { exported, missing: [...new Set(missing)] };
}

describe('the library API', () => {
  it('has a doc comment on every exported function, class, type and public class member', () => {
    const { exported, missing } = undocumented();
    expect(exported).toEqual(expect.arrayContaining(['Lab', 'Node', 'Capture', 'ConfigError', 'decodePacket']));
    expect(missing).toEqual([]);
  }, 60_000);
});
