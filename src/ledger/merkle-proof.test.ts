import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { blake2s } from "@noble/hashes/blake2.js";
import fc from "fast-check";
import {
  bytesToHex,
  concatBytes,
  hexToBytes,
  LOG_PROOF_HASHES_MAX,
  LOG_SIZE_MAX,
  utf8,
} from "../base/index.ts";
import { sha256 } from "../crypto/portable/sha256.ts";
import type { HashFunction } from "../crypto/suite.ts";
import {
  bitLength,
  emptyRoot,
  hashChildren,
  hashLeaf,
  LOG_HASH_BYTES,
  merkleRoot,
  splitSize,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from "./merkle-proof.ts";

// Known answers: the RFC 6962 / RFC 9162 test tree of Google's Trillian, now maintained in
// https://github.com/transparency-dev/merkle :
// - testonly/constants.go (commit 582a6ad190b6848f1d26f8bf08ddef29955d9db1): LeafInputs,
//   NodeHashes, RootHashes, EmptyRootHash;
// - testonly/reference_test.go (commit 141d627eab770a7e9a2514f46a8b6338e6d90874):
//   TestRefInclusionProof, TestRefConsistencyProof;
// - proof/verify_test.go (commit 02194e9afb6c1d95b5381350007963aa70fff472): inclusionProofs (there
//   numbered from 1: {6, 8} is index 5), consistencyProofs (adds 6 -> 7), and the corruption
//   probes ported below.
// Every vector is also checked against the RFC's recursive definitions written out in this file.

const LEAVES_HEX = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
];
const ROOTS_HEX = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
/** NODE_HASHES_HEX[level][index]: the perfect subtrees of the 8-entry tree. */
const NODE_HASHES_HEX = [
  [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  ],
  [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  ],
  [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
  ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];
const INCLUSION_VECTORS: readonly { index: number; size: number; proof: readonly string[] }[] = [
  { index: 0, size: 1, proof: [] },
  { index: 0, size: 2, proof: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"] },
  { index: 1, size: 2, proof: ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"] },
  { index: 2, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
const CONSISTENCY_VECTORS: readonly { size1: number; size2: number; proof: readonly string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];
/** From proof/verify_test.go: a well-formed hash no tree here has. */
const SOME_HASH = hexToBytes("abacaba000000000000000000000000000000000000000000060061e00123456");

const leaves = LEAVES_HEX.map(hexToBytes);
const roots = ROOTS_HEX.map(hexToBytes);
const hexes = (hashes: readonly Uint8Array[]): string[] => hashes.map(bytesToHex);

/**
 * RFC 9162 section 2.1 written out literally: MTH (2.1.1), PATH (2.1.3.1) and SUBPROOF (2.1.4.1),
 * recursive and slow. Subtree hashes are memoized by range, which changes nothing but the speed.
 */
class ReferenceTree {
  private readonly rootOfRange = new Map<string, Uint8Array>();

  constructor(
    private readonly entries: readonly Uint8Array[],
    private readonly hash: HashFunction = sha256,
  ) {}

  /** MTH(D[start:end]). */
  root(start = 0, end = this.entries.length): Uint8Array {
    const key = `${start}:${end}`;
    const known = this.rootOfRange.get(key);
    if (known !== undefined) return known;
    let result: Uint8Array;
    if (end - start === 0) result = this.hash(new Uint8Array(0));
    else if (end - start === 1) result = this.hash(concatBytes(Uint8Array.of(0), this.entries[start]!));
    else {
      const k = referenceSplit(end - start);
      result = this.hash(
        concatBytes(Uint8Array.of(1), this.root(start, start + k), this.root(start + k, end)),
      );
    }
    this.rootOfRange.set(key, result);
    return result;
  }

  /** PATH(m, D[n]) for the first `n` entries. */
  path(m: number, n: number): Uint8Array[] {
    return this.pathOfRange(m, 0, n);
  }

  /** PROOF(m, D[n]) = SUBPROOF(m, D[n], true); empty for m = 0 by our convention. */
  consistency(m: number, n: number): Uint8Array[] {
    if (m === 0) return [];
    return this.subproof(m, 0, n, true);
  }

  private pathOfRange(m: number, start: number, end: number): Uint8Array[] {
    const n = end - start;
    if (n === 1) return [];
    const k = referenceSplit(n);
    if (m < k) return [...this.pathOfRange(m, start, start + k), this.root(start + k, end)];
    return [...this.pathOfRange(m - k, start + k, end), this.root(start, start + k)];
  }

  private subproof(m: number, start: number, end: number, b: boolean): Uint8Array[] {
    const n = end - start;
    if (m === n) return b ? [] : [this.root(start, end)];
    const k = referenceSplit(n);
    if (m <= k) return [...this.subproof(m, start, start + k, b), this.root(start + k, end)];
    return [...this.subproof(m - k, start + k, end, false), this.root(start, start + k)];
  }
}

/** The largest power of two smaller than n, by counting. */
function referenceSplit(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The turns PATH takes from the root down to entry m of a tree of n entries. */
function inclusionShape(m: number, n: number): string {
  if (n === 1) return "";
  const k = referenceSplit(n);
  return m < k ? `${inclusionShape(m, k)}L` : `${inclusionShape(m - k, n - k)}R`;
}

/** The turns SUBPROOF takes, and whether it ends with an explicit subtree hash. */
function consistencyShape(m: number, n: number, b = true): string {
  if (m === n) return b ? "" : "*";
  const k = referenceSplit(n);
  return m <= k ? `${consistencyShape(m, k, b)}L` : `${consistencyShape(m - k, n - k, false)}R`;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

function replaceAt<Item>(items: readonly Item[], position: number, item: Item): Item[] {
  const copy = items.slice();
  copy[position] = item;
  return copy;
}

/** Entries that differ from each other, so no proof is valid for two positions by accident. */
function distinctEntries(count: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, index) => utf8(`entry ${index} of ${count} seed ${seed}`));
}

describe("known answers (transparency-dev/merkle test data)", () => {
  it("hashes the test entries and their perfect subtrees", () => {
    for (let index = 0; index < leaves.length; index++) {
      assert.equal(bytesToHex(hashLeaf(leaves[index]!)), NODE_HASHES_HEX[0]![index], `leaf ${index}`);
    }
    for (let level = 1; level < NODE_HASHES_HEX.length; level++) {
      const below = NODE_HASHES_HEX[level - 1]!.map(hexToBytes);
      NODE_HASHES_HEX[level]!.forEach((expected, index) => {
        const node = hashChildren(below[2 * index]!, below[2 * index + 1]!);
        assert.equal(bytesToHex(node), expected, `level ${level} index ${index}`);
      });
    }
  });

  it("computes the roots of sizes 0 to 8, as does the reference", () => {
    for (let size = 0; size <= leaves.length; size++) {
      const entries = leaves.slice(0, size);
      assert.equal(bytesToHex(merkleRoot(entries)), ROOTS_HEX[size], `size ${size}`);
      assert.equal(bytesToHex(new ReferenceTree(entries).root()), ROOTS_HEX[size], `reference size ${size}`);
    }
    assert.equal(bytesToHex(emptyRoot()), ROOTS_HEX[0]);
  });

  it("verifies the published inclusion proofs, which the reference reproduces", () => {
    const reference = new ReferenceTree(leaves);
    for (const vector of INCLUSION_VECTORS) {
      const label = `index ${vector.index} size ${vector.size}`;
      assert.deepEqual(hexes(reference.path(vector.index, vector.size)), vector.proof, label);
      const proof = vector.proof.map(hexToBytes);
      const root = roots[vector.size]!;
      assert.ok(verifyInclusion(leaves[vector.index]!, vector.index, vector.size, proof, root), label);
      const leafHash = hashLeaf(leaves[vector.index]!);
      assert.ok(verifyInclusionOfLeafHash(leafHash, vector.index, vector.size, proof, root), label);
    }
  });

  it("verifies the published consistency proofs, which the reference reproduces", () => {
    const reference = new ReferenceTree(leaves);
    for (const vector of CONSISTENCY_VECTORS) {
      const label = `${vector.size1} -> ${vector.size2}`;
      assert.deepEqual(hexes(reference.consistency(vector.size1, vector.size2)), vector.proof, label);
      const proof = vector.proof.map(hexToBytes);
      assert.ok(
        verifyConsistency(vector.size1, vector.size2, proof, roots[vector.size1]!, roots[vector.size2]!),
        label,
      );
    }
  });

  it("rejects the corrupted inclusion proofs of verify_test.go, and every single-bit change", () => {
    for (const vector of INCLUSION_VECTORS) {
      const { index, size } = vector;
      const proof = vector.proof.map(hexToBytes);
      const root = roots[size]!;
      const leafHash = hashLeaf(leaves[index]!);
      const probes: [string, number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        ["index - 1", index - 1, size, leafHash, proof, root],
        ["index + 1", index + 1, size, leafHash, proof, root],
        ["index ^ 2", index ^ 2, size, leafHash, proof, root],
        ["size * 2", index, size * 2, leafHash, proof, root],
        ["size / 2", index, Math.floor(size / 2), leafHash, proof, root],
        ["wrong leaf", index, size, hashLeaf(utf8("WrongLeaf")), proof, root],
        ["empty root", index, size, leafHash, proof, emptyRoot()],
        ["random root", index, size, leafHash, proof, SOME_HASH],
        ["trailing garbage", index, size, leafHash, [...proof, new Uint8Array(0)], root],
        ["trailing root", index, size, leafHash, [...proof, root], root],
        ["preceding garbage", index, size, leafHash, [new Uint8Array(0), ...proof], root],
        ["preceding root", index, size, leafHash, [root, ...proof], root],
      ];
      if (proof.length > 0)
        probes.push(["removed component", index, size, leafHash, proof.slice(0, -1), root]);
      if (proof.length > 1) {
        probes.push([
          "inserted component",
          index,
          size,
          leafHash,
          [proof[0]!, SOME_HASH, ...proof.slice(1)],
          root,
        ]);
      }
      for (let bit = 0; bit < 8 * LOG_HASH_BYTES; bit++) {
        probes.push([`leaf bit ${bit}`, index, size, flipBit(leafHash, bit), proof, root]);
        probes.push([`root bit ${bit}`, index, size, leafHash, proof, flipBit(root, bit)]);
        proof.forEach((element, position) => {
          const changed = replaceAt(proof, position, flipBit(element, bit));
          probes.push([`proof[${position}] bit ${bit}`, index, size, leafHash, changed, root]);
        });
      }
      for (const [name, probeIndex, probeSize, probeLeafHash, probeProof, probeRoot] of probes) {
        assert.equal(
          verifyInclusionOfLeafHash(probeLeafHash, probeIndex, probeSize, probeProof, probeRoot),
          false,
          `index ${index} size ${size}: ${name}`,
        );
      }
    }
  });

  it("rejects the corrupted consistency proofs of verify_test.go, and every single-bit change", () => {
    for (const vector of CONSISTENCY_VECTORS) {
      const { size1, size2 } = vector;
      const proof = vector.proof.map(hexToBytes);
      if (proof.length === 0) continue;
      const root1 = roots[size1]!;
      const root2 = roots[size2]!;
      const wrongRoot = utf8("WrongRoot");
      const probes: [string, number, number, Uint8Array[], Uint8Array, Uint8Array][] = [
        ["size1 - 1", size1 - 1, size2, proof, root1, root2],
        ["size1 + 1", size1 + 1, size2, proof, root1, root2],
        ["size1 ^ 2", size1 ^ 2, size2, proof, root1, root2],
        ["size2 * 2", size1, size2 * 2, proof, root1, root2],
        ["size2 / 2", size1, Math.floor(size2 / 2), proof, root1, root2],
        ["wrong root1", size1, size2, proof, wrongRoot, root2],
        ["wrong root2", size1, size2, proof, root1, wrongRoot],
        ["swapped roots", size1, size2, proof, root2, root1],
        ["empty proof", size1, size2, [], root1, root2],
        ["trailing garbage", size1, size2, [...proof, new Uint8Array(0)], root1, root2],
        ["trailing root1", size1, size2, [...proof, root1], root1, root2],
        ["trailing root2", size1, size2, [...proof, root2], root1, root2],
        ["preceding garbage", size1, size2, [new Uint8Array(0), ...proof], root1, root2],
        ["preceding root1", size1, size2, [root1, ...proof], root1, root2],
        ["preceding root2", size1, size2, [root2, ...proof], root1, root2],
        ["preceding proof[0]", size1, size2, [proof[0]!, ...proof], root1, root2],
        ["truncated proof", size1, size2, proof.slice(0, -1), root1, root2],
      ];
      for (let bit = 0; bit < 8 * LOG_HASH_BYTES; bit++) {
        probes.push([`root1 bit ${bit}`, size1, size2, proof, flipBit(root1, bit), root2]);
        probes.push([`root2 bit ${bit}`, size1, size2, proof, root1, flipBit(root2, bit)]);
        proof.forEach((element, position) => {
          const changed = replaceAt(proof, position, flipBit(element, bit));
          probes.push([`proof[${position}] bit ${bit}`, size1, size2, changed, root1, root2]);
        });
      }
      for (const [name, probeSize1, probeSize2, probeProof, probeRoot1, probeRoot2] of probes) {
        assert.equal(
          verifyConsistency(probeSize1, probeSize2, probeProof, probeRoot1, probeRoot2),
          false,
          `${size1} -> ${size2}: ${name}`,
        );
      }
    }
  });
});

describe("edge cases of the RFC", () => {
  it("a one-entry tree: the root is the leaf hash and the proof is empty", () => {
    const leafHash = hashLeaf(utf8("data"));
    const empty = new Uint8Array(0);
    assert.equal(verifyInclusionOfLeafHash(leafHash, 0, 1, [], leafHash), true, "valid");
    assert.equal(verifyInclusionOfLeafHash(leafHash, 0, 1, [], empty), false, "empty root");
    assert.equal(verifyInclusionOfLeafHash(empty, 0, 1, [], leafHash), false, "empty leaf hash");
    assert.equal(verifyInclusionOfLeafHash(leafHash, 0, 1, [leafHash], leafHash), false, "extra hash");
    assert.equal(verifyInclusionOfLeafHash(leafHash, 1, 1, [], leafHash), false, "index = size");
  });

  it("nothing is included in the empty tree", () => {
    for (const [index, size] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ] as const) {
      const label = `index ${index} size ${size}`;
      assert.equal(verifyInclusionOfLeafHash(SOME_HASH, index, size, [], emptyRoot()), false, label);
      assert.equal(verifyInclusionOfLeafHash(emptyRoot(), index, size, [], emptyRoot()), false, label);
    }
  });

  it("consistency from the empty tree and between equal sizes", () => {
    const empty = emptyRoot();
    const cases: [string, number, number, Uint8Array[], Uint8Array, Uint8Array, boolean][] = [
      ["empty to empty", 0, 0, [], empty, empty, true],
      ["every tree extends the empty tree", 0, 5, [], empty, roots[5]!, true],
      ["root1 of size 0 must be the empty root", 0, 5, [], SOME_HASH, roots[5]!, false],
      ["no proof between empty trees", 0, 0, [empty], empty, empty, false],
      ["no proof from the empty tree", 0, 1, [empty], empty, roots[1]!, false],
      ["equal sizes, equal roots", 3, 3, [], roots[3]!, roots[3]!, true],
      ["equal sizes need equal roots", 3, 3, [], roots[3]!, roots[4]!, false],
      ["no proof between equal sizes", 3, 3, [roots[3]!], roots[3]!, roots[3]!, false],
      ["no time travel to the empty tree", 1, 0, [], roots[1]!, empty, false],
      ["no time travel", 2, 1, [], roots[2]!, roots[1]!, false],
      ["a proof is needed between different sizes", 1, 2, [], roots[1]!, roots[2]!, false],
    ];
    for (const [label, size1, size2, proof, root1, root2, expected] of cases) {
      assert.equal(verifyConsistency(size1, size2, proof, root1, root2), expected, label);
    }
  });

  it("hashes entries of any length, within and beyond the reused input buffer", () => {
    for (const sizeBytes of [0, 1, 255, 256, 300, 4096, 64 * 1024, 64 * 1024 + 1, 200_000, 2]) {
      const entry = Uint8Array.from({ length: sizeBytes }, (_, index) => (index * 7 + sizeBytes) & 0xff);
      const expected = sha256(concatBytes(Uint8Array.of(0), entry));
      assert.deepEqual(hashLeaf(entry), expected, `entry of ${sizeBytes} bytes`);
    }
  });

  it("bitLength and splitSize are exact up to LOG_SIZE_MAX", () => {
    assert.equal(bitLength(0), 0);
    assert.equal(bitLength(1), 1);
    assert.equal(bitLength(2 ** 32 - 1), 32);
    assert.equal(bitLength(2 ** 32), 33);
    assert.equal(bitLength(LOG_SIZE_MAX), 53);
    assert.equal(bitLength(2 ** 52), 53);
    assert.equal(bitLength(2 ** 52 - 1), 52);
    for (const [size, split] of [
      [2, 1],
      [3, 2],
      [4, 2],
      [7, 4],
      [8, 4],
      [63, 32],
      [28937, 16384],
      [2 ** 32, 2 ** 31],
      [2 ** 32 + 1, 2 ** 32],
      [2 ** 52, 2 ** 51],
      [2 ** 52 + 1, 2 ** 52],
      [LOG_SIZE_MAX, 2 ** 52],
    ] as const) {
      assert.equal(splitSize(size), split, `splitSize(${size})`);
    }
  });
});

describe("malformed input gives false, never an exception", () => {
  const leafHash = hashLeaf(leaves[5]!);
  const proof = INCLUSION_VECTORS[6]!.proof.map(hexToBytes);
  const root = roots[8]!;
  const consistency = CONSISTENCY_VECTORS[3]!.proof.map(hexToBytes);
  const badNumbers = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5, 2 ** 53, LOG_SIZE_MAX + 2, 1e300];
  const garbage: unknown[] = [undefined, null, "5", 5n, {}, [], new Uint16Array(32), new ArrayBuffer(32)];

  it("the well-formed call verifies", () => {
    assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, proof, root), true, "inclusion");
    assert.equal(verifyConsistency(6, 8, consistency, roots[6]!, root), true, "consistency");
  });

  it("bad sizes and indices", () => {
    for (const bad of badNumbers) {
      assert.equal(verifyInclusionOfLeafHash(leafHash, bad, 8, proof, root), false, `index ${bad}`);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, bad, proof, root), false, `size ${bad}`);
      assert.equal(verifyInclusion(leaves[5]!, bad, 8, proof, root), false, `index ${bad}`);
      assert.equal(verifyConsistency(bad, 8, consistency, roots[6]!, root), false, `size1 ${bad}`);
      assert.equal(verifyConsistency(6, bad, consistency, roots[6]!, root), false, `size2 ${bad}`);
    }
    for (const bad of garbage) {
      const value = bad as number;
      assert.equal(verifyInclusionOfLeafHash(leafHash, value, 8, proof, root), false);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, value, proof, root), false);
      assert.equal(verifyConsistency(value, 8, consistency, roots[6]!, root), false);
      assert.equal(verifyConsistency(6, value, consistency, roots[6]!, root), false);
    }
    assert.equal(verifyInclusionOfLeafHash(leafHash, 8, 8, proof, root), false, "index = size");
    assert.equal(verifyConsistency(8, 6, consistency, roots[6]!, root), false, "size1 > size2");
  });

  it("wrong-length hashes and non-byte values", () => {
    for (const length of [0, 1, 31, 33, 64]) {
      const bytes = new Uint8Array(length);
      assert.equal(verifyInclusionOfLeafHash(bytes, 5, 8, proof, root), false, `leaf hash of ${length}`);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, proof, bytes), false, `root of ${length}`);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, replaceAt(proof, 1, bytes), root), false);
      assert.equal(verifyConsistency(6, 8, consistency, bytes, root), false, `root1 of ${length}`);
      assert.equal(verifyConsistency(6, 8, consistency, roots[6]!, bytes), false, `root2 of ${length}`);
      assert.equal(verifyConsistency(6, 8, replaceAt(consistency, 0, bytes), roots[6]!, root), false);
    }
    for (const bad of garbage) {
      const bytes = bad as Uint8Array;
      assert.equal(verifyInclusion(bytes, 5, 8, proof, root), false);
      assert.equal(verifyInclusionOfLeafHash(bytes, 5, 8, proof, root), false);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, proof, bytes), false);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, replaceAt(proof, 2, bytes), root), false);
      assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, bad as Uint8Array[], root), false);
      assert.equal(verifyConsistency(6, 8, consistency, bytes, root), false);
      assert.equal(verifyConsistency(6, 8, consistency, roots[6]!, bytes), false);
      assert.equal(verifyConsistency(6, 8, replaceAt(consistency, 1, bytes), roots[6]!, root), false);
      assert.equal(verifyConsistency(6, 8, bad as Uint8Array[], roots[6]!, root), false);
    }
    const sparse: Uint8Array[] = new Array(3);
    sparse[0] = proof[0]!;
    assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, sparse, root), false, "holes in the proof");
  });

  it("proofs longer than LOG_PROOF_HASHES_MAX", () => {
    // Rejected before any hashing: the limit bounds the work an input can cause.
    let hashes = 0;
    const countingHash: HashFunction = (data) => {
      hashes++;
      return sha256(data);
    };
    const long = Array.from({ length: LOG_PROOF_HASHES_MAX + 1 }, () => SOME_HASH);
    assert.equal(verifyInclusionOfLeafHash(leafHash, 5, 8, long, root, countingHash), false);
    assert.equal(verifyConsistency(6, 8, long, roots[6]!, root, countingHash), false);
    assert.equal(hashes, 0, "no hashing for an over-long proof");
    const huge = LOG_SIZE_MAX;
    const fullLength = Array.from({ length: LOG_PROOF_HASHES_MAX }, () => SOME_HASH);
    assert.equal(verifyInclusionOfLeafHash(leafHash, huge - 1, huge, fullLength, root), false);
    assert.equal(verifyConsistency(huge - 2, huge, fullLength, roots[6]!, root), false);
  });

  it("random garbage (fast-check)", () => {
    const hashLike = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.anything());
    const sizeLike = fc.oneof(
      fc.nat(300),
      fc.integer(),
      fc.double(),
      fc.anything(),
      fc.constant(LOG_SIZE_MAX),
    );
    const proofLike = fc.oneof(fc.array(hashLike, { maxLength: 12 }), fc.anything());
    fc.assert(
      fc.property(hashLike, sizeLike, sizeLike, proofLike, hashLike, (a, b, c, d, e) => {
        const results = [
          verifyInclusion(a as Uint8Array, b as number, c as number, d as Uint8Array[], e as Uint8Array),
          verifyInclusionOfLeafHash(
            a as Uint8Array,
            b as number,
            c as number,
            d as Uint8Array[],
            e as Uint8Array,
          ),
          verifyConsistency(b as number, c as number, d as Uint8Array[], a as Uint8Array, e as Uint8Array),
        ];
        for (const result of results) assert.equal(typeof result, "boolean");
      }),
      { numRuns: 1000 },
    );
  });
});

