/**
 * Pinned vectors (SHA-256; copy to docs/PROTOCOL.md, "State tree vectors"). Cross-checked against
 * an independent Python reference of the full 256-level definition.
 *   K1 = 00 * 32, K2 = 80 || 00 * 31, K3 = 00 * 31 || 01 (differs from K1 in the last bit only),
 *   K4 = ff * 32; values are the UTF-8 bytes of "one", "two", "three", "four".
 *   empty tree root            0000000000000000000000000000000000000000000000000000000000000000
 *   valueHash("one")           250e1e0b682f3600d336b28608aa313a081c60f6750d9ed2ca19149c7ca7c6fb
 *   {K1: one}                  c2d1c381ef5cc45eccc62e9a12824f0f27730a960cb0960f5888658bc20b04ef
 *                              (= leafHash(K1, valueHash("one")): a lone leaf is the root)
 *   {K1: one, K2: two}         b097546d3b1f123dfc2d15cdc294dd729dede5f953d3fb88e2ab1be956c29809
 *   ... + {K3: three}          fd49e45fc9673a84acaf25267e544bca5fedba0f38ad251a345fff008adc2ab6
 *                              (K1 and K3 are leaves at depth 256 below 255 one-sided nodes)
 *   ... + {K4: four}           d42868634fc6d07fbe1d3cd1594d884e4c8106dddaf05096610eef2bd2df1713
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, compareBytes, hexToBytes, utf8 } from "../base/bytes.ts";
import { STATE_BATCH_UPDATES_MAX, STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import { sha256 as portableSha256 } from "../crypto/portable/sha256.ts";
import { sha256 as nativeSha256, sha256Into } from "../crypto/sha256.ts";
import { StateError, StateErrorCode } from "./errors.ts";
import { STATE_TREE_CACHE_NODES_MAX } from "./node-cache.ts";
import { MemoryStateNodeStore, type StateNodeStore } from "./node-store.ts";
import { SparseMerkleTree, type StateUpdate } from "./sparse-merkle-tree.ts";
import { verifyStateProof } from "./state-proof.ts";

const K1 = new Uint8Array(32);
const K2 = hexToBytes(`80${"00".repeat(31)}`);
const K3 = hexToBytes(`${"00".repeat(31)}01`);
const K4 = new Uint8Array(32).fill(0xff);

const ROOT_EMPTY_HEX = "00".repeat(32);
const ROOT_K1_HEX = "c2d1c381ef5cc45eccc62e9a12824f0f27730a960cb0960f5888658bc20b04ef";
const ROOT_K1_K2_HEX = "b097546d3b1f123dfc2d15cdc294dd729dede5f953d3fb88e2ab1be956c29809";
const ROOT_K1_K2_K3_HEX = "fd49e45fc9673a84acaf25267e544bca5fedba0f38ad251a345fff008adc2ab6";
const ROOT_K1_K2_K3_K4_HEX = "d42868634fc6d07fbe1d3cd1594d884e4c8106dddaf05096610eef2bd2df1713";

/**
 * The definition, independently: the full 256-level tree with every key's leaf at depth 256,
 * collapsed bottom-up ((empty, empty) → empty; (leaf, empty) / (empty, leaf) → the leaf). Uses
 * the portable SHA-256 and literal prefix bytes, so it shares no code with the tree.
 */
type ReferenceNode = { kind: "empty" | "leaf" | "internal"; hash: Uint8Array };

function referenceRoot(model: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const items = [...model.entries()].map(([keyHex, value]) => ({ key: hexToBytes(keyHex), value }));
  return referenceNode(items, 0).hash;
}

function referenceBit(key: Uint8Array, depth: number): number {
  return (key[Math.floor(depth / 8)]! >> (7 - (depth % 8))) & 1;
}

