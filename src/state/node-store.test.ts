import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "../crypto/sha256.ts";
import {
  MemoryStateNodeStore,
  STATE_NODE_BYTES_MAX,
  STATE_NODE_INTERNAL_BYTES,
  STATE_NODE_LEAF_HEADER_BYTES,
  stateNodeKindOf,
} from "./node-store.ts";

function internalNode(seed: number): [Uint8Array, Uint8Array] {
  const encoded = new Uint8Array(STATE_NODE_INTERNAL_BYTES);
  encoded[0] = 0x01;
  encoded.set(sha256(new Uint8Array([seed & 0xff, (seed >> 8) & 0xff, seed >> 16])), 1);
  return [sha256(encoded), encoded];
}

function leafNode(seed: number, valueBytes: number): [Uint8Array, Uint8Array] {
  const encoded = new Uint8Array(STATE_NODE_LEAF_HEADER_BYTES + valueBytes).fill(seed & 0xff);
  encoded[0] = 0x00;
  encoded.set(sha256(new Uint8Array([seed & 0xff, (seed >> 8) & 0xff, seed >> 16])), 1);
  return [sha256(encoded.subarray(0, STATE_NODE_LEAF_HEADER_BYTES)), encoded];
}

describe("MemoryStateNodeStore", () => {
  it("returns what was put, through many index growths, and undefined for unknown hashes", () => {
    const store = new MemoryStateNodeStore();
    const nodes = Array.from({ length: 5000 }, (_, index) =>
      index % 7 === 0 ? leafNode(index, 1 + (index % 50)) : internalNode(index),
    );
    for (let start = 0; start < nodes.length; start += 700) store.putBatch(nodes.slice(start, start + 700));
    assert.equal(store.size, nodes.length);
    for (const [hash, encoded] of nodes) assert.deepEqual(store.get(hash), encoded);
    assert.equal(store.get(sha256(new Uint8Array([1, 2, 3, 4]))), undefined);
    assert.equal(store.get(new Uint8Array(32)), undefined);
  });

  it("ignores a node put twice and copies what it is given", () => {
    const store = new MemoryStateNodeStore();
    const [hash, encoded] = internalNode(1);
    store.putBatch([[hash, encoded]]);
    store.putBatch([
      [hash.slice(), encoded.slice()],
      [hash, encoded],
    ]);
    assert.equal(store.size, 1);
    const copy = encoded.slice();
    encoded[5]! ^= 1;
    assert.deepEqual(store.get(hash), copy);
  });

  it("keeps nodes larger than a slab quarter, up to the largest leaf", () => {
    const store = new MemoryStateNodeStore();
    const large = leafNode(9, STATE_NODE_BYTES_MAX - STATE_NODE_LEAF_HEADER_BYTES);
    const small = leafNode(10, 3);
    store.putBatch([large, small]);
    assert.deepEqual(store.get(large[0]), large[1]);
    assert.deepEqual(store.get(small[0]), small[1]);
  });

  it("keeps nodes of every size modulo 4, across slabs", () => {
    const store = new MemoryStateNodeStore();
    // 45,000 nodes of about 104 bytes each fill more than one 4 MiB slab.
    const nodes = Array.from({ length: 45_000 }, (_, index) =>
      index % 3 === 0 ? leafNode(index, 1 + (index % 8)) : internalNode(index),
    );
    store.putBatch(nodes);
    assert.equal(store.size, nodes.length);
    for (let index = 0; index < nodes.length; index += 7) {
      const [hash, encoded] = nodes[index]!;
      assert.deepEqual(store.get(hash), encoded, `node ${index}`);
    }
    assert.deepEqual(store.get(nodes[nodes.length - 1]![0]), nodes[nodes.length - 1]![1]);
  });

  it("finds hashes that share their first bytes (probing)", () => {
    const store = new MemoryStateNodeStore();
    const nodes: Array<[Uint8Array, Uint8Array]> = [];
    for (let index = 0; index < 300; index++) {
      const [hash, encoded] = internalNode(index);
      hash.fill(0xee, 0, 8);
      nodes.push([hash, encoded]);
    }
    store.putBatch(nodes);
    for (const [hash, encoded] of nodes) assert.deepEqual(store.get(hash), encoded);
  });
});

describe("stateNodeKindOf", () => {
  it("accepts well-formed nodes and rejects malformed ones", () => {
    assert.equal(stateNodeKindOf(internalNode(3)[1]), "internal");
    assert.equal(stateNodeKindOf(leafNode(3, 1)[1]), "leaf");
    const twoEmpty = new Uint8Array(STATE_NODE_INTERNAL_BYTES);
    twoEmpty[0] = 0x01;
    assert.equal(stateNodeKindOf(twoEmpty), null);
    assert.equal(stateNodeKindOf(new Uint8Array([0x01, ...internalNode(3)[1].subarray(1), 0])), null);
    assert.equal(stateNodeKindOf(leafNode(3, 0)[1]), null);
    assert.equal(stateNodeKindOf(new Uint8Array(STATE_NODE_BYTES_MAX + 1)), null);
    assert.equal(stateNodeKindOf(new Uint8Array([0x02, ...internalNode(3)[1].subarray(1)])), null);
    assert.equal(stateNodeKindOf(new Uint8Array(10)), null);
  });
});
