/**
 * The chain's transparency log: every transaction is an entry of one append-only RFC 9162
 * Merkle log. The log stores the hash of every perfect (complete) subtree in a LogNodeStore,
 * keyed by `(level, index)`, and keeps the perfect subtrees that make up its current size (one
 * per set bit of the size, "the frontier") in memory. So appending, a root of any size and
 * every proof cost O(log n) hash operations and O(log n) store reads, whatever the size, and
 * roots and proofs for any earlier size stay available (a receipt made at size 1000 stays
 * verifiable when the log holds 10^7 entries).
 *
 * The verifiers for the proofs are in ./merkle-proof.ts (pure, for clients).
 * @module
 */
import { assert, CityLedgerError, LOG_PROOF_HASHES_MAX, LOG_SIZE_MAX } from "../base/index.ts";
import { sha256 } from "../crypto/sha256.ts";
import { type HashFunction, type HashIntoFunction, hashIntoOf } from "../crypto/suite.ts";
import { isLogFrontierNode } from "./log-frontier.ts";
import { type LogNodeStore, MemoryLogNodeStore } from "./log-node-store.ts";
import { bitLength, emptyRoot, LOG_HASH_BYTES, LOG_LEVELS_MAX } from "./merkle-proof.ts";

export type MerkleLogErrorCode =
  /** A leaf index is not an integer below the size it refers to. */
  | "LOG_INDEX_OUT_OF_RANGE"
  /** A size is not an integer from 0 to the current size of the log. */
  | "LOG_SIZE_OUT_OF_RANGE"
  /** A consistency proof was asked from a larger size to a smaller one. */
  | "LOG_SIZES_OUT_OF_ORDER"
  /** The log already holds LOG_SIZE_MAX entries. */
  | "LOG_FULL"
  /** appendLeafHash was given something else than a 32-byte hash. */
  | "LOG_LEAF_HASH_INVALID"
  /** The store holds leaves without the upper-level hashes they imply (a partial write). */
  | "LOG_STORE_INCOMPLETE"
  /**
   * The log was opened from a frontier (`frontierSize`): entries, roots and consistency proofs
   * below that size are not held here.
   */
  | "LOG_BELOW_FRONTIER";

export class MerkleLogError extends CityLedgerError<MerkleLogErrorCode> {
  override name = "MerkleLogError";
}

export interface MerkleLogOptions {
  /** The chain's hash (32-byte digests). Default: the native SHA-256 of ../crypto/sha256.ts. */
  readonly hash?: HashFunction;
  /**
   * Where the subtree hashes live. Default: a new MemoryLogNodeStore. A store that already holds
   * a log is reopened at the size its leaf level shows.
   */
  readonly store?: LogNodeStore;
  /**
   * The log continues a log of this many entries from its frontier alone (a node that joined
   * from a state snapshot, docs/adr/0005-snapshot-sync.md): below this size the store holds only
   * the frontier's subtrees (log-frontier.ts), and the log opens at the size its leaf level shows
   * from this index on. Appends, roots of sizes from `frontierSize` on, inclusion proofs of
   * entries from `frontierSize` on and consistency proofs from sizes from `frontierSize` on work
   * as in a full log; anything else below it throws LOG_BELOW_FRONTIER. Default 0: a full log.
   */
  readonly frontierSize?: number;
}

/** Leaf inputs up to this size are hashed from a reused buffer; larger ones get their own. */
const LEAF_INPUT_SCRATCH_BYTES_MAX = 64 * 1024 + 1;
const LEAF_INPUT_SCRATCH_BYTES_MIN = 256;
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const NODE_INPUT_BYTES = 1 + 2 * LOG_HASH_BYTES;

/** POWERS_OF_TWO[level] = 2^level, the width in entries of a perfect subtree at `level`. */
const POWERS_OF_TWO: readonly number[] = Array.from({ length: LOG_LEVELS_MAX }, (_, level) => 2 ** level);

assert(LEAF_INPUT_SCRATCH_BYTES_MIN <= LEAF_INPUT_SCRATCH_BYTES_MAX, "the leaf scratch grows up to its max");
assert(POWERS_OF_TWO[LOG_LEVELS_MAX - 1]! <= LOG_SIZE_MAX, "every level can hold a perfect subtree");

