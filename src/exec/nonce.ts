/**
 * Account nonces: the executor stores, per sender, the next nonce it expects.
 *
 *   key   = stateKeyOf(HASH, "account/nonce", senderKeyId)
 *   value = u8 version (1) ‖ u64 nonceNext                     (9 bytes)
 *
 * An absent key means nonce 0 is next (a sender never seen). The value is the fixed canonical
 * layout rather than a canonical value because nonces are u64 and canonical integers are i64.
 * @module
 */
import { assert } from "../base/assert.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { nonceKeyOf } from "./state-keys.ts";
import type { StateReader } from "./state-view.ts";

export const NONCE_VALUE_VERSION = 1;
export const NONCE_VALUE_BYTES = 9;
const U64_MAX = (1n << 64n) - 1n;

export function encodeNonceValue(nonceNext: bigint): Uint8Array {
  assert(nonceNext > 0n, "a stored next nonce follows at least one transaction");
  assert(nonceNext <= U64_MAX, "nonces are u64");
  const encoded = new Writer(16).u8(NONCE_VALUE_VERSION).u64(nonceNext).finish();
  assert(encoded.length === NONCE_VALUE_BYTES);
  return encoded;
}

/** Decodes a stored nonce value; anything else throws DecodeError. */
export function decodeNonceValue(bytes: Uint8Array): bigint {
  const reader = new Reader(bytes);
  const version = reader.u8("nonce version");
  if (version !== NONCE_VALUE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown nonce value version", { version });
  }
  const nonceNext = reader.u64("nonceNext");
  reader.end("nonce value");
  return nonceNext;
}

/**
 * The next nonce the chain expects from a sender in `state` (0 for a new sender). The mempool
 * and the node pass `(keyId) => readNonce(state, hash, keyId)` as `nonceNextOf`.
 */
export function readNonce(state: StateReader, hash: HashFunction, senderKeyId: Uint8Array): bigint {
  return nonceNextOfValue(state.get(nonceKeyOf(hash, senderKeyId)));
}

/** The next nonce a stored value (or its absence) means. */
export function nonceNextOfValue(value: Uint8Array | undefined): bigint {
  if (value === undefined) return 0n;
  // The state tree verified these bytes against their hash; a bad value is a broken invariant.
  let nonceNext: bigint;
  try {
    nonceNext = decodeNonceValue(value);
  } catch (error) {
    assert(!(error instanceof DecodeError), "a stored nonce value decodes");
    throw error;
  }
  assert(nonceNext > 0n, "a stored next nonce is positive");
  return nonceNext;
}
