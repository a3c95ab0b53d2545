/**
 * RFC 9162 (Certificate Transparency v2) section 2.1 Merkle tree hashing and the proof verifiers.
 *
 * - leaf hash: `HASH(0x00 || leaf data)`, node hash: `HASH(0x01 || left || right)`;
 * - the Merkle Tree Hash (MTH) of the empty list is `HASH("")`; a list of `n > 1` entries splits
 *   at the largest power of two smaller than `n`;
 * - the hash function is pluggable (SHA-256 by default, SM3 on chains with the national suite) and
 *   must give 32-byte digests.
 *
 * This module is pure and runs in browsers: it imports nothing from `node:` or sodium-native, and
 * its default hash is the portable SHA-256. The verifiers return false, and never throw, on any
 * malformed input (wrong-length hashes, bad sizes or indices, over-long proofs, non-byte entries).
 * The log that produces the proofs is ./merkle-log.ts.
 *
 * A root does not commit to its size. An inclusion proof for (index, size) also verifies for any
 * other size whose path from the root has the same shape (index 0 of sizes 5 and 6, say), and a
 * consistency proof likewise. So take a size and its root together from one signed tree head,
 * never a size from whoever hands over the proof.
 * @module
 */
import { assert, equalBytes, LOG_PROOF_HASHES_MAX, LOG_SIZE_MAX } from "../base/index.ts";
import { sha256 } from "../crypto/portable/sha256.ts";
import { type HashFunction, type HashIntoFunction, hashIntoOf } from "../crypto/suite.ts";

/** Bytes of every hash of the log: leaf and node hashes, roots and proof elements. */
export const LOG_HASH_BYTES = 32;
/** Levels of perfect subtrees a log of LOG_SIZE_MAX entries can have (levels 0 to 52). */
export const LOG_LEVELS_MAX = 53;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const TWO_TO_THE_32 = 2 ** 32;

assert(LOG_SIZE_MAX < 2 ** LOG_LEVELS_MAX, "every log size fits in LOG_LEVELS_MAX bits");
assert(LOG_SIZE_MAX >= 2 ** (LOG_LEVELS_MAX - 1), "LOG_LEVELS_MAX is tight");
// An inclusion proof has at most one hash per level, a consistency proof one more.
assert(LOG_LEVELS_MAX + 1 <= LOG_PROOF_HASHES_MAX, "every valid proof fits in LOG_PROOF_HASHES_MAX");

/** Leaf inputs up to this size are built in a reused buffer (see nodeInput); larger ones get their own. */
const LEAF_INPUT_SCRATCH_BYTES_MAX = 64 * 1024 + 1;
/** `0x00 || data` for hashLeaf, grown on demand up to LEAF_INPUT_SCRATCH_BYTES_MAX. */
let leafInputScratch = new Uint8Array(256);

/** `HASH(0x00 || data)`: the hash of one log entry. */
export function hashLeaf(data: Uint8Array, hash: HashFunction = sha256): Uint8Array {
  assert(data instanceof Uint8Array, "hashLeaf: data must be bytes");
  const inputSizeBytes = 1 + data.length;
  let input: Uint8Array;
  if (inputSizeBytes > LEAF_INPUT_SCRATCH_BYTES_MAX) {
    input = new Uint8Array(inputSizeBytes);
  } else {
    if (inputSizeBytes > leafInputScratch.length) {
      const grownSizeBytes = 2 ** bitLength(inputSizeBytes - 1);
      leafInputScratch = new Uint8Array(Math.min(grownSizeBytes, LEAF_INPUT_SCRATCH_BYTES_MAX));
    }
    input = leafInputScratch.subarray(0, inputSizeBytes);
  }
  assert(input.length === inputSizeBytes, "hashLeaf: the input holds the prefix and the data");
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  const digest = hash(input);
  assert(digest.length === LOG_HASH_BYTES, "hashLeaf: the hash function must give 32-byte digests");
  return digest;
}

