// Typed wrappers for vitest's asymmetric matchers where a test passes one to toThrow. vitest types
// expect.objectContaining() as `any` and toThrow's parameter as an Error (among others), although
// toThrow accepts an asymmetric matcher at run time and compares the thrown value with it.
import { expect } from 'vitest';

/** Matches a thrown value having (at least) these properties, e.g. `{ name: 'ConfigError' }`. */
export function errorLike(props: Record<string, unknown>): Error {
  return expect.objectContaining(props) as Error;
}
