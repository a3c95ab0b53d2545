/**
 * Pinned proof encodings (SHA-256; copy to docs/PROTOCOL.md, "State proof vectors"), in the tree
 * {K1: one, K2: two, K3: three, K4: four} of sparse-merkle-tree.test.ts (root d42868…1713):
 *   membership of K2 = 80 || 00 * 31 (terminal leaf, siblings at depths 1 and 2):
 *     01 c0 00*31 | key 80 00*31 | valueHash bffa74aa…ad68 | 67e4d55b…668f | 95b2dd88…82c0
 *   non-membership of c0 || 00 * 31 (the path ends at the leaf of K4 = ff * 32):
 *     01 c0 00*31 | key ff*32 | valueHash 0223b0ce…c0d1 | 67e4d55b…668f | dda51d7d…b13d
 *   non-membership of 40 || 00 * 31 (the path ends at an empty subtree at depth 2):
 *     00 c0 00*31 | 9a17b863…c524 | 04aae694…098c
 * (full hex below in PROOF_*_HEX).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { bytesToHex, hexToBytes, utf8 } from "../base/bytes.ts";
import { sha256 as nativeSha256 } from "../crypto/sha256.ts";
import { SparseMerkleTree } from "./sparse-merkle-tree.ts";
import {
  decodeStateProof,
  encodeStateProof,
  STATE_PROOF_BYTES_MAX,
  type StateProof,
  StateProofDecodeError,
  StateProofDecodeErrorCode,
  verifyStateProof,
} from "./state-proof.ts";

const K1 = new Uint8Array(32);
const K2 = hexToBytes(`80${"00".repeat(31)}`);
const K3 = hexToBytes(`${"00".repeat(31)}01`);
const K4 = new Uint8Array(32).fill(0xff);
const ABSENT_AT_LEAF = hexToBytes(`c0${"00".repeat(31)}`);
const ABSENT_AT_EMPTY = hexToBytes(`40${"00".repeat(31)}`);
const ROOT_HEX = "d42868634fc6d07fbe1d3cd1594d884e4c8106dddaf05096610eef2bd2df1713";

const BITMAP_C0 = `c0${"00".repeat(31)}`;
const PROOF_K2_HEX =
  `01${BITMAP_C0}80${"00".repeat(31)}` +
  "bffa74aa8e91a2a778ede59a85f6d865a863eee10dd133047aa9b99c73aead68" +
  "67e4d55b9e2b7a8e4e6d02da7cbcd9c5234ab7ba647b1d2d02273bc9c103668f" +
  "95b2dd88990a97a7f35e71bf3257ed16538182adb4dec81dbca60c55816c82c0";
const PROOF_ABSENT_AT_LEAF_HEX =
  `01${BITMAP_C0}${"ff".repeat(32)}` +
  "0223b0ceb3786305850e0d376851531f0fbc6254703525e1352ff7879790c0d1" +
  "67e4d55b9e2b7a8e4e6d02da7cbcd9c5234ab7ba647b1d2d02273bc9c103668f" +
  "dda51d7daf3e8b277aa01b608ee533f9cf9e5b212aba3bdd29b0cbdfcd15b13d";
const PROOF_ABSENT_AT_EMPTY_HEX =
  `00${BITMAP_C0}` +
  "9a17b8637e9f2665027524dff4862dbb756387e265b043f3e1cc66622e73c524" +
  "04aae69421518a56f671ea8e05cb31def183dd536bdd251d20c07b134f2a098c";

function vectorTree(): SparseMerkleTree {
  const tree = new SparseMerkleTree();
  tree.applyBatch([
    { key: K1, value: utf8("one") },
    { key: K2, value: utf8("two") },
    { key: K3, value: utf8("three") },
    { key: K4, value: utf8("four") },
  ]);
  assert.equal(bytesToHex(tree.root), ROOT_HEX);
  return tree;
}

const TEMPLATES = [new Uint8Array(32), new Uint8Array(32).fill(0xff), hexToBytes("5a".repeat(32))];
const keyArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 32, maxLength: 32 }),
  fc
    .tuple(fc.integer({ min: 0, max: TEMPLATES.length - 1 }), fc.integer({ min: 0, max: 255 }))
    .map(([template, bit]) => {
      const key = TEMPLATES[template]!.slice();
      key[bit >> 3]! ^= 0x80 >> (bit & 7);
      return key;
    }),
);
const treeArbitrary = fc.array(
  fc.record({ key: keyArbitrary, value: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  { maxLength: 40 },
);

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 0x80 >> (bit & 7);
  return copy;
}

function decodeErrorCode(bytes: Uint8Array): string | null {
  try {
    decodeStateProof(bytes);
    return null;
  } catch (error) {
    assert.ok(error instanceof StateProofDecodeError, `expected StateProofDecodeError, got ${String(error)}`);
    assert.equal(error.name, "StateProofDecodeError");
    return error.code;
  }
}

/** Every bit of `bytes` when short, else a fixed spread of about `countMax` bits. */
function bitsToFlip(sizeBytes: number, countMax: number): number[] {
  const bitsCount = sizeBytes * 8;
  const step = Math.max(1, Math.floor(bitsCount / countMax));
  const bits: number[] = [];
  for (let bit = 0; bit < bitsCount; bit += step) bits.push(bit);
  return bits;
}

