/**
 * Why the pool refused a transaction. Stable codes (docs/PROTOCOL.md, "Mempool refusals"),
 * returned, never thrown: a refusal is an expected outcome of admission.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

export type MempoolErrorCode =
  /** The same transaction (by hash) is already waiting, or another one with its sender and nonce. */
  | "MEMPOOL_DUPLICATE"
  /** The pool holds MEMPOOL_TXS_MAX transactions or would exceed MEMPOOL_SIZE_BYTES_MAX. */
  | "MEMPOOL_FULL"
  /** The sender already has MEMPOOL_SENDER_TXS_MAX transactions waiting. */
  | "MEMPOOL_SENDER_FULL"
  /** The nonce is below the sender's next nonce: already used on chain. */
  | "MEMPOOL_NONCE_TOO_LOW";

export class MempoolError extends CityLedgerError<MempoolErrorCode> {
  override name = "MempoolError";
  /** For MEMPOOL_FULL: how long a client should wait before trying again. */
  readonly retryAfterMs: number | null;

  constructor(
    code: MempoolErrorCode,
    message: string,
    details: Readonly<Record<string, string | number | bigint | boolean>> = {},
    retryAfterMs: number | null = null,
  ) {
    super(code, message, retryAfterMs === null ? details : { ...details, retryAfterMs });
    this.retryAfterMs = retryAfterMs;
  }
}
