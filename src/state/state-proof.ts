/**
 * State proofs: membership and non-membership of a key under a state root, their pure verifier
 * and their canonical byte encoding. This file is browser-safe: no `node:` imports and no native
 * code, directly or transitively (the default hash is the portable SHA-256).
 *
 * The hashing rules (prefix bytes, node shapes) are specified at the top of
 * sparse-merkle-tree.ts; the constants and hash helpers that implement them live here so that the
 * verifier and the tree share one definition.
 *
 * Proof object. `siblings[i]` is the hash of the sibling of the path node at depth i + 1, that is,
 * the child of the path node at depth i that the key's bit i does NOT select; empty siblings are
 * 32 zero bytes. `siblings.length` is the depth of the terminal node where the path ends. The
 * terminal is either an empty subtree (`leaf: null`) or a leaf (`leaf: { key, valueHash }`):
 * - membership of (key, value): terminal leaf with `leaf.key = key` and
 *   `leaf.valueHash = HASH(0x02 || value)`;
 * - non-membership of key: terminal empty, or terminal leaf with `leaf.key != key` whose first
 *   `siblings.length` bits equal those of key (that leaf is alone in the subtree the key's path
 *   leads to, so the key is absent).
 * Canonical shape: when `siblings.length > 0` the last sibling is non-empty (a leaf or an empty
 * subtree whose sibling is empty would have collapsed into its parent).
 *
 * Proof encoding (canonical; decode rejects anything else):
 *   offset 0   1 byte    terminal: 0x00 = empty subtree, 0x01 = leaf
 *   offset 1   32 bytes  sibling bitmap: bit i (byte i >> 3, mask 0x80 >> (i & 7)) is 1 exactly
 *                        when siblings[i] is non-empty; depth = 1 + index of the highest set bit,
 *                        or 0 when no bit is set (the canonical shape makes the last sibling
 *                        non-empty, so the bitmap alone fixes the depth)
 *   if terminal = 0x01: 32 bytes leaf key, then 32 bytes leaf valueHash
 *   then       32 bytes per set bit of the bitmap, in increasing i: the non-empty sibling hashes
 *                        (never 32 zero bytes: an empty sibling must be a clear bit)
 * Nothing follows. Size: 33 + (leaf ? 64 : 0) + 32 * (non-empty siblings), at most
 * STATE_PROOF_BYTES_MAX = 8289 bytes.
 * @module
 */
import { assert } from "../base/assert.ts";
import { equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import { sha256 as portableSha256 } from "../crypto/portable/sha256.ts";
import type { HashFunction } from "../crypto/suite.ts";

/** Keys are 256-bit: the ledger hashes contract namespaces and user keys into them. */
export const STATE_KEY_BYTES = 32;
/** Node hashes, value hashes and roots. */
export const STATE_HASH_BYTES = 32;
/** Depth of the deepest possible node: two keys that differ only in their last bit. */
export const STATE_TREE_DEPTH_MAX = STATE_KEY_BYTES * 8;
/** Siblings in one proof: one per level above the terminal node. */
export const STATE_PROOF_SIBLINGS_MAX = STATE_TREE_DEPTH_MAX;
const PROOF_BITMAP_BYTES = STATE_PROOF_SIBLINGS_MAX / 8;
const PROOF_HEADER_BYTES = 1 + PROOF_BITMAP_BYTES;
const PROOF_LEAF_BYTES = STATE_KEY_BYTES + STATE_HASH_BYTES;
/** One encoded proof, at its largest. */
export const STATE_PROOF_BYTES_MAX =
  PROOF_HEADER_BYTES + PROOF_LEAF_BYTES + STATE_PROOF_SIBLINGS_MAX * STATE_HASH_BYTES;

/** First byte of a leaf's hash input, and the tag of an encoded leaf node. */
export const STATE_LEAF_PREFIX = 0x00;
/** First byte of an internal node's hash input, and the tag of an encoded internal node. */
export const STATE_INTERNAL_PREFIX = 0x01;
/** First byte of a value's hash input. */
export const STATE_VALUE_PREFIX = 0x02;

const PROOF_TERMINAL_EMPTY = 0x00;
const PROOF_TERMINAL_LEAF = 0x01;

assert(STATE_TREE_DEPTH_MAX === 256);
assert(STATE_PROOF_BYTES_MAX === 8289);

/** The hash of the empty subtree and the root of the empty tree: 32 zero bytes, not a digest. */
export function emptyStateRoot(): Uint8Array {
  return new Uint8Array(STATE_HASH_BYTES);
}

export function isEmptyStateHash(hash: Uint8Array): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (hash[index] !== 0) return false;
  }
  return true;
}

