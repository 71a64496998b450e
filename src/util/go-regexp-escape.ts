// Go regexp/syntax's parseEscape: the single code point a backslash escape stands for (\n \x41 \x{1F600}
// \101 \. …), or Go's error code for one it refuses (\1 and \8 are backreferences Go does not have, \Z \C
// and unknown letters). Pure: takes the pattern's code points and the index of the backslash.

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
const INVALID = 'invalid escape sequence';

/** value: the code point, or Go's error code; end: the index after what was read (the error's text ends there). */
export function parseGoEscape(c: readonly string[], at: number): { value: number | string; end: number } {
  let pos = at + 1;
  const ch = c[pos++];
  if (ch === undefined) return { value: 'trailing backslash at end of expression', end: at };
  const cp = ch.codePointAt(0)!;
  if (cp < 0x80 && !/[0-9A-Za-z]/.test(ch)) return { value: cp, end: pos };
  if (ch >= '0' && ch <= '7' && (ch === '0' || /[0-7]/.test(c[pos] ?? ''))) {
    let value = cp - 0x30;
    for (let n = 1; n < 3 && /[0-7]/.test(c[pos] ?? ''); n++) value = value * 8 + Number(c[pos++]);
    return { value, end: pos };
  }
  if (ch === 'x' && c[pos] === '{') {
    pos++;
    let value = 0;
    let digits = 0;
    for (;;) {
      const d = c[pos++];
      if (d === undefined) break;
      if (d === '}') {
        if (digits > 0) return { value, end: pos };
        break;
      }
      if (!/^[0-9A-Fa-f]$/.test(d) || (value = value * 16 + parseInt(d, 16)) > 0x10ffff) break;
      digits++;
    }
    return { value: INVALID, end: Math.min(pos, c.length) };
  }
  if (ch === 'x') {
    const hex = c.slice(pos, pos + 2).join('');
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) return { value: parseInt(hex, 16), end: pos + 2 };
    return { value: INVALID, end: Math.min(c.length, pos + 2) };
  }
  return { value: SIMPLE_ESCAPES[ch] ?? INVALID, end: pos };
}
