/**
 * The state tree's working copy of its current version: nodes linked by index, so that a batch,
 * a `get` or a `prove` at the current root walks down by reference instead of looking every node
 * up by hash in the store. The store stays the source of truth: a node enters the cache when it
 * is read from the store (checked against its hash) or written by the tree, and a subtree that is
 * not in the cache is read back from the store by the hash its parent holds.
 *
 * Layout: one record of CACHE_RECORD_BYTES = 80 bytes per node in one buffer (no object per node,
 * so the garbage collector sees one typed array however large the tree grows), read through two
 * views, `words` (Int32) and `bytes`. Everything a visit needs sits in the node's own record, so
 * a visit costs one trip to memory (random access on a large heap costs 200-550 ns on the
 * development VM, measured 2026-11): with one array per field it cost three.
 *   word 0, 1         refs of the left and right child (CACHE_CHILD_EMPTY, CACHE_CHILD_UNLOADED
 *                     or the child's id); word 0 links free records
 *   word 2            kind (CACHE_KIND_*)
 *   bytes 16 to 80    body: leftHash || rightHash for an internal node, key || valueHash for a
 *                     leaf, that is, exactly the node's hash input after its prefix byte
 * Node ids are record indexes; id 0 is a sentinel whose left child is the root. A child slot is
 * slot = id * 2 + side (side 0 left, 1 right): its ref is words[refIndexOf(slot)] and its hash
 * bytes[hashOffsetOf(slot), +32), 32 zero bytes for the empty subtree. A node's own hash lives in
 * its parent's slot. Leaf values are not cached: the store has them, and `get` reads the leaf
 * once from the store.
 *
 * Memory: CACHE_RECORD_BYTES = 80 bytes per cached node. A tree of n random keys has about
 * 1.44 n internal nodes besides its n leaves (measured 2.45 nodes per key), so caching all of it
 * costs about 2.45 * 80 = 196 bytes per key (2.0e8 bytes at 10^6 keys). The buffer grows by half
 * when full and shrinks only on `reset`, so it holds up to 1.5 times the largest count reached:
 * worst case 1.5 * 80 * (nodesMax + the nodes one batch touches), 503 MB for the default bound.
 *
 * Bound: between operations the cache holds at most `nodesMax` nodes. An operation that leaves
 * more (a batch or a cold read) ends with `evictOver`, which keeps the top levels of the tree (the
 * ones every batch and proof walks) and unlinks every subtree below the deepest level that fits
 * in half of `nodesMax`, so evictions are rare. During an operation the cache also holds the
 * nodes of that operation's paths: at most about the number of new nodes the batch writes.
 * @module
 */
import { assert } from "../base/assert.ts";
import { STATE_HASH_BYTES, STATE_TREE_DEPTH_MAX } from "./state-proof.ts";

/** Default bound on cached nodes: 2^22 nodes = 336 MB, the whole tree up to about 1.7e6 keys. */
export const STATE_TREE_CACHE_NODES_DEFAULT = 2 ** 22;
/** Largest bound a tree may be given: 2^23 nodes = 671 MB. */
export const STATE_TREE_CACHE_NODES_MAX = 2 ** 23;
/** Records the buffer may hold: the bound plus room for the paths of one large batch. */
const CACHE_CAPACITY_MAX = 2 ** 24;
const CACHE_CAPACITY_INITIAL = 1024;

/** Bytes of one node's body: two 32-byte hashes, or key and value hash. */
export const CACHE_BODY_BYTES = 2 * STATE_HASH_BYTES;
/** One node's record: refs, kind, padding to 16 bytes, body. */
export const CACHE_RECORD_BYTES = 16 + CACHE_BODY_BYTES;
export const CACHE_RECORD_WORDS = CACHE_RECORD_BYTES / 4;
/** Word of the record holding the node's kind. */
export const CACHE_KIND_WORD = 2;
/** Where the body starts, in bytes and in words. */
export const CACHE_BODY_OFFSET = 16;
export const CACHE_BODY_WORD = CACHE_BODY_OFFSET / 4;
/** The slot of the root: the sentinel's left child. */
export const CACHE_ROOT_SLOT = 0;

