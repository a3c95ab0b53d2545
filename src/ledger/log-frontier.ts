/**
 * The frontier of an RFC 9162 log: the perfect subtrees that make up a log of `size` entries,
 * one per set bit of `size`, from the largest (leftmost) to the smallest. Their hashes are all
 * a node needs to continue a log it did not build: folded right to left they give the root of
 * `size`, and appending only ever combines them with new subtrees (merkle-log.ts, `frontierSize`).
 * A node that joins from a state snapshot receives them and checks their fold against the
 * `logRoot` and `logSize` of a certified header (docs/adr/0005-snapshot-sync.md).
 *
 * The subtree at `(level, index)` covers the entries `[index × 2^level, (index + 1) × 2^level)`.
 * @module
 */
import { assert, equalBytes, LOG_SIZE_MAX } from "../base/index.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { bitLength, emptyRoot, hashChildren, LOG_HASH_BYTES, LOG_LEVELS_MAX } from "./merkle-proof.ts";

export interface LogFrontierPosition {
  readonly level: number;
  readonly index: number;
}

function checkSize(size: number): void {
  assert(Number.isSafeInteger(size), "a log size is a safe integer");
  assert(size >= 0 && size <= LOG_SIZE_MAX, "a log size is within LOG_SIZE_MAX");
}

/** The frontier's positions for a log of `size` entries, largest subtree first (left to right). */
export function logFrontierPositions(size: number): LogFrontierPosition[] {
  checkSize(size);
  const positions: LogFrontierPosition[] = [];
  for (let level = bitLength(size) - 1; level >= 0; level--) {
    const completed = Math.floor(size / 2 ** level);
    if (completed % 2 === 1) positions.push({ level, index: completed - 1 });
  }
  assert(positions.length <= LOG_LEVELS_MAX, "one frontier subtree per level at most");
  return positions;
}

/** True when the subtree at `(level, index)` is one of the frontier's of a log of `size` entries. */
export function isLogFrontierNode(size: number, level: number, index: number): boolean {
  checkSize(size);
  assert(Number.isInteger(level) && level >= 0 && level < LOG_LEVELS_MAX, "a log level is in range");
  assert(Number.isSafeInteger(index) && index >= 0, "a log index is a safe integer");
  const completed = Math.floor(size / 2 ** level);
  return completed % 2 === 1 && index === completed - 1;
}

/**
 * The root of a log of `size` entries from its frontier's hashes (in logFrontierPositions
 * order), or null when the hashes are not a frontier of that size (count or length wrong).
 */
export function logRootOfFrontier(
  size: number,
  hashes: readonly Uint8Array[],
  hash: HashFunction,
): Uint8Array | null {
  checkSize(size);
  const positions = logFrontierPositions(size);
  if (hashes.length !== positions.length) return null;
  for (const item of hashes) if (!(item instanceof Uint8Array) || item.length !== LOG_HASH_BYTES) return null;
  if (size === 0) return emptyRoot(hash);
  // MTH splits at the largest power of two: the root is the leftmost subtree combined with the
  // root of the rest, so fold from the smallest (rightmost) subtree leftwards.
  let root = hashes[hashes.length - 1]!;
  for (let position = hashes.length - 2; position >= 0; position--) {
    root = hashChildren(hashes[position]!, root, hash);
  }
  assert(root.length === LOG_HASH_BYTES, "a root is a hash");
  return root;
}

/** True when `hashes` is the frontier of a log of `size` entries whose root is `root`. */
export function verifyLogFrontier(
  size: number,
  hashes: readonly Uint8Array[],
  root: Uint8Array,
  hash: HashFunction,
): boolean {
  if (!Number.isSafeInteger(size) || size < 0 || size > LOG_SIZE_MAX) return false;
  if (!(root instanceof Uint8Array) || root.length !== LOG_HASH_BYTES) return false;
  const computed = logRootOfFrontier(size, hashes, hash);
  return computed !== null && equalBytes(computed, root);
}
