import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bodyOffsetOf,
  CACHE_CHILD_EMPTY,
  CACHE_CHILD_UNLOADED,
  CACHE_KIND_FREE,
  CACHE_KIND_INTERNAL,
  CACHE_KIND_LEAF,
  CACHE_RECORD_BYTES,
  CACHE_ROOT_SLOT,
  hashOffsetOf,
  refIndexOf,
  STATE_TREE_CACHE_NODES_MAX,
  StateNodeCache,
} from "./node-cache.ts";

/** A recognisable non-zero 32-byte "hash" for slot `slot`. */
function fakeHash(slot: number): Uint8Array {
  const hash = new Uint8Array(32).fill(0xa5);
  new DataView(hash.buffer).setUint32(0, slot + 1);
  return hash;
}

function rootHash(): Uint8Array {
  return fakeHash(1_000_000);
}

/**
 * Links a complete tree of `levels` levels below the root slot: internal nodes down to the last
 * level, which holds leaves. Every slot gets a distinct fake hash. Returns the node count.
 */
function buildComplete(cache: StateNodeCache, levels: number): number {
  let count = 0;
  const link = (slot: number, depth: number): void => {
    const node = depth === levels - 1 ? cache.allocateLeaf() : cache.allocateInternal();
    count++;
    cache.words[refIndexOf(slot)] = node;
    if (slot !== CACHE_ROOT_SLOT) cache.bytes.set(fakeHash(slot), hashOffsetOf(slot));
    if (depth === levels - 1) {
      cache.bytes.fill(depth + 1, bodyOffsetOf(node), bodyOffsetOf(node) + 64);
      return;
    }
    link(node * 2, depth + 1);
    link(node * 2 + 1, depth + 1);
  };
  link(CACHE_ROOT_SLOT, 0);
  return count;
}

/** Cached nodes per depth, by walking the refs. */
function depthCounts(cache: StateNodeCache): number[] {
  const counts: number[] = [];
  const walk = (node: number, depth: number): void => {
    counts[depth] = (counts[depth] ?? 0) + 1;
    if (cache.kindOf(node) !== CACHE_KIND_INTERNAL) return;
    for (const side of [0, 1]) {
      const child = cache.words[refIndexOf(node * 2 + side)]!;
      if (child > 0) walk(child, depth + 1);
    }
  };
  const root = cache.words[refIndexOf(CACHE_ROOT_SLOT)]!;
  if (root > 0) walk(root, 0);
  return counts;
}

