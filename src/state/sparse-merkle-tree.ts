/**
 * The authenticated key-value state of the chain: a compressed binary sparse Merkle tree over
 * 256-bit keys (the binary hashing of Diem/Aptos's Jellyfish Merkle tree). Block headers commit
 * to its 32-byte root; `prove` gives membership and non-membership proofs against any root the
 * store still holds.
 *
 * ---- State tree hashing (copy to docs/PROTOCOL.md, "State tree") --------------------------------
 * HASH is the chain suite's 32-byte hash (SHA-256 for `ed25519`, SM3 for `sm2-sm3`).
 * Keys are exactly 32 bytes; bit i of a key is bit (7 - i % 8) of byte floor(i / 8), so bit 0 is
 * the most significant bit of byte 0. At depth i a key goes left when its bit i is 0, right when 1.
 * Values are non-empty byte strings of at most STATE_VALUE_BYTES_MAX bytes; writing null deletes.
 *
 *   prefix 0x00  leaf:      leafHash     = HASH(0x00 || key (32) || valueHash (32))
 *   prefix 0x01  internal:  internalHash = HASH(0x01 || leftHash (32) || rightHash (32))
 *   prefix 0x02  value:     valueHash    = HASH(0x02 || value)
 *   empty subtree:          emptyHash    = 32 zero bytes (a placeholder, never a digest)
 *
 * The prefixes keep leaves, internal nodes and values apart (no second-preimage between kinds);
 * leaf and internal hash inputs are both 65 bytes long. A node's hash never depends on its depth.
 *
 * Canonical shape. The tree holding a set S of (key, value) pairs is defined by:
 *   node(S, depth) = empty                      when S is empty
 *                  = leaf(key, valueHash)       when S has exactly one pair
 *                  = internal(node(S0, depth + 1), node(S1, depth + 1)) otherwise,
 *   where S0 / S1 are the pairs whose key bit `depth` is 0 / 1, and root = node(S, 0).
 * So each leaf sits at the shallowest depth where it is alone in its subtree, an internal node
 * never has two empty children nor one empty and one leaf child (those collapse), and a chain of
 * internal nodes with one empty child appears where keys share a long prefix. Equivalently: take
 * the full 256-level tree with a leaf at depth 256 for each pair and empty elsewhere, and bottom
 * up replace every internal node whose children are (empty, empty) by empty and every internal
 * node whose children are (leaf, empty) or (empty, leaf) by that leaf. The root depends only on
 * the set S, never on the order or batching of the updates that produced it.
 * Empty tree root: 32 zero bytes. Node encoding: node-store.ts. Proof encoding: state-proof.ts.
 * -------------------------------------------------------------------------------------------------
 *
 * One pass per batch: the updates are sorted by key (the later of two updates to the same key
 * wins), then split by bit while descending, so each affected node is visited once and each new
 * node hashed once. New nodes are written with one `putBatch`; old nodes are never removed.
 *
 * The current version of the tree is also held in a StateNodeCache (node-cache.ts): nodes linked
 * by index, updated in place by each batch, so that batches, and `get` and `prove` at the current
 * root, descend by reference and touch the store only for nodes not cached (a cold start, a tree
 * reopened from a root, or after eviction). Reads at older roots and `entries` go to the store.
 * A node read into the cache is checked against its hash first (STATE_NODE_CORRUPT otherwise). A
 * batch changes the cache in place; when it fails (a node missing or corrupt, or `putBatch`
 * throwing) the cache is dropped, to be read again from the store, so tree and store stay as they
 * were. Hashing goes through src/crypto: a hash's `into` where it has one (the node's SHA-256),
 * writing into the tree's buffers, and the HashFunction plus a copy for any other hash (SM3).
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { STATE_BATCH_UPDATES_MAX, STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import { sha256 as nativeSha256 } from "../crypto/sha256.ts";
import { type HashFunction, type HashIntoFunction, hashIntoOf } from "../crypto/suite.ts";
import { StateError, StateErrorCode } from "./errors.ts";
import {
  bodyOffsetOf,
  CACHE_BODY_BYTES,
  CACHE_BODY_OFFSET,
  CACHE_CHILD_EMPTY,
  CACHE_CHILD_UNLOADED,
  CACHE_KIND_LEAF,
  CACHE_RECORD_BYTES,
  CACHE_ROOT_SLOT,
  hashOffsetOf,
  isZeroAt,
  refIndexOf,
  STATE_TREE_CACHE_NODES_DEFAULT,
  StateNodeCache,
} from "./node-cache.ts";
import {
  MemoryStateNodeStore,
  STATE_NODE_INTERNAL_BYTES,
  STATE_NODE_KEY_OFFSET,
  STATE_NODE_LEAF_HEADER_BYTES,
  STATE_NODE_LEFT_OFFSET,
  STATE_NODE_RIGHT_OFFSET,
  STATE_NODE_VALUE_HASH_OFFSET,
  STATE_NODE_VALUE_OFFSET,
  type StateNodeStore,
  stateNodeKindOf,
} from "./node-store.ts";
import {
  STATE_HASH_BYTES,
  STATE_INTERNAL_PREFIX,
  STATE_KEY_BYTES,
  STATE_LEAF_PREFIX,
  STATE_TREE_DEPTH_MAX,
  STATE_VALUE_PREFIX,
  type StateProof,
  type StateProofLeaf,
} from "./state-proof.ts";

export interface StateUpdate {
  readonly key: Uint8Array;
  /** The new value, or null to delete the key (deleting an absent key changes nothing). */
  readonly value: Uint8Array | null;
}