describe("state proof vectors", () => {
  it("pins the encodings of membership and non-membership proofs", () => {
    const tree = vectorTree();
    const root = tree.root;
    const cases: Array<[Uint8Array, Uint8Array | null, string]> = [
      [K2, utf8("two"), PROOF_K2_HEX],
      [ABSENT_AT_LEAF, null, PROOF_ABSENT_AT_LEAF_HEX],
      [ABSENT_AT_EMPTY, null, PROOF_ABSENT_AT_EMPTY_HEX],
    ];
    for (const [key, value, proofHex] of cases) {
      const proof = tree.prove(key);
      assert.equal(bytesToHex(encodeStateProof(proof)), proofHex);
      assert.ok(verifyStateProof(root, key, value, decodeStateProof(hexToBytes(proofHex))));
    }
  });

  it("proves leaves at depth 256 and the empty tree", () => {
    const tree = vectorTree();
    const proof = tree.prove(K3);
    assert.equal(proof.siblings.length, 256);
    assert.ok(verifyStateProof(tree.root, K3, utf8("three"), proof));
    assert.ok(verifyStateProof(tree.root, K3, utf8("three"), decodeStateProof(encodeStateProof(proof))));
    // The encoding keeps only the two non-empty siblings.
    assert.equal(encodeStateProof(proof).length, 33 + 64 + 2 * 32);
    const empty = new SparseMerkleTree();
    const emptyProof = empty.prove(K1);
    assert.deepEqual(emptyProof, { siblings: [], leaf: null });
    assert.ok(verifyStateProof(empty.root, K1, null, emptyProof));
    assert.ok(!verifyStateProof(empty.root, K1, utf8("one"), emptyProof));
    assert.equal(bytesToHex(encodeStateProof(emptyProof)), "00".repeat(33));
  });
});

