/**
 * Where the state tree keeps its nodes: a content-addressed map from node hash to encoded node.
 * Nodes are never overwritten or deleted by the tree, so every historic root stays readable
 * (proofs at older heights keep working) until a store prunes it on purpose.
 *
 * Node encoding (canonical; the node's hash is HASH of its first 65 bytes, so the stored bytes
 * begin with exactly the hash input of sparse-merkle-tree.ts):
 *   Internal node, 65 bytes:
 *     offset 0    1 byte    0x01 (STATE_INTERNAL_PREFIX)
 *     offset 1    32 bytes  left child hash (32 zero bytes when the left subtree is empty)
 *     offset 33   32 bytes  right child hash (32 zero bytes when the right subtree is empty)
 *   Leaf node, 65 + n bytes, 1 <= n <= STATE_VALUE_BYTES_MAX:
 *     offset 0    1 byte    0x00 (STATE_LEAF_PREFIX)
 *     offset 1    32 bytes  key
 *     offset 33   32 bytes  valueHash = HASH(0x02 || value)
 *     offset 65   n bytes   value (kept with the leaf so that `get(key)` needs no second lookup)
 *   The empty subtree is never stored: its hash is the placeholder of 32 zero bytes.
 * @module
 */
import { assert } from "../base/assert.ts";
import { STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import {
  STATE_HASH_BYTES,
  STATE_INTERNAL_PREFIX,
  STATE_KEY_BYTES,
  STATE_LEAF_PREFIX,
} from "./state-proof.ts";

/**
 * Synchronous and content-addressed by node hash. A database-backed store wraps `putBatch` in its
 * own transaction, and should keep a cache of hot nodes keyed by hash: every batch and every proof
 * reads the top levels of the tree (about log2(keys) nodes per path). Ownership: `putBatch` may
 * keep the arrays it is given (the tree never mutates them afterwards; they are views into
 * per-batch buffers, so copying them lets those buffers go), and callers of `get` must treat the
 * returned bytes as read-only.
 */
export interface StateNodeStore {
  get(hash: Uint8Array): Uint8Array | undefined;
  putBatch(nodes: Array<[hash: Uint8Array, encodedNode: Uint8Array]>): void;
}

/** Size of an encoded internal node. */
export const STATE_NODE_INTERNAL_BYTES = 1 + 2 * STATE_HASH_BYTES;
/** Size of an encoded leaf before its value; also the length of every node's hash input. */
export const STATE_NODE_LEAF_HEADER_BYTES = 1 + STATE_KEY_BYTES + STATE_HASH_BYTES;
/** Size of the largest encoded node. */
export const STATE_NODE_BYTES_MAX = STATE_NODE_LEAF_HEADER_BYTES + STATE_VALUE_BYTES_MAX;
/** Offsets inside encoded nodes. */
export const STATE_NODE_LEFT_OFFSET = 1;
export const STATE_NODE_RIGHT_OFFSET = 1 + STATE_HASH_BYTES;
export const STATE_NODE_KEY_OFFSET = 1;
export const STATE_NODE_VALUE_HASH_OFFSET = 1 + STATE_KEY_BYTES;
export const STATE_NODE_VALUE_OFFSET = STATE_NODE_LEAF_HEADER_BYTES;

assert(STATE_NODE_INTERNAL_BYTES === 65);
assert(STATE_NODE_LEAF_HEADER_BYTES === STATE_NODE_INTERNAL_BYTES);

export type StateNodeKind = "leaf" | "internal";

/**
 * The kind of a well-formed encoded node, or null when the bytes are not one: wrong tag, wrong
 * length, or an internal node with two empty children (which the tree never writes).
 */
export function stateNodeKindOf(encodedNode: Uint8Array): StateNodeKind | null {
  if (encodedNode.length < STATE_NODE_LEAF_HEADER_BYTES) return null;
  const tag = encodedNode[0];
  if (tag === STATE_INTERNAL_PREFIX) {
    if (encodedNode.length !== STATE_NODE_INTERNAL_BYTES) return null;
    for (let index = STATE_NODE_LEFT_OFFSET; index < STATE_NODE_INTERNAL_BYTES; index++) {
      if (encodedNode[index] !== 0) return "internal";
    }
    return null;
  }
  if (tag === STATE_LEAF_PREFIX) {
    if (encodedNode.length === STATE_NODE_LEAF_HEADER_BYTES) return null;
    if (encodedNode.length > STATE_NODE_BYTES_MAX) return null;
    return "leaf";
  }
  return null;
}

/** Nodes are copied into slabs of this size; a node larger than a quarter slab gets its own. */
const MEMORY_SLAB_BYTES = 4 * 1024 * 1024;
/** Slabs, counting the own slabs of large nodes: 2047 (8 GiB of 4 MiB slabs) fit a slot's place. */
const MEMORY_SLABS_MAX = 2 ** 11 - 1;
/** Slots of the open-addressing index; it doubles when more than half full. */
const MEMORY_SLOTS_INITIAL = 1024;
const MEMORY_SLOTS_MAX = 2 ** 28;
/**
 * Integers per slot: the hash prefix (first 4 bytes) and the node's place, (slab number + 1) *
 * 2^20 + offset / 4 (0: free). Two integers rather than four halve the index, and the index is
 * what a lookup or an insert reads at random: on the development VM such a read costs 200-550 ns
 * once the index outgrows the processor's caches and address-translation reach.
 */
const SLOT_INTS = 2;
const SLOT_PREFIX = 0;
const SLOT_PLACE = 1;
const PLACE_SLAB_BITS = 20;
const PLACE_SLAB_UNIT = 2 ** PLACE_SLAB_BITS;
const PLACE_WORDS_MASK = PLACE_SLAB_UNIT - 1;
/** A slab record: the node's size (4 bytes, little-endian), its hash, the node, padding to 4. */
const RECORD_HEADER_BYTES = 4;
const RECORD_HASH_OFFSET = RECORD_HEADER_BYTES;
const RECORD_NODE_OFFSET = RECORD_HEADER_BYTES + STATE_HASH_BYTES;

assert(MEMORY_SLAB_BYTES / 4 <= PLACE_SLAB_UNIT, "a slab's word offsets fit below the unit");
assert((MEMORY_SLABS_MAX + 1) * PLACE_SLAB_UNIT <= 2 ** 31, "places stay positive Int32 values");

/**
 * Nodes in memory, for tests, tools and small deployments; never forgets a node (at most
 * MEMORY_SLABS_MAX slabs: about 8 GiB of nodes). Each node is copied, after its size and hash,
 * into a large slab and found through an open-addressing index (linear probing on the hash's
 * first 4 bytes) held in one Int32Array, each slot holding the hash prefix and the node's place.
 * A lookup touches one slot and one slab record, and a million nodes cost no million heap
 * objects: the garbage collector sees a few slabs and one integer array.
 */
export class MemoryStateNodeStore implements StateNodeStore {
  readonly #slabs: Uint8Array[] = [];
  #slabOffset = MEMORY_SLAB_BYTES;
  #slabCurrent = -1;
  #slots = new Int32Array(MEMORY_SLOTS_INITIAL * SLOT_INTS);
  #slotsCount = MEMORY_SLOTS_INITIAL;
  #count = 0;

  /** Nodes held. */
  get size(): number {
    return this.#count;
  }

  get(hash: Uint8Array): Uint8Array | undefined {
    assert(hash.length === STATE_HASH_BYTES, "node hash must be 32 bytes");
    const place = this.#slots[this.#find(hash) + SLOT_PLACE]!;
    if (place === 0) return undefined;
    const slab = this.#slabs[(place >>> PLACE_SLAB_BITS) - 1]!;
    const offset = (place & PLACE_WORDS_MASK) * 4;
    const sizeBytes = readSize(slab, offset);
    assert(sizeBytes >= STATE_NODE_LEAF_HEADER_BYTES, "stored node is too short");
    return slab.subarray(offset + RECORD_NODE_OFFSET, offset + RECORD_NODE_OFFSET + sizeBytes);
  }

  putBatch(nodes: Array<[hash: Uint8Array, encodedNode: Uint8Array]>): void {
    for (const [hash, encodedNode] of nodes) {
      assert(hash.length === STATE_HASH_BYTES, "node hash must be 32 bytes");
      assert(encodedNode.length >= STATE_NODE_LEAF_HEADER_BYTES, "encoded node is too short");
      assert(encodedNode.length <= STATE_NODE_BYTES_MAX, "encoded node is too long");
      if ((this.#count + 1) * 2 > this.#slotsCount) this.#growSlots();
      const slot = this.#find(hash);
      const place = this.#slots[slot + SLOT_PLACE]!;
      if (place !== 0) {
        // Content addressing: one hash always names the same bytes.
        const slab = this.#slabs[(place >>> PLACE_SLAB_BITS) - 1]!;
        assert(readSize(slab, (place & PLACE_WORDS_MASK) * 4) === encodedNode.length, "one hash, two nodes");
        continue;
      }
      this.#append(slot, hash, encodedNode);
      assert(this.#slots[slot + SLOT_PLACE] !== 0);
    }
    assert(this.#count * 2 <= this.#slotsCount);
  }

  /** The index of the slot holding `hash`, or of the free slot where it would go. */
  #find(hash: Uint8Array): number {
    const prefix = prefixOf(hash, 0);
    const mask = this.#slotsCount - 1;
    let slotNumber = prefix & mask;
    // At most half of the slots are used, so a free slot ends every probe.
    for (let probes = 0; probes <= this.#count; probes++) {
      const slot = slotNumber * SLOT_INTS;
      const place = this.#slots[slot + SLOT_PLACE]!;
      if (place === 0) return slot;
      if (this.#slots[slot + SLOT_PREFIX] === prefix) {
        const slab = this.#slabs[(place >>> PLACE_SLAB_BITS) - 1]!;
        if (equalHashAt(slab, (place & PLACE_WORDS_MASK) * 4 + RECORD_HASH_OFFSET, hash)) return slot;
      }
      slotNumber = (slotNumber + 1) & mask;
    }
    assert(false, "memory store probe did not end");
  }

  #append(slot: number, hash: Uint8Array, encodedNode: Uint8Array): void {
    assert(this.#slots[slot + SLOT_PLACE] === 0);
    const recordBytes = (RECORD_NODE_OFFSET + encodedNode.length + 3) & ~3;
    let slabIndex: number;
    let offset: number;
    if (recordBytes > MEMORY_SLAB_BYTES / 4) {
      slabIndex = this.#slabs.length;
      offset = 0;
      assert(slabIndex < MEMORY_SLABS_MAX, "memory store is full");
      this.#slabs.push(new Uint8Array(recordBytes));
    } else {
      if (this.#slabOffset + recordBytes > MEMORY_SLAB_BYTES) {
        assert(this.#slabs.length < MEMORY_SLABS_MAX, "memory store is full");
        this.#slabCurrent = this.#slabs.length;
        this.#slabOffset = 0;
        this.#slabs.push(new Uint8Array(MEMORY_SLAB_BYTES));
      }
      slabIndex = this.#slabCurrent;
      offset = this.#slabOffset;
      this.#slabOffset += recordBytes;
    }
    assert(offset % 4 === 0);
    const slab = this.#slabs[slabIndex]!;
    writeSize(slab, offset, encodedNode.length);
    slab.set(hash, offset + RECORD_HASH_OFFSET);
    slab.set(encodedNode, offset + RECORD_NODE_OFFSET);
    this.#slots[slot + SLOT_PREFIX] = prefixOf(hash, 0);
    this.#slots[slot + SLOT_PLACE] = (slabIndex + 1) * PLACE_SLAB_UNIT + (offset >>> 2);
    this.#count++;
  }

  #growSlots(): void {
    const slotsCount = this.#slotsCount * 2;
    assert(slotsCount <= MEMORY_SLOTS_MAX, "memory store is full");
    const slotsOld = this.#slots;
    const slots = new Int32Array(slotsCount * SLOT_INTS);
    const mask = slotsCount - 1;
    let moved = 0;
    for (let slotOld = 0; slotOld < slotsOld.length; slotOld += SLOT_INTS) {
      if (slotsOld[slotOld + SLOT_PLACE] === 0) continue;
      let slotNumber = slotsOld[slotOld + SLOT_PREFIX]! & mask;
      while (slots[slotNumber * SLOT_INTS + SLOT_PLACE] !== 0) slotNumber = (slotNumber + 1) & mask;
      const slot = slotNumber * SLOT_INTS;
      slots[slot + SLOT_PREFIX] = slotsOld[slotOld + SLOT_PREFIX]!;
      slots[slot + SLOT_PLACE] = slotsOld[slotOld + SLOT_PLACE]!;
      moved++;
    }
    assert(moved === this.#count);
    this.#slots = slots;
    this.#slotsCount = slotsCount;
  }
}

/** The size of the node in the slab record at `offset`. */
function readSize(slab: Uint8Array, offset: number): number {
  return slab[offset]! | (slab[offset + 1]! << 8) | (slab[offset + 2]! << 16) | (slab[offset + 3]! << 24);
}

function writeSize(slab: Uint8Array, offset: number, sizeBytes: number): void {
  assert(sizeBytes > 0);
  assert(sizeBytes <= STATE_NODE_BYTES_MAX);
  slab[offset] = sizeBytes & 0xff;
  slab[offset + 1] = (sizeBytes >>> 8) & 0xff;
  slab[offset + 2] = (sizeBytes >>> 16) & 0xff;
  slab[offset + 3] = (sizeBytes >>> 24) & 0xff;
}

/** The first 4 bytes of the hash at `offset`, as a (signed 32-bit) integer. */
function prefixOf(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
}

function equalHashAt(slab: Uint8Array, offset: number, hash: Uint8Array): boolean {
  for (let index = 0; index < STATE_HASH_BYTES; index++) {
    if (slab[offset + index] !== hash[index]) return false;
  }
  return true;
}
