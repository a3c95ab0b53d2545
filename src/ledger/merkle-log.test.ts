import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { blake2s } from "@noble/hashes/blake2.js";
import fc from "fast-check";
import {
  AssertionError,
  bytesToHex,
  CityLedgerError,
  concatBytes,
  hexToBytes,
  LOG_SIZE_MAX,
  utf8,
} from "../base/index.ts";
import { sha256 as portableSha256 } from "../crypto/portable/sha256.ts";
import { sha256 } from "../crypto/sha256.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { logFrontierPositions, logRootOfFrontier, verifyLogFrontier } from "./log-frontier.ts";
import {
  type LogNodeStore,
  MEMORY_STORE_CHUNK_HASHES,
  MEMORY_STORE_CHUNK_HASHES_MIN,
  MemoryLogNodeStore,
} from "./log-node-store.ts";
import { MerkleLog, MerkleLogError, type MerkleLogErrorCode } from "./merkle-log.ts";
import {
  bitLength,
  hashChildren,
  hashLeaf,
  LOG_HASH_BYTES,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from "./merkle-proof.ts";

// The RFC 6962 / RFC 9162 test tree of transparency-dev/merkle (formerly Trillian's merkle
// package), testonly/constants.go and testonly/reference_test.go; merkle-proof.test.ts has the
// full set and their sources.
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
const INCLUSION_5_OF_8_HEX = [
  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
];
const CONSISTENCY_6_TO_8_HEX = [
  "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
];

/**
 * RFC 9162 section 2.1 written out literally: MTH (2.1.1), PATH (2.1.3.1) and SUBPROOF (2.1.4.1),
 * recursive and slow. Subtree hashes are memoized by range, which changes nothing but the speed.
 * (The same reference as in merkle-proof.test.ts.)
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

/** Entries that differ from each other, so no proof is valid for two positions by accident. */
function distinctEntries(count: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, index) => utf8(`entry ${index} of ${count} seed ${seed}`));
}