describe("state proofs on random trees", () => {
  it("verify for members and non-members, before and after an encode/decode round trip", () => {
    fc.assert(
      fc.property(treeArbitrary, fc.array(keyArbitrary, { maxLength: 8 }), (writes, absentCandidates) => {
        const tree = new SparseMerkleTree();
        tree.applyBatch(writes);
        const root = tree.root;
        const queries = [...writes.map((write) => write.key), ...absentCandidates];
        for (const key of queries) {
          const value = tree.get(key) ?? null;
          const proof = tree.prove(key);
          assert.ok(verifyStateProof(root, key, value, proof));
          assert.ok(verifyStateProof(root, key, value, proof, nativeSha256));
          const decoded = decodeStateProof(encodeStateProof(proof));
          assert.deepEqual(decoded, proof);
          assert.ok(verifyStateProof(root, key, value, decoded, nativeSha256));
          // The opposite claim never verifies.
          assert.ok(!verifyStateProof(root, key, value === null ? utf8("x") : null, proof, nativeSha256));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("rejects every single-bit change of root, value, key and encoded proof", () => {
    fc.assert(
      fc.property(treeArbitrary, keyArbitrary, fc.boolean(), (writes, absentKey, pickPresent) => {
        const tree = new SparseMerkleTree();
        tree.applyBatch(writes);
        const root = tree.root;
        const key = pickPresent && writes.length > 0 ? writes[0]!.key : absentKey;
        const value = tree.get(key) ?? null;
        const proof = tree.prove(key);
        const hash = nativeSha256;
        assert.ok(verifyStateProof(root, key, value, proof, hash));

        for (let bit = 0; bit < 256; bit++) {
          assert.ok(!verifyStateProof(flipBit(root, bit), key, value, proof, hash), `root bit ${bit}`);
        }
        if (value !== null) {
          for (let bit = 0; bit < value.length * 8; bit++) {
            assert.ok(!verifyStateProof(root, key, flipBit(value, bit), proof, hash), `value bit ${bit}`);
          }
          assert.ok(!verifyStateProof(root, key, new Uint8Array([...value, 0]), proof, hash));
          assert.ok(!verifyStateProof(root, key, null, proof, hash));
        }
        const depth = proof.siblings.length;
        for (let bit = 0; bit < 256; bit++) {
          const keyOther = flipBit(key, bit);
          const accepted = verifyStateProof(root, keyOther, value, proof, hash);
          // A non-membership proof covers every key whose path reaches the same terminal: flips
          // below the terminal's depth leave the other key absent too (unless it is the leaf's).
          const legitimate =
            value === null &&
            bit >= depth &&
            (proof.leaf === null || bytesToHex(proof.leaf.key) !== bytesToHex(keyOther));
          assert.equal(accepted, legitimate, `key bit ${bit}`);
          assert.equal(accepted, legitimate && tree.get(keyOther) === undefined);
        }

        const encoded = encodeStateProof(proof);
        for (const bit of bitsToFlip(encoded.length, 600)) {
          const mutated = flipBit(encoded, bit);
          let decoded: StateProof;
          try {
            decoded = decodeStateProof(mutated);
          } catch (error) {
            assert.ok(error instanceof StateProofDecodeError);
            continue;
          }
          assert.ok(!verifyStateProof(root, key, value, decoded, hash), `proof bit ${bit}`);
        }
        // The same on the proof object: siblings (empty ones included) and the leaf.
        for (let index = 0; index < depth; index++) {
          const siblings = proof.siblings.slice();
          siblings[index] = flipBit(siblings[index]!, index);
          assert.ok(!verifyStateProof(root, key, value, { siblings, leaf: proof.leaf }, hash));
        }
        if (proof.leaf !== null) {
          const leafKey = flipBit(proof.leaf.key, 255);
          const leafValueHash = flipBit(proof.leaf.valueHash, 3);
          const leaf = proof.leaf;
          assert.ok(!verifyStateProof(root, key, value, { ...proof, leaf: { ...leaf, key: leafKey } }, hash));
          assert.ok(
            !verifyStateProof(
              root,
              key,
              value,
              { ...proof, leaf: { ...leaf, valueHash: leafValueHash } },
              hash,
            ),
          );
          assert.ok(!verifyStateProof(root, key, value, { ...proof, leaf: null }, hash));
        }
        if (depth > 0) {
          assert.ok(
            !verifyStateProof(root, key, value, { ...proof, siblings: proof.siblings.slice(1) }, hash),
          );
          assert.ok(
            !verifyStateProof(root, key, value, { ...proof, siblings: proof.siblings.slice(0, -1) }, hash),
          );
        }
        assert.ok(
          !verifyStateProof(
            root,
            key,
            value,
            { ...proof, siblings: [...proof.siblings, nativeSha256(key)] },
            hash,
          ),
        );
      }),
      { numRuns: 25 },
    );
  });
});

describe("verifyStateProof on malformed input", () => {
  const tree = vectorTree();
  const root = tree.root;
  const proof = tree.prove(K2);
  const value = utf8("two");

  it("returns false, never throws", () => {
    const sibling = proof.siblings[0]!;
    const malformedProofs: unknown[] = [
      null,
      undefined,
      42,
      "proof",
      [],
      {},
      { siblings: proof.siblings },
      { siblings: proof.siblings, leaf: undefined },
      { siblings: "ab", leaf: proof.leaf },
      { siblings: new Uint8Array(64), leaf: proof.leaf },
      { siblings: [sibling, new Uint8Array(31)], leaf: proof.leaf },
      { siblings: [sibling, [...sibling]], leaf: proof.leaf },
      { siblings: [sibling, null], leaf: proof.leaf },
      // biome-ignore lint/suspicious/noSparseArray: a hole is one of the malformed shapes
      { siblings: [sibling, , sibling], leaf: proof.leaf },
      { siblings: new Array(257).fill(sibling), leaf: proof.leaf },
      { siblings: [sibling, new Uint8Array(32)], leaf: proof.leaf },
      { siblings: proof.siblings, leaf: { key: K2 } },
      { siblings: proof.siblings, leaf: { key: K2.subarray(1), valueHash: proof.leaf!.valueHash } },
      { siblings: proof.siblings, leaf: { key: K2, valueHash: [...proof.leaf!.valueHash] } },
      { siblings: proof.siblings, leaf: "leaf" },
    ];
    for (const malformed of malformedProofs) {
      assert.equal(verifyStateProof(root, K2, value, malformed as StateProof), false);
      assert.equal(verifyStateProof(root, K2, null, malformed as StateProof), false);
    }
    const badArguments: Array<[unknown, unknown, unknown]> = [
      [root.subarray(1), K2, value],
      [[...root], K2, value],
      [root, K2.subarray(1), value],
      [root, "key", value],
      [root, K2, new Uint8Array(0)],
      [root, K2, "two"],
      [root, K2, undefined],
      [root, K2, new Uint8Array(1024 * 1024 + 1)],
    ];
    for (const [rootBad, keyBad, valueBad] of badArguments) {
      assert.equal(
        verifyStateProof(rootBad as Uint8Array, keyBad as Uint8Array, valueBad as Uint8Array | null, proof),
        false,
      );
    }
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (first, second) => {
        assert.equal(verifyStateProof(root, K2, value, first as StateProof), false);
        assert.equal(
          verifyStateProof(root, K2, null, { siblings: first, leaf: second } as StateProof),
          false,
        );
        assert.equal(verifyStateProof(first as Uint8Array, K2, value, proof), false);
      }),
      { numRuns: 300 },
    );
  });
});

describe("state proof encoding", () => {
  const tree = vectorTree();
  const encodings = [K1, K2, K3, K4, ABSENT_AT_LEAF, ABSENT_AT_EMPTY].map((key) =>
    encodeStateProof(tree.prove(key)),
  );

  it("rejects every truncation and any trailing byte", () => {
    for (const encoded of encodings) {
      for (let length = 0; length < encoded.length; length++) {
        assert.equal(decodeErrorCode(encoded.subarray(0, length)), StateProofDecodeErrorCode.TRUNCATED);
      }
      assert.equal(
        decodeErrorCode(new Uint8Array([...encoded, 0])),
        StateProofDecodeErrorCode.TRAILING_BYTES,
      );
      assert.equal(decodeErrorCode(encoded), null);
    }
  });

  it("rejects bad terminals, zero sibling hashes, oversize input and non-bytes", () => {
    const encoded = hexToBytes(PROOF_K2_HEX);
    const badTerminal = encoded.slice();
    badTerminal[0] = 2;
    assert.equal(decodeErrorCode(badTerminal), StateProofDecodeErrorCode.TERMINAL_INVALID);
    const zeroSibling = encoded.slice();
    zeroSibling.fill(0, encoded.length - 32);
    assert.equal(decodeErrorCode(zeroSibling), StateProofDecodeErrorCode.SIBLING_NOT_CANONICAL);
    assert.equal(
      decodeErrorCode(new Uint8Array(STATE_PROOF_BYTES_MAX + 1)),
      StateProofDecodeErrorCode.TOO_LARGE,
    );
    assert.equal(decodeErrorCode([1, 2, 3] as unknown as Uint8Array), StateProofDecodeErrorCode.NOT_BYTES);
    assert.equal(decodeErrorCode("00" as unknown as Uint8Array), StateProofDecodeErrorCode.NOT_BYTES);
    // The largest proof: a leaf and 256 non-empty siblings.
    const largest = new Uint8Array(STATE_PROOF_BYTES_MAX).fill(0xab);
    largest[0] = 1;
    largest.fill(0xff, 1, 33);
    const decoded = decodeStateProof(largest);
    assert.equal(decoded.siblings.length, 256);
    assert.deepEqual(encodeStateProof(decoded), largest);
  });

  it("decodes garbage only to the typed error, and only canonical bytes decode", () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      fc
        .tuple(
          fc.integer({ min: 0, max: 1 }),
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ maxLength: 600 }),
        )
        .map(([terminal, bitmap, rest]) => new Uint8Array([terminal, ...bitmap, ...rest])),
      fc
        .tuple(
          fc.integer({ min: 0, max: 1 }),
          fc.integer({ min: 0, max: 255 }),
          fc.uint8Array({ maxLength: 8 }),
        )
        .map(([terminal, bitmapByte, rest]) => {
          const bitmap = new Uint8Array(32);
          bitmap[31] = bitmapByte;
          const siblingsCount = bitmap.reduce((count, byte) => count + popCount(byte), 0);
          const body = new Uint8Array((terminal === 1 ? 64 : 0) + 32 * siblingsCount).fill(0x11);
          return new Uint8Array([terminal, ...bitmap, ...body, ...rest]);
        }),
    );
    fc.assert(
      fc.property(garbage, (bytes) => {
        if (decodeErrorCode(bytes) !== null) return;
        // Whatever decodes is canonical: it encodes back to the very same bytes.
        assert.deepEqual(encodeStateProof(decodeStateProof(bytes)), bytes);
      }),
      { numRuns: 500 },
    );
  });
});

function popCount(byte: number): number {
  let count = 0;
  for (let bits = byte; bits !== 0; bits &= bits - 1) count++;
  return count;
}

describe("state-proof.ts portability", () => {
  it("pulls in no node: module and no native code, directly or transitively", () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const pending = [resolve(here, "state-proof.ts")];
    const seen = new Set<string>();
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(file, "utf8");
      for (const match of source.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
        const specifier = match[1]!;
        assert.ok(!specifier.startsWith("node:"), `${file} imports ${specifier}`);
        assert.ok(!specifier.includes("sodium"), `${file} imports ${specifier}`);
        if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier));
        else assert.ok(specifier.startsWith("@noble/"), `${file} imports ${specifier}`);
      }
    }
    assert.ok(seen.size >= 3);
  });
});