function referenceNode(items: Array<{ key: Uint8Array; value: Uint8Array }>, depth: number): ReferenceNode {
  if (items.length === 0) return { kind: "empty", hash: new Uint8Array(32) };
  if (depth === 256) {
    assert.equal(items.length, 1);
    const item = items[0]!;
    const valueHash = portableSha256(new Uint8Array([0x02, ...item.value]));
    return { kind: "leaf", hash: portableSha256(new Uint8Array([0x00, ...item.key, ...valueHash])) };
  }
  const left = referenceNode(
    items.filter((item) => referenceBit(item.key, depth) === 0),
    depth + 1,
  );
  const right = referenceNode(
    items.filter((item) => referenceBit(item.key, depth) === 1),
    depth + 1,
  );
  if (left.kind === "empty" && right.kind === "empty") return left;
  if (left.kind === "empty" && right.kind === "leaf") return right;
  if (right.kind === "empty" && left.kind === "leaf") return left;
  return { kind: "internal", hash: portableSha256(new Uint8Array([0x01, ...left.hash, ...right.hash])) };
}

function applyToModel(model: Map<string, Uint8Array>, updates: readonly StateUpdate[]): void {
  for (const update of updates) {
    if (update.value === null) model.delete(bytesToHex(update.key));
    else model.set(bytesToHex(update.key), update.value);
  }
}

/** Keys that often share long prefixes: a few templates with one or two bits flipped. */
const TEMPLATES = [
  new Uint8Array(32),
  new Uint8Array(32).fill(0xff),
  hexToBytes("5a".repeat(32)),
  hexToBytes("a5".repeat(16) + "00".repeat(16)),
];
const keyArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc
    .tuple(
      fc.integer({ min: 0, max: TEMPLATES.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
    )
    .map(([template, bitFirst, bitSecond]) => {
      const key = TEMPLATES[template]!.slice();
      key[bitFirst >> 3]! ^= 0x80 >> (bitFirst & 7);
      if (bitSecond !== undefined) key[bitSecond >> 3]! ^= 0x80 >> (bitSecond & 7);
      return key;
    }),
);
const valueArbitrary = fc.uint8Array({ minLength: 1, maxLength: 6 });
const updateArbitrary: fc.Arbitrary<StateUpdate> = fc.record({
  key: keyArbitrary,
  value: fc.option(valueArbitrary, { nil: null, freq: 4 }),
});

function stateErrorCode(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof StateError, `expected StateError, got ${String(error)}`);
    assert.equal(error.name, "StateError");
    return error.code;
  }
  assert.fail("expected a StateError");
}

describe("SparseMerkleTree vectors", () => {
  it("pins the roots of fixed key sets", () => {
    const tree = new SparseMerkleTree();
    assert.equal(bytesToHex(tree.root), ROOT_EMPTY_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K1, value: utf8("one") }])), ROOT_K1_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K2, value: utf8("two") }])), ROOT_K1_K2_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K3, value: utf8("three") }])), ROOT_K1_K2_K3_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K4, value: utf8("four") }])), ROOT_K1_K2_K3_K4_HEX);
    // Deleting walks the same roots back.
    assert.equal(bytesToHex(tree.applyBatch([{ key: K4, value: null }])), ROOT_K1_K2_K3_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K3, value: null }])), ROOT_K1_K2_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K2, value: null }])), ROOT_K1_HEX);
    assert.equal(bytesToHex(tree.applyBatch([{ key: K1, value: null }])), ROOT_EMPTY_HEX);
  });

  it("matches the reference definition on the vectors", () => {
    const model = new Map<string, Uint8Array>([
      [bytesToHex(K1), utf8("one")],
      [bytesToHex(K2), utf8("two")],
      [bytesToHex(K3), utf8("three")],
      [bytesToHex(K4), utf8("four")],
    ]);
    assert.equal(bytesToHex(referenceRoot(model)), ROOT_K1_K2_K3_K4_HEX);
    assert.equal(bytesToHex(referenceRoot(new Map())), ROOT_EMPTY_HEX);
  });

  it("gives the same roots with any HashFunction implementation of SHA-256", () => {
    const updates = [
      { key: K1, value: utf8("one") },
      { key: K2, value: utf8("two") },
      { key: K3, value: utf8("three") },
      { key: K4, value: utf8("four") },
    ];
    const portable = new SparseMerkleTree({ hash: portableSha256 });
    const wrapped = new SparseMerkleTree({ hash: (data) => nativeSha256(data) });
    assert.equal(bytesToHex(portable.applyBatch(updates)), ROOT_K1_K2_K3_K4_HEX);
    assert.equal(bytesToHex(wrapped.applyBatch(updates)), ROOT_K1_K2_K3_K4_HEX);
  });
});

