/**
 * Typed errors with stable codes. Every error a person or a program may see carries a `code`
 * (stable, documented in docs/PROTOCOL.md) and a message that says what is wrong without
 * revealing secrets. Match on `name` or `code`, never on the message.
 * @module
 */

export class CityLedgerError<Code extends string = string> extends Error {
  override name = "CityLedgerError";
  readonly code: Code;
  readonly details: Readonly<Record<string, string | number | bigint | boolean>>;

  constructor(
    code: Code,
    message: string,
    details: Readonly<Record<string, string | number | bigint | boolean>> = {},
  ) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

/** A result for operations whose failure is an expected outcome, not an exception. */
export type Result<Value, Failure> = { ok: true; value: Value } | { ok: false; error: Failure };

export function ok<Value>(value: Value): { ok: true; value: Value } {
  return { ok: true, value };
}

export function fail<Failure>(error: Failure): { ok: false; error: Failure } {
  return { ok: false, error };
}