/** Child refs: the empty subtree (its hash is 32 zero bytes), or a subtree still in the store. */
export const CACHE_CHILD_EMPTY = -1;
export const CACHE_CHILD_UNLOADED = 0;

/** Node kinds. */
export const CACHE_KIND_FREE = 0;
export const CACHE_KIND_LEAF = 1;
export const CACHE_KIND_INTERNAL = 2;
const CACHE_KIND_SENTINEL = 3;

/** Entries of the explicit stacks that walk the cache: one pending child per level, plus two. */
const WALK_STACK_MAX = STATE_TREE_DEPTH_MAX + 2;

assert(CACHE_RECORD_BYTES === 80);
assert(CACHE_BODY_OFFSET % 16 === 0, "bodies are word-aligned, for word copies");
assert(CACHE_KIND_WORD * 4 < CACHE_BODY_OFFSET);
assert(STATE_TREE_CACHE_NODES_DEFAULT <= STATE_TREE_CACHE_NODES_MAX);
assert(STATE_TREE_CACHE_NODES_MAX * 2 <= CACHE_CAPACITY_MAX);
// Byte offsets stay exact small integers.
assert(CACHE_CAPACITY_MAX * CACHE_RECORD_BYTES <= 2 ** 31);

/** Index in `words` of the ref of child slot `slot`. */
export function refIndexOf(slot: number): number {
  return (slot >> 1) * CACHE_RECORD_WORDS + (slot & 1);
}

/** Offset in `bytes` of the hash of child slot `slot`. */
export function hashOffsetOf(slot: number): number {
  return (slot >> 1) * CACHE_RECORD_BYTES + CACHE_BODY_OFFSET + (slot & 1) * STATE_HASH_BYTES;
}

/** Offset in `bytes` of the body of node `node`. */
export function bodyOffsetOf(node: number): number {
  return node * CACHE_RECORD_BYTES + CACHE_BODY_OFFSET;
}

export class StateNodeCache {
  /** Two views of the records; read them through the cache after any `allocate*` (growing replaces them). */
  words: Int32Array;
  bytes: Uint8Array;
  readonly nodesMax: number;
  #capacity = 0;
  /** Nodes in use, the sentinel not counted. */
  #count = 0;
  /** First free id (linked through word 0), or 0 when none. */
  #freeFirst = 0;
  /** Ids at and above this one were never handed out. */
  #idsUsed = 1;

  constructor(nodesMax: number, root: Uint8Array) {
    assert(Number.isInteger(nodesMax), "cache bound must be an integer");
    assert(nodesMax >= 0, "cache bound must not be negative");
    assert(nodesMax <= STATE_TREE_CACHE_NODES_MAX, "cache bound is above STATE_TREE_CACHE_NODES_MAX");
    this.nodesMax = nodesMax;
    this.words = new Int32Array(0);
    this.bytes = new Uint8Array(0);
    this.reset(root);
  }

  /** Nodes in use. */
  get count(): number {
    return this.#count;
  }

  kindOf(node: number): number {
    return this.words[node * CACHE_RECORD_WORDS + CACHE_KIND_WORD]!;
  }