/** Bit `depth` of a key, most significant bit of byte 0 first: 0 goes left, 1 goes right. */
export function stateKeyBit(key: Uint8Array, depth: number): number {
  return (key[depth >> 3]! >> (7 - (depth & 7))) & 1;
}

/** HASH(0x02 || value). */
export function hashStateValue(value: Uint8Array, hash: HashFunction = portableSha256): Uint8Array {
  const input = new Uint8Array(1 + value.length);
  input[0] = STATE_VALUE_PREFIX;
  input.set(value, 1);
  return hash(input);
}

const nodeInputScratch = new Uint8Array(1 + 2 * STATE_HASH_BYTES);

/** HASH(0x00 || key || valueHash). */
export function hashStateLeaf(
  key: Uint8Array,
  valueHash: Uint8Array,
  hash: HashFunction = portableSha256,
): Uint8Array {
  return hashNodeInput(STATE_LEAF_PREFIX, key, valueHash, hash);
}

/** HASH(0x01 || leftHash || rightHash). */
export function hashStateInternal(
  left: Uint8Array,
  right: Uint8Array,
  hash: HashFunction = portableSha256,
): Uint8Array {
  return hashNodeInput(STATE_INTERNAL_PREFIX, left, right, hash);
}

function hashNodeInput(
  prefix: number,
  first: Uint8Array,
  second: Uint8Array,
  hash: HashFunction,
): Uint8Array {
  assert(first.length === STATE_HASH_BYTES);
  assert(second.length === STATE_HASH_BYTES);
  nodeInputScratch[0] = prefix;
  nodeInputScratch.set(first, 1);
  nodeInputScratch.set(second, 1 + STATE_HASH_BYTES);
  const digest = hash(nodeInputScratch);
  assert(digest.length === STATE_HASH_BYTES);
  return digest;
}

export interface StateProofLeaf {
  readonly key: Uint8Array;
  readonly valueHash: Uint8Array;
}

export interface StateProof {
  /** Root-to-terminal order; `siblings[i]` sits at depth i + 1. Empty siblings are zero bytes. */
  readonly siblings: readonly Uint8Array[];
  /** The leaf where the path ends, or null when it ends at an empty subtree. */
  readonly leaf: StateProofLeaf | null;
}

function isBytesOfLength(value: unknown, length: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length === length;
}

/** True when the first `bitCount` bits of both keys are equal. */
function sharesPrefix(left: Uint8Array, right: Uint8Array, bitCount: number): boolean {
  const byteCount = bitCount >> 3;
  for (let index = 0; index < byteCount; index++) {
    if (left[index] !== right[index]) return false;
  }
  const bitsRest = bitCount & 7;
  if (bitsRest === 0) return true;
  const mask = (0xff << (8 - bitsRest)) & 0xff;
  return ((left[byteCount]! ^ right[byteCount]!) & mask) === 0;
}

/**
 * Checks a proof against a root. `value` non-null: true only when the tree under `root` maps
 * `key` to exactly `value`. `value` null: true only when `key` is absent under `root`.
 * Pure and total: any malformed argument (wrong types or lengths, more than 256 siblings, a
 * non-canonical shape) gives false; it never throws.
 */
