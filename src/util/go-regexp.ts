// Compiles a Go regexp (RE2, regexp/syntax with Perl flags, as regexp.Compile takes it) into a JavaScript
// RegExp that matches the same strings: RegExp.test is Go's MatchString (an unanchored search).
// Translated, not passed through: (?P<name>re) and (?<name>re) (plain groups: names do not change what
// matches), flags (?i) (?m) (?s) (?U) and (?flags:re) ((?i) must hold for the whole pattern or never:
// JavaScript has no inline flags; s, m and U are applied per atom), \A \z, ^ $ (with (?m) only \n ends a
// line, as in Go), . (never \n without (?s); \r and U+2028 are ordinary), \s (Go's ASCII set), \Q…\E,
// POSIX classes [[:alpha:]] [[:^alpha:]], \pN \p{Greek} \p{^Greek} \PN, octal \123, \x{10FFFF}, x{n,m}
// (counts up to 1000). Refused as Go refuses them, with Go's text ("error parsing regexp: CODE: `EXPR`"):
// backreferences (\1: invalid escape), lookaround ((?= (?! : invalid or unsupported Perl syntax;
// (?<= (?<! : invalid named capture, as Go ≥1.22 reads `(?<`), possessive and stacked repeats, \Z \C.
// Refused because JavaScript cannot say it exactly: (?i) for part of a pattern, \P{C} inside brackets.
// Known edge: with (?i), JavaScript's \b also counts U+017F and U+212A as word characters; Go does not.
// Throws RegexpSyntaxError (one line); pure.
import { classChar, perlClassItems, posixClassItems, unicodeClassItems } from './go-regexp-classes.js';
import { parseGoEscape } from './go-regexp-escape.js';
import { RegexpSyntaxError } from './errors.js';

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}
/** kind: 'atom' takes a quantifier as it is; 'wrap' (an assertion, a quantified atom) needs (?:) first. */
interface Piece {
  text: string;
  kind: 'atom' | 'wrap' | 'bar';
  /** Copies of the innermost atom that the counted repeats in it make (Go allows at most 1000). */
  copies?: number;
}
interface Frame {
  open: string;
  pieces: Piece[];
  outer: Flags;
}

const SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));
/** The non-ASCII members of an ASCII letter's case-folding orbit (Unicode simple folding, as Go folds). */
const ASCII_FOLDS: Record<string, string> = { k: '\\u{212a}', K: '\\u{212a}', s: '\\u{17f}', S: '\\u{17f}' };

/** Go's pattern as a JavaScript RegExp with the same matches; throws RegexpSyntaxError. */
export function compileGoRegexp(pattern: string): RegExp {
  return new GoRegexpTranslator(pattern).translate();
}

class GoRegexpTranslator {
  private readonly c: string[];
  private pos = 0;
  private flags: Flags = { i: false, m: false, s: false, U: false };
  private readonly stack: Frame[] = [];
  private frame: Frame = { open: '', pieces: [], outer: this.flags };
  /** Where the previous piece's repetition operator began, while the next token may stack on it. */
  private lastRepeat = -1;
  private sawCaseless = false;
  private sawCased = false;
  private firstIChange: string | undefined;

  constructor(private readonly pattern: string) {
    this.c = [...pattern];
  }

  translate(): RegExp {
    while (this.pos < this.c.length) {
      const repeatStart = this.pos;
      const wasRepeat = this.step();
      this.lastRepeat = wasRepeat ? repeatStart : -1;
    }
    if (this.stack.length > 0) this.fail('missing closing )', this.pattern);
    if (this.sawCased && this.sawCaseless) {
      throw new RegexpSyntaxError(
        `cannot use in JavaScript: \`${this.firstIChange ?? '(?i)'}\` turns case folding on or off for part of the pattern`,
      );
    }
    return new RegExp(this.join(this.frame.pieces), this.sawCaseless ? 'ui' : 'u');
  }

  /** One token; true when it was a repetition operator. */
  private step(): boolean {
    const ch = this.c[this.pos];
    switch (ch) {
      case '(':
        this.openGroup();
        return false;
      case ')':
        this.closeGroup();
        return false;
      case '|':
        this.pos++;
        this.frame.pieces.push({ text: '|', kind: 'bar' });
        return false;
      case '^':
        this.pos++;
        this.push(this.flags.m ? '(?<![^\\n])' : '^', 'wrap');
        return false;
      case '$':
        this.pos++;
        this.push(this.flags.m ? '(?![^\\n])' : '$', 'wrap');
        return false;
      case '.':
        this.pos++;
        this.push(this.flags.s ? '[\\s\\S]' : '[^\\n]', 'atom');
        return false;
      case '[':
        this.push(this.parseClass(), 'atom', true);
        return false;
      case '*':
      case '+':
      case '?':
        this.pos++;
        this.repeat(ch, this.pos - 1);
        return true;
      case '{':
        return this.braceRepeat();
      case '\\':
        this.escape();
        return false;
      default:
        this.pos++;
        this.literal(ch);
        return false;
    }
  }

