/**
 * Limits of the consensus module (TigerBeetle style: `<noun>_<unit>_MAX`), each documented in
 * docs/LIMITS.md ("Consensus"). Everything a peer can make the state machine store is bounded
 * by one of these; relations between them are asserted when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import { BLOCK_EVIDENCE_MAX, BLOCK_SIZE_BYTES_MAX, VALIDATORS_MAX } from "../base/limits.ts";

/**
 * Highest round number the machine enters or accepts. With the default timeouts a height needs
 * days of failed rounds to get here; past it a node still decides through commits of rounds
 * it has seen and through catch-up, but it starts no new round.
 */
export const ROUND_MAX = 1_000;
/**
 * Rounds above `round + 1` that one validator may open per height (CometBFT's "catch-up
 * rounds"): what lets f+1 messages of a higher round pull a node forward (Alg. 1 line 55)
 * without letting one peer make the machine store messages for every round number.
 */
export const ROUNDS_AHEAD_PER_VALIDATOR_MAX = 2;
/** Rounds of one height whose messages are stored: every round up to ROUND_MAX + the above. */
export const ROUNDS_STORED_MAX = ROUND_MAX + 2 + ROUNDS_AHEAD_PER_VALIDATOR_MAX * VALIDATORS_MAX;
/**
 * Proposals (each with its value) stored per height. When full, the proposal of the lowest
 * round that carries neither the locked nor the valid value is evicted.
 */
export const PROPOSALS_PER_HEIGHT_MAX = 64;
/**
 * A validator's conflicting votes (second and later votes of a round and step) kept per height
 * to count toward their values (height-book.ts): bounds what an equivocating validator can make
 * a node store.
 */
export const CONFLICTING_VOTES_PER_VALIDATOR_MAX = 64;
/** Equivocations recorded (and reported as evidence) per height. */
export const EVIDENCE_PER_HEIGHT_MAX = 64;
/** Heights ahead of the current one whose messages are buffered (the next height only). */
export const FUTURE_HEIGHTS_MAX = 1;
/** Evidence items an EvidencePool keeps awaiting inclusion in a block. */
export const EVIDENCE_POOL_MAX = 256;
/** Heights after which evidence is too old to include in a block. */
export const EVIDENCE_AGE_HEIGHTS_MAX = 10_000n;
/** One consensus value: a block (transactions, evidence) plus its header and framing. */
export const VALUE_BYTES_MAX = BLOCK_SIZE_BYTES_MAX + 1024 * 1024;
/** One write-ahead-log record (a proposal carries its value; a lock, its value and its proof). */
export const WAL_RECORD_BYTES_MAX = VALUE_BYTES_MAX + 32 * 1024;
/**
 * Any timeout after growth with the round (`base + round * delta` is clamped here). Past it
 * timeouts stop growing, so a network slower than this never decides: ten minutes is far
 * beyond any real message delay.
 */
export const TIMEOUT_MS_MAX = 600_000;
/** Upon-rule firings while handling one input; each one moves (height, round, step) forward. */
export const RULE_FIRINGS_PER_INPUT_MAX = 64;
/** Links one verifyHeaderChain call checks. */
export const HEADER_CHAIN_LINKS_MAX = 100_000;

assert(ROUNDS_AHEAD_PER_VALIDATOR_MAX >= 1, "a validator must be able to pull others forward");
assert(EVIDENCE_PER_HEIGHT_MAX <= EVIDENCE_POOL_MAX, "a height's evidence fits in the pool");
assert(BLOCK_EVIDENCE_MAX <= EVIDENCE_POOL_MAX, "a block's worth of evidence fits in the pool");
assert(PROPOSALS_PER_HEIGHT_MAX >= 4, "room for locked, valid, current and one more proposal");
assert(FUTURE_HEIGHTS_MAX === 1, "the machine knows the validator set of the next height only");
assert(ROUND_MAX < 0xffff_ffff, "rounds fit in u32");
assert(
  VALIDATORS_MAX * 160 + 1024 <= WAL_RECORD_BYTES_MAX - VALUE_BYTES_MAX,
  "a proof of lock fits a lock record",
);