/**
 * `0x01 || left || right`, reused by every hashChildren call: a fresh 65-byte array costs about
 * as much as hashing it (V8 allocates typed arrays above 64 bytes outside its heap, and native
 * hashes make V8 move smaller fresh ones out of its heap). Safe because hashing is synchronous
 * and a HashFunction neither keeps its input nor returns a view of it.
 */
const nodeInput = new Uint8Array(1 + 2 * LOG_HASH_BYTES);

/** `0x01 || left || right` in nodeInput (the same array every time). */
function nodeInputOf(left: Uint8Array, right: Uint8Array): Uint8Array {
  assert(left.length === LOG_HASH_BYTES, "hashChildren: left must be a 32-byte hash");
  assert(right.length === LOG_HASH_BYTES, "hashChildren: right must be a 32-byte hash");
  nodeInput[0] = NODE_PREFIX;
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + LOG_HASH_BYTES);
  return nodeInput;
}

/** `HASH(0x01 || left || right)`: the hash of an interior node. */
export function hashChildren(left: Uint8Array, right: Uint8Array, hash: HashFunction = sha256): Uint8Array {
  const digest = hash(nodeInputOf(left, right));
  assert(digest.length === LOG_HASH_BYTES, "hashChildren: the hash function must give 32-byte digests");
  return digest;
}

/** Where `hashChildrenInto` writes: valid until its next call (callers copy what they keep). */
const childrenDigestScratch = new Uint8Array(LOG_HASH_BYTES);

/**
 * hashChildren through a hash's `into`: the digest lands in one scratch array that is returned
 * and overwritten by the next call. `left` or `right` may be that scratch: both are copied into
 * the input before the digest is written.
 */
function hashChildrenInto(left: Uint8Array, right: Uint8Array, into: HashIntoFunction): Uint8Array {
  into(childrenDigestScratch, 0, nodeInputOf(left, right));
  return childrenDigestScratch;
}

/** MTH of the empty list: `HASH("")`. */
export function emptyRoot(hash: HashFunction = sha256): Uint8Array {
  const digest = hash(new Uint8Array(0));
  assert(digest.length === LOG_HASH_BYTES, "emptyRoot: the hash function must give 32-byte digests");
  return digest;
}

/**
 * The Merkle Tree Hash of a list of entries (leaf data, not leaf hashes): O(n) hashes and
 * O(log n) memory. For a log that grows, use MerkleLog, which answers in O(log n).
 */
export function merkleRoot(leaves: readonly Uint8Array[], hash: HashFunction = sha256): Uint8Array {
  assert(Array.isArray(leaves), "merkleRoot: leaves must be an array");
  assert(leaves.length <= LOG_SIZE_MAX, "merkleRoot: too many leaves");
  if (leaves.length === 0) return emptyRoot(hash);
  // The perfect subtrees of the entries seen so far, largest first (a compact range).
  const stackHashes: Uint8Array[] = [];
  const stackLevels: number[] = [];
  for (let index = 0; index < leaves.length; index++) {
    let current = hashLeaf(leaves[index]!, hash);
    let level = 0;
    while (stackLevels.length > 0 && stackLevels[stackLevels.length - 1] === level) {
      current = hashChildren(stackHashes.pop()!, current, hash);
      stackLevels.pop();
      level++;
    }
    stackHashes.push(current);
    stackLevels.push(level);
    assert(stackHashes.length <= LOG_LEVELS_MAX, "merkleRoot: one subtree per bit of the size");
  }
  // Fold the perfect subtrees right to left: MTH splits at the largest power of two.
  let root = stackHashes.pop()!;
  while (stackHashes.length > 0) root = hashChildren(stackHashes.pop()!, root, hash);
  return root;
}