  private push(text: string, kind: Piece['kind'], cased = false): void {
    if (cased) this.noteCase();
    this.frame.pieces.push({ text, kind });
  }

  private noteCase(): void {
    if (this.flags.i) this.sawCaseless = true;
    else this.sawCased = true;
  }

  private literal(ch: string): void {
    const cp = ch.codePointAt(0)!;
    if (this.flags.i && /^[A-Za-z]$/.test(ch)) {
      this.frame.pieces.push({
        text: `[${ch.toLowerCase()}${ch.toUpperCase()}${ASCII_FOLDS[ch] ?? ''}]`,
        kind: 'atom',
      });
      return;
    }
    const text = SYNTAX.has(ch) ? `\\${ch}` : cp < 0x20 || cp === 0x7f ? `\\u{${cp.toString(16)}}` : ch;
    this.push(text, 'atom', /[^\0-@[-`{-\x7f]/u.test(ch));
  }

  private join(pieces: Piece[]): string {
    return pieces.map((p) => p.text).join('');
  }

  private fail(code: string, expr: string): never {
    throw new RegexpSyntaxError(`error parsing regexp: ${code}: \`${expr}\``);
  }

  private text(from: number, to = this.pos): string {
    return this.c.slice(from, to).join('');
  }

  private repeat(op: string, start: number, count?: { min: number; max: number }): void {
    let lazy = false;
    if (this.c[this.pos] === '?') {
      this.pos++;
      lazy = true;
    }
    if (this.lastRepeat >= 0) this.fail('invalid nested repetition operator', this.text(this.lastRepeat));
    const last = this.frame.pieces.at(-1);
    if (!last || last.kind === 'bar') this.fail('missing argument to repetition operator', this.text(start));
    if (count) {
      const most = count.max < 0 ? count.min : count.max;
      const copies = most * (last.copies ?? 1);
      if ((count.min >= 2 || count.max >= 2) && copies > 1000) this.fail('invalid repeat count', this.text(start));
      last.copies = copies;
    }
    const text = last.kind === 'wrap' ? `(?:${last.text})` : last.text;
    last.text = `${text}${op}${lazy !== this.flags.U ? '?' : ''}`;
    last.kind = 'wrap';
  }

  /** {n} {n,} {n,m}; anything else makes `{` a literal, as in Go. */
  private braceRepeat(): boolean {
    const start = this.pos;
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.text(start, Math.min(this.c.length, start + 40)));
    const validInt = (s: string | undefined): boolean => s === undefined || s === '' || !/^0\d/.test(s);
    if (!m || !validInt(m[1]) || !validInt(m[3])) {
      this.pos++;
      this.literal('{');
      return false;
    }
    this.pos += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? -1 : Number(m[3]);
    const end = this.pos + (this.c[this.pos] === '?' ? 1 : 0);
    if (min > 1000 || max > 1000 || (max >= 0 && min > max)) this.fail('invalid repeat count', this.text(start, end));
    this.repeat(m[0], start, { min, max });
    return true;
  }

  private openGroup(): void {
    const start = this.pos;
    if (this.c[this.pos + 1] !== '?') {
      this.pos++;
      this.pushFrame('(');
      return;
    }
    const named =
      this.c[this.pos + 2] === 'P' && this.c[this.pos + 3] === '<' ? 4 : this.c[this.pos + 2] === '<' ? 3 : 0;
    if (named) {
      const end = this.c.indexOf('>', this.pos);
      if (end < 0) this.fail('invalid named capture', this.text(start, this.c.length));
      const name = this.text(this.pos + named, end);
      if (!/^[A-Za-z0-9_]+$/.test(name)) this.fail('invalid named capture', this.text(start, end + 1));
      this.pos = end + 1;
      this.pushFrame('(');
      return;
    }
    this.pos += 2;
    const flags = { ...this.flags };
    let sign = 1;
    let sawFlag = false;
    while (this.pos < this.c.length) {
      const ch = this.c[this.pos++];
      if (ch === 'i' || ch === 'm' || ch === 's' || ch === 'U') {
        flags[ch] = sign > 0;
        sawFlag = true;
      } else if (ch === '-' && sign > 0) {
        sign = -1;
        sawFlag = false;
      } else if ((ch === ':' || ch === ')') && (sign > 0 || sawFlag)) {
        if (flags.i !== this.flags.i) this.firstIChange ??= this.text(start);
        if (ch === ':') this.pushFrame('(?:');
        this.flags = flags;
        return;
      } else break;
    }
    this.fail('invalid or unsupported Perl syntax', this.text(start));
  }

  private pushFrame(open: string): void {
    this.stack.push(this.frame);
    this.frame = { open, pieces: [], outer: this.flags };
  }

  private closeGroup(): void {
    const parent = this.stack.pop();
    if (!parent) this.fail('unexpected )', this.pattern);
    this.pos++;
    const inner = this.frame;
    this.flags = inner.outer;
    this.frame = parent;
    const copies = Math.max(1, ...inner.pieces.map((p) => p.copies ?? 1));
    parent.pieces.push({ text: `${inner.open}${this.join(inner.pieces)})`, kind: 'atom', copies });
  }

  private escape(): void {
    const start = this.pos;
    const next = this.c[this.pos + 1];
    if (next === 'A' || next === 'z' || next === 'b' || next === 'B') {
      this.pos += 2;
      this.push(next === 'A' ? '^' : next === 'z' ? '$' : `\\${next}`, 'wrap');
      return;
    }
    if (next === 'Q') {
      let stop = this.pos + 2;
      while (stop < this.c.length && !(this.c[stop] === '\\' && this.c[stop + 1] === 'E')) stop++;
      for (const ch of this.c.slice(this.pos + 2, stop)) this.literal(ch);
      this.pos = Math.min(this.c.length, stop + 2);
      return;
    }
    const cls = this.classEscape();
    if (cls !== undefined) {
      this.push(`[${cls.negated ? '^' : ''}${cls.items}]`, 'atom', true);
      return;
    }
    this.pos = start;
    this.literal(String.fromCodePoint(this.parseEscape()));
  }

  /** \d \pL \p{Greek} … at pos as class items (pos moves past it), else undefined (pos unchanged). */
  private classEscape(inBrackets = false): { items: string; negated: boolean } | undefined {
    const start = this.pos;
    const letter = this.c[this.pos + 1];
    if (letter === undefined) return undefined;
    const perl = /^[dDsSwW]$/.test(letter) ? perlClassItems(letter, this.flags.i) : undefined;
    if (perl !== undefined) {
      this.pos += 2;
      return { items: perl, negated: false };
    }
    if (letter !== 'p' && letter !== 'P') return undefined;
    let name: string;
    if (this.c[this.pos + 2] === '{') {
      const end = this.c.indexOf('}', this.pos + 2);
      if (end < 0) this.fail('invalid character class range', this.text(start, this.c.length));
      name = this.text(this.pos + 3, end);
      this.pos = end + 1;
    } else {
      name = this.c[this.pos + 2] ?? '';
      if (name === '') this.fail('invalid character class range', this.text(start, this.c.length));
      this.pos += 3;
    }
    let negated = letter === 'P';
    if (name.startsWith('^')) [negated, name] = [!negated, name.slice(1)];
    const cls = unicodeClassItems(name, negated);
    if (!cls) this.fail('invalid character class range', this.text(start));
    if (negated && this.flags.i)
      throw new RegexpSyntaxError(`cannot use in JavaScript: \`${this.text(start)}\` with (?i)`);
    if (cls.negatedUnion && inBrackets) {
      throw new RegexpSyntaxError(`cannot use in JavaScript: \`${this.text(start)}\` inside [ ]`);
    }
    return { items: cls.items, negated: cls.negatedUnion };
  }

  /** Go's parseEscape: a single code point after `\`; pos moves past it. */
  private parseEscape(): number {
    const { value, end } = parseGoEscape(this.c, this.pos);
    if (typeof value === 'string') this.fail(value, this.text(this.pos, end));
    this.pos = end;
    return value;
  }

  /** [ … ] at pos as a JavaScript class (Go's parseClass: ] and - literal first, [:name:], \p, \d). */
  private parseClass(): string {
    const start = this.pos;
    this.pos++;
    let negated = false;
    if (this.c[this.pos] === '^') {
      negated = true;
      this.pos++;
    }
    let items = '';
    let first = true;
    while (this.pos >= this.c.length || this.c[this.pos] !== ']' || first) {
      if (this.pos >= this.c.length) this.fail('missing closing ]', this.text(start, this.c.length));
      first = false;
      if (this.c[this.pos] === '[' && this.c[this.pos + 1] === ':') {
        const rest = this.text(this.pos, this.c.length);
        const end = rest.indexOf(':]', 2);
        if (end >= 0) {
          const whole = rest.slice(0, end + 2);
          const name = whole.slice(2, -2);
          const posix = posixClassItems(name.replace(/^\^/, ''), name.startsWith('^'), this.flags.i);
          if (posix === undefined) this.fail('invalid character class range', whole);
          items += posix;
          this.pos += [...whole].length;
          continue;
        }
      }
      if (this.c[this.pos] === '\\') {
        const cls = this.classEscape(true);
        if (cls !== undefined) {
          items += cls.items;
          continue;
        }
      }
      const rangeStart = this.pos;
      const lo = this.classChar(start);
      let hi = lo;
      if (this.c[this.pos] === '-' && this.c[this.pos + 1] !== ']' && this.pos + 1 < this.c.length) {
        this.pos++;
        hi = this.classChar(start);
        if (hi < lo) this.fail('invalid character class range', this.text(rangeStart));
      }
      items += lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`;
    }
    this.pos++;
    return `[${negated ? '^' : ''}${items}]`;
  }

  private classChar(classStart: number): number {
    if (this.pos >= this.c.length) this.fail('missing closing ]', this.text(classStart, this.c.length));
    if (this.c[this.pos] === '\\') return this.parseEscape();
    return this.c[this.pos++].codePointAt(0)!;
  }
}