/**
 * An append-only RFC 9162 Merkle log.
 *
 * Every hash it returns is a fresh copy the caller may keep or change. One MerkleLog writes to a
 * store at a time. If the store throws during an append, the log object is unusable: open a new
 * one over the store, which resumes at the last complete append or reports LOG_STORE_INCOMPLETE.
 *
 * @example
 * const log = new MerkleLog();
 * const index = log.append(encodedTx);
 * const size = log.size;
 * const receipt = { index, size, root: log.root(size), proof: log.inclusionProof(index, size) };
 * // later, anywhere: verifyInclusion(encodedTx, receipt.index, receipt.size, receipt.proof, receipt.root)
 */
export class MerkleLog {
  private readonly hash: HashFunction;
  /**
   * HASH into a long-lived buffer: allocating the 32-byte digest, and handing a fresh small typed
   * array to native code (V8 must then move it out of its heap), cost more than the hashing
   * itself; appends ran about 2.4 times faster this way.
   */
  private readonly hashInto: HashIntoFunction;
  private readonly store: LogNodeStore;
  /** Below this size only the frontier's subtrees are held (MerkleLogOptions.frontierSize). */
  private readonly frontierSizeValue: number;
  private count: number;
  /** frontier[level]: the perfect subtree at `level` of the current size, when bit `level` is set. */
  private readonly frontier: Uint8Array[];
  /** The hash being built by append; long-lived so native hashing writes into it directly. */
  private readonly current = new Uint8Array(LOG_HASH_BYTES);
  /** The hash rangeHash folds into. */
  private readonly fold = new Uint8Array(LOG_HASH_BYTES);
  /** suffixCache.get(start) = MTH of [start, suffixCacheEnd), for the suffixes rangeHash folded. */
  private readonly suffixCache = new Map<number, Uint8Array>();
  private suffixCacheEnd = 0;
  /** `0x01 || left || right`. */
  private readonly nodeInput = new Uint8Array(NODE_INPUT_BYTES);
  /** `0x00 || data`, grown on demand up to LEAF_INPUT_SCRATCH_BYTES_MAX. */
  private leafInput = new Uint8Array(LEAF_INPUT_SCRATCH_BYTES_MIN);

  constructor(options: MerkleLogOptions = {}) {
    this.hash = options.hash ?? sha256;
    this.hashInto = hashIntoOf(this.hash);
    this.store = options.store ?? new MemoryLogNodeStore();
    const frontierSize = options.frontierSize ?? 0;
    assert(Number.isSafeInteger(frontierSize), "MerkleLog: frontierSize is a safe integer");
    assert(frontierSize >= 0 && frontierSize <= LOG_SIZE_MAX, "MerkleLog: frontierSize is a log size");
    this.frontierSizeValue = frontierSize;
    this.frontier = Array.from({ length: LOG_LEVELS_MAX }, () => new Uint8Array(LOG_HASH_BYTES));
    this.nodeInput[0] = NODE_PREFIX;
    this.leafInput[0] = LEAF_PREFIX;
    this.count = storedLeafCount(this.store, frontierSize);
    assert(this.count >= frontierSize, "MerkleLog: a log holds at least its frontier");
    this.loadFrontier();
  }

  /** The number of entries. */
  get size(): number {
    return this.count;
  }

  /** The size below which only the frontier is held (0 for a full log). */
  get frontierSize(): number {
    return this.frontierSizeValue;
  }

  /** Appends one entry (its data; the log hashes it as a leaf) and returns its index. */
  append(data: Uint8Array): number {
    assert(data instanceof Uint8Array, "MerkleLog.append: data must be bytes");
    this.assertNotFull();
    this.hashLeafInto(data, this.current);
    return this.appendCurrent();
  }