export function verifyStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
  hash: HashFunction = portableSha256,
): boolean {
  if (!isBytesOfLength(root, STATE_HASH_BYTES)) return false;
  if (!isBytesOfLength(key, STATE_KEY_BYTES)) return false;
  if (value !== null) {
    if (!(value instanceof Uint8Array)) return false;
    if (value.length === 0) return false;
    if (value.length > STATE_VALUE_BYTES_MAX) return false;
  }
  if (typeof proof !== "object" || proof === null) return false;
  const siblings: unknown = proof.siblings;
  const leaf: unknown = proof.leaf;
  if (!Array.isArray(siblings)) return false;
  if (siblings.length > STATE_PROOF_SIBLINGS_MAX) return false;
  for (let index = 0; index < siblings.length; index++) {
    if (!isBytesOfLength(siblings[index], STATE_HASH_BYTES)) return false;
  }
  const depth = siblings.length;
  // Canonical shape: the last sibling is non-empty (else the terminal would have collapsed).
  if (depth > 0 && isEmptyStateHash(siblings[depth - 1] as Uint8Array)) return false;

  let current: Uint8Array;
  if (leaf === null) {
    if (value !== null) return false;
    current = emptyStateRoot();
  } else {
    if (typeof leaf !== "object") return false;
    const leafKey: unknown = (leaf as StateProofLeaf).key;
    const leafValueHash: unknown = (leaf as StateProofLeaf).valueHash;
    if (!isBytesOfLength(leafKey, STATE_KEY_BYTES)) return false;
    if (!isBytesOfLength(leafValueHash, STATE_HASH_BYTES)) return false;
    if (!sharesPrefix(leafKey, key, depth)) return false;
    const sameKey = equalBytes(leafKey, key);
    if (value === null) {
      if (sameKey) return false;
    } else {
      if (!sameKey) return false;
      if (!equalBytes(hashStateValue(value, hash), leafValueHash)) return false;
    }
    current = hashStateLeaf(leafKey, leafValueHash, hash);
  }
  for (let level = depth - 1; level >= 0; level--) {
    const sibling = siblings[level] as Uint8Array;
    current =
      stateKeyBit(key, level) === 0
        ? hashStateInternal(current, sibling, hash)
        : hashStateInternal(sibling, current, hash);
  }
  return equalBytes(current, root);
}

export const StateProofDecodeErrorCode = {
  /** The input is not a Uint8Array. */
  NOT_BYTES: "STATE_PROOF_NOT_BYTES",
  /** The input is longer than STATE_PROOF_BYTES_MAX. */
  TOO_LARGE: "STATE_PROOF_TOO_LARGE",
  /** The input ends before the proof does. */
  TRUNCATED: "STATE_PROOF_TRUNCATED",
  /** Bytes follow the end of the proof. */
  TRAILING_BYTES: "STATE_PROOF_TRAILING_BYTES",
  /** The terminal byte is neither 0x00 (empty) nor 0x01 (leaf). */
  TERMINAL_INVALID: "STATE_PROOF_TERMINAL_INVALID",
  /** A sibling marked non-empty in the bitmap is 32 zero bytes. */
  SIBLING_NOT_CANONICAL: "STATE_PROOF_SIBLING_NOT_CANONICAL",
} as const;

export type StateProofDecodeErrorCode =
  (typeof StateProofDecodeErrorCode)[keyof typeof StateProofDecodeErrorCode];

export class StateProofDecodeError extends CityLedgerError<StateProofDecodeErrorCode> {
  override name = "StateProofDecodeError";
}

/** Encodes a well-formed proof (as `SparseMerkleTree.prove` returns) in the canonical format. */
export function encodeStateProof(proof: StateProof): Uint8Array {
  const depth = proof.siblings.length;
  assert(depth <= STATE_PROOF_SIBLINGS_MAX);
  if (depth > 0) assert(!isEmptyStateHash(proof.siblings[depth - 1]!));
  let siblingsNonEmptyCount = 0;
  for (const sibling of proof.siblings) {
    assert(sibling.length === STATE_HASH_BYTES);
    if (!isEmptyStateHash(sibling)) siblingsNonEmptyCount++;
  }
  const leafBytes = proof.leaf === null ? 0 : PROOF_LEAF_BYTES;
  const sizeBytes = PROOF_HEADER_BYTES + leafBytes + siblingsNonEmptyCount * STATE_HASH_BYTES;
  assert(sizeBytes <= STATE_PROOF_BYTES_MAX);
  const out = new Uint8Array(sizeBytes);
  out[0] = proof.leaf === null ? PROOF_TERMINAL_EMPTY : PROOF_TERMINAL_LEAF;
  let offset = PROOF_HEADER_BYTES;
  if (proof.leaf !== null) {
    assert(proof.leaf.key.length === STATE_KEY_BYTES);
    assert(proof.leaf.valueHash.length === STATE_HASH_BYTES);
    out.set(proof.leaf.key, offset);
    out.set(proof.leaf.valueHash, offset + STATE_KEY_BYTES);
    offset += PROOF_LEAF_BYTES;
  }
  for (let index = 0; index < depth; index++) {
    const sibling = proof.siblings[index]!;
    if (isEmptyStateHash(sibling)) continue;
    out[1 + (index >> 3)]! |= 0x80 >> (index & 7);
    out.set(sibling, offset);
    offset += STATE_HASH_BYTES;
  }
  assert(offset === sizeBytes);
  return out;
}