export interface StateEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export interface SparseMerkleTreeOptions {
  /** Where nodes live; default: a new MemoryStateNodeStore. */
  store?: StateNodeStore;
  /** The chain suite's hash; default: native SHA-256 (src/crypto/sha256.ts). */
  hash?: HashFunction;
  /** The root to start from (it must be in the store); default: the empty tree. */
  root?: Uint8Array;
  /**
   * Nodes of the current tree kept in memory between operations, 80 bytes each (node-cache.ts);
   * default STATE_TREE_CACHE_NODES_DEFAULT, at most STATE_TREE_CACHE_NODES_MAX. Any bound gives
   * the same results; a small one reads more from the store.
   */
  cacheNodesMax?: number;
}

/** Smallest and largest arena chunk; leaves larger than a quarter chunk get their own buffer. */
const ARENA_CHUNK_BYTES_MIN = 4 * 1024;
const ARENA_CHUNK_BYTES_MAX = 1024 * 1024;
/** Rough bytes of new nodes per update (about a dozen new internal nodes of 100 bytes each). */
const ARENA_BYTES_PER_UPDATE = 2 * 1024;
/**
 * A new node in the arena, at a word-aligned offset: its 32-byte hash, 3 bytes of padding, then
 * its encoding (node-store.ts), whose body (after the prefix byte) is word-aligned again so that
 * hashes and bodies move between the arena and the cache as 32-bit words.
 */
const RECORD_PREFIX_OFFSET = STATE_HASH_BYTES + 3;
const RECORD_BODY_OFFSET = RECORD_PREFIX_OFFSET + 1;
const RECORD_VALUE_OFFSET = RECORD_BODY_OFFSET + CACHE_BODY_BYTES;
const RECORD_INTERNAL_BYTES = RECORD_PREFIX_OFFSET + STATE_NODE_INTERNAL_BYTES;
/** Entries of the explicit stack in `entries`: one pending right child per level, plus the root. */
const ENTRIES_STACK_MAX = STATE_TREE_DEPTH_MAX + 2;
/** Where a body sits inside an encoded node: after the prefix byte. */
const BODY_ENCODED_OFFSET = 1;
const HASH_WORDS = STATE_HASH_BYTES / 4;
const BODY_WORDS = CACHE_BODY_BYTES / 4;

assert(RECORD_BODY_OFFSET % 4 === 0);
assert(RECORD_INTERNAL_BYTES % 4 === 0);
assert(STATE_NODE_LEFT_OFFSET === BODY_ENCODED_OFFSET);
assert(STATE_NODE_KEY_OFFSET === BODY_ENCODED_OFFSET);
assert(STATE_NODE_INTERNAL_BYTES === BODY_ENCODED_OFFSET + CACHE_BODY_BYTES);
assert(STATE_NODE_VALUE_HASH_OFFSET === BODY_ENCODED_OFFSET + STATE_KEY_BYTES);
assert(RECORD_VALUE_OFFSET === RECORD_PREFIX_OFFSET + STATE_NODE_VALUE_OFFSET);

/**
 * Bump allocation of the new nodes of one batch in shared buffers: views into one buffer are much
 * cheaper than a Uint8Array each (65 bytes is above V8's on-heap typed array size). `allocate`
 * returns a word-aligned offset into `bytes` (and `words`), the buffer of the latest allocation.
 */
class NodeArena {
  /** The buffer of the latest allocation, and two views of it. */
  buffer: ArrayBuffer;
  bytes: Uint8Array;
  words: Int32Array;
  readonly #chunkBytes: number;
  #chunkBuffer: ArrayBuffer;
  #chunkOffset = 0;

  constructor(chunkBytes: number) {
    assert(chunkBytes >= ARENA_CHUNK_BYTES_MIN);
    assert(chunkBytes <= ARENA_CHUNK_BYTES_MAX);
    assert(chunkBytes % 4 === 0);
    this.#chunkBytes = chunkBytes;
    this.#chunkBuffer = new ArrayBuffer(chunkBytes);
    this.buffer = this.#chunkBuffer;
    this.bytes = new Uint8Array(this.buffer);
    this.words = new Int32Array(this.buffer);
  }

  /** A view of `length` bytes at `offset` of the latest allocation: cheaper than `subarray`. */
  view(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.buffer, offset, length);
  }

  allocate(sizeBytes: number): number {
    assert(sizeBytes > 0);
    const sizeWordsBytes = (sizeBytes + 3) & ~3;
    if (sizeWordsBytes > this.#chunkBytes / 4) {
      this.#use(new ArrayBuffer(sizeWordsBytes));
      return 0;
    }
    if (this.#chunkOffset + sizeWordsBytes > this.#chunkBytes) {
      this.#chunkBuffer = new ArrayBuffer(this.#chunkBytes);
      this.#chunkOffset = 0;
    }
    if (this.buffer !== this.#chunkBuffer) this.#use(this.#chunkBuffer);
    const offset = this.#chunkOffset;
    this.#chunkOffset += sizeWordsBytes;
    assert(this.#chunkOffset <= this.#chunkBytes);
    return offset;
  }

  #use(buffer: ArrayBuffer): void {
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.words = new Int32Array(buffer);
  }
}

/** The working state of one `applyBatch`. */
class Batch {
  /** Sorted, distinct keys and their new values (null: delete). */
  readonly keys: Uint8Array[];
  readonly values: Array<Uint8Array | null>;
  readonly nodes: Array<[hash: Uint8Array, encodedNode: Uint8Array]> = [];
  readonly arena: NodeArena;