describe("StateNodeCache", () => {
  it("starts empty or unloaded, and reuses freed records", () => {
    const empty = new StateNodeCache(10, new Uint8Array(32));
    assert.equal(empty.words[refIndexOf(CACHE_ROOT_SLOT)], CACHE_CHILD_EMPTY);
    const cache = new StateNodeCache(10, rootHash());
    assert.equal(cache.words[refIndexOf(CACHE_ROOT_SLOT)], CACHE_CHILD_UNLOADED);
    assert.deepEqual(cache.bytes.slice(hashOffsetOf(CACHE_ROOT_SLOT), 32 + hashOffsetOf(0)), rootHash());
    const leaf = cache.allocateLeaf();
    const internal = cache.allocateInternal();
    assert.equal(cache.count, 2);
    assert.equal(cache.kindOf(leaf), CACHE_KIND_LEAF);
    assert.equal(cache.kindOf(internal), CACHE_KIND_INTERNAL);
    assert.equal(cache.words[refIndexOf(internal * 2)], CACHE_CHILD_EMPTY);
    assert.equal(cache.words[refIndexOf(internal * 2 + 1)], CACHE_CHILD_EMPTY);
    cache.bytes.fill(9, bodyOffsetOf(leaf), bodyOffsetOf(leaf) + 64);
    cache.free(leaf);
    assert.equal(cache.kindOf(leaf), CACHE_KIND_FREE);
    assert.equal(cache.count, 1);
    // A reused record comes back as a zeroed internal node.
    assert.equal(cache.allocateInternal(), leaf);
    assert.ok(cache.bytes.subarray(bodyOffsetOf(leaf), bodyOffsetOf(leaf) + 64).every((byte) => byte === 0));
    assert.throws(() => cache.free(0), { name: "AssertionError" });
    assert.throws(() => cache.free(cache.allocateLeaf() + 1), { name: "AssertionError" });
  });

  it("keeps records through growth", () => {
    const cache = new StateNodeCache(STATE_TREE_CACHE_NODES_MAX, rootHash());
    const count = buildComplete(cache, 13);
    assert.equal(count, 2 ** 13 - 1);
    assert.equal(cache.count, count);
    assert.ok(cache.bytes.length >= (count + 1) * CACHE_RECORD_BYTES);
    assert.deepEqual(
      depthCounts(cache),
      Array.from({ length: 13 }, (_, depth) => 2 ** depth),
    );
    assert.equal(cache.evictOver(), 0, "under the bound nothing is evicted");
  });

  it("evicts whole levels from the bottom, to at most half the bound, keeping the hashes", () => {
    for (const nodesMax of [0, 1, 2, 6, 100, 1000, 4094]) {
      const cache = new StateNodeCache(nodesMax, rootHash());
      const count = buildComplete(cache, 12);
      const hashesBefore = cache.bytes.slice();
      const evicted = cache.evictOver();
      assert.equal(evicted, count - cache.count);
      assert.ok(cache.count <= Math.floor(nodesMax / 2), `bound ${nodesMax}`);
      // What is left is the top levels, complete: 2^k - 1 nodes for the largest k that fits.
      const levelsKept = Math.floor(Math.log2(Math.floor(nodesMax / 2) + 1));
      assert.equal(cache.count, 2 ** levelsKept - 1, `bound ${nodesMax}`);
      assert.deepEqual(
        depthCounts(cache),
        Array.from({ length: levelsKept }, (_, depth) => 2 ** depth),
      );
      // Unlinked slots are unloaded and still hold their subtree's hash.
      if (levelsKept === 0) {
        assert.equal(cache.words[refIndexOf(CACHE_ROOT_SLOT)], CACHE_CHILD_UNLOADED);
      }
      for (let node = 1; node < count + 1; node++) {
        if (cache.kindOf(node) !== CACHE_KIND_INTERNAL) continue;
        for (const slot of [node * 2, node * 2 + 1]) {
          const child = cache.words[refIndexOf(slot)]!;
          assert.ok(child === CACHE_CHILD_UNLOADED || cache.kindOf(child) !== CACHE_KIND_FREE);
          const offset = hashOffsetOf(slot);
          assert.deepEqual(
            cache.bytes.subarray(offset, offset + 32),
            hashesBefore.subarray(offset, offset + 32),
          );
        }
      }
      // Freed records are handed out again.
      const countAfter = cache.count;
      for (let index = 0; index < evicted; index++) cache.allocateLeaf();
      assert.equal(cache.count, countAfter + evicted);
    }
  });

  it("rejects a bound that is not an integer in [0, STATE_TREE_CACHE_NODES_MAX]", () => {
    for (const nodesMax of [-1, 0.5, Number.NaN, STATE_TREE_CACHE_NODES_MAX + 1]) {
      assert.throws(() => new StateNodeCache(nodesMax, rootHash()), { name: "AssertionError" });
    }
  });

  it("forgets everything on reset", () => {
    const cache = new StateNodeCache(100, rootHash());
    buildComplete(cache, 5);
    cache.reset(new Uint8Array(32));
    assert.equal(cache.count, 0);
    assert.equal(cache.words[refIndexOf(CACHE_ROOT_SLOT)], CACHE_CHILD_EMPTY);
    cache.reset(rootHash());
    assert.equal(cache.words[refIndexOf(CACHE_ROOT_SLOT)], CACHE_CHILD_UNLOADED);
    assert.equal(cache.allocateLeaf(), 1);
  });
});