  /** Appends one entry given its leaf hash `HASH(0x00 || data)`, and returns its index. */
  appendLeafHash(leafHash: Uint8Array): number {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== LOG_HASH_BYTES) {
      throw new MerkleLogError("LOG_LEAF_HASH_INVALID", "a leaf hash must be 32 bytes");
    }
    this.assertNotFull();
    this.current.set(leafHash);
    return this.appendCurrent();
  }

  /** The leaf hash of the entry at `index`. */
  leafHash(index: number): Uint8Array {
    this.checkIndex(index, this.count);
    this.checkHeldIndex(index);
    return this.readNode(0, index).slice();
  }

  /** The root (Merkle Tree Hash) of the first `size` entries; by default of the whole log. */
  root(size: number = this.count): Uint8Array {
    this.checkSize(size);
    if (size === 0) return emptyRoot(this.hash);
    this.checkHeldSize(size);
    return this.rangeHash(0, size);
  }

  /**
   * The RFC 9162 inclusion proof (audit path) of the entry at `index` in the log of `size`
   * entries: the sibling hashes from the leaf up to the root.
   */
  inclusionProof(index: number, size: number): Uint8Array[] {
    this.checkSize(size);
    this.checkIndex(index, size);
    this.checkHeldIndex(index);
    const path: Uint8Array[] = [];
    let start = 0;
    let end = size;
    // Walk down from the root; each level adds the sibling of the side that holds `index`.
    while (end - start > 1) {
      const level = bitLength(end - start - 1) - 1;
      const middle = start + POWERS_OF_TWO[level]!;
      if (index < middle) {
        path.push(this.subtreeHash(level, middle, end));
        end = middle;
      } else {
        path.push(this.subtreeHash(level, start, middle));
        start = middle;
      }
      assert(path.length <= LOG_LEVELS_MAX, "MerkleLog.inclusionProof: one hash per level");
    }
    assert(start === index, "MerkleLog.inclusionProof: the walk ends at the leaf");
    assert(end === index + 1, "MerkleLog.inclusionProof: the walk ends at one leaf");
    return path.reverse();
  }

  /**
   * The RFC 9162 consistency proof that the log of `size2` entries extends the log of `size1`
   * entries. Empty when `size1` is 0 or equals `size2`.
   */
  consistencyProof(size1: number, size2: number): Uint8Array[] {
    this.checkSize(size2);
    if (!Number.isSafeInteger(size1) || size1 < 0) {
      throw new MerkleLogError("LOG_SIZE_OUT_OF_RANGE", "size1 must be a non-negative integer", { size1 });
    }
    if (size1 > size2) {
      throw new MerkleLogError("LOG_SIZES_OUT_OF_ORDER", "size1 must not exceed size2", { size1, size2 });
    }
    if (size1 === 0 || size1 === size2) return [];
    this.checkHeldSize(size1);
    // SUBPROOF(m, D[start:end], haveRoot1), walked down from the root: the hashes come out
    // outermost first, so they are reversed at the end.
    const proof: Uint8Array[] = [];
    let start = 0;
    let end = size2;
    let haveRoot1 = true;
    while (end !== size1) {
      assert(start < size1, "MerkleLog.consistencyProof: size1 lies in the subtree");
      assert(size1 < end, "MerkleLog.consistencyProof: size1 lies in the subtree");
      const level = bitLength(end - start - 1) - 1;
      const middle = start + POWERS_OF_TWO[level]!;
      if (size1 <= middle) {
        proof.push(this.subtreeHash(level, middle, end));
        end = middle;
      } else {
        proof.push(this.subtreeHash(level, start, middle));
        start = middle;
        haveRoot1 = false;
      }
      assert(proof.length <= LOG_LEVELS_MAX, "MerkleLog.consistencyProof: one hash per level");
    }
    if (!haveRoot1) proof.push(this.rangeHash(start, end));
    assert(proof.length <= LOG_PROOF_HASHES_MAX, "MerkleLog.consistencyProof: the proof fits the limit");
    return proof.reverse();
  }

  private appendCurrent(): number {
    const index = this.count;
    assert(index < LOG_SIZE_MAX, "MerkleLog: the log has room");
    this.store.put(0, index, this.current);
    let level = 0;
    let levelIndex = index;
    // While the new subtree is a right child, its left sibling is the frontier's subtree at that
    // level (bit `level` of `index` is set): combine them into their parent.
    while (levelIndex % 2 === 1) {
      assert(level < LOG_LEVELS_MAX - 1, "MerkleLog: the parent level exists");
      this.hashChildrenInto(this.frontier[level]!, this.current, this.current);
      level++;
      levelIndex = (levelIndex - 1) / 2;
      this.store.put(level, levelIndex, this.current);
    }
    this.frontier[level]!.set(this.current);
    this.count = index + 1;
    assert(
      Math.floor(this.count / POWERS_OF_TWO[level]!) % 2 === 1,
      "MerkleLog: the new subtree is a frontier's",
    );
    return index;
  }

  /**
   * MTH of [start, end), one side of a split at level `level`: a stored perfect subtree when it
   * spans 2^level entries (one read), else the ragged right edge (rangeHash).
   */
  private subtreeHash(level: number, start: number, end: number): Uint8Array {
    const width = POWERS_OF_TWO[level]!;
    assert(end - start <= width, "MerkleLog.subtreeHash: a side of a split spans at most 2^level");
    assert(start % width === 0, "MerkleLog.subtreeHash: a side of a split is aligned");
    if (end - start === width) return this.readNode(level, start / width).slice();
    return this.rangeHash(start, end);
  }

  /**
   * MTH of the entries [start, end), a node of the RFC tree: `start` is a multiple of a power of
   * two at least `end - start`. Folds the perfect subtrees that make up the range (one per set
   * bit of `end - start`) right to left: as many store reads and hashes as set bits.
   *
   * Every step of the fold is itself the hash of a suffix [cursor, end), and the ragged nodes of
   * the proofs at size `end` are such suffixes, so the steps are kept for the last `end` asked:
   * the receipts of a block (thousands of proofs at one size) and repeated roots fold once.
   */
  private rangeHash(start: number, end: number): Uint8Array {
    assert(start < end, "MerkleLog.rangeHash: the range is not empty");
    assert(end <= this.count, "MerkleLog.rangeHash: the range is in the log");
    if (end === this.suffixCacheEnd) {
      const cached = this.suffixCache.get(start);
      if (cached !== undefined) return cached.slice();
    } else {
      this.suffixCache.clear();
      this.suffixCacheEnd = end;
    }
    // Folds into a long-lived buffer (native hashing into a fresh small array is slow), then
    // hands out a copy: callers may keep and mutate what they get.
    const fold = this.fold;
    let cursor = end;
    let remaining = end - start;
    let first = true;
    for (let level = 0; remaining > 0; level++) {
      assert(level < LOG_LEVELS_MAX, "MerkleLog.rangeHash: the range fits in the levels");
      if (remaining % 2 === 1) {
        const width = POWERS_OF_TWO[level]!;
        cursor -= width;
        assert(cursor % width === 0, "MerkleLog.rangeHash: the range is a node of the tree");
        const node = this.readNode(level, cursor / width);
        if (first) fold.set(node);
        else this.hashChildrenInto(node, fold, fold);
        first = false;
        remaining -= 1;
        this.suffixCache.set(cursor, fold.slice());
      }
      remaining /= 2;
    }
    assert(cursor === start, "MerkleLog.rangeHash: the subtrees cover the range");
    assert(this.suffixCache.size <= LOG_LEVELS_MAX, "MerkleLog.rangeHash: one cached suffix per subtree");
    return fold.slice();
  }

  /** The hash of the perfect subtree at (level, index), from the frontier when it is there. */
  private readNode(level: number, index: number): Uint8Array {
    assert(level < LOG_LEVELS_MAX, "MerkleLog.readNode: level in range");
    const width = POWERS_OF_TWO[level]!;
    assert((index + 1) * width <= this.count, "MerkleLog.readNode: the subtree is complete");
    const completed = Math.floor(this.count / width);
    if (index === completed - 1 && completed % 2 === 1) return this.frontier[level]!;
    const node = this.store.get(level, index);
    assert(node !== undefined, "MerkleLog.readNode: the store holds every complete subtree");
    assert(node.length === LOG_HASH_BYTES, "MerkleLog.readNode: stored hashes are 32 bytes");
    return node;
  }

  /** `out = HASH(0x01 || left || right)`; `out` may be `left` or `right`. */
  private hashChildrenInto(left: Uint8Array, right: Uint8Array, out: Uint8Array): void {
    assert(left.length === LOG_HASH_BYTES, "MerkleLog: left child is a hash");
    assert(right.length === LOG_HASH_BYTES, "MerkleLog: right child is a hash");
    this.nodeInput.set(left, 1);
    this.nodeInput.set(right, 1 + LOG_HASH_BYTES);
    this.hashInto(out, 0, this.nodeInput);
  }

  /** `out = HASH(0x00 || data)`. */
  private hashLeafInto(data: Uint8Array, out: Uint8Array): void {
    const inputSizeBytes = 1 + data.length;
    if (inputSizeBytes > LEAF_INPUT_SCRATCH_BYTES_MAX) {
      const input = new Uint8Array(inputSizeBytes);
      input[0] = LEAF_PREFIX;
      input.set(data, 1);
      this.hashInto(out, 0, input);
      return;
    }
    if (inputSizeBytes > this.leafInput.length) {
      let grownSizeBytes = this.leafInput.length;
      while (grownSizeBytes < inputSizeBytes) grownSizeBytes *= 2;
      this.leafInput = new Uint8Array(Math.min(grownSizeBytes, LEAF_INPUT_SCRATCH_BYTES_MAX));
      this.leafInput[0] = LEAF_PREFIX;
    }
    assert(this.leafInput[0] === LEAF_PREFIX, "MerkleLog: the leaf prefix is in place");
    this.leafInput.set(data, 1);
    this.hashInto(out, 0, this.leafInput.subarray(0, inputSizeBytes));
  }

  private assertNotFull(): void {
    if (this.count >= LOG_SIZE_MAX) {
      throw new MerkleLogError("LOG_FULL", "the log holds LOG_SIZE_MAX entries", { size: this.count });
    }
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.count) {
      throw new MerkleLogError("LOG_SIZE_OUT_OF_RANGE", "size must be an integer from 0 to the log size", {
        size,
        logSize: this.count,
      });
    }
  }

  /** Entries below the frontier size have no leaf hash or proof here. */
  private checkHeldIndex(index: number): void {
    if (index < this.frontierSizeValue) {
      throw new MerkleLogError(
        "LOG_BELOW_FRONTIER",
        "the entry lies below the frontier this log started from",
        {
          index,
          frontierSize: this.frontierSizeValue,
        },
      );
    }
  }

  /** Roots of sizes below the frontier size need subtrees this log does not hold. */
  private checkHeldSize(size: number): void {
    if (size < this.frontierSizeValue) {
      throw new MerkleLogError(
        "LOG_BELOW_FRONTIER",
        "the size lies below the frontier this log started from",
        {
          size,
          frontierSize: this.frontierSizeValue,
        },
      );
    }
  }

  /**
   * Whether the store holds the complete subtree at (level, index): every one in a full log;
   * from a frontier, those that end after the frontier size and the frontier's own.
   */
  private holds(level: number, index: number): boolean {
    if ((index + 1) * POWERS_OF_TWO[level]! > this.frontierSizeValue) return true;
    return isLogFrontierNode(this.frontierSizeValue, level, index);
  }

  private checkIndex(index: number, size: number): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new MerkleLogError("LOG_INDEX_OUT_OF_RANGE", "index must be an integer below the size", {
        index,
        size,
      });
    }
  }

  /**
   * Reads the frontier of the current size from the store, and checks that every level holds
   * exactly the complete subtrees the leaf count implies (O(log n) reads). From a frontier, a
   * level's last complete subtree is only checked when it is held (`holds`).
   */
  private loadFrontier(): void {
    for (let level = 0; level < LOG_LEVELS_MAX; level++) {
      const completed = Math.floor(this.count / POWERS_OF_TWO[level]!);
      const held = completed > 0 && this.holds(level, completed - 1);
      const last = held ? this.store.get(level, completed - 1) : undefined;
      if ((held && last === undefined) || this.store.get(level, completed) !== undefined) {
        throw new MerkleLogError("LOG_STORE_INCOMPLETE", "the store's levels disagree with its leaves", {
          level,
          size: this.count,
        });
      }
      if (completed % 2 === 1) {
        assert(held, "MerkleLog: the current frontier is held (it is the old one's or newer)");
        assert(last !== undefined, "MerkleLog: a frontier subtree is stored");
        assert(last.length === LOG_HASH_BYTES, "MerkleLog: stored hashes are 32 bytes");
        this.frontier[level]!.set(last);
      }
    }
  }
}

/**
 * The number of leaves in the store's level 0, whose indices from `from` on form a prefix (from a
 * frontier, the leaves below `from` are not stored): O(log n) reads.
 */
function storedLeafCount(store: LogNodeStore, from: number): number {
  if (from >= LOG_SIZE_MAX || store.get(0, from) === undefined) return from;
  // Invariant: index `present` is stored, index `absent` is not (or is past the last index).
  let present = from;
  let absent = from + 1;
  const indexMax = LOG_SIZE_MAX - 1;
  while (absent <= indexMax && store.get(0, absent) !== undefined) {
    present = absent;
    absent = Math.min(from + 2 * (absent - from), indexMax + 1);
  }
  while (absent - present > 1) {
    const middle = present + Math.floor((absent - present) / 2);
    if (store.get(0, middle) === undefined) absent = middle;
    else present = middle;
  }
  assert(present + 1 === absent, "MerkleLog: the search ends between two indices");
  assert(bitLength(present + 1) <= LOG_LEVELS_MAX, "MerkleLog: the stored size is a log size");
  return present + 1;
}