describe("properties over random trees (fast-check)", () => {
  const treeArbitrary = fc
    .record({ size: fc.integer({ min: 1, max: 300 }), seed: fc.nat() })
    .chain(({ size, seed }) =>
      fc.record({
        entries: fc.constant(distinctEntries(size, seed)),
        index: fc.nat(size - 1),
        sizeOther: fc.integer({ min: 0, max: 2 * size + 2 }),
        indexOther: fc.nat(2 * size),
        bits: fc.array(fc.nat(8 * LOG_HASH_BYTES - 1), { minLength: 4, maxLength: 4 }),
      }),
    );

  it("merkleRoot equals the reference", () => {
    fc.assert(
      fc.property(treeArbitrary, ({ entries }) => {
        assert.deepEqual(merkleRoot(entries), new ReferenceTree(entries).root());
      }),
      { numRuns: 60 },
    );
  });

  it("reference inclusion proofs verify; every mutation is rejected unless it keeps PATH's shape", () => {
    fc.assert(
      fc.property(treeArbitrary, ({ entries, index, sizeOther, indexOther, bits }) => {
        const size = entries.length;
        const reference = new ReferenceTree(entries);
        const proof = reference.path(index, size);
        const root = reference.root();
        const leaf = entries[index]!;
        const leafHash = hashLeaf(leaf);
        const verify = (
          probeLeafHash: Uint8Array,
          probeIndex: number,
          probeSize: number,
          probeProof: Uint8Array[],
          probeRoot: Uint8Array,
        ): boolean => verifyInclusionOfLeafHash(probeLeafHash, probeIndex, probeSize, probeProof, probeRoot);
        assert.equal(verifyInclusion(leaf, index, size, proof, root), true, "valid proof");
        // The size is not bound into the root: a proof also verifies for another size whose
        // path from the root has the same turns (0 of 5 and 0 of 6 both go left three times).
        for (const otherSize of [size - 1, size + 1, sizeOther]) {
          const sameShape =
            index < otherSize && inclusionShape(index, otherSize) === inclusionShape(index, size);
          assert.equal(verify(leafHash, index, otherSize, proof, root), sameShape, `size ${otherSize}`);
        }
        for (const otherIndex of [index - 1, index + 1, indexOther]) {
          if (otherIndex === index) continue;
          assert.equal(verify(leafHash, otherIndex, size, proof, root), false, `index ${otherIndex}`);
        }
        // The path of an entry of the right subtree, relabelled as a claim about that subtree
        // alone (index - k of size - k): its last hash completes the real root.
        const split = size > 1 ? referenceSplit(size) : size;
        if (index >= split) {
          assert.equal(verify(leafHash, index - split, size - split, proof, root), false, "relabelled");
        }
        for (const bit of bits) {
          assert.equal(
            verify(flipBit(leafHash, bit), index, size, proof, root),
            false,
            `leaf hash bit ${bit}`,
          );
          const changedLeaf = flipBit(leaf, bit % (8 * leaf.length));
          assert.equal(verifyInclusion(changedLeaf, index, size, proof, root), false, `leaf bit ${bit}`);
          assert.equal(verify(leafHash, index, size, proof, flipBit(root, bit)), false, `root bit ${bit}`);
          proof.forEach((element, position) => {
            const changed = replaceAt(proof, position, flipBit(element, bit));
            assert.equal(
              verify(leafHash, index, size, changed, root),
              false,
              `proof[${position}] bit ${bit}`,
            );
          });
        }
        assert.equal(verify(leafHash, index, size, [...proof, root], root), false, "trailing root");
        if (proof.length > 0) {
          assert.equal(verify(leafHash, index, size, proof.slice(1), root), false, "first hash removed");
          assert.equal(verify(leafHash, index, size, proof.slice(0, -1), root), false, "last hash removed");
        }
      }),
      { numRuns: 100 },
    );
  });

  it("reference consistency proofs verify; every mutation is rejected unless it keeps SUBPROOF's shape", () => {
    fc.assert(
      fc.property(treeArbitrary, ({ entries, index, sizeOther, bits }) => {
        const size2 = entries.length;
        const size1 = index + 1;
        const reference = new ReferenceTree(entries);
        const proof = reference.consistency(size1, size2);
        const root1 = reference.root(0, size1);
        const root2 = reference.root();
        assert.equal(verifyConsistency(size1, size2, proof, root1, root2), true, "valid proof");
        if (size1 === size2) return;
        // As for inclusion, sizes with the same SUBPROOF turns accept the same proof.
        const shape = consistencyShape(size1, size2);
        const sameShape = (other1: number, other2: number): boolean =>
          0 < other1 && other1 < other2 && consistencyShape(other1, other2) === shape;
        for (const other1 of [size1 - 1, size1 + 1, sizeOther]) {
          const verified = verifyConsistency(other1, size2, proof, root1, root2);
          assert.equal(verified, sameShape(other1, size2), `size1 ${other1}`);
        }
        for (const other2 of [size2 - 1, size2 + 1, sizeOther]) {
          const verified = verifyConsistency(size1, other2, proof, root1, root2);
          assert.equal(verified, sameShape(size1, other2), `size2 ${other2}`);
        }
        // Both sizes relabelled into the right subtree.
        const split = referenceSplit(size2);
        if (size1 > split) {
          const verified = verifyConsistency(size1 - split, size2 - split, proof, root1, root2);
          assert.equal(verified, false, "relabelled");
        }
        for (const bit of bits) {
          const changedRoot1 = flipBit(root1, bit);
          const changedRoot2 = flipBit(root2, bit);
          assert.equal(
            verifyConsistency(size1, size2, proof, changedRoot1, root2),
            false,
            `root1 bit ${bit}`,
          );
          assert.equal(
            verifyConsistency(size1, size2, proof, root1, changedRoot2),
            false,
            `root2 bit ${bit}`,
          );
          proof.forEach((element, position) => {
            const changed = replaceAt(proof, position, flipBit(element, bit));
            const verified = verifyConsistency(size1, size2, changed, root1, root2);
            assert.equal(verified, false, `proof[${position}] bit ${bit}`);
          });
        }
        const trailing = [...proof, root2];
        assert.equal(verifyConsistency(size1, size2, trailing, root1, root2), false, "trailing root");
        assert.equal(verifyConsistency(size1, size2, proof.slice(1), root1, root2), false, "first removed");
        assert.equal(
          verifyConsistency(size1, size2, proof.slice(0, -1), root1, root2),
          false,
          "last removed",
        );
        assert.equal(verifyConsistency(size1, size2, proof, root2, root1), false, "swapped roots");
      }),
      { numRuns: 100 },
    );
  });
});

