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
 * wins), then split by bit while descending, so each affected node is read once and each new
 * node hashed once. New nodes are written with one `putBatch`; old nodes are never removed.
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { STATE_BATCH_UPDATES_MAX, STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import { sha256 as nativeSha256 } from "../crypto/sha256.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { StateError, StateErrorCode } from "./errors.ts";
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
}

/** Writes HASH(input) into `output` (32 bytes) without allocating a digest. */
type HashIntoFunction = (output: Uint8Array, input: Uint8Array) => void;

function hashIntoOf(hash: HashFunction): HashIntoFunction {
  if (hash === nativeSha256) {
    // The same libsodium SHA-256 as src/crypto/sha256.ts, writing into the node arena: this halves
    // the cost of a node hash compared with allocating a fresh digest per call.
    return (output, input) => {
      sodium.crypto_hash_sha256(output as Buffer, input as Buffer);
    };
  }
  return (output, input) => {
    const digest = hash(input);
    assert(digest.length === STATE_HASH_BYTES, "state hash must give 32 bytes");
    output.set(digest);
  };
}

const NODE_KIND_EMPTY = 0;
const NODE_KIND_LEAF = 1;
const NODE_KIND_INTERNAL = 2;
/** An untouched child: its kind is looked up only when a collapse needs it. */
const NODE_KIND_UNKNOWN = 3;
type NodeKind = 0 | 1 | 2 | 3;

const EMPTY_HASH = new Uint8Array(STATE_HASH_BYTES);
/** Smallest and largest arena chunk; leaves larger than a quarter chunk get their own buffer. */
const ARENA_CHUNK_BYTES_MIN = 4 * 1024;
const ARENA_CHUNK_BYTES_MAX = 1024 * 1024;
/** Rough bytes of new nodes per update (about a dozen new internal nodes of 97 bytes each). */
const ARENA_BYTES_PER_UPDATE = 2 * 1024;
/** Entries of the explicit stack in `entries`: one pending right child per level, plus the root. */
const ENTRIES_STACK_MAX = STATE_TREE_DEPTH_MAX + 2;

/**
 * Bump allocation of the new nodes of one batch in shared buffers: a view into an ArrayBuffer is
 * much cheaper than a Uint8Array of its own (65 bytes is above V8's on-heap typed array size).
 */
class NodeArena {
  readonly #chunkBytes: number;
  #buffer: ArrayBuffer;
  #offset = 0;

  constructor(chunkBytes: number) {
    assert(chunkBytes >= ARENA_CHUNK_BYTES_MIN);
    assert(chunkBytes <= ARENA_CHUNK_BYTES_MAX);
    this.#chunkBytes = chunkBytes;
    this.#buffer = new ArrayBuffer(chunkBytes);
  }

