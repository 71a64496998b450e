// Character classes of Go's regexp/syntax (RE2) as text for a JavaScript `u`-flag character class:
// Perl classes (\d \s \w, ASCII only as in Go), POSIX classes ([:alpha:] …, ASCII), and Unicode
// classes (\pL, \p{Greek}, \p{^Greek}). Pure; returns undefined for a name Go does not know.
// Go's `C` is Cc|Cf|Co|Cs (no unassigned code points, unlike JavaScript's \p{C}).

type Ranges = ReadonlyArray<readonly [number, number]>;

const MAX = 0x10ffff;

const PERL: Record<string, Ranges> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const r = (a: string, b = a): [number, number] => [a.codePointAt(0)!, b.codePointAt(0)!];

const POSIX: Record<string, Ranges> = {
  alnum: [r('0', '9'), r('A', 'Z'), r('a', 'z')],
  alpha: [r('A', 'Z'), r('a', 'z')],
  ascii: [[0, 0x7f]],
  blank: [[9, 9], r(' ')],
  cntrl: [
    [0, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [r('0', '9')],
  graph: [r('!', '~')],
  lower: [r('a', 'z')],
  print: [r(' ', '~')],
  punct: [r('!', '/'), r(':', '@'), r('[', '`'), r('{', '~')],
  space: [[9, 13], r(' ')],
  upper: [r('A', 'Z')],
  word: [r('0', '9'), r('A', 'Z'), r('_'), r('a', 'z')],
  xdigit: [r('0', '9'), r('A', 'F'), r('a', 'f')],
};

/** Go's unicode.Categories names (JavaScript spells them the same), without C (see above). */
const CATEGORIES = new Set(
  ('L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs ' + 'Cc Cf Co Cs').split(
    ' ',
  ),
);
/** Script long names that are also four letters (every other four-letter name is an ISO 15924 alias Go refuses). */
const FOUR_LETTER_SCRIPTS = new Set(['Cham', 'Lisu', 'Miao', 'Modi', 'Newa', 'Thai', 'Toto']);

/** One endpoint inside a JavaScript `u` class: letters and digits as they are, the rest escaped. */
export function classChar(cp: number): string {
  if (/^[0-9A-Za-z]$/.test(String.fromCodePoint(cp))) return String.fromCodePoint(cp);
  return `\\u{${cp.toString(16)}}`;
}

function rangesText(ranges: Ranges): string {
  return ranges.map(([lo, hi]) => (lo === hi ? classChar(lo) : `${classChar(lo)}-${classChar(hi)}`)).join('');
}

/** The set closed under Go's case folding (ASCII letters, plus U+017F with s and U+212A with k). */
function folded(ranges: Ranges): Ranges {
  const out: Array<readonly [number, number]> = [...ranges];
  const has = (cp: number): boolean => ranges.some(([lo, hi]) => lo <= cp && cp <= hi);
  for (let cp = 0x41; cp <= 0x7a; cp++) {
    const other = cp ^ 0x20;
    if (/[A-Za-z]/.test(String.fromCharCode(cp)) && has(cp) && !has(other)) out.push([other, other]);
  }
  if (has(0x4b) || has(0x6b)) out.push([0x212a, 0x212a]);
  if (has(0x53) || has(0x73)) out.push([0x17f, 0x17f]);
  return out;
}

/** The class, or its complement taken after case folding under (?i) (Go negates the folded set). */
function negatedIf(ranges: Ranges, negated: boolean, fold: boolean): Ranges {
  return negated ? complement(fold ? folded(ranges) : ranges) : ranges;
}

function complement(ranges: Ranges): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX) out.push([next, MAX]);
  return out;
}

/** \d \D \s \S \w \W as class items; fold: under (?i). */
export function perlClassItems(letter: string, fold: boolean): string | undefined {
  const ranges = PERL[letter.toLowerCase()];
  if (!ranges) return undefined;
  return rangesText(negatedIf(ranges, letter !== letter.toLowerCase(), fold));
}

/** [:name:] or [:^name:] as class items. */
export function posixClassItems(name: string, negated: boolean, fold: boolean): string | undefined {
  const ranges = Object.hasOwn(POSIX, name) ? POSIX[name] : undefined;
  if (!ranges) return undefined;
  return rangesText(negatedIf(ranges, negated, fold));
}

/**
 * \p{name} (negated: \P{name} or \p{^name}) as class items; `negatedUnion` is true when the only exact
 * JavaScript form is a negated class of several items (Go's \P{C}), which a class cannot hold inside.
 */
export function unicodeClassItems(
  name: string,
  negated: boolean,
): { items: string; negatedUnion: boolean } | undefined {
  if (name === 'Any') return { items: negated ? '' : rangesText([[0, MAX]]), negatedUnion: false };
  if (name === 'C') return { items: '\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}', negatedUnion: negated };
  const p = negated ? 'P' : 'p';
  if (CATEGORIES.has(name)) return { items: `\\${p}{${name}}`, negatedUnion: false };
  if (name === 'Unknown' || !/^[A-Z][A-Za-z_]+$/.test(name) || (name.length === 4 && !FOUR_LETTER_SCRIPTS.has(name)))
    return undefined;
  try {
    new RegExp(`\\p{Script=${name}}`, 'u');
  } catch {
    return undefined;
  }
  return { items: `\\${p}{Script=${name}}`, negatedUnion: false };
}
