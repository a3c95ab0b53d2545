/**
 * Every limit of the core in one place (TigerBeetle style: `<noun>_<unit>_MAX`). Limits that
 * depend on each other are checked against each other when this module loads. Each one is
 * documented, with the reason for its value, in docs/LIMITS.md.
 * @module
 */
import { assert } from "./assert.ts";

/** Chain ids are short ASCII names such as `city-of-example-1`. */
export const CHAIN_ID_BYTES_MAX = 64;
/** Contract and method names. */
export const NAME_BYTES_MAX = 64;
/** Largest public key of any suite (SM2 uncompressed: 65 bytes). */
export const PUBLIC_KEY_BYTES_MAX = 65;
/** Largest signature of any suite (Ed25519 and SM2 r||s: 64 bytes). */
export const SIGNATURE_BYTES_MAX = 64;
/** Encoded contract arguments of one transaction. */
export const TX_ARGS_BYTES_MAX = 48 * 1024;
/** Private-data commitments one transaction may reference. */
export const TX_PRIVATE_REFERENCES_MAX = 16;
/** One encoded transaction, signature included. */
export const TX_SIZE_BYTES_MAX = 64 * 1024;
/** How far ahead of the sender's next nonce a transaction may be accepted. */
export const TX_NONCE_AHEAD_MAX = 64n;
/** Transactions in one block. */
export const BLOCK_TXS_MAX = 10_000;
/** Encoded transactions of one block. */
export const BLOCK_SIZE_BYTES_MAX = 32 * 1024 * 1024;
/** Evidence items (equivocation proofs) in one block. */
export const BLOCK_EVIDENCE_MAX = 64;
/** Validators in one validator set. */
export const VALIDATORS_MAX = 128;
/** Voting power of one validator; the sum over a set stays far below 2^63. */
export const VOTING_POWER_MAX = 1n << 48n;
/** Nesting depth of a canonical value (contract arguments): bounds recursion on input. */
export const VALUE_DEPTH_MAX = 16;
/** Items in one list or map of a canonical value. */
export const VALUE_ITEMS_MAX = 4096;
/** Entries (leaves) of the transparency log: RFC 9162 sizes are u64; we stay exact in doubles. */
export const LOG_SIZE_MAX = Number.MAX_SAFE_INTEGER;
/** Hashes in one Merkle log proof (inclusion or consistency): 2 * 64 covers any u64 size. */
export const LOG_PROOF_HASHES_MAX = 128;
/** Key/value updates in one state-tree batch (one block). */
export const STATE_BATCH_UPDATES_MAX = 1_000_000;
/** Bytes of one state value. */
export const STATE_VALUE_BYTES_MAX = 1024 * 1024;

assert(TX_ARGS_BYTES_MAX < TX_SIZE_BYTES_MAX, "arguments must fit in a transaction");
assert(BLOCK_TXS_MAX * 1024 <= BLOCK_SIZE_BYTES_MAX, "a full block of 1 KiB txs must fit");
assert(TX_SIZE_BYTES_MAX <= BLOCK_SIZE_BYTES_MAX, "one transaction must fit in a block");
assert(BigInt(VALIDATORS_MAX) * VOTING_POWER_MAX < 1n << 63n, "total power fits in i64");