  allocate(sizeBytes: number): Uint8Array {
    assert(sizeBytes > 0);
    if (sizeBytes > this.#chunkBytes / 4) return new Uint8Array(sizeBytes);
    if (this.#offset + sizeBytes > this.#chunkBytes) {
      this.#buffer = new ArrayBuffer(this.#chunkBytes);
      this.#offset = 0;
    }
    const view = new Uint8Array(this.#buffer, this.#offset, sizeBytes);
    this.#offset += sizeBytes;
    return view;
  }
}

/** The working state of one `applyBatch`. */
class Batch {
  /** Sorted, distinct keys and their new values (null: delete). */
  readonly keys: Uint8Array[];
  readonly values: Array<Uint8Array | null>;
  readonly nodes: Array<[hash: Uint8Array, encodedNode: Uint8Array]> = [];
  readonly arena: NodeArena;
  /** The kind of the node that the last `update`/`build`/`join` returned. */
  resultKind: NodeKind = NODE_KIND_UNKNOWN;

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
  /** Hash input of values: 0x02 || value. Grows to the largest value seen. */
  #valueInputScratch = new Uint8Array(1 + 1024);
  readonly #valueHashScratch = new Uint8Array(STATE_HASH_BYTES);

  constructor(options: SparseMerkleTreeOptions = {}) {
    this.#store = options.store ?? new MemoryStateNodeStore();
    this.#hashInto = hashIntoOf(options.hash ?? nativeSha256);
    if (options.root === undefined) {
      this.#root = new Uint8Array(STATE_HASH_BYTES);
    } else {
      checkRoot(options.root);
      this.#root = options.root.slice();
    }
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
    const rootNew = this.#update(this.#root, 0, 0, batch.keys.length, batch);
    assert(rootNew.length === STATE_HASH_BYTES);
    if (batch.nodes.length > 0) this.#store.putBatch(batch.nodes);
    // Paired with the writes above: the new root is readable back from the store.
    if (!isEmptyHash(rootNew)) assert(this.#store.get(rootNew) !== undefined, "new root not in store");
    this.#root = rootNew.slice();
    return this.root;
  }

  /**
   * A membership proof when `key` is present under `root` (default: the current root), else a
   * non-membership proof. Check it with `verifyStateProof` (state-proof.ts).
   */
  prove(key: Uint8Array, root: Uint8Array = this.#root): StateProof {
    checkRoot(root);
    checkKey(key);
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

  /** The new hash of the subtree `hash` at `depth` after the updates [low, high) of the batch. */
  #update(hash: Uint8Array, depth: number, low: number, high: number, batch: Batch): Uint8Array {
    assert(low < high);
    assert(depth <= STATE_TREE_DEPTH_MAX);
    if (isEmptyHash(hash)) {
      const built = this.#build(depth, low, high, batch);
      return batch.resultKind === NODE_KIND_EMPTY ? hash : built;
    }
    const encoded = this.#read(hash);
    if (encoded[0] === STATE_LEAF_PREFIX) return this.#updateLeaf(hash, encoded, depth, low, high, batch);
    if (depth === STATE_TREE_DEPTH_MAX) throw nodeCorrupt(hash, "internal node below the last level");
    assert(sharePrefix(batch.keys[low]!, batch.keys[high - 1]!, depth));

    const middle = splitIndex(batch.keys, depth, low, high);
    // A side stays null while unchanged: #join copies it from `encoded` without a view.
    let leftNew: Uint8Array | null = null;
    let leftKind: NodeKind = NODE_KIND_UNKNOWN;
    if (low < middle) {
      const left = childOf(encoded, 0);
      const result = this.#update(left, depth + 1, low, middle, batch);
      if (result !== left) {
        leftNew = result;
        leftKind = batch.resultKind;
      }
    }
    let rightNew: Uint8Array | null = null;
    let rightKind: NodeKind = NODE_KIND_UNKNOWN;
    if (middle < high) {
      const right = childOf(encoded, 1);
      const result = this.#update(right, depth + 1, middle, high, batch);
      if (result !== right) {
        rightNew = result;
        rightKind = batch.resultKind;
      }
    }
    if (leftNew === null && rightNew === null) {
      batch.resultKind = NODE_KIND_INTERNAL;
      return hash;
    }
    return this.#join(leftNew, leftKind, rightNew, rightKind, encoded, batch);
  }

  /** The new hash of a subtree holding only the leaf `hash` at `depth`, after [low, high). */
  #updateLeaf(
    hash: Uint8Array,
    encoded: Uint8Array,
    depth: number,
    low: number,
    high: number,
    batch: Batch,
  ): Uint8Array {
    assert(low < high);
    assert(encoded[0] === STATE_LEAF_PREFIX);
    if (high - low === 1) {
      const sameKey = equalKeyAt(batch.keys[low]!, encoded, STATE_NODE_KEY_OFFSET);
      const value = batch.values[low]!;
      if (sameKey && value === null) {
        batch.resultKind = NODE_KIND_EMPTY;
        return EMPTY_HASH;
      }
      if (sameKey) return this.#makeLeaf(low, batch, hash, encoded);
      if (value === null) {
        batch.resultKind = NODE_KIND_LEAF;
        return hash;
      }
    }
    // Push the leaf one level down beside the updates, until they part.
    if (depth === STATE_TREE_DEPTH_MAX) throw nodeCorrupt(hash, "leaf key repeats in its subtree");
    const middle = splitIndex(batch.keys, depth, low, high);
    const leafBit = (encoded[STATE_NODE_KEY_OFFSET + (depth >> 3)]! >> (7 - (depth & 7))) & 1;
    let leftNew: Uint8Array;
    let leftKind: NodeKind;
    let rightNew: Uint8Array;
    let rightKind: NodeKind;
    if (leafBit === 0) {
      leftNew = low < middle ? this.#updateLeaf(hash, encoded, depth + 1, low, middle, batch) : hash;
      leftKind = low < middle ? batch.resultKind : NODE_KIND_LEAF;
      rightNew = middle < high ? this.#build(depth + 1, middle, high, batch) : EMPTY_HASH;
      rightKind = middle < high ? batch.resultKind : NODE_KIND_EMPTY;
    } else {
      leftNew = low < middle ? this.#build(depth + 1, low, middle, batch) : EMPTY_HASH;
      leftKind = low < middle ? batch.resultKind : NODE_KIND_EMPTY;
      rightNew = middle < high ? this.#updateLeaf(hash, encoded, depth + 1, middle, high, batch) : hash;
      rightKind = middle < high ? batch.resultKind : NODE_KIND_LEAF;
    }
    return this.#join(leftNew, leftKind, rightNew, rightKind, null, batch);
  }

  /** The hash of a new subtree at `depth` holding the non-null updates of [low, high). */
  #build(depth: number, low: number, high: number, batch: Batch): Uint8Array {
    assert(low < high);
    assert(depth <= STATE_TREE_DEPTH_MAX);
    if (high - low === 1) {
      if (batch.values[low] === null) {
        batch.resultKind = NODE_KIND_EMPTY;
        return EMPTY_HASH;
      }
      return this.#makeLeaf(low, batch, null, null);
    }
    // Distinct sorted keys part before the last level.
    assert(depth < STATE_TREE_DEPTH_MAX);
    assert(sharePrefix(batch.keys[low]!, batch.keys[high - 1]!, depth));
    const middle = splitIndex(batch.keys, depth, low, high);
    let left: Uint8Array = EMPTY_HASH;
    let leftKind: NodeKind = NODE_KIND_EMPTY;
    if (low < middle) {
      left = this.#build(depth + 1, low, middle, batch);
      leftKind = batch.resultKind;
    }
    let right: Uint8Array = EMPTY_HASH;
    let rightKind: NodeKind = NODE_KIND_EMPTY;
    if (middle < high) {
      right = this.#build(depth + 1, middle, high, batch);
      rightKind = batch.resultKind;
    }
    return this.#join(left, leftKind, right, rightKind, null, batch);
  }

  /**
   * The parent of two subtrees, collapsed: (empty, empty) is empty, (leaf, empty) is the leaf. A
   * null side is the unchanged child of `parent` (the old node at this place).
   */
  #join(
    left: Uint8Array | null,
    leftKind: NodeKind,
    right: Uint8Array | null,
    rightKind: NodeKind,
    parent: Uint8Array | null,
    batch: Batch,
  ): Uint8Array {
    let leftNode = left;
    let rightNode = right;
    let leftKindKnown = leftKind;
    let rightKindKnown = rightKind;
    if (leftNode === null) {
      assert(parent !== null);
      assert(leftKind === NODE_KIND_UNKNOWN);
      if (isEmptyAt(parent, STATE_NODE_LEFT_OFFSET)) leftKindKnown = NODE_KIND_EMPTY;
    }
    if (rightNode === null) {
      assert(parent !== null);
      assert(rightKind === NODE_KIND_UNKNOWN);
      if (isEmptyAt(parent, STATE_NODE_RIGHT_OFFSET)) rightKindKnown = NODE_KIND_EMPTY;
    }
    if (leftKindKnown === NODE_KIND_EMPTY) {
      if (rightKindKnown === NODE_KIND_EMPTY) {
        batch.resultKind = NODE_KIND_EMPTY;
        return EMPTY_HASH;
      }
      if (rightKindKnown === NODE_KIND_UNKNOWN) {
        rightNode ??= childOf(parent!, 1);
        rightKindKnown = this.#kindOfStored(rightNode);
      }
      if (rightKindKnown === NODE_KIND_LEAF) {
        batch.resultKind = NODE_KIND_LEAF;
        return rightNode ?? childOf(parent!, 1);
      }
    } else if (rightKindKnown === NODE_KIND_EMPTY) {
      if (leftKindKnown === NODE_KIND_UNKNOWN) {
        leftNode ??= childOf(parent!, 0);
        leftKindKnown = this.#kindOfStored(leftNode);
      }
      if (leftKindKnown === NODE_KIND_LEAF) {
        batch.resultKind = NODE_KIND_LEAF;
        return leftNode ?? childOf(parent!, 0);
      }
    }
    const encoded = batch.arena.allocate(STATE_NODE_INTERNAL_BYTES);
    encoded[0] = STATE_INTERNAL_PREFIX;
    if (leftNode === null) copyHash(parent!, STATE_NODE_LEFT_OFFSET, encoded, STATE_NODE_LEFT_OFFSET);
    else copyHash(leftNode, 0, encoded, STATE_NODE_LEFT_OFFSET);
    if (rightNode === null) copyHash(parent!, STATE_NODE_RIGHT_OFFSET, encoded, STATE_NODE_RIGHT_OFFSET);
    else copyHash(rightNode, 0, encoded, STATE_NODE_RIGHT_OFFSET);
    const hash = batch.arena.allocate(STATE_HASH_BYTES);
    this.#hashInto(hash, encoded);
    assert(!isEmptyHash(hash));
    batch.nodes.push([hash, encoded]);
    batch.resultKind = NODE_KIND_INTERNAL;
    return hash;
  }