  constructor(keys: Uint8Array[], values: Array<Uint8Array | null>) {
    assert(keys.length === values.length);
    assert(keys.length > 0);
    this.keys = keys;
    this.values = values;
    const arenaBytes = Math.min(
      ARENA_CHUNK_BYTES_MAX,
      Math.max(ARENA_CHUNK_BYTES_MIN, keys.length * ARENA_BYTES_PER_UPDATE),
    );
    this.arena = new NodeArena(arenaBytes);
  }
}

export class SparseMerkleTree {
  readonly #store: StateNodeStore;
  readonly #hashInto: HashIntoFunction;
  #root: Uint8Array;
  /** The current tree by reference; its root slot holds `#root`. */
  readonly #cache: StateNodeCache;
  /** Hash input of values: 0x02 || value. Grows to the largest value seen. */
  #valueInputScratch = new Uint8Array(1 + 1024);
  /** The view of `#valueInputScratch` last hashed, reused while values keep their length. */
  #valueInputView = this.#valueInputScratch.subarray(0, 1);
  readonly #valueHashScratch = new Uint8Array(STATE_HASH_BYTES);
  readonly #loadHashScratch = new Uint8Array(STATE_HASH_BYTES);

  constructor(options: SparseMerkleTreeOptions = {}) {
    this.#store = options.store ?? new MemoryStateNodeStore();
    this.#hashInto = hashIntoOf(options.hash ?? nativeSha256);
    if (options.root === undefined) {
      this.#root = new Uint8Array(STATE_HASH_BYTES);
    } else {
      checkRoot(options.root);
      this.#root = options.root.slice();
    }
    this.#cache = new StateNodeCache(options.cacheNodesMax ?? STATE_TREE_CACHE_NODES_DEFAULT, this.#root);
  }

  /** The current root (a copy). */
  get root(): Uint8Array {
    return this.#root.slice();
  }

  /** The value of `key` at the current root, or undefined when absent (a copy). */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.getAt(this.#root, key);
  }

