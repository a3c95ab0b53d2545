import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { DecodeError } from "../encoding/errors.ts";
import { decodePeerMessage, encodePeerMessage, PEER_TRANSACTIONS_MAX } from "./wire.ts";

describe("peer wire messages", () => {
  it("match the vectors of docs/PROTOCOL.md", () => {
    assert.equal(bytesToHex(encodePeerMessage({ kind: "status", height: 42n })), "0102000000000000002a");
    assert.equal(
      bytesToHex(encodePeerMessage({ kind: "transactions", transactions: [new Uint8Array([1, 2, 3])] })),
      "01040000000100000003010203",
    );
    assert.deepEqual(decodePeerMessage(hexToBytes("0102000000000000002a")), { kind: "status", height: 42n });
  });

  it("round-trip transaction gossip", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 20 }),
        (transactions) => {
          const decoded = decodePeerMessage(encodePeerMessage({ kind: "transactions", transactions }));
          assert.equal(decoded.kind, "transactions");
          assert.deepEqual(
            decoded.kind === "transactions" ? decoded.transactions.map((item) => bytesToHex(item)) : [],
            transactions.map((item) => bytesToHex(item)),
          );
        },
      ),
    );
  });

  it("random and mutated bytes give only DecodeError", () => {
    const valid = encodePeerMessage({ kind: "transactions", transactions: [new Uint8Array([9, 9])] });
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 256 }),
        fc.nat(valid.length - 1),
        fc.integer({ min: 1, max: 255 }),
        (random, position, flip) => {
          for (const bytes of [
            random,
            Uint8Array.from(valid, (byte, index) => (index === position ? byte ^ flip : byte)),
          ]) {
            try {
              decodePeerMessage(bytes);
            } catch (error) {
              assert.ok(error instanceof DecodeError || error instanceof CityLedgerError, String(error));
            }
          }
        },
      ),
    );
  });

  it("refuses empty and oversized gossip batches", () => {
    assert.throws(() => decodePeerMessage(hexToBytes("010400000000")), DecodeError);
    const count = (PEER_TRANSACTIONS_MAX + 1).toString(16).padStart(8, "0");
    assert.throws(() => decodePeerMessage(hexToBytes(`0104${count}`)), DecodeError);
    assert.throws(() => decodePeerMessage(hexToBytes("0109")), DecodeError);
    assert.throws(() => decodePeerMessage(hexToBytes("0202000000000000002a")), DecodeError);
  });
});