describe("sha256Into (the tree's native hash path)", () => {
  it("writes the digest of any view at any offset, touching nothing else", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat({ max: 64 }),
        fc.nat({ max: 40 }),
        (data, inputOffset, outputOffset) => {
          const backing = new Uint8Array(inputOffset + data.length + 3).fill(0xee);
          backing.set(data, inputOffset);
          const input = backing.subarray(inputOffset, inputOffset + data.length);
          const output = new Uint8Array(outputOffset + 32 + 5).fill(0x77);
          sha256Into(output, outputOffset, input);
          assert.deepEqual(output.subarray(outputOffset, outputOffset + 32), portableSha256(data));
          assert.ok(output.subarray(0, outputOffset).every((byte) => byte === 0x77));
          assert.ok(output.subarray(outputOffset + 32).every((byte) => byte === 0x77));
          assert.deepEqual(nativeSha256(input), portableSha256(data));
        },
      ),
      { numRuns: 100 },
    );
    assert.throws(() => sha256Into(new Uint8Array(40), 9, new Uint8Array(1)), { name: "AssertionError" });
    assert.throws(() => sha256Into(new Uint8Array(40), -1, new Uint8Array(1)), { name: "AssertionError" });
  });
});

describe("SparseMerkleTree properties", () => {
  it("equals the full 256-level reference for random sets (canonical shape)", () => {
    fc.assert(
      fc.property(fc.array(updateArbitrary, { maxLength: 24 }), (updates) => {
        const tree = new SparseMerkleTree();
        const model = new Map<string, Uint8Array>();
        tree.applyBatch(updates);
        applyToModel(model, updates);
        assert.equal(bytesToHex(tree.root), bytesToHex(referenceRoot(model)));
      }),
      { numRuns: 60 },
    );
  });

  it("gives one root whatever the order and batching of the updates", () => {
    fc.assert(
      fc.property(
        fc.array(updateArbitrary, { maxLength: 40 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 6 }),
        fc.integer(),
        (updates, cuts, seed) => {
          const model = new Map<string, Uint8Array>();
          applyToModel(model, updates);
          // The final set written in one batch, in a shuffled order.
          const finalWrites: StateUpdate[] = [...model.entries()].map(([keyHex, value]) => ({
            key: hexToBytes(keyHex),
            value,
          }));
          let state = seed >>> 0;
          for (let index = finalWrites.length - 1; index > 0; index--) {
            state = (Math.imul(state, 1103515245) + 12345) >>> 0;
            const other = state % (index + 1);
            [finalWrites[index], finalWrites[other]] = [finalWrites[other]!, finalWrites[index]!];
          }
          const oneBatch = new SparseMerkleTree();
          oneBatch.applyBatch(finalWrites);
          // The original sequence split into batches at the cuts.
          const split = new SparseMerkleTree();
          const boundaries = [...new Set([0, ...cuts.filter((cut) => cut < updates.length), updates.length])];
          boundaries.sort((left, right) => left - right);
          for (let index = 1; index < boundaries.length; index++) {
            split.applyBatch(updates.slice(boundaries[index - 1], boundaries[index]));
          }
          // One update per batch.
          const single = new SparseMerkleTree();
          for (const update of updates) single.applyBatch([update]);
          assert.equal(bytesToHex(split.root), bytesToHex(oneBatch.root));
          assert.equal(bytesToHex(single.root), bytesToHex(oneBatch.root));
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads back every value, at the current root and at older roots", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(updateArbitrary, { maxLength: 12 }), { minLength: 1, maxLength: 5 }),
        (batches) => {
          const tree = new SparseMerkleTree();
          const model = new Map<string, Uint8Array>();
          const history: Array<{ root: Uint8Array; model: Map<string, Uint8Array> }> = [];
          for (const batch of batches) {
            tree.applyBatch(batch);
            applyToModel(model, batch);
            history.push({ root: tree.root, model: new Map(model) });
            for (const update of batch) {
              const expected = model.get(bytesToHex(update.key));
              assert.deepEqual(tree.get(update.key), expected);
            }
          }
          for (const { root, model: modelThen } of history) {
            for (const batch of batches) {
              for (const update of batch) {
                assert.deepEqual(tree.getAt(root, update.key), modelThen.get(bytesToHex(update.key)));
              }
            }
            const entries = [...tree.entries(root)];
            const expected = [...modelThen.entries()].sort(([left], [right]) => (left < right ? -1 : 1));
            assert.deepEqual(
              entries.map((entry) => [bytesToHex(entry.key), entry.value]),
              expected,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("restores the previous root exactly when inserted keys are deleted again", () => {
    fc.assert(
      fc.property(
        fc.array(updateArbitrary, { maxLength: 20 }),
        fc.uniqueArray(keyArbitrary, { maxLength: 10, selector: (key) => bytesToHex(key) }),
        valueArbitrary,
        (base, inserted, value) => {
          const tree = new SparseMerkleTree();
          tree.applyBatch(base);
          const rootBefore = tree.root;
          const present = inserted.filter((key) => tree.get(key) !== undefined);
          const fresh = inserted.filter((key) => tree.get(key) === undefined);
          tree.applyBatch(fresh.map((key) => ({ key, value })));
          for (const key of fresh) assert.deepEqual(tree.get(key), value);
          tree.applyBatch(fresh.map((key) => ({ key, value: null })));
          assert.equal(bytesToHex(tree.root), bytesToHex(rootBefore));
          // Deleting absent keys and rewriting present values unchanged keep the root.
          const rewrites = present.map((key) => ({ key, value: tree.get(key)! }));
          tree.applyBatch([...fresh.map((key) => ({ key, value: null })), ...rewrites]);
          assert.equal(bytesToHex(tree.root), bytesToHex(rootBefore));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("lets the later of two updates to one key in a batch win", () => {
    const tree = new SparseMerkleTree();
    tree.applyBatch([
      { key: K1, value: utf8("first") },
      { key: K2, value: utf8("two") },
      { key: K1, value: utf8("second") },
    ]);
    assert.deepEqual(tree.get(K1), utf8("second"));
    tree.applyBatch([
      { key: K1, value: null },
      { key: K1, value: utf8("third") },
      { key: K2, value: utf8("changed") },
      { key: K2, value: null },
    ]);
    assert.deepEqual(tree.get(K1), utf8("third"));
    assert.equal(tree.get(K2), undefined);
  });
});

describe("SparseMerkleTree input and store errors", () => {
  it("rejects bad keys, values, roots and batches with typed errors, changing nothing", () => {
    const tree = new SparseMerkleTree();
    tree.applyBatch([{ key: K1, value: utf8("one") }]);
    const rootBefore = bytesToHex(tree.root);
    const cases: Array<[string, () => unknown]> = [
      [StateErrorCode.KEY_INVALID, () => tree.applyBatch([{ key: new Uint8Array(31), value: utf8("x") }])],
      [
        StateErrorCode.KEY_INVALID,
        () => tree.applyBatch([{ key: "k" as unknown as Uint8Array, value: null }]),
      ],
      [StateErrorCode.KEY_INVALID, () => tree.get(new Uint8Array(33))],
      [StateErrorCode.KEY_INVALID, () => tree.prove(new Uint8Array(0))],
      [StateErrorCode.VALUE_INVALID, () => tree.applyBatch([{ key: K2, value: new Uint8Array(0) }])],
      [
        StateErrorCode.VALUE_INVALID,
        () => tree.applyBatch([{ key: K2, value: [1] as unknown as Uint8Array }]),
      ],
      [
        StateErrorCode.VALUE_TOO_LARGE,
        () =>
          tree.applyBatch([
            { key: K2, value: utf8("fine") },
            { key: K3, value: new Uint8Array(STATE_VALUE_BYTES_MAX + 1) },
          ]),
      ],
      [StateErrorCode.BATCH_INVALID, () => tree.applyBatch([null as unknown as StateUpdate])],
      [StateErrorCode.BATCH_INVALID, () => tree.applyBatch({} as unknown as StateUpdate[])],
      [
        StateErrorCode.BATCH_TOO_LARGE,
        () =>
          tree.applyBatch(new Array<StateUpdate>(STATE_BATCH_UPDATES_MAX + 1).fill({ key: K1, value: null })),
      ],
      [StateErrorCode.ROOT_INVALID, () => tree.getAt(new Uint8Array(31), K1)],
      [StateErrorCode.ROOT_INVALID, () => new SparseMerkleTree({ root: new Uint8Array(16) })],
      [StateErrorCode.ROOT_INVALID, () => tree.entries(new Uint8Array(0))],
    ];
    for (const [code, action] of cases) assert.equal(stateErrorCode(action), code);
    assert.equal(bytesToHex(tree.root), rootBefore);
    assert.deepEqual(tree.get(K1), utf8("one"));
  });

  it("stores values up to STATE_VALUE_BYTES_MAX", () => {
    const tree = new SparseMerkleTree();
    const value = new Uint8Array(STATE_VALUE_BYTES_MAX).fill(7);
    tree.applyBatch([
      { key: K1, value },
      { key: K2, value: utf8("small") },
    ]);
    assert.deepEqual(tree.get(K1), value);
    assert.ok(verifyStateProof(tree.root, K1, value, tree.prove(K1)));
  });

  it("returns copies that do not alias the store", () => {
    const tree = new SparseMerkleTree();
    const value = utf8("one");
    tree.applyBatch([{ key: K1, value }]);
    value[0] = 0;
    const read = tree.get(K1)!;
    read[0] = 0;
    tree.root[0] = 1;
    assert.deepEqual(tree.get(K1), utf8("one"));
    assert.equal(bytesToHex(tree.root), ROOT_K1_HEX);
  });

  it("reports a root the store lacks as STATE_NODE_MISSING", () => {
    const tree = new SparseMerkleTree({ root: hexToBytes(ROOT_K1_K2_HEX) });
    assert.equal(
      stateErrorCode(() => tree.get(K1)),
      StateErrorCode.NODE_MISSING,
    );
    assert.equal(
      stateErrorCode(() => tree.prove(K1)),
      StateErrorCode.NODE_MISSING,
    );
    assert.equal(
      stateErrorCode(() => tree.applyBatch([{ key: K3, value: utf8("x") }])),
      StateErrorCode.NODE_MISSING,
    );
    assert.equal(
      stateErrorCode(() => [...tree.entries()]),
      StateErrorCode.NODE_MISSING,
    );
  });

  it("reports garbled nodes as STATE_NODE_CORRUPT", () => {
    const memory = new MemoryStateNodeStore();
    const source = new SparseMerkleTree({ store: memory });
    source.applyBatch([
      { key: K1, value: utf8("one") },
      { key: K2, value: utf8("two") },
    ]);
    const corruptions: Array<(bytes: Uint8Array) => Uint8Array> = [
      (bytes) => bytes.subarray(0, 40),
      (bytes) => new Uint8Array([7, ...bytes.subarray(1)]),
      (bytes) => (bytes[0] === 0x00 ? new Uint8Array([...bytes.subarray(0, 65), 0x58]) : bytes),
      (bytes) => (bytes[0] === 0x01 ? new Uint8Array([0x01, ...new Uint8Array(64)]) : bytes),
    ];
    for (const corrupt of corruptions) {
      const store: StateNodeStore = {
        get: (hash) => {
          const bytes = memory.get(hash);
          return bytes === undefined ? undefined : corrupt(bytes.slice());
        },
        putBatch: (nodes) => memory.putBatch(nodes),
      };
      const tree = new SparseMerkleTree({ store, root: source.root });
      assert.equal(
        stateErrorCode(() => tree.get(K1)),
        StateErrorCode.NODE_CORRUPT,
      );
      assert.equal(
        stateErrorCode(() => [...tree.entries()]),
        StateErrorCode.NODE_CORRUPT,
      );
    }
  });

  it("keeps every historic root readable and shares unchanged nodes", () => {
    const store = new MemoryStateNodeStore();
    const tree = new SparseMerkleTree({ store });
    const keys = Array.from({ length: 64 }, (_, index) => nativeSha256(new Uint8Array([index])));
    tree.applyBatch(keys.map((key, index) => ({ key, value: new Uint8Array([index + 1]) })));
    const rootOld = tree.root;
    const nodesBefore = store.size;
    tree.applyBatch([{ key: keys[0]!, value: utf8("changed") }]);
    // One new leaf plus one new internal node per level above it.
    assert.ok(store.size - nodesBefore <= 1 + tree.prove(keys[0]!).siblings.length);
    assert.deepEqual(tree.getAt(rootOld, keys[0]!), new Uint8Array([1]));
    assert.deepEqual(tree.get(keys[0]!), utf8("changed"));
    const reopened = new SparseMerkleTree({ store, root: rootOld });
    assert.equal([...reopened.entries()].length, 64);
    const sorted = [...reopened.entries()].map((entry) => entry.key);
    for (let index = 1; index < sorted.length; index++)
      assert.ok(compareBytes(sorted[index - 1]!, sorted[index]!) < 0);
  });
});

/** Everything a caller can observe of a tree for the given keys at its current root. */
function observe(tree: SparseMerkleTree, keys: readonly Uint8Array[]): unknown {
  return {
    root: bytesToHex(tree.root),
    values: keys.map((key) => tree.get(key)),
    proofs: keys.map((key) => tree.prove(key)),
    entries: [...tree.entries()].map((entry) => [bytesToHex(entry.key), entry.value]),
  };
}

describe("SparseMerkleTree node cache", () => {
  it("gives identical results whatever its bound (eviction and cold reads included)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(updateArbitrary, { maxLength: 16 }), { minLength: 1, maxLength: 6 }),
        fc.constantFrom(0, 1, 2, 5, 16),
        fc.boolean(),
        (batches, cacheNodesMax, portable) => {
          const hash = portable ? portableSha256 : nativeSha256;
          const large = new SparseMerkleTree({ hash });
          const small = new SparseMerkleTree({ hash, cacheNodesMax });
          const keys = batches.flat().map((update) => update.key);
          const roots: Uint8Array[] = [];
          for (const batch of batches) {
            assert.equal(bytesToHex(small.applyBatch(batch)), bytesToHex(large.applyBatch(batch)));
            assert.deepEqual(observe(small, keys), observe(large, keys));
            roots.push(large.root);
          }
          // Older roots read through the store, the same in both.
          for (const root of roots) {
            for (const key of keys) {
              assert.deepEqual(small.getAt(root, key), large.getAt(root, key));
              assert.deepEqual(small.prove(key, root), large.prove(key, root));
            }
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it("works from just a root over a store another tree wrote (reopening)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(updateArbitrary, { maxLength: 20 }), { minLength: 2, maxLength: 5 }),
        fc.constantFrom(0, 3, 1_000_000),
        (batches, cacheNodesMax) => {
          const store = new MemoryStateNodeStore();
          const writer = new SparseMerkleTree({ store });
          for (const batch of batches.slice(0, -1)) writer.applyBatch(batch);
          const reopened = new SparseMerkleTree({ store, root: writer.root, cacheNodesMax });
          const keys = batches.flat().map((update) => update.key);
          assert.deepEqual(observe(reopened, keys), observe(writer, keys));
          // Both go on from there alike, the reopened one reading its nodes from the store.
          const last = batches[batches.length - 1]!;
          assert.equal(bytesToHex(reopened.applyBatch(last)), bytesToHex(writer.applyBatch(last)));
          assert.deepEqual(observe(reopened, keys), observe(writer, keys));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps working after a batch fails on a node missing from the store", () => {
    const memory = new MemoryStateNodeStore();
    const writer = new SparseMerkleTree({ store: memory });
    // Sorted, so that a batch reaches the leaf of keys[0] last, after changing all the others.
    const keys = Array.from({ length: 200 }, (_, index) => nativeSha256(new Uint8Array([index, 7])));
    keys.sort((left, right) => compareBytes(right, left));
    writer.applyBatch(keys.map((key, index) => ({ key, value: new Uint8Array([index + 1]) })));
    // A store that lost the leaf of keys[0] (and nothing else).
    assert.ok(writer.prove(keys[0]!).leaf !== null);
    const proofOther = writer.prove(keys[1]!);
    const lostHex = bytesToHex(hashLeafOf(keys[0]!, new Uint8Array([1])));
    const store: StateNodeStore = {
      get: (hash) => (bytesToHex(hash) === lostHex ? undefined : memory.get(hash)),
      putBatch: (nodes) => memory.putBatch(nodes),
    };
    const tree = new SparseMerkleTree({ store, root: writer.root, cacheNodesMax: 100_000 });
    const rootBefore = bytesToHex(tree.root);
    // Warm the cache on other paths, then fail half-way through a batch that changes much.
    for (const key of keys.slice(1, 50)) tree.get(key);
    const batch = keys.map((key) => ({ key, value: utf8("new") }));
    assert.equal(
      stateErrorCode(() => tree.applyBatch(batch)),
      StateErrorCode.NODE_MISSING,
    );
    assert.equal(bytesToHex(tree.root), rootBefore);
    assert.deepEqual(tree.get(keys[1]!), new Uint8Array([2]));
    assert.deepEqual(tree.prove(keys[1]!), proofOther);
    // A batch that avoids the lost leaf gives the same root as on the complete store.
    const partial = keys.slice(1).map((key) => ({ key, value: utf8("new") }));
    assert.equal(bytesToHex(tree.applyBatch(partial)), bytesToHex(writer.applyBatch(partial)));
  });

  it("reports a stored node that does not match its hash as STATE_NODE_CORRUPT", () => {
    const memory = new MemoryStateNodeStore();
    const source = new SparseMerkleTree({ store: memory });
    source.applyBatch([
      { key: K1, value: utf8("one") },
      { key: K2, value: utf8("two") },
    ]);
    const other = new SparseMerkleTree({ store: memory });
    other.applyBatch([
      { key: K3, value: utf8("three") },
      { key: K4, value: utf8("four") },
    ]);
    // Well-formed bytes, but those of another node.
    const store: StateNodeStore = {
      get: (hash) => memory.get(equalHex(hash, source.root) ? other.root : hash),
      putBatch: (nodes) => memory.putBatch(nodes),
    };
    const tree = new SparseMerkleTree({ store, root: source.root });
    assert.equal(
      stateErrorCode(() => tree.get(K1)),
      StateErrorCode.NODE_CORRUPT,
    );
    assert.equal(
      stateErrorCode(() => tree.applyBatch([{ key: K3, value: utf8("x") }])),
      StateErrorCode.NODE_CORRUPT,
    );
    assert.equal(bytesToHex(tree.root), bytesToHex(source.root));
  });

  it("rejects a bound outside [0, STATE_TREE_CACHE_NODES_MAX]", () => {
    for (const cacheNodesMax of [-1, 1.5, STATE_TREE_CACHE_NODES_MAX + 1]) {
      assert.throws(() => new SparseMerkleTree({ cacheNodesMax }), { name: "AssertionError" });
    }
  });
});

function equalHex(left: Uint8Array, right: Uint8Array): boolean {
  return bytesToHex(left) === bytesToHex(right);
}

function hashLeafOf(key: Uint8Array, value: Uint8Array): Uint8Array {
  const valueHash = portableSha256(new Uint8Array([0x02, ...value]));
  return portableSha256(new Uint8Array([0x00, ...key, ...valueHash]));
}