  /** The value of `key` under `root`, or undefined when absent (a copy). */
  getAt(root: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    checkRoot(root);
    checkKey(key);
    if (!equalHashAt(root, this.#root, 0)) return this.#getStored(root, key);
    try {
      return this.#getCached(key);
    } finally {
      this.#cache.evictOver();
    }
  }

  /**
   * Applies all updates in one pass and returns the new root (a copy). Updates to the same key:
   * the later one in the array wins. Validates the whole batch before changing anything; on a
   * typed error the tree and the store are unchanged.
   */
  applyBatch(updates: readonly StateUpdate[]): Uint8Array {
    if (!Array.isArray(updates)) {
      throw new StateError(StateErrorCode.BATCH_INVALID, "state batch is not an array");
    }
    if (updates.length > STATE_BATCH_UPDATES_MAX) {
      throw new StateError(StateErrorCode.BATCH_TOO_LARGE, "state batch has too many updates", {
        updatesCount: updates.length,
        updatesCountMax: STATE_BATCH_UPDATES_MAX,
      });
    }
    for (let index = 0; index < updates.length; index++) {
      const update: unknown = updates[index];
      if (typeof update !== "object" || update === null) {
        throw new StateError(StateErrorCode.BATCH_INVALID, "state update is not an object", { index });
      }
      checkKey((update as StateUpdate).key, index);
      const value = (update as StateUpdate).value;
      if (value !== null) checkValue(value, index);
    }
    if (updates.length === 0) return this.root;

    const batch = sortedBatchOf(updates);
    let rootNew: Uint8Array;
    try {
      this.#updateSlot(CACHE_ROOT_SLOT, 0, 0, batch.keys.length, batch);
      rootNew = this.#slotHash(CACHE_ROOT_SLOT);
      if (batch.nodes.length > 0) this.#store.putBatch(batch.nodes);
      // Paired with the writes above: the new root is readable back from the store.
      if (!isEmptyHash(rootNew)) assert(this.#store.get(rootNew) !== undefined, "new root not in store");
    } catch (error) {
      // The cache was changed in place: go back to the old root, read from the store again.
      this.#cache.reset(this.#root);
      throw error;
    }
    this.#root = rootNew;
    this.#cache.evictOver();
    return this.root;
  }

  /**
   * A membership proof when `key` is present under `root` (default: the current root), else a
   * non-membership proof. Check it with `verifyStateProof` (state-proof.ts).
   */
  prove(key: Uint8Array, root: Uint8Array = this.#root): StateProof {
    checkRoot(root);
    checkKey(key);
    if (!equalHashAt(root, this.#root, 0)) return this.#proveStored(key, root);
    try {
      return this.#proveCached(key);
    } finally {
      this.#cache.evictOver();
    }
  }

  /**
   * All (key, value) pairs under `root` (default: the current root) in increasing key order, as
   * copies. Walks the nodes with an explicit stack of at most 258 entries.
   */
  entries(root: Uint8Array = this.#root): IterableIterator<StateEntry> {
    checkRoot(root);
    return this.#entriesFrom(root.slice());
  }

  *#entriesFrom(root: Uint8Array): IterableIterator<StateEntry> {
    const stack: Uint8Array[] = [root];
    let keyPrevious: Uint8Array | null = null;
    while (stack.length > 0) {
      assert(stack.length <= ENTRIES_STACK_MAX);
      const hash = stack.pop()!;
      if (isEmptyHash(hash)) continue;
      const encoded = this.#read(hash);
      if (encoded[0] === STATE_LEAF_PREFIX) {
        const key = encoded.slice(STATE_NODE_KEY_OFFSET, STATE_NODE_KEY_OFFSET + STATE_KEY_BYTES);
        if (keyPrevious !== null && compareKeys(keyPrevious, key) >= 0) {
          throw nodeCorrupt(hash, "leaves out of key order");
        }
        keyPrevious = key;
        yield { key, value: this.#checkedValue(hash, encoded).slice() };
        continue;
      }
      if (stack.length + 2 > ENTRIES_STACK_MAX) throw nodeCorrupt(hash, "tree deeper than 256 levels");
      stack.push(childOf(encoded, 1));
      stack.push(childOf(encoded, 0));
    }
  }

  /** `getAt` for a root other than the current one: every node from the store. */
  #getStored(root: Uint8Array, key: Uint8Array): Uint8Array | undefined {
    let hash = root;
    for (let depth = 0; depth <= STATE_TREE_DEPTH_MAX; depth++) {
      if (isEmptyHash(hash)) return undefined;
      const encoded = this.#read(hash);
      if (encoded[0] === STATE_LEAF_PREFIX) {
        if (!equalKeyAt(key, encoded, STATE_NODE_KEY_OFFSET)) return undefined;
        return this.#checkedValue(hash, encoded).slice();
      }
      if (depth === STATE_TREE_DEPTH_MAX) throw nodeCorrupt(hash, "internal node below the last level");
      hash = childOf(encoded, keyBit(key, depth));
    }
    assert(false, "unreachable: the loop returns by depth 256");
  }

  /** `getAt` at the current root: down the cache, then the leaf's value from the store. */
  #getCached(key: Uint8Array): Uint8Array | undefined {
    let slot = CACHE_ROOT_SLOT;
    for (let depth = 0; depth <= STATE_TREE_DEPTH_MAX; depth++) {
      let node = this.#cache.words[refIndexOf(slot)]!;
      if (node === CACHE_CHILD_UNLOADED) node = this.#load(slot);
      if (node === CACHE_CHILD_EMPTY) return undefined;
      if (this.#cache.kindOf(node) === CACHE_KIND_LEAF) {
        const bytes = this.#cache.bytes;
        if (!equalKeyAt(key, bytes, bodyOffsetOf(node))) return undefined;
        const hash = this.#slotHash(slot);
        const encoded = this.#read(hash);
        // Paired with the check on load: the store still has the leaf the cache describes.
        if (!equalBodyAt(encoded, bytes, bodyOffsetOf(node))) {
          throw nodeCorrupt(hash, "leaf differs from the one read before");
        }
        return this.#checkedValue(hash, encoded).slice();
      }
      if (depth === STATE_TREE_DEPTH_MAX) {
        throw nodeCorrupt(this.#slotHash(slot), "internal node below the last level");
      }
      slot = node * 2 + keyBit(key, depth);
    }
    assert(false, "unreachable: the loop returns by depth 256");
  }

  /** `prove` for a root other than the current one: every node from the store. */
  #proveStored(key: Uint8Array, root: Uint8Array): StateProof {
    const siblings: Uint8Array[] = [];
    let hash = root;
    for (let depth = 0; depth <= STATE_TREE_DEPTH_MAX; depth++) {
      assert(siblings.length === depth);
      if (isEmptyHash(hash)) {
        if (depth > 0 && isEmptyHash(siblings[depth - 1]!)) throw nodeCorrupt(hash, "two empty children");
        return { siblings, leaf: null };
      }
      const encoded = this.#read(hash);
      if (encoded[0] === STATE_LEAF_PREFIX) {
        if (depth > 0 && isEmptyHash(siblings[depth - 1]!)) throw nodeCorrupt(hash, "leaf beside empty");
        const leaf: StateProofLeaf = {
          key: encoded.slice(STATE_NODE_KEY_OFFSET, STATE_NODE_KEY_OFFSET + STATE_KEY_BYTES),
          valueHash: encoded.slice(
            STATE_NODE_VALUE_HASH_OFFSET,
            STATE_NODE_VALUE_HASH_OFFSET + STATE_HASH_BYTES,
          ),
        };
        return { siblings, leaf };
      }
      if (depth === STATE_TREE_DEPTH_MAX) throw nodeCorrupt(hash, "internal node below the last level");
      const bit = keyBit(key, depth);
      siblings.push(childOf(encoded, 1 - bit).slice());
      hash = childOf(encoded, bit);
    }
    assert(false, "unreachable: the loop returns by depth 256");
  }

  /** `prove` at the current root: down the cache; the same proof as `#proveStored` would give. */
  #proveCached(key: Uint8Array): StateProof {
    const siblings: Uint8Array[] = [];
    let slot = CACHE_ROOT_SLOT;
    for (let depth = 0; depth <= STATE_TREE_DEPTH_MAX; depth++) {
      assert(siblings.length === depth);
      let node = this.#cache.words[refIndexOf(slot)]!;
      if (node === CACHE_CHILD_UNLOADED) node = this.#load(slot);
      const siblingEmpty = depth > 0 && isEmptyHash(siblings[depth - 1]!);
      if (node === CACHE_CHILD_EMPTY) {
        if (siblingEmpty) throw nodeCorrupt(this.#slotHash(slot ^ 1), "two empty children");
        return { siblings, leaf: null };
      }
      if (this.#cache.kindOf(node) === CACHE_KIND_LEAF) {
        if (siblingEmpty) throw nodeCorrupt(this.#slotHash(slot), "leaf beside empty");
        const body = bodyOffsetOf(node);
        const leaf: StateProofLeaf = {
          key: this.#cache.bytes.slice(body, body + STATE_KEY_BYTES),
          valueHash: this.#cache.bytes.slice(body + STATE_KEY_BYTES, body + CACHE_BODY_BYTES),
        };
        return { siblings, leaf };
      }
      if (depth === STATE_TREE_DEPTH_MAX) {
        throw nodeCorrupt(this.#slotHash(slot), "internal node below the last level");
      }
      const bit = keyBit(key, depth);
      siblings.push(this.#slotHash(node * 2 + 1 - bit));
      slot = node * 2 + bit;
    }
    assert(false, "unreachable: the loop returns by depth 256");
  }

  /**
   * Applies the updates [low, high) of the batch to the subtree at `slot` (at `depth`), in the
   * cache, and leaves its new hash in the slot. Returns false when the subtree is unchanged.
   */
  #updateSlot(slot: number, depth: number, low: number, high: number, batch: Batch): boolean {
    assert(low < high);
    assert(depth <= STATE_TREE_DEPTH_MAX);
    let node = this.#cache.words[refIndexOf(slot)]!;
    if (node === CACHE_CHILD_UNLOADED) node = this.#load(slot);
    if (node === CACHE_CHILD_EMPTY) return this.#updateEmpty(slot, depth, low, high, batch);
    if (this.#cache.kindOf(node) === CACHE_KIND_LEAF) {
      return this.#updateLeaf(slot, node, depth, low, high, batch);
    }
    if (depth === STATE_TREE_DEPTH_MAX) {
      throw nodeCorrupt(this.#slotHash(slot), "internal node below the last level");
    }
    assert(sharePrefix(batch.keys[low]!, batch.keys[high - 1]!, depth));
    if (!this.#updateChildren(node, depth, low, high, batch)) return false;
    this.#join(slot, node, batch);
    return true;
  }

  /** Splits [low, high) by bit `depth` between the two child slots of `node`. */
  #updateChildren(node: number, depth: number, low: number, high: number, batch: Batch): boolean {
    assert(depth < STATE_TREE_DEPTH_MAX);
    const middle = splitIndex(batch.keys, depth, low, high);
    let changed = false;
    if (low < middle && this.#updateSlot(node * 2, depth + 1, low, middle, batch)) changed = true;
    if (middle < high && this.#updateSlot(node * 2 + 1, depth + 1, middle, high, batch)) changed = true;
    return changed;
  }

  /** `#updateSlot` for an empty subtree: a new leaf, or a new internal node that `#join` may collapse. */
  #updateEmpty(slot: number, depth: number, low: number, high: number, batch: Batch): boolean {
    assert(this.#cache.words[refIndexOf(slot)] === CACHE_CHILD_EMPTY);
    if (high - low === 1) {
      const value = batch.values[low]!;
      if (value === null) return false;
      const leaf = this.#cache.allocateLeaf();
      const body = bodyOffsetOf(leaf);
      copyKey(batch.keys[low]!, this.#cache.bytes, body);
      this.#hashValueInto(this.#cache.bytes, body + STATE_KEY_BYTES, value);
      this.#cache.words[refIndexOf(slot)] = leaf;
      this.#hashLeaf(slot, leaf, value, batch);
      return true;
    }
    // Distinct sorted keys part before the last level.
    assert(depth < STATE_TREE_DEPTH_MAX);
    const node = this.#cache.allocateInternal();
    this.#cache.words[refIndexOf(slot)] = node;
    const changed = this.#updateChildren(node, depth, low, high, batch);
    this.#join(slot, node, batch);
    // Nothing but deletions of absent keys: everything collapsed back to empty.
    assert(changed === (this.#cache.words[refIndexOf(slot)] !== CACHE_CHILD_EMPTY));
    return changed;
  }

  /** `#updateSlot` for a subtree holding only the leaf `leaf`. */
  #updateLeaf(slot: number, leaf: number, depth: number, low: number, high: number, batch: Batch): boolean {
    assert(low < high);
    assert(this.#cache.kindOf(leaf) === CACHE_KIND_LEAF);
    if (high - low === 1) {
      const sameKey = equalKeyAt(batch.keys[low]!, this.#cache.bytes, bodyOffsetOf(leaf));
      const value = batch.values[low]!;
      if (sameKey && value === null) {
        this.#cache.free(leaf);
        this.#setEmpty(slot);
        return true;
      }
      if (sameKey) return this.#rewriteLeaf(slot, leaf, value!, batch);
      if (value === null) return false;
    }
    // Push the leaf one level down under a new internal node, beside the updates, until they part.
    if (depth === STATE_TREE_DEPTH_MAX) {
      throw nodeCorrupt(this.#slotHash(slot), "leaf key repeats in its subtree");
    }
    const node = this.#cache.allocateInternal();
    const bytes = this.#cache.bytes;
    const leafBit = (bytes[bodyOffsetOf(leaf) + (depth >> 3)]! >> (7 - (depth & 7))) & 1;
    const leafSlot = node * 2 + leafBit;
    bytes.copyWithin(hashOffsetOf(leafSlot), hashOffsetOf(slot), hashOffsetOf(slot) + STATE_HASH_BYTES);
    this.#cache.words[refIndexOf(leafSlot)] = leaf;
    this.#cache.words[refIndexOf(slot)] = node;
    const changed = this.#updateChildren(node, depth, low, high, batch);
    this.#join(slot, node, batch);
    // Unchanged below (absent keys deleted, a value rewritten as it was): back to the same leaf.
    if (!changed) assert(this.#cache.words[refIndexOf(slot)] === leaf);
    return changed;
  }

  /** Gives the leaf `leaf` the value `value`; false when it already had it. */
  #rewriteLeaf(slot: number, leaf: number, value: Uint8Array, batch: Batch): boolean {
    const valueHashOffset = bodyOffsetOf(leaf) + STATE_KEY_BYTES;
    this.#hashValueInto(this.#valueHashScratch, 0, value);
    if (equalHashAt(this.#valueHashScratch, this.#cache.bytes, valueHashOffset)) return false;
    this.#cache.bytes.set(this.#valueHashScratch, valueHashOffset);
    this.#hashLeaf(slot, leaf, value, batch);
    return true;
  }

  /**
   * The parent `node` at `slot` after its children changed, collapsed: (empty, empty) is empty,
   * (leaf, empty) and (empty, leaf) are the leaf. Otherwise it is hashed and written.
   */
  #join(slot: number, node: number, batch: Batch): void {
    const cache = this.#cache;
    const left = cache.words[refIndexOf(node * 2)]!;
    const right = cache.words[refIndexOf(node * 2 + 1)]!;
    if (left === CACHE_CHILD_EMPTY && right === CACHE_CHILD_EMPTY) {
      cache.free(node);
      this.#setEmpty(slot);
      return;
    }
    if (left === CACHE_CHILD_EMPTY || right === CACHE_CHILD_EMPTY) {
      const otherSlot = left === CACHE_CHILD_EMPTY ? node * 2 + 1 : node * 2;
      let other = cache.words[refIndexOf(otherSlot)]!;
      if (other === CACHE_CHILD_UNLOADED) other = this.#load(otherSlot);
      if (cache.kindOf(other) === CACHE_KIND_LEAF) {
        const otherHash = hashOffsetOf(otherSlot);
        cache.bytes.copyWithin(hashOffsetOf(slot), otherHash, otherHash + STATE_HASH_BYTES);
        cache.words[refIndexOf(slot)] = other;
        cache.free(node);
        return;
      }
    }
    this.#hashInternal(slot, node, batch);
  }

  /** Encodes the internal node `node` as a new node of the batch; its hash goes to `slot`. */
  #hashInternal(slot: number, node: number, batch: Batch): void {
    const arena = batch.arena;
    const offset = arena.allocate(RECORD_INTERNAL_BYTES);
    arena.bytes[offset + RECORD_PREFIX_OFFSET] = STATE_INTERNAL_PREFIX;
    copyWords(
      this.#cache.words,
      (node * CACHE_RECORD_BYTES + CACHE_BODY_OFFSET) >> 2,
      arena.words,
      (offset + RECORD_BODY_OFFSET) >> 2,
      BODY_WORDS,
    );
    const encoded = arena.view(offset + RECORD_PREFIX_OFFSET, STATE_NODE_INTERNAL_BYTES);
    this.#writeNode(slot, arena, offset, encoded, encoded, batch);
  }

  /** Encodes the leaf `leaf` (its body already final) with `value` as a new node; hash to `slot`. */
  #hashLeaf(slot: number, leaf: number, value: Uint8Array, batch: Batch): void {
    const arena = batch.arena;
    const offset = arena.allocate(RECORD_VALUE_OFFSET + value.length);
    arena.bytes[offset + RECORD_PREFIX_OFFSET] = STATE_LEAF_PREFIX;
    copyWords(
      this.#cache.words,
      (leaf * CACHE_RECORD_BYTES + CACHE_BODY_OFFSET) >> 2,
      arena.words,
      (offset + RECORD_BODY_OFFSET) >> 2,
      BODY_WORDS,
    );
    arena.bytes.set(value, offset + RECORD_VALUE_OFFSET);
    const encoded = arena.view(offset + RECORD_PREFIX_OFFSET, STATE_NODE_LEAF_HEADER_BYTES + value.length);
    const hashInput = arena.view(offset + RECORD_PREFIX_OFFSET, STATE_NODE_LEAF_HEADER_BYTES);
    this.#writeNode(slot, arena, offset, encoded, hashInput, batch);
  }

  /** Hashes `hashInput` into the record at `offset` and into `slot`; queues the node for the store. */
  #writeNode(
    slot: number,
    arena: NodeArena,
    offset: number,
    encoded: Uint8Array,
    hashInput: Uint8Array,
    batch: Batch,
  ): void {
    assert(hashInput.length === STATE_NODE_LEAF_HEADER_BYTES);
    assert(encoded.length >= STATE_NODE_LEAF_HEADER_BYTES);
    this.#hashInto(arena.bytes, offset, hashInput);
    const words = arena.words;
    const word = offset >> 2;
    assert(
      (words[word]! | words[word + 1]! | words[word + 2]! | words[word + 3]!) !== 0 ||
        (words[word + 4]! | words[word + 5]! | words[word + 6]! | words[word + 7]!) !== 0,
      "a node hash is never 32 zero bytes",
    );
    copyWords(words, word, this.#cache.words, hashOffsetOf(slot) >> 2, HASH_WORDS);
    batch.nodes.push(nodeEntryOf(arena.view(offset, STATE_HASH_BYTES), encoded));
  }

  /** Reads the node whose hash `slot` holds into the cache, checked against that hash. */
  #load(slot: number): number {
    const cache = this.#cache;
    assert(cache.words[refIndexOf(slot)] === CACHE_CHILD_UNLOADED);
    const hash = this.#slotHash(slot);
    assert(!isEmptyHash(hash), "an unloaded subtree is never empty");
    const encoded = this.#read(hash);
    // Paired with the hashing on write: the cache only holds nodes that match their hash.
    this.#hashInto(this.#loadHashScratch, 0, encoded.subarray(0, STATE_NODE_LEAF_HEADER_BYTES));
    if (!equalHashAt(this.#loadHashScratch, hash, 0)) throw nodeCorrupt(hash, "node does not match its hash");
    const isLeaf = encoded[0] === STATE_LEAF_PREFIX;
    const node = isLeaf ? cache.allocateLeaf() : cache.allocateInternal();
    const body = bodyOffsetOf(node);
    const bytes = cache.bytes;
    for (let index = 0; index < CACHE_BODY_BYTES; index++)
      bytes[body + index] = encoded[BODY_ENCODED_OFFSET + index]!;
    if (!isLeaf) {
      const left = node * 2;
      cache.words[refIndexOf(left)] = isZeroAt(bytes, hashOffsetOf(left))
        ? CACHE_CHILD_EMPTY
        : CACHE_CHILD_UNLOADED;
      cache.words[refIndexOf(left + 1)] = isZeroAt(bytes, hashOffsetOf(left + 1))
        ? CACHE_CHILD_EMPTY
        : CACHE_CHILD_UNLOADED;
    }
    cache.words[refIndexOf(slot)] = node;
    return node;
  }

  /** The hash held in `slot` (a copy). */
  #slotHash(slot: number): Uint8Array {
    const offset = hashOffsetOf(slot);
    return this.#cache.bytes.slice(offset, offset + STATE_HASH_BYTES);
  }

  #setEmpty(slot: number): void {
    this.#cache.words[refIndexOf(slot)] = CACHE_CHILD_EMPTY;
    const offset = hashOffsetOf(slot);
    this.#cache.bytes.fill(0, offset, offset + STATE_HASH_BYTES);
  }

  /** Writes HASH(0x02 || value) into output[outputOffset, +32). */
  #hashValueInto(output: Uint8Array, outputOffset: number, value: Uint8Array): void {
    assert(value.length > 0);
    assert(value.length <= STATE_VALUE_BYTES_MAX);
    const inputBytes = 1 + value.length;
    if (this.#valueInputScratch.length < inputBytes) {
      this.#valueInputScratch = new Uint8Array(inputBytes);
      this.#valueInputView = this.#valueInputScratch.subarray(0, inputBytes);
    }
    if (this.#valueInputView.length !== inputBytes) {
      this.#valueInputView = this.#valueInputScratch.subarray(0, inputBytes);
    }
    const input = this.#valueInputView;
    input[0] = STATE_VALUE_PREFIX;
    input.set(value, 1);
    this.#hashInto(output, outputOffset, input);
  }

  /** The value bytes of a stored leaf (a view), after checking them against its valueHash. */
  #checkedValue(hash: Uint8Array, encoded: Uint8Array): Uint8Array {
    const value = encoded.subarray(STATE_NODE_VALUE_OFFSET);
    this.#hashValueInto(this.#valueHashScratch, 0, value);
    if (!equalKeyAt(this.#valueHashScratch, encoded, STATE_NODE_VALUE_HASH_OFFSET)) {
      throw nodeCorrupt(hash, "leaf value does not match its hash");
    }
    return value;
  }

  /** A stored node (read-only bytes), checked for shape; typed errors when missing or garbled. */
  #read(hash: Uint8Array): Uint8Array {
    assert(hash.length === STATE_HASH_BYTES);
    assert(!isEmptyHash(hash));
    const encoded = this.#store.get(hash);
    if (encoded === undefined) {
      throw new StateError(StateErrorCode.NODE_MISSING, "state node is missing from the store", {
        hash: bytesToHex(hash),
      });
    }
    if (stateNodeKindOf(encoded) === null) throw nodeCorrupt(hash, "not a well-formed node");
    return encoded;
  }
}

/** What `nodeEntryOf` copies; never handed out. */
const NODE_ENTRY_TEMPLATE: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];

/**
 * A [hash, encodedNode] pair for `putBatch`, copied from a template instead of written as an
 * array literal. V8 tracks where each literal allocates; when a large batch keeps many pairs alive
 * across young-generation collections it starts allocating that literal's arrays in the old
 * generation, and the views they hold then survive every young collection until a full one. With
 * the literal, GC paused 440-950 ms per 100 batches of 1,000 updates at 10^5 keys, 130 ms with
 * `slice`, which allocates without such tracking (V8 11.3, Node 20).
 */
function nodeEntryOf(hash: Uint8Array, encodedNode: Uint8Array): [hash: Uint8Array, encodedNode: Uint8Array] {
  assert(hash.length === STATE_HASH_BYTES);
  const entry = NODE_ENTRY_TEMPLATE.slice() as [Uint8Array, Uint8Array];
  entry[0] = hash;
  entry[1] = encodedNode;
  return entry;
}

/** Sorts the updates by key and keeps the last update of each key. */
function sortedBatchOf(updates: readonly StateUpdate[]): Batch {
  // Compare the first 4 key bytes as one number first; whole keys only on a tie.
  const prefixes = new Float64Array(updates.length);
  for (let index = 0; index < updates.length; index++) {
    const key = updates[index]!.key;
    prefixes[index] = key[0]! * 2 ** 24 + ((key[1]! << 16) | (key[2]! << 8) | key[3]!);
  }
  const order = Array.from({ length: updates.length }, (_, index) => index);
  order.sort(
    (left, right) =>
      prefixes[left]! - prefixes[right]! ||
      compareKeys(updates[left]!.key, updates[right]!.key) ||
      left - right,
  );
  const keys: Uint8Array[] = [];
  const values: Array<Uint8Array | null> = [];
  for (const index of order) {
    const update = updates[index]!;
    const last = keys.length - 1;
    if (last >= 0 && compareKeys(keys[last]!, update.key) === 0) {
      values[last] = update.value;
      continue;
    }
    keys.push(update.key);
    values.push(update.value);
  }
  for (let index = 1; index < keys.length; index++) assert(compareKeys(keys[index - 1]!, keys[index]!) < 0);
  return new Batch(keys, values);
}

/** The first index in [low, high) whose key has bit `depth` set (keys sorted, sharing the prefix). */
function splitIndex(keys: readonly Uint8Array[], depth: number, low: number, high: number): number {
  const byteIndex = depth >> 3;
  const mask = 0x80 >> (depth & 7);
  let lowSearch = low;
  let highSearch = high;
  while (lowSearch < highSearch) {
    const middle = (lowSearch + highSearch) >>> 1;
    if ((keys[middle]![byteIndex]! & mask) === 0) lowSearch = middle + 1;
    else highSearch = middle;
  }
  if (lowSearch > low) assert((keys[lowSearch - 1]![byteIndex]! & mask) === 0);
  if (lowSearch < high) assert((keys[lowSearch]![byteIndex]! & mask) !== 0);
  return lowSearch;
}

function childOf(encoded: Uint8Array, bit: number): Uint8Array {
  assert(encoded[0] === STATE_INTERNAL_PREFIX);
  const offset = bit === 0 ? STATE_NODE_LEFT_OFFSET : STATE_NODE_RIGHT_OFFSET;
  return encoded.subarray(offset, offset + STATE_HASH_BYTES);
}

function keyBit(key: Uint8Array, depth: number): number {
  return (key[depth >> 3]! >> (7 - (depth & 7))) & 1;
}

/** Copies a 32-byte key to target[targetOffset, +32); a loop is cheaper than `set` at this size. */
function copyKey(key: Uint8Array, target: Uint8Array, targetOffset: number): void {
  assert(key.length === STATE_KEY_BYTES);
  assert(targetOffset + STATE_KEY_BYTES <= target.length);
  for (let index = 0; index < STATE_KEY_BYTES; index++) target[targetOffset + index] = key[index]!;
}

/** Copies `count` 32-bit words: hashes and bodies are word-aligned in the cache and the arena. */
function copyWords(
  source: Int32Array,
  sourceWord: number,
  target: Int32Array,
  targetWord: number,
  count: number,
): void {
  assert(sourceWord + count <= source.length);
  assert(targetWord + count <= target.length);
  for (let index = 0; index < count; index++) target[targetWord + index] = source[sourceWord + index]!;
}

/** True when the 32 bytes of `hash` equal `bytes[offset, offset + 32)`. */
function equalHashAt(hash: Uint8Array, bytes: Uint8Array, offset: number): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (hash[index] !== bytes[offset + index]) return false;
  }
  return true;
}

/** True when the body of an encoded node equals the cached body at `bodies[offset, +64)`. */
function equalBodyAt(encoded: Uint8Array, bodies: Uint8Array, offset: number): boolean {
  for (let index = 0; index < CACHE_BODY_BYTES; index++) {
    if (encoded[BODY_ENCODED_OFFSET + index] !== bodies[offset + index]) return false;
  }
  return true;
}

function isEmptyHash(hash: Uint8Array): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (hash[index] !== 0) return false;
  }
  return true;
}

/** True when the 32 bytes of `key` equal `encoded[offset, offset + 32)`. */
function equalKeyAt(key: Uint8Array, encoded: Uint8Array, offset: number): boolean {
  for (let index = 0; index < STATE_KEY_BYTES; index++) {
    if (key[index] !== encoded[offset + index]) return false;
  }
  return true;
}

function compareKeys(left: Uint8Array, right: Uint8Array): number {
  for (let index = 0; index < STATE_KEY_BYTES; index++) {
    const difference = left[index]! - right[index]!;
    if (difference !== 0) return difference;
  }
  return 0;
}

/** True when the first `bitCount` bits of both keys are equal. */
function sharePrefix(left: Uint8Array, right: Uint8Array, bitCount: number): boolean {
  const byteCount = bitCount >> 3;
  for (let index = 0; index < byteCount; index++) {
    if (left[index] !== right[index]) return false;
  }
  const bitsRest = bitCount & 7;
  if (bitsRest === 0) return true;
  const mask = (0xff << (8 - bitsRest)) & 0xff;
  return ((left[byteCount]! ^ right[byteCount]!) & mask) === 0;
}

function checkKey(key: unknown, index?: number): asserts key is Uint8Array {
  if (key instanceof Uint8Array && key.length === STATE_KEY_BYTES) return;
  const details: Record<string, number> = { keyBytes: STATE_KEY_BYTES };
  if (index !== undefined) details.index = index;
  throw new StateError(StateErrorCode.KEY_INVALID, "state key must be 32 bytes", details);
}

function checkValue(value: unknown, index: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length === 0) {
    throw new StateError(StateErrorCode.VALUE_INVALID, "state value must be non-empty bytes or null", {
      index,
    });
  }
  if (value.length > STATE_VALUE_BYTES_MAX) {
    throw new StateError(StateErrorCode.VALUE_TOO_LARGE, "state value is too large", {
      index,
      sizeBytes: value.length,
      sizeBytesMax: STATE_VALUE_BYTES_MAX,
    });
  }
}

function checkRoot(root: unknown): asserts root is Uint8Array {
  if (root instanceof Uint8Array && root.length === STATE_HASH_BYTES) return;
  throw new StateError(StateErrorCode.ROOT_INVALID, "state root must be 32 bytes");
}

function nodeCorrupt(hash: Uint8Array, reason: string): StateError {
  return new StateError(StateErrorCode.NODE_CORRUPT, "state node is corrupt", {
    hash: bytesToHex(hash),
    reason,
  });
}
