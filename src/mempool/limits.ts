/**
 * Limits of the transaction pool (TigerBeetle style: `<noun>_<unit>_MAX`), each documented in
 * docs/LIMITS.md ("Mempool"). A pool may be configured below these, never above. Relations with
 * the core limits are asserted when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  BLOCK_SIZE_BYTES_MAX,
  BLOCK_TXS_MAX,
  TX_NONCE_AHEAD_MAX,
  TX_SIZE_BYTES_MAX,
} from "../base/limits.ts";

/** Transactions waiting in one pool: ten full blocks. */
export const MEMPOOL_TXS_MAX = 100_000;
/** Encoded bytes of the transactions waiting in one pool. */
export const MEMPOOL_SIZE_BYTES_MAX = 128 * 1024 * 1024;
/** Transactions one sender may have waiting (the nonce window of validateTransaction is 65 wide). */
export const MEMPOOL_SENDER_TXS_MAX = 64;
/** Longest a transaction waits before it is evicted (10 minutes). */
export const MEMPOOL_TX_AGE_MS_MAX = 10 * 60 * 1000;
/** What a full pool suggests to a client as a pause before it tries again (about a block or two). */
export const MEMPOOL_FULL_RETRY_AFTER_MS = 2_000;

assert(MEMPOOL_TXS_MAX >= BLOCK_TXS_MAX, "a pool can fill a block by count");
assert(MEMPOOL_SIZE_BYTES_MAX >= BLOCK_SIZE_BYTES_MAX, "a pool can fill a block by size");
assert(MEMPOOL_SIZE_BYTES_MAX >= TX_SIZE_BYTES_MAX * MEMPOOL_SENDER_TXS_MAX, "one sender's full queue fits");
assert(
  BigInt(MEMPOOL_SENDER_TXS_MAX) <= TX_NONCE_AHEAD_MAX + 1n,
  "a sender's queue never exceeds its window",
);
assert(MEMPOOL_FULL_RETRY_AFTER_MS < MEMPOOL_TX_AGE_MS_MAX);