function decodeError(code: StateProofDecodeErrorCode, message: string, sizeBytes: number): never {
  throw new StateProofDecodeError(code, message, { sizeBytes });
}

/**
 * Decodes the canonical format; throws StateProofDecodeError (and nothing else) on any other
 * input: not bytes, too large, truncated, trailing bytes, bad terminal byte, zero sibling hash.
 * The result holds fresh copies, never views into `bytes`.
 */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  if (!(bytes instanceof Uint8Array)) {
    throw new StateProofDecodeError(StateProofDecodeErrorCode.NOT_BYTES, "state proof is not bytes");
  }
  const sizeBytes = bytes.length;
  if (sizeBytes > STATE_PROOF_BYTES_MAX) {
    decodeError(StateProofDecodeErrorCode.TOO_LARGE, "state proof is too large", sizeBytes);
  }
  if (sizeBytes < PROOF_HEADER_BYTES) {
    decodeError(StateProofDecodeErrorCode.TRUNCATED, "state proof header is truncated", sizeBytes);
  }
  const terminal = bytes[0]!;
  if (terminal !== PROOF_TERMINAL_EMPTY && terminal !== PROOF_TERMINAL_LEAF) {
    decodeError(StateProofDecodeErrorCode.TERMINAL_INVALID, "state proof terminal is invalid", sizeBytes);
  }
  let depth = 0;
  let siblingsNonEmptyCount = 0;
  for (let index = 0; index < STATE_PROOF_SIBLINGS_MAX; index++) {
    if ((bytes[1 + (index >> 3)]! & (0x80 >> (index & 7))) !== 0) {
      depth = index + 1;
      siblingsNonEmptyCount++;
    }
  }
  const leafBytes = terminal === PROOF_TERMINAL_LEAF ? PROOF_LEAF_BYTES : 0;
  const sizeBytesExpected = PROOF_HEADER_BYTES + leafBytes + siblingsNonEmptyCount * STATE_HASH_BYTES;
  if (sizeBytes < sizeBytesExpected) {
    decodeError(StateProofDecodeErrorCode.TRUNCATED, "state proof is truncated", sizeBytes);
  }
  if (sizeBytes > sizeBytesExpected) {
    decodeError(StateProofDecodeErrorCode.TRAILING_BYTES, "state proof has trailing bytes", sizeBytes);
  }
  let offset = PROOF_HEADER_BYTES;
  let leaf: StateProofLeaf | null = null;
  if (terminal === PROOF_TERMINAL_LEAF) {
    leaf = {
      key: bytes.slice(offset, offset + STATE_KEY_BYTES),
      valueHash: bytes.slice(offset + STATE_KEY_BYTES, offset + PROOF_LEAF_BYTES),
    };
    offset += PROOF_LEAF_BYTES;
  }
  const siblings: Uint8Array[] = [];
  for (let index = 0; index < depth; index++) {
    if ((bytes[1 + (index >> 3)]! & (0x80 >> (index & 7))) === 0) {
      siblings.push(emptyStateRoot());
      continue;
    }
    const sibling = bytes.slice(offset, offset + STATE_HASH_BYTES);
    if (isEmptyStateHash(sibling)) {
      decodeError(
        StateProofDecodeErrorCode.SIBLING_NOT_CANONICAL,
        "state proof encodes an empty sibling as a hash",
        sizeBytes,
      );
    }
    siblings.push(sibling);
    offset += STATE_HASH_BYTES;
  }
  assert(offset === sizeBytes);
  assert(siblings.length === depth);
  return { siblings, leaf };
}