describe("pluggable hash", () => {
  const blake: HashFunction = (data) => blake2s(data);

  it("the same structure over another 32-byte hash", () => {
    const entries = distinctEntries(37, 1);
    const reference = new ReferenceTree(entries, blake);
    assert.deepEqual(merkleRoot(entries, blake), reference.root());
    assert.notDeepEqual(merkleRoot(entries, blake), merkleRoot(entries));
    assert.deepEqual(emptyRoot(blake), blake(new Uint8Array(0)));
    for (let size = 1; size <= entries.length; size++) {
      const root = reference.root(0, size);
      for (let index = 0; index < size; index++) {
        const label = `${index} of ${size}`;
        const proof = reference.path(index, size);
        assert.equal(verifyInclusion(entries[index]!, index, size, proof, root, blake), true, label);
        if (proof.length > 0) {
          assert.equal(verifyInclusion(entries[index]!, index, size, proof, root), false, `${label}, sha256`);
        }
      }
      for (let size1 = 0; size1 <= size; size1++) {
        const label = `${size1} -> ${size}`;
        const proof = reference.consistency(size1, size);
        const root1 = reference.root(0, size1);
        assert.equal(verifyConsistency(size1, size, proof, root1, root, blake), true, label);
        if (proof.length > 0) {
          assert.equal(verifyConsistency(size1, size, proof, root1, root), false, `${label}, sha256`);
        }
      }
    }
  });
});

describe("merkle-proof.ts runs in browsers", () => {
  it("imports nothing from node: or sodium-native, directly or through other modules", () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const pending = [new URL("./merkle-proof.ts", import.meta.url)];
    // `... from "x"`, `import "x"` and `import("x")`.
    const importPattern = /(?:\bfrom|\bimport)\s*\(?\s*["']([^"']+)["']/g;
    while (pending.length > 0) {
      const url = pending.pop()!;
      if (seen.has(url.href)) continue;
      seen.add(url.href);
      for (const match of readFileSync(url, "utf8").matchAll(importPattern)) {
        const specifier = match[1]!;
        if (specifier.startsWith(".")) pending.push(new URL(specifier, url));
        else packages.add(specifier);
      }
    }
    assert.ok(seen.size >= 4, `the crawl found the base and crypto modules: ${[...seen].join(", ")}`);
    for (const specifier of packages) {
      assert.ok(!specifier.startsWith("node:"), `imports ${specifier}`);
      assert.ok(!specifier.startsWith("sodium-native"), `imports ${specifier}`);
    }
    assert.deepEqual([...packages], ["@noble/hashes/sha2.js"]);
  });
});