/**
 * Verifies that `leaf` (entry data, hashed here as a leaf) is the entry at `index` of the log of
 * `size` entries whose root is `root`, with RFC 9162 section 2.1.3.2. False on malformed input.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hash: HashFunction = sha256,
): boolean {
  if (!(leaf instanceof Uint8Array)) return false;
  return verifyInclusionOfLeafHash(hashLeaf(leaf, hash), index, size, proof, root, hash);
}

/** verifyInclusion, given the leaf hash `HASH(0x00 || data)` instead of the entry data. */
export function verifyInclusionOfLeafHash(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hash: HashFunction = sha256,
): boolean {
  if (!isLogHash(leafHash) || !isLogHash(root) || !isLogProof(proof)) return false;
  if (!isLogSize(index) || !isLogSize(size)) return false;
  if (index >= size) return false;
  // Each level is hashed into one scratch digest, not a new array per level (for the node's
  // SHA-256, which writes into buffers, that is most of the saving); the same digests either way.
  const into = hashIntoOf(hash);
  const combine = (left: Uint8Array, right: Uint8Array) => hashChildrenInto(left, right, into);
  // RFC 9162 2.1.3.2, with its names: `fn` is the node of the path, `sn` the last node of its
  // level. Both stay safe integers, so halving with division is exact.
  let fn = index;
  let sn = size - 1;
  let computed = leafHash;
  for (let position = 0; position < proof.length; position++) {
    const element = proof[position]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      computed = combine(element, computed);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      computed = combine(computed, element);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  assert(fn <= sn, "verifyInclusion: the index never passes the last entry");
  return sn === 0 && equalBytes(computed, root);
}

/**
 * Verifies that the log of `size2` entries with root `root2` extends the log of `size1` entries
 * with root `root1` (RFC 9162 section 2.1.4.2). Cases the RFC leaves to the caller:
 * - `size1 === 0`: the proof must be empty and `root1` must be the empty root; any `root2` passes;
 * - `size1 === size2`: the proof must be empty and the roots equal.
 * False on malformed input.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
  hash: HashFunction = sha256,
): boolean {
  if (!isLogHash(root1) || !isLogHash(root2) || !isLogProof(proof)) return false;
  if (!isLogSize(size1) || !isLogSize(size2)) return false;
  if (size1 > size2) return false;
  if (size1 === 0) return proof.length === 0 && equalBytes(root1, emptyRoot(hash));
  if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
  if (proof.length === 0) return false;
  assert(0 < size1, "verifyConsistency: size1 is positive");
  assert(size1 < size2, "verifyConsistency: size1 is below size2");
  // RFC 9162 2.1.4.2, with its names (`fn`, `sn`, and `fr`, `sr` as computed1, computed2).
  // Step 2: when size1 is a power of two, root1 is the (implicit) first element of the path.
  let position = 0;
  const first = isPowerOfTwo(size1) ? root1 : proof[position++]!;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let computed1 = first;
  let computed2 = first;
  for (; position < proof.length; position++) {
    const element = proof[position]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      computed1 = hashChildren(element, computed1, hash);
      computed2 = hashChildren(element, computed2, hash);
      while (fn % 2 === 0 && fn !== 0) {
        fn = fn / 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      computed2 = hashChildren(computed2, element, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equalBytes(computed1, root1) && equalBytes(computed2, root2);
}

/** Bits needed to write `value` (0 for 0); exact for every safe non-negative integer. */
export function bitLength(value: number): number {
  assert(Number.isSafeInteger(value), "bitLength: value must be a safe integer");
  assert(value >= 0, "bitLength: value must not be negative");
  if (value < TWO_TO_THE_32) return 32 - Math.clz32(value);
  return 64 - Math.clz32(Math.floor(value / TWO_TO_THE_32));
}

/** Where MTH splits a list of `size >= 2` entries: the largest power of two below `size`. */
export function splitSize(size: number): number {
  assert(size >= 2, "splitSize: only lists of two or more entries split");
  const split = 2 ** (bitLength(size - 1) - 1);
  assert(split < size, "splitSize: the left part is smaller than the list");
  assert(2 * split >= size, "splitSize: the left part is the largest power of two below the size");
  return split;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && 2 ** (bitLength(value) - 1) === value;
}

function isLogSize(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= LOG_SIZE_MAX;
}

function isLogHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === LOG_HASH_BYTES;
}

function isLogProof(value: unknown): value is readonly Uint8Array[] {
  if (!Array.isArray(value)) return false;
  if (value.length > LOG_PROOF_HASHES_MAX) return false;
  for (let index = 0; index < value.length; index++) {
    if (!isLogHash(value[index])) return false;
  }
  return true;
}
