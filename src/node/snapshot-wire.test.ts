import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes, utf8 } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { sha256 } from "../crypto/index.ts";
import { DecodeError } from "../encoding/errors.ts";
import { encodeSnapshotManifest, snapshotManifestHash } from "../storage/index.ts";
import { TestChain } from "../storage/testing/test-chain.ts";
import { SNAPSHOT_FRONTIER_HASHES_MAX, SNAPSHOT_OFFERS_MAX } from "./snapshot-limits.ts";
import { decodeSnapshotMessage, encodeSnapshotMessage, type SnapshotWireMessage } from "./snapshot-wire.ts";

const chain = new TestChain({ seed: 9, txsPerBlock: 2 });
const block = chain.seal(
  7n,
  chain.transactionsOf(7n),
  { logRoot: sha256(utf8("log")), logSize: 14, stateRoot: sha256(utf8("state")) },
  null,
);
const hash = (label: string) => sha256(utf8(label));
const offer = {
  height: 7n,
  header: block.header,
  certificate: block.certificate,
  manifestHash: hash("manifest"),
  chunkCount: 3,
};

const EVERY_KIND: SnapshotWireMessage[] = [
  { kind: "offersRequest" },
  { kind: "offers", offers: [] },
  { kind: "offers", offers: [offer, { ...offer, chunkCount: 0 }] },
  { kind: "manifestRequest", height: 7n, manifestHash: hash("manifest") },
  { kind: "manifest", height: 7n, manifestHash: hash("manifest"), manifest: utf8("manifest bytes") },
  { kind: "chunkRequest", height: 7n, manifestHash: hash("manifest"), chunkIndex: 2 },
  { kind: "chunk", height: 7n, manifestHash: hash("manifest"), chunkIndex: 2, chunk: utf8("chunk bytes") },
  { kind: "frontierRequest", height: 7n, blockHash: hash("block") },
  {
    kind: "frontier",
    height: 7n,
    blockHash: hash("block"),
    logSize: 14n,
    hashes: [hash("8"), hash("4"), hash("2")],
  },
  { kind: "refused", request: "chunkRequest", height: 7n, chunkIndex: 2, reason: "busy" },
  { kind: "refused", request: "offersRequest", height: 0n, chunkIndex: 0, reason: "rateLimited" },
];

describe("snapshot-sync wire messages", () => {
  it("match the vectors of docs/PROTOCOL.md", () => {
    assert.equal(bytesToHex(encodeSnapshotMessage({ kind: "offersRequest" })), "0101");
    const chunkRequest = encodeSnapshotMessage({
      kind: "chunkRequest",
      height: 10n,
      manifestHash: new Uint8Array(32).fill(0x11),
      chunkIndex: 3,
    });
    assert.equal(bytesToHex(chunkRequest), `0105000000000000000a${"11".repeat(32)}00000003`);
    const refused = encodeSnapshotMessage({
      kind: "refused",
      request: "chunkRequest",
      height: 10n,
      chunkIndex: 3,
      reason: "busy",
    });
    assert.equal(bytesToHex(refused), "010905000000000000000a0000000302");
    assert.deepEqual(decodeSnapshotMessage(hexToBytes("0101")), { kind: "offersRequest" });
    const manifest = encodeSnapshotManifest({
      height: 10n,
      stateRoot: new Uint8Array(32).fill(0x22),
      entryCount: 3,
      chunkHashes: [new Uint8Array(32).fill(0x33)],
    });
    assert.equal(
      bytesToHex(manifest),
      `01000000000000000a${"22".repeat(32)}000000000000000300000001${"33".repeat(32)}`,
    );
    assert.equal(
      bytesToHex(snapshotManifestHash(manifest, sha256)),
      "034e85b48cc34d3fc79487f4c67f97a069e9cb94e88a1e8ca220943ed957fc89",
    );
  });

  it("round-trip every kind", () => {
    for (const message of EVERY_KIND) {
      const encoded = encodeSnapshotMessage(message);
      assert.deepEqual(decodeSnapshotMessage(encoded), message, message.kind);
      assert.deepEqual(encodeSnapshotMessage(decodeSnapshotMessage(encoded)), encoded);
    }
  });

  it("random and mutated bytes give only DecodeError (or another typed error), never a crash", () => {
    const valid = EVERY_KIND.map((message) => encodeSnapshotMessage(message));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.nat(valid.length - 1),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (random, which, position, flip) => {
          const base = valid[which]!;
          const mutated = Uint8Array.from(base, (byte, index) =>
            index === position % base.length ? byte ^ flip : byte,
          );
          for (const bytes of [random, mutated, base.subarray(0, position % base.length)]) {
            try {
              decodeSnapshotMessage(bytes);
            } catch (error) {
              assert.ok(error instanceof CityLedgerError, String(error));
            }
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("refuses counts over their limits before reading the items", () => {
    const offersOver = `010200000${(SNAPSHOT_OFFERS_MAX + 1).toString(16).padStart(3, "0")}`;
    assert.throws(() => decodeSnapshotMessage(hexToBytes(offersOver)), DecodeError);
    const frontierOver = `0108000000000000000a${"00".repeat(32)}000000000000000e${(
      SNAPSHOT_FRONTIER_HASHES_MAX + 1
    )
      .toString(16)
      .padStart(8, "0")}`;
    assert.throws(() => decodeSnapshotMessage(hexToBytes(frontierOver)), DecodeError);
    assert.throws(() => decodeSnapshotMessage(hexToBytes("0163")), DecodeError, "unknown kind");
    assert.throws(() => decodeSnapshotMessage(hexToBytes("0201")), DecodeError, "unknown version");
    assert.throws(() => decodeSnapshotMessage(hexToBytes("010905000000000000000a0000000309")), DecodeError);
    assert.throws(() => decodeSnapshotMessage(hexToBytes("010101")), DecodeError, "trailing bytes");
  });
});