  /** Forgets every node: the tree at `root` is read from the store again as needed. */
  reset(root: Uint8Array): void {
    assert(root.length === STATE_HASH_BYTES);
    this.#capacity = CACHE_CAPACITY_INITIAL;
    const buffer = new ArrayBuffer(this.#capacity * CACHE_RECORD_BYTES);
    this.words = new Int32Array(buffer);
    this.bytes = new Uint8Array(buffer);
    this.#count = 0;
    this.#freeFirst = 0;
    this.#idsUsed = 1;
    this.words[CACHE_KIND_WORD] = CACHE_KIND_SENTINEL;
    this.bytes.set(root, hashOffsetOf(CACHE_ROOT_SLOT));
    this.words[refIndexOf(CACHE_ROOT_SLOT)] = isZeroAt(root, 0) ? CACHE_CHILD_EMPTY : CACHE_CHILD_UNLOADED;
    this.words[refIndexOf(CACHE_ROOT_SLOT + 1)] = CACHE_CHILD_EMPTY;
  }

  /** A new leaf; the caller writes its body (key || valueHash). */
  allocateLeaf(): number {
    const node = this.#allocate();
    const word = node * CACHE_RECORD_WORDS;
    this.words[word] = CACHE_CHILD_EMPTY;
    this.words[word + 1] = CACHE_CHILD_EMPTY;
    this.words[word + CACHE_KIND_WORD] = CACHE_KIND_LEAF;
    return node;
  }

  /** A new internal node with two empty children (its body zeroed). */
  allocateInternal(): number {
    const node = this.#allocate();
    const word = node * CACHE_RECORD_WORDS;
    this.words[word] = CACHE_CHILD_EMPTY;
    this.words[word + 1] = CACHE_CHILD_EMPTY;
    this.words[word + CACHE_KIND_WORD] = CACHE_KIND_INTERNAL;
    this.words.fill(0, word + CACHE_BODY_WORD, word + CACHE_RECORD_WORDS);
    return node;
  }

  /** Frees one node (not its children); nothing may refer to it any more. */
  free(node: number): void {
    assert(node > 0, "the sentinel is never freed");
    assert(node < this.#idsUsed);
    const word = node * CACHE_RECORD_WORDS;
    const kind = this.words[word + CACHE_KIND_WORD];
    assert(kind === CACHE_KIND_LEAF || kind === CACHE_KIND_INTERNAL);
    this.words[word + CACHE_KIND_WORD] = CACHE_KIND_FREE;
    this.words[word] = this.#freeFirst;
    this.words[word + 1] = CACHE_CHILD_UNLOADED;
    this.#freeFirst = node;
    this.#count--;
    assert(this.#count >= 0);
  }

  /**
   * When more than `nodesMax` nodes are cached, unlinks every subtree below the deepest level at
   * which the levels above still fit in half of `nodesMax` (their hashes stay in their parents,
   * so the store serves them again). Returns the nodes freed. Call only between operations.
   */
  evictOver(): number {
    if (this.#count <= this.nodesMax) return 0;
    const countBefore = this.#count;
    const keepCount = Math.floor(this.nodesMax / 2);
    const depthCounts = this.#depthCounts();
    let depthKept = -1;
    let kept = 0;
    while (depthKept + 1 <= STATE_TREE_DEPTH_MAX && kept + depthCounts[depthKept + 1]! <= keepCount) {
      depthKept++;
      kept += depthCounts[depthKept]!;
    }
    if (depthKept < 0) this.#unlink(CACHE_ROOT_SLOT);
    else this.#unlinkBelow(depthKept);
    assert(this.#count <= keepCount, "eviction must end below half the bound");
    assert(this.#count === kept);
    return countBefore - this.#count;
  }

  #allocate(): number {
    let node = this.#freeFirst;
    if (node !== 0) {
      assert(this.kindOf(node) === CACHE_KIND_FREE);
      this.#freeFirst = this.words[node * CACHE_RECORD_WORDS]!;
    } else {
      if (this.#idsUsed === this.#capacity) this.#grow();
      node = this.#idsUsed++;
    }
    this.#count++;
    assert(node > 0 && node < this.#capacity);
    return node;
  }

  #grow(): void {
    assert(this.#capacity < CACHE_CAPACITY_MAX, "state tree cache is full");
    const capacity = Math.min(CACHE_CAPACITY_MAX, Math.ceil(this.#capacity * 1.5));
    const bytes = new Uint8Array(capacity * CACHE_RECORD_BYTES);
    bytes.set(this.bytes);
    this.bytes = bytes;
    this.words = new Int32Array(bytes.buffer);
    this.#capacity = capacity;
  }

  /** Cached nodes per depth (the root at depth 0). */
  #depthCounts(): Float64Array {
    const counts = new Float64Array(STATE_TREE_DEPTH_MAX + 1);
    const stackNodes = new Int32Array(WALK_STACK_MAX);
    const stackDepths = new Int32Array(WALK_STACK_MAX);
    let stackSize = 0;
    const root = this.words[refIndexOf(CACHE_ROOT_SLOT)]!;
    if (root > 0) {
      stackNodes[0] = root;
      stackSize = 1;
    }
    let visited = 0;
    while (stackSize > 0) {
      stackSize--;
      const node = stackNodes[stackSize]!;
      const depth = stackDepths[stackSize]!;
      assert(depth <= STATE_TREE_DEPTH_MAX);
      counts[depth]!++;
      visited++;
      if (this.kindOf(node) !== CACHE_KIND_INTERNAL) continue;
      for (let side = 0; side < 2; side++) {
        const child = this.words[node * CACHE_RECORD_WORDS + side]!;
        if (child <= 0) continue;
        assert(stackSize < WALK_STACK_MAX, "cache deeper than the tree can be");
        stackNodes[stackSize] = child;
        stackDepths[stackSize] = depth + 1;
        stackSize++;
      }
    }
    assert(visited === this.#count, "every cached node hangs below the root");
    return counts;
  }

  /** Unlinks the cached children of every internal node at `depthKept`. */
  #unlinkBelow(depthKept: number): void {
    const stackNodes = new Int32Array(WALK_STACK_MAX);
    const stackDepths = new Int32Array(WALK_STACK_MAX);
    const root = this.words[refIndexOf(CACHE_ROOT_SLOT)]!;
    assert(root > 0);
    stackNodes[0] = root;
    let stackSize = 1;
    while (stackSize > 0) {
      stackSize--;
      const node = stackNodes[stackSize]!;
      const depth = stackDepths[stackSize]!;
      if (this.kindOf(node) !== CACHE_KIND_INTERNAL) continue;
      for (let side = 0; side < 2; side++) {
        const slot = node * 2 + side;
        const child = this.words[refIndexOf(slot)]!;
        if (child <= 0) continue;
        if (depth === depthKept) {
          this.#unlink(slot);
          continue;
        }
        assert(stackSize < WALK_STACK_MAX, "cache deeper than the tree can be");
        stackNodes[stackSize] = child;
        stackDepths[stackSize] = depth + 1;
        stackSize++;
      }
    }
  }

  /** Frees the cached subtree at `slot`; the slot keeps its hash and reads from the store again. */
  #unlink(slot: number): void {
    const top = this.words[refIndexOf(slot)]!;
    if (top <= 0) return;
    assert(!isZeroAt(this.bytes, hashOffsetOf(slot)), "a cached subtree is never empty");
    this.words[refIndexOf(slot)] = CACHE_CHILD_UNLOADED;
    const stack = new Int32Array(WALK_STACK_MAX);
    stack[0] = top;
    let stackSize = 1;
    while (stackSize > 0) {
      stackSize--;
      const node = stack[stackSize]!;
      if (this.kindOf(node) === CACHE_KIND_INTERNAL) {
        for (let side = 0; side < 2; side++) {
          const child = this.words[node * CACHE_RECORD_WORDS + side]!;
          if (child <= 0) continue;
          assert(stackSize < WALK_STACK_MAX, "cache deeper than the tree can be");
          stack[stackSize] = child;
          stackSize++;
        }
      }
      this.free(node);
    }
  }
}

/** True when the 32 bytes at `offset` are all zero (the empty subtree's hash). */
export function isZeroAt(bytes: Uint8Array, offset: number): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (bytes[offset + index] !== 0) return false;
  }
  return true;
}