function logOf(entries: readonly Uint8Array[], options: ConstructorParameters<typeof MerkleLog>[0] = {}) {
  const log = new MerkleLog(options);
  for (const entry of entries) log.append(entry);
  return log;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

function expectLogError(action: () => unknown, code: MerkleLogErrorCode): void {
  assert.throws(action, (error: unknown) => {
    assert.ok(error instanceof MerkleLogError, `expected a MerkleLogError, got ${String(error)}`);
    assert.ok(error instanceof CityLedgerError, "a MerkleLogError is a CityLedgerError");
    assert.equal(error.name, "MerkleLogError");
    assert.equal(error.code, code);
    return true;
  });
}

const hexes = (hashes: readonly Uint8Array[]): string[] => hashes.map(bytesToHex);

/** Counts the reads and writes a MerkleLog makes. */
class CountingStore implements LogNodeStore {
  gets = 0;
  puts = 0;
  private readonly inner = new MemoryLogNodeStore();

  get(level: number, index: number): Uint8Array | undefined {
    this.gets++;
    return this.inner.get(level, index);
  }

  put(level: number, index: number, hash: Uint8Array): void {
    this.puts++;
    this.inner.put(level, index, hash);
  }
}

/** Set bits of a safe integer. */
function populationCount(value: number): number {
  let count = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/** Trailing one bits of a safe integer. */
function trailingOnes(value: number): number {
  let count = 0;
  for (let rest = value; rest % 2 === 1; rest = (rest - 1) / 2) count++;
  return count;
}

describe("MerkleLog: known answers", () => {
  it("roots of sizes 0 to 8 and the published proofs", () => {
    const log = logOf(LEAVES_HEX.map(hexToBytes));
    assert.equal(log.size, 8);
    for (let size = 0; size <= 8; size++)
      assert.equal(bytesToHex(log.root(size)), ROOTS_HEX[size], `size ${size}`);
    assert.equal(bytesToHex(log.root()), ROOTS_HEX[8]);
    assert.deepEqual(hexes(log.inclusionProof(5, 8)), INCLUSION_5_OF_8_HEX);
    assert.deepEqual(hexes(log.consistencyProof(6, 8)), CONSISTENCY_6_TO_8_HEX);
  });

  it("the empty log", () => {
    const log = new MerkleLog();
    assert.equal(log.size, 0);
    assert.equal(bytesToHex(log.root()), ROOTS_HEX[0]);
    assert.deepEqual(log.consistencyProof(0, 0), []);
  });
});

describe("MerkleLog: proofs equal the RFC's definitions", () => {
  it("every root and proof of every size up to 64, made while growing and after", () => {
    const entries = distinctEntries(64, 7);
    const reference = new ReferenceTree(entries);
    const log = new MerkleLog();
    const madeWhileGrowing = new Map<string, string[]>();
    for (const entry of entries) {
      log.append(entry);
      const size = log.size;
      madeWhileGrowing.set(`root ${size}`, [bytesToHex(log.root())]);
      for (let index = 0; index < size; index++) {
        madeWhileGrowing.set(`inclusion ${index} ${size}`, hexes(log.inclusionProof(index, size)));
      }
      for (let size1 = 0; size1 <= size; size1++) {
        madeWhileGrowing.set(`consistency ${size1} ${size}`, hexes(log.consistencyProof(size1, size)));
      }
    }
    for (let size = 0; size <= entries.length; size++) {
      const root = log.root(size);
      assert.deepEqual(root, reference.root(0, size), `root ${size}`);
      if (size > 0)
        assert.deepEqual([bytesToHex(root)], madeWhileGrowing.get(`root ${size}`), `root ${size}`);
      for (let index = 0; index < size; index++) {
        const label = `inclusion ${index} ${size}`;
        const proof = log.inclusionProof(index, size);
        assert.deepEqual(proof, reference.path(index, size), label);
        assert.deepEqual(hexes(proof), madeWhileGrowing.get(label), label);
        assert.equal(verifyInclusion(entries[index]!, index, size, proof, root, sha256), true, label);
      }
      for (let size1 = 0; size1 <= size; size1++) {
        const label = `consistency ${size1} ${size}`;
        const proof = log.consistencyProof(size1, size);
        assert.deepEqual(proof, reference.consistency(size1, size), label);
        if (size > 0) assert.deepEqual(hexes(proof), madeWhileGrowing.get(label), label);
        assert.equal(verifyConsistency(size1, size, proof, log.root(size1), root, sha256), true, label);
      }
    }
  });

  it("random logs of 1 to 300 entries (fast-check)", () => {
    const logArbitrary = fc
      .record({ size: fc.integer({ min: 1, max: 300 }), seed: fc.nat() })
      .chain(({ size, seed }) =>
        fc.record({
          entries: fc.constant(distinctEntries(size, seed)),
          earlierSize: fc.integer({ min: 1, max: size }),
          bit: fc.nat(8 * LOG_HASH_BYTES - 1),
        }),
      );
    fc.assert(
      fc.property(logArbitrary, ({ entries, earlierSize, bit }) => {
        const reference = new ReferenceTree(entries);
        const log = logOf(entries);
        for (const size of new Set([entries.length, earlierSize])) {
          const root = log.root(size);
          assert.deepEqual(root, reference.root(0, size), `root ${size}`);
          for (let index = 0; index < size; index++) {
            const label = `inclusion ${index} ${size}`;
            const proof = log.inclusionProof(index, size);
            const leafHash = log.leafHash(index);
            assert.deepEqual(proof, reference.path(index, size), label);
            assert.equal(verifyInclusionOfLeafHash(leafHash, index, size, proof, root, sha256), true, label);
            assert.equal(verifyInclusion(entries[index]!, index, size, proof, root, sha256), true, label);
            const changedLeaf = flipBit(leafHash, bit);
            const changedRoot = flipBit(root, bit);
            assert.equal(
              verifyInclusionOfLeafHash(changedLeaf, index, size, proof, root, sha256),
              false,
              label,
            );
            assert.equal(
              verifyInclusionOfLeafHash(leafHash, index, size, proof, changedRoot, sha256),
              false,
              label,
            );
            for (let position = 0; position < proof.length; position++) {
              const changed = proof.slice();
              changed[position] = flipBit(proof[position]!, bit);
              const verified = verifyInclusionOfLeafHash(leafHash, index, size, changed, root, sha256);
              assert.equal(verified, false, `${label}: proof[${position}] bit ${bit}`);
            }
            for (const otherIndex of [index - 1, index + 1]) {
              const verified = verifyInclusionOfLeafHash(leafHash, otherIndex, size, proof, root, sha256);
              assert.equal(verified, false, `${label}: index ${otherIndex}`);
            }
          }
          for (let size1 = 0; size1 <= size; size1++) {
            const label = `consistency ${size1} ${size}`;
            const proof = log.consistencyProof(size1, size);
            const root1 = log.root(size1);
            assert.deepEqual(proof, reference.consistency(size1, size), label);
            assert.equal(verifyConsistency(size1, size, proof, root1, root, sha256), true, label);
            const changedRoot1 = flipBit(root1, bit);
            assert.equal(verifyConsistency(size1, size, proof, changedRoot1, root, sha256), false, label);
            for (let position = 0; position < proof.length; position++) {
              const changed = proof.slice();
              changed[position] = flipBit(proof[position]!, bit);
              const verified = verifyConsistency(size1, size, changed, root1, root, sha256);
              assert.equal(verified, false, `${label}: proof[${position}] bit ${bit}`);
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it("appendLeafHash builds the same log as append", () => {
    const entries = distinctEntries(100, 3);
    const byData = logOf(entries);
    const byHash = new MerkleLog();
    for (const entry of entries) byHash.appendLeafHash(hashLeaf(entry, sha256));
    assert.deepEqual(byHash.root(), byData.root());
    for (let index = 0; index < entries.length; index++) {
      assert.deepEqual(byData.leafHash(index), hashLeaf(entries[index]!), `leaf ${index}`);
    }
  });

  it("entries of any length, the empty one and ones larger than the reused input buffer", () => {
    const entries = [0, 1, 255, 256, 4096, 64 * 1024, 64 * 1024 + 1, 200_000, 3].map((sizeBytes) =>
      Uint8Array.from({ length: sizeBytes }, (_, index) => (index * 31 + sizeBytes) & 0xff),
    );
    const log = logOf(entries);
    entries.forEach((entry, index) => {
      assert.deepEqual(log.leafHash(index), hashLeaf(entry), `entry of ${entry.length} bytes`);
    });
    assert.deepEqual(log.root(), new ReferenceTree(entries).root());
  });

  it("append returns each entry's index", () => {
    const log = new MerkleLog();
    for (let index = 0; index < 20; index++)
      assert.equal(log.append(utf8(`${index}`)), index, `entry ${index}`);
    assert.equal(log.appendLeafHash(hashLeaf(utf8("x"))), 20);
    assert.equal(log.size, 21);
  });

  it("hands out copies: changing a returned hash changes nothing in the log", () => {
    const log = logOf(distinctEntries(13, 0));
    const getters: [string, () => Uint8Array[]][] = [
      ["root()", () => [log.root()]],
      ["root(13)", () => [log.root(13)]],
      ["root(6)", () => [log.root(6)]],
      ["inclusionProof(12, 13)", () => log.inclusionProof(12, 13)],
      ["inclusionProof(2, 13)", () => log.inclusionProof(2, 13)],
      ["consistencyProof(5, 13)", () => log.consistencyProof(5, 13)],
      ["leafHash(12)", () => [log.leafHash(12)]],
    ];
    for (const [name, get] of getters) {
      const before = hexes(get());
      // Several times: later answers may come from a cache.
      for (let round = 0; round < 3; round++) for (const hash of get()) hash.fill(0);
      assert.deepEqual(hexes(get()), before, name);
    }
  });
});

describe("MerkleLog: cost is O(log n)", () => {
  it("counts store reads, writes and hashes", () => {
    const store = new CountingStore();
    let hashes = 0;
    const countingHash: HashFunction = (data) => {
      hashes++;
      return sha256(data);
    };
    const log = new MerkleLog({ hash: countingHash, store });
    const sizeMax = 5000;
    for (let index = 0; index < sizeMax; index++) {
      store.gets = 0;
      store.puts = 0;
      hashes = 0;
      log.append(utf8(`${index}`));
      const expected = 1 + trailingOnes(index);
      assert.equal(store.puts, expected, `append ${index}: one write per new subtree`);
      assert.equal(hashes, expected, `append ${index}: the leaf and each new parent`);
      assert.equal(store.gets, 0, `append ${index}: no reads`);
    }
    for (let size = 1; size <= sizeMax; size += 37) {
      const levels = bitLength(size);
      store.gets = 0;
      hashes = 0;
      log.root(size);
      assert.ok(store.gets <= populationCount(size), `root ${size}: one read per subtree`);
      assert.equal(hashes, populationCount(size) - 1, `root ${size}: one hash per fold`);
      for (const index of [0, size >> 1, size - 1]) {
        store.gets = 0;
        hashes = 0;
        log.inclusionProof(index, size);
        assert.ok(store.gets <= 2 * levels, `inclusion ${index} ${size}: ${store.gets} reads`);
        assert.ok(hashes < levels, `inclusion ${index} ${size}: ${hashes} hashes`);
      }
      for (const size1 of [1, size >> 1, size - 1]) {
        store.gets = 0;
        hashes = 0;
        log.consistencyProof(size1, size);
        assert.ok(store.gets <= 2 * levels + 1, `consistency ${size1} ${size}: ${store.gets} reads`);
        assert.ok(hashes < levels, `consistency ${size1} ${size}: ${hashes} hashes`);
      }
    }
    store.gets = 0;
    log.root();
    assert.equal(store.gets, 0, "the root of the current size comes from memory");
  });
});

/**
 * A read-only store that holds a full log of LOG_SIZE_MAX identical entries: every perfect
 * subtree of a level has the same hash, so the store needs one hash per level.
 */
class IdenticalEntriesStore implements LogNodeStore {
  readonly hashOfLevel: Uint8Array[] = [];

  constructor(entry: Uint8Array) {
    this.hashOfLevel.push(hashLeaf(entry, sha256));
    for (let level = 1; level < 53; level++) {
      const below = this.hashOfLevel[level - 1]!;
      this.hashOfLevel.push(hashChildren(below, below, sha256));
    }
  }

  get(level: number, index: number): Uint8Array | undefined {
    // (index + 1) * 2^level is exact in doubles: a multiplication by a power of two.
    return (index + 1) * 2 ** level <= LOG_SIZE_MAX ? this.hashOfLevel[level] : undefined;
  }

  put(): void {
    throw new Error("IdenticalEntriesStore is read-only");
  }
}

/** MTH, PATH and SUBPROOF for n identical entries, where MTH depends on n only (memoized). */
class IdenticalEntriesReference {
  private readonly rootOfSize = new Map<number, Uint8Array>();

  constructor(private readonly store: IdenticalEntriesStore) {}

  root(n: number): Uint8Array {
    const known = this.rootOfSize.get(n);
    if (known !== undefined) return known;
    const k = n === 1 ? 0 : referenceSplit(n);
    const result =
      n === 1
        ? this.store.hashOfLevel[0]!
        : sha256(concatBytes(Uint8Array.of(1), this.root(k), this.root(n - k)));
    this.rootOfSize.set(n, result);
    return result;
  }

  path(m: number, n: number): Uint8Array[] {
    if (n === 1) return [];
    const k = referenceSplit(n);
    return m < k ? [...this.path(m, k), this.root(n - k)] : [...this.path(m - k, n - k), this.root(k)];
  }

  subproof(m: number, n: number, b = true): Uint8Array[] {
    if (m === n) return b ? [] : [this.root(n)];
    const k = referenceSplit(n);
    return m <= k
      ? [...this.subproof(m, k, b), this.root(n - k)]
      : [...this.subproof(m - k, n - k, false), this.root(k)];
  }
}

describe("MerkleLog: sizes up to LOG_SIZE_MAX (2^53 - 1)", () => {
  const store = new IdenticalEntriesStore(utf8("the same entry"));
  const reference = new IdenticalEntriesReference(store);
  const log = new MerkleLog({ store });
  const entry = utf8("the same entry");
  const bigSize = fc.bigInt({ min: 1n, max: BigInt(LOG_SIZE_MAX) }).map(Number);
  const specialSizes = [
    1,
    2,
    3,
    2 ** 32 - 1,
    2 ** 32,
    2 ** 32 + 1,
    2 ** 52 - 1,
    2 ** 52,
    2 ** 52 + 1,
    LOG_SIZE_MAX,
  ];

  it("reopens a full store at its size, and refuses to grow past LOG_SIZE_MAX", () => {
    assert.equal(log.size, LOG_SIZE_MAX);
    expectLogError(() => log.append(entry), "LOG_FULL");
    expectLogError(() => log.appendLeafHash(store.hashOfLevel[0]!), "LOG_FULL");
    assert.equal(log.size, LOG_SIZE_MAX);
  });

  it("roots", () => {
    for (const size of specialSizes) assert.deepEqual(log.root(size), reference.root(size), `root ${size}`);
    fc.assert(
      fc.property(bigSize, (size) => {
        assert.deepEqual(log.root(size), reference.root(size), `root ${size}`);
      }),
      { numRuns: 200 },
    );
  });

  it("inclusion proofs", () => {
    const check = (index: number, size: number): void => {
      const label = `inclusion ${index} ${size}`;
      const proof = log.inclusionProof(index, size);
      assert.deepEqual(proof, reference.path(index, size), label);
      assert.equal(verifyInclusion(entry, index, size, proof, log.root(size), sha256), true, label);
    };
    for (const size of specialSizes) {
      for (const index of [0, 1, Math.floor(size / 2), size - 2, size - 1])
        if (index >= 0 && index < size) check(index, size);
    }
    fc.assert(
      fc.property(bigSize, fc.double({ min: 0, max: 1, noNaN: true }), (size, fraction) => {
        check(Math.min(size - 1, Math.floor(fraction * size)), size);
      }),
      { numRuns: 200 },
    );
  });

  it("consistency proofs", () => {
    const check = (size1: number, size2: number): void => {
      const label = `consistency ${size1} ${size2}`;
      const proof = log.consistencyProof(size1, size2);
      assert.deepEqual(proof, size1 === 0 ? [] : reference.subproof(size1, size2), label);
      const verified = verifyConsistency(size1, size2, proof, log.root(size1), log.root(size2), sha256);
      assert.equal(verified, true, label);
    };
    for (const size2 of specialSizes) {
      for (const size1 of [1, 2, 2 ** 32, 2 ** 52, size2 - 1, size2]) if (size1 <= size2) check(size1, size2);
    }
    fc.assert(
      fc.property(bigSize, bigSize, (a, b) => check(Math.min(a, b), Math.max(a, b))),
      { numRuns: 200 },
    );
  });
});

describe("MerkleLog: reopening a store", () => {
  it("takes the size, roots and proofs from the store and goes on appending", () => {
    const entries = distinctEntries(1000, 11);
    const store = new MemoryLogNodeStore();
    const first = new MerkleLog({ store });
    for (const entry of entries.slice(0, 777)) first.append(entry);
    const reopened = new MerkleLog({ store });
    assert.equal(reopened.size, 777);
    assert.deepEqual(reopened.root(), first.root());
    assert.deepEqual(reopened.inclusionProof(500, 777), first.inclusionProof(500, 777));
    for (const entry of entries.slice(777)) reopened.append(entry);
    assert.deepEqual(reopened.root(), logOf(entries).root());
    assert.deepEqual(reopened.root(777), first.root());
  });

  it("refuses a store whose upper levels disagree with its leaves", () => {
    const leafHash = hashLeaf(utf8("entry"));
    const missingParent = new MemoryLogNodeStore();
    missingParent.put(0, 0, leafHash);
    missingParent.put(0, 1, leafHash);
    expectLogError(() => new MerkleLog({ store: missingParent }), "LOG_STORE_INCOMPLETE");
    const extraParent = new MemoryLogNodeStore();
    extraParent.put(0, 0, leafHash);
    extraParent.put(1, 0, leafHash);
    expectLogError(() => new MerkleLog({ store: extraParent }), "LOG_STORE_INCOMPLETE");
  });
});

/** A store holding only the frontier of `full` at `size` (what a node joining from a snapshot gets). */
function frontierStoreOf(full: MerkleLog, fullStore: MemoryLogNodeStore, size: number): MemoryLogNodeStore {
  const store = new MemoryLogNodeStore();
  const positions = logFrontierPositions(size);
  // MemoryLogNodeStore takes each level in index order from 0; a sparse store is a Map here.
  const sparse = new Map<string, Uint8Array>();
  for (const { level, index } of positions)
    sparse.set(`${level}/${index}`, fullStore.get(level, index)!.slice());
  assert.ok(full.size >= size, "the full log covers the size");
  return Object.assign(store, {
    get: (level: number, index: number) => sparse.get(`${level}/${index}`),
    put: (level: number, index: number, hash: Uint8Array) => {
      sparse.set(`${level}/${index}`, hash.slice());
    },
  });
}

describe("MerkleLog: continuing from a frontier (a node joined from a snapshot)", () => {
  it("the frontier of the reference tree at size 7 (docs/PROTOCOL.md section 9)", () => {
    const store = new MemoryLogNodeStore();
    const log = logOf(LEAVES_HEX.slice(0, 7).map(hexToBytes), { store });
    const positions = logFrontierPositions(7);
    assert.deepEqual(positions, [
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
    const hashes = positions.map(({ level, index }) => store.get(level, index)!);
    assert.deepEqual(hashes.map(bytesToHex), [
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    ]);
    assert.equal(bytesToHex(logRootOfFrontier(7, hashes, sha256)!), ROOTS_HEX[7]);
    assert.equal(bytesToHex(log.root()), ROOTS_HEX[7]);
  });

  it("the frontier's fold is the root, for every size up to 130", () => {
    const entries = distinctEntries(130, 21);
    const log = new MerkleLog();
    const store = new MemoryLogNodeStore();
    const full = new MerkleLog({ store });
    for (let size = 0; size <= entries.length; size++) {
      const positions = logFrontierPositions(size);
      assert.equal(
        positions.length,
        size.toString(2).replaceAll("0", "").length,
        `one per set bit at ${size}`,
      );
      const hashes = positions.map(({ level, index }) => store.get(level, index)!);
      assert.deepEqual(logRootOfFrontier(size, hashes, sha256), full.root(size), `root of ${size}`);
      assert.ok(verifyLogFrontier(size, hashes, full.root(size), sha256));
      if (size > 0) {
        assert.equal(verifyLogFrontier(size, hashes.slice(1), full.root(size), sha256), false, "one missing");
        assert.equal(
          verifyLogFrontier(size, [...hashes, hashes[0]!], full.root(size), sha256),
          false,
          "extra",
        );
        const changed = hashes.map((hash) => hash.slice());
        changed[0]![0]! ^= 1;
        assert.equal(verifyLogFrontier(size, changed, full.root(size), sha256), false, "a changed hash");
      }
      if (size < entries.length) {
        full.append(entries[size]!);
        log.append(entries[size]!);
      }
    }
  });

  it("appends, roots and proofs from the frontier equal the full log's, for every split up to 70", () => {
    const entries = distinctEntries(70, 22);
    const fullStore = new MemoryLogNodeStore();
    const full = logOf(entries, { store: fullStore });
    for (let frontierSize = 0; frontierSize <= entries.length; frontierSize++) {
      const store = frontierStoreOf(full, fullStore, frontierSize);
      const continued = new MerkleLog({ store, frontierSize });
      assert.equal(continued.size, frontierSize, `opens at ${frontierSize}`);
      assert.equal(continued.frontierSize, frontierSize);
      assert.deepEqual(continued.root(), full.root(frontierSize));
      for (const entry of entries.slice(frontierSize)) continued.append(entry);
      const reopened = new MerkleLog({ store, frontierSize });
      assert.equal(reopened.size, entries.length, "reopens at the size its leaves show");
      for (const log of [continued, reopened]) {
        for (let size = Math.max(frontierSize, 1); size <= entries.length; size++) {
          assert.deepEqual(log.root(size), full.root(size), `root ${size} from ${frontierSize}`);
          for (let index = frontierSize; index < size; index++) {
            assert.deepEqual(
              log.inclusionProof(index, size),
              full.inclusionProof(index, size),
              `inclusion ${index}/${size} from ${frontierSize}`,
            );
          }
          for (let size1 = frontierSize; size1 <= size; size1++) {
            assert.deepEqual(
              log.consistencyProof(size1, size),
              full.consistencyProof(size1, size),
              `consistency ${size1}/${size} from ${frontierSize}`,
            );
          }
        }
      }
    }
  });

  it("refuses what lies below the frontier with LOG_BELOW_FRONTIER, and a store without the frontier", () => {
    const entries = distinctEntries(40, 23);
    const fullStore = new MemoryLogNodeStore();
    const full = logOf(entries, { store: fullStore });
    const continued = new MerkleLog({ store: frontierStoreOf(full, fullStore, 29), frontierSize: 29 });
    for (const entry of entries.slice(29)) continued.append(entry);
    expectLogError(() => continued.leafHash(28), "LOG_BELOW_FRONTIER");
    expectLogError(() => continued.inclusionProof(3, 40), "LOG_BELOW_FRONTIER");
    expectLogError(() => continued.root(28), "LOG_BELOW_FRONTIER");
    expectLogError(() => continued.consistencyProof(10, 40), "LOG_BELOW_FRONTIER");
    assert.deepEqual(continued.root(0), full.root(0), "the empty root needs nothing");
    assert.deepEqual(continued.consistencyProof(0, 40), []);
    assert.deepEqual(continued.leafHash(29), full.leafHash(29));
    const withoutFrontier = new MemoryLogNodeStore();
    expectLogError(() => new MerkleLog({ store: withoutFrontier, frontierSize: 29 }), "LOG_STORE_INCOMPLETE");
  });
});

describe("MerkleLog: invalid arguments throw MerkleLogError", () => {
  const log = logOf(distinctEntries(5, 0));
  const notIntegers = [0.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53];

  it("sizes", () => {
    expectLogError(() => log.root(6), "LOG_SIZE_OUT_OF_RANGE");
    expectLogError(() => log.inclusionProof(0, 6), "LOG_SIZE_OUT_OF_RANGE");
    expectLogError(() => log.consistencyProof(1, 6), "LOG_SIZE_OUT_OF_RANGE");
    for (const bad of notIntegers) {
      expectLogError(() => log.root(bad), "LOG_SIZE_OUT_OF_RANGE");
      expectLogError(() => log.inclusionProof(0, bad), "LOG_SIZE_OUT_OF_RANGE");
      expectLogError(() => log.consistencyProof(bad, 5), "LOG_SIZE_OUT_OF_RANGE");
      expectLogError(() => log.consistencyProof(1, bad), "LOG_SIZE_OUT_OF_RANGE");
    }
    expectLogError(() => log.consistencyProof(4, 3), "LOG_SIZES_OUT_OF_ORDER");
  });

  it("indices", () => {
    expectLogError(() => log.inclusionProof(0, 0), "LOG_INDEX_OUT_OF_RANGE");
    expectLogError(() => log.inclusionProof(3, 3), "LOG_INDEX_OUT_OF_RANGE");
    expectLogError(() => log.leafHash(5), "LOG_INDEX_OUT_OF_RANGE");
    for (const bad of notIntegers) {
      expectLogError(() => log.inclusionProof(bad, 5), "LOG_INDEX_OUT_OF_RANGE");
      expectLogError(() => log.leafHash(bad), "LOG_INDEX_OUT_OF_RANGE");
    }
  });

  it("leaf hashes", () => {
    for (const length of [0, 31, 33]) {
      expectLogError(() => log.appendLeafHash(new Uint8Array(length)), "LOG_LEAF_HASH_INVALID");
    }
    assert.equal(log.size, 5, "nothing was appended");
  });
});

describe("MerkleLog: pluggable hash", () => {
  const entries = distinctEntries(50, 5);

  it("another 32-byte hash gives the same structure", () => {
    const blake: HashFunction = (data) => blake2s(data);
    const log = logOf(entries, { hash: blake });
    const reference = new ReferenceTree(entries, blake);
    assert.deepEqual(log.root(0), blake(new Uint8Array(0)));
    for (let size = 1; size <= entries.length; size++) {
      const root = log.root(size);
      assert.deepEqual(root, reference.root(0, size), `root ${size}`);
      for (let index = 0; index < size; index++) {
        const proof = log.inclusionProof(index, size);
        assert.deepEqual(proof, reference.path(index, size), `inclusion ${index} ${size}`);
        assert.equal(
          verifyInclusion(entries[index]!, index, size, proof, root, blake),
          true,
          `${index} ${size}`,
        );
      }
      const proof = log.consistencyProof(size >> 1, size);
      const verified = verifyConsistency(size >> 1, size, proof, log.root(size >> 1), root, blake);
      assert.equal(verified, true, `consistency ${size >> 1} ${size}`);
    }
    assert.notDeepEqual(log.root(), logOf(entries).root());
  });

  it("the native fast path and the portable SHA-256 agree", () => {
    const native = logOf(entries);
    const portable = logOf(entries, { hash: portableSha256 });
    for (let size = 0; size <= entries.length; size++) {
      assert.deepEqual(portable.root(size), native.root(size), `root ${size}`);
    }
    assert.deepEqual(portable.inclusionProof(17, 50), native.inclusionProof(17, 50));
    assert.deepEqual(portable.consistencyProof(17, 50), native.consistencyProof(17, 50));
  });
});

describe("MemoryLogNodeStore", () => {
  const hashOf = (level: number, index: number): Uint8Array => sha256(utf8(`${level}/${index}`));

  it("stores levels across chunk boundaries and answers undefined past them", () => {
    const store = new MemoryLogNodeStore();
    const count = MEMORY_STORE_CHUNK_HASHES + 1000;
    for (let index = 0; index < count; index++) store.put(0, index, hashOf(0, index));
    for (let index = 0; index < 100; index++) store.put(3, index, hashOf(3, index));
    for (const index of [
      0,
      1,
      15,
      16,
      17,
      MEMORY_STORE_CHUNK_HASHES - 1,
      MEMORY_STORE_CHUNK_HASHES,
      count - 1,
    ]) {
      assert.deepEqual(store.get(0, index), hashOf(0, index), `level 0 index ${index}`);
    }
    assert.deepEqual(store.get(3, 99), hashOf(3, 99));
    assert.equal(store.get(0, count), undefined);
    assert.equal(store.get(3, 100), undefined);
    assert.equal(store.get(1, 0), undefined, "a level never written");
    assert.equal(store.get(52, 0), undefined, "the top level");
    const expectedSizeBytes = (2 * MEMORY_STORE_CHUNK_HASHES + 128) * LOG_HASH_BYTES;
    assert.equal(store.allocatedSizeBytes, expectedSizeBytes, "two full chunks and a first chunk of 128");
  });

  it("views taken before a chunk grows keep their bytes", () => {
    const store = new MemoryLogNodeStore();
    for (let index = 0; index < MEMORY_STORE_CHUNK_HASHES_MIN; index++) store.put(0, index, hashOf(0, index));
    const view = store.get(0, 3)!;
    for (let index = MEMORY_STORE_CHUNK_HASHES_MIN; index < 1000; index++)
      store.put(0, index, hashOf(0, index));
    assert.deepEqual(view, hashOf(0, 3));
    assert.deepEqual(store.get(0, 3), hashOf(0, 3));
  });

  it("copies what it is given", () => {
    const store = new MemoryLogNodeStore();
    const hash = hashOf(0, 0);
    store.put(0, 0, hash);
    hash.fill(0);
    assert.deepEqual(store.get(0, 0), hashOf(0, 0));
  });

  it("asserts the order of writes and the shape of hashes", () => {
    const store = new MemoryLogNodeStore();
    store.put(0, 0, hashOf(0, 0));
    assert.throws(() => store.put(0, 0, hashOf(0, 0)), AssertionError, "written twice");
    assert.throws(() => store.put(0, 2, hashOf(0, 2)), AssertionError, "a gap");
    assert.throws(() => store.put(0, 1, new Uint8Array(31)), AssertionError, "not a hash");
    assert.throws(() => store.put(53, 0, hashOf(53, 0)), AssertionError, "no such level");
    assert.throws(() => store.get(0, -1), AssertionError, "negative index");
    assert.throws(() => store.get(0.5, 0), AssertionError, "fractional level");
  });
});
