/**
 * The assertion every failure test makes: this must fail with a TlsError of
 * that code.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TlsError, type TlsErrorCode } from "../../mod.ts";

/** Asserts that `promise` rejects with a TlsError of `code`; that error. */
export async function rejectsWith(promise: Promise<unknown>, code: TlsErrorCode): Promise<TlsError> {
  try {
    await promise;
  } catch (e) {
    assert.ok(e instanceof TlsError, `expected a TlsError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}
