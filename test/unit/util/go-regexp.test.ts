// compileGoRegexp: each Go pattern of the table matches (RegExp.test, Go's MatchString) exactly the sample
// strings Go's regexp matches, and each pattern Go refuses (or JavaScript cannot say) throws
// RegexpSyntaxError with Go's one-line text. The table was cross-checked against Go's regexp by hand
// (see the closing note); this test runs without Go.
import { describe, expect, it } from 'vitest';
import { compileGoRegexp } from '../../../src/util/go-regexp.js';
import { RegexpSyntaxError } from '../../../src/util/errors.js';
import { MATCH_CASES, REFUSALS } from './go-regexp-cases.js';

describe('compileGoRegexp', () => {
  it.each(MATCH_CASES)('$pattern matches as Go does', ({ pattern, yes, no }) => {
    const re = compileGoRegexp(pattern);
    for (const s of yes) expect(re.test(s), `${pattern} should match ${JSON.stringify(s)}`).toBe(true);
    for (const s of no) expect(re.test(s), `${pattern} should not match ${JSON.stringify(s)}`).toBe(false);
  });

  it.each(REFUSALS)('$pattern is refused', ({ pattern, message }) => {
    let caught: unknown;
    try {
      compileGoRegexp(pattern);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RegexpSyntaxError);
    expect((caught as RegexpSyntaxError).code).toBe('EREGEXP');
    expect((caught as Error).message).toBe(message);
  });

  it('is a search, not anchored, like Go MatchString', () => {
    expect(compileGoRegexp('168').test('192.168.1.1')).toBe(true);
    expect(compileGoRegexp('^168').test('192.168.1.1')).toBe(false);
  });
});
