/**
 * Always-on assertions for programmer errors (TigerBeetle style). A failed assertion means the
 * program is wrong, not the input: it throws AssertionError, which callers must never catch to
 * carry on. Bad input is reported with typed errors instead (see errors.ts).
 * @module
 */

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertNever(value: never, message = "unreachable"): never {
  throw new AssertionError(`${message}: ${String(value)}`);
}
