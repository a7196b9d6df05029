import assert from 'node:assert/strict';
import { VigilError } from '../../src/errors/catalogue.ts';

/**
 * For property tests of query parsers: either the parse, or the one refusal a bad query may
 * get (a VigilError with `code`); any other error fails the test.
 */
export function refusedOrParsed<T>(f: () => T, code = 'VIGIL_ERR_REQUEST_INVALID'): T | VigilError {
  try {
    return f();
  } catch (e) {
    assert.ok(e instanceof VigilError && e.code === code, String(e));
    return e;
  }
}