  /**
   * The leaf for update `index` (its value is not null). When it replaces an existing leaf with
   * the same value, the existing leaf is kept and nothing is written.
   */
  #makeLeaf(
    index: number,
    batch: Batch,
    hashOld: Uint8Array | null,
    encodedOld: Uint8Array | null,
  ): Uint8Array {
    const key = batch.keys[index]!;
    const value = batch.values[index]!;
    assert(value !== null);
    this.#hashValueInto(this.#valueHashScratch, value);
    batch.resultKind = NODE_KIND_LEAF;
    if (hashOld !== null && encodedOld !== null) {
      assert(equalKeyAt(key, encodedOld, STATE_NODE_KEY_OFFSET));
      if (equalKeyAt(this.#valueHashScratch, encodedOld, STATE_NODE_VALUE_HASH_OFFSET)) return hashOld;
    }
    const encoded = batch.arena.allocate(STATE_NODE_LEAF_HEADER_BYTES + value.length);
    encoded[0] = STATE_LEAF_PREFIX;
    encoded.set(key, STATE_NODE_KEY_OFFSET);
    encoded.set(this.#valueHashScratch, STATE_NODE_VALUE_HASH_OFFSET);
    encoded.set(value, STATE_NODE_VALUE_OFFSET);
    const hash = batch.arena.allocate(STATE_HASH_BYTES);
    this.#hashInto(hash, encoded.subarray(0, STATE_NODE_LEAF_HEADER_BYTES));
    assert(!isEmptyHash(hash));
    batch.nodes.push([hash, encoded]);
    return hash;
  }

  #hashValueInto(output: Uint8Array, value: Uint8Array): void {
    assert(value.length > 0);
    assert(value.length <= STATE_VALUE_BYTES_MAX);
    if (this.#valueInputScratch.length < 1 + value.length) {
      this.#valueInputScratch = new Uint8Array(1 + value.length);
    }
    this.#valueInputScratch[0] = STATE_VALUE_PREFIX;
    this.#valueInputScratch.set(value, 1);
    this.#hashInto(output, this.#valueInputScratch.subarray(0, 1 + value.length));
  }

  /** The value bytes of a stored leaf (a view), after checking them against its valueHash. */
  #checkedValue(hash: Uint8Array, encoded: Uint8Array): Uint8Array {
    const value = encoded.subarray(STATE_NODE_VALUE_OFFSET);
    this.#hashValueInto(this.#valueHashScratch, value);
    if (!equalKeyAt(this.#valueHashScratch, encoded, STATE_NODE_VALUE_HASH_OFFSET)) {
      throw nodeCorrupt(hash, "leaf value does not match its hash");
    }
    return value;
  }

  #kindOfStored(hash: Uint8Array): NodeKind {
    return this.#read(hash)[0] === STATE_LEAF_PREFIX ? NODE_KIND_LEAF : NODE_KIND_INTERNAL;
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

/** True when the 32 bytes at `offset` are all zero (the empty subtree). */
function isEmptyAt(bytes: Uint8Array, offset: number): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (bytes[offset + index] !== 0) return false;
  }
  return true;
}

/** Copies 32 bytes; a loop is cheaper than a view plus `set` at this size. */
function copyHash(source: Uint8Array, sourceOffset: number, target: Uint8Array, targetOffset: number): void {
  assert(sourceOffset + STATE_HASH_BYTES <= source.length);
  assert(targetOffset + STATE_HASH_BYTES <= target.length);
  for (let index = 0; index < STATE_HASH_BYTES; index++)
    target[targetOffset + index] = source[sourceOffset + index]!;
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
