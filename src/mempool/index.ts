/**
 * The transaction pool: bounded (count, bytes, per sender, age), pure (time is an argument),
 * deterministic, and reaped in an order that respects each sender's nonce sequence.
 * Limits: docs/LIMITS.md ("Mempool"); refusal codes: docs/PROTOCOL.md ("Mempool refusals").
 * @module
 */
export { MempoolError, type MempoolErrorCode } from "./errors.ts";
export * from "./limits.ts";
export { Mempool, type MempoolOptions } from "./mempool.ts";
