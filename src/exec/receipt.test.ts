import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes, utf8 } from "../base/bytes.ts";
import { sha256 } from "../crypto/sha256.ts";
import { sm3 } from "../crypto/sm3.ts";
import { DecodeError } from "../encoding/errors.ts";
import { decodeNonceValue, encodeNonceValue } from "./nonce.ts";
import { decodeNotaryRecord, encodeNotaryRecord, type NotaryRecord, notaryRecordKeyOf } from "./notary.ts";
import {
  decodeReceipt,
  encodeReceipt,
  receiptHash,
  receiptRoot,
  type TransactionReceipt,
} from "./receipt.ts";
import { nonceKeyOf } from "./state-keys.ts";

const receiptOk: TransactionReceipt = {
  txHash: new Uint8Array(32).fill(0x22),
  status: "ok",
  errorCode: null,
  gasUsed: 7_200n,
  events: [{ contract: "notary", type: "anchored", data: new Uint8Array([0x00]) }],
};
const receiptFailed: TransactionReceipt = {
  txHash: new Uint8Array(32).fill(0x33),
  status: "failed",
  errorCode: "NOTARY_ALREADY_ANCHORED",
  gasUsed: 1_100n,
  events: [],
};

function sha256Hex(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

function u32(value: number): Uint8Array {
  return new Uint8Array([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

function tagged(tag: string): Uint8Array {
  return new Uint8Array([tag.length, ...utf8(tag)]);
}

describe("execution vectors (docs/PROTOCOL.md, Execution)", () => {
  const keyId = new Uint8Array(32).fill(0x11);
  const documentHash = sha256(utf8("CityLedger notary vector"));

  it("state keys: the nonce key, recomputed independently", () => {
    const expected = sha256Hex(
      tagged("cityledger/state-key/v1"),
      u32(13),
      utf8("account/nonce"),
      u32(32),
      keyId,
    );
    assert.equal(bytesToHex(nonceKeyOf(sha256, keyId)), expected);
    assert.equal(expected, "90fa57f576fd82a3439db11618d01ea6a2571f8ca64a1f4e2cf55bfb8a881de3");
    assert.equal(
      bytesToHex(nonceKeyOf(sm3, keyId)),
      "6b77ec7560d721b6f69be9033a6960b3d7873814722aecd7caf02e1d95e1ee03",
    );
  });

  it("state keys: the notary record key", () => {
    assert.equal(
      bytesToHex(documentHash),
      "1ebd150b951ac8ab1392fa3a29d4fa7e2c69923a71119e58ee39a3bbb7af8c8f",
    );
    const expected = sha256Hex(
      tagged("cityledger/state-key/v1"),
      u32(22),
      utf8("contract/notary/record"),
      u32(32),
      documentHash,
    );
    assert.equal(bytesToHex(notaryRecordKeyOf(sha256, documentHash)), expected);
    assert.equal(expected, "2e7c4389cd811231602ab5eea53341e59cf2e8885e5600432ed709ccaa47cbaf");
    assert.equal(
      bytesToHex(notaryRecordKeyOf(sm3, documentHash)),
      "fcb2d4bad56aa13a6fa4a777e163d19810c5ce97edfbecaf558a1c0837d0928e",
    );
  });

  it("values: a nonce, and a notary record", () => {
    assert.equal(bytesToHex(encodeNonceValue(1n)), "010000000000000001");
    assert.equal(decodeNonceValue(hexToBytes("010000000000000001")), 1n);
    assert.throws(() => decodeNonceValue(hexToBytes("020000000000000001")), DecodeError);
    const record: NotaryRecord = {
      algorithm: "sha256",
      documentHash,
      title: "Permit 17",
      documentType: "permit",
      description: null,
      uri: null,
      anchor: {
        signer: keyId,
        height: 1n,
        timeMs: 1_767_225_600_000n,
        txHash: new Uint8Array(32).fill(0x22),
      },
      revocation: null,
    };
    const encoded = encodeNotaryRecord(record);
    assert.equal(
      bytesToHex(encoded),
      [
        "07 00000006",
        "00000009 616c676f726974686d 05 00000006 736861323536",
        "00000006 616e63686f72 07 00000004",
        "  00000006 686569676874 03 0000000000000001",
        "  00000006 7369676e6572 04 00000020 1111111111111111111111111111111111111111111111111111111111111111",
        "  00000006 74696d654d73 03 0000019b76daa800",
        "  00000006 747848617368 04 00000020 2222222222222222222222222222222222222222222222222222222222222222",
        "0000000c 646f63756d656e7448617368 04 00000020",
        "  1ebd150b951ac8ab1392fa3a29d4fa7e2c69923a71119e58ee39a3bbb7af8c8f",
        "0000000c 646f63756d656e7454797065 05 00000006 7065726d6974",
        "00000005 7469746c65 05 00000009 5065726d6974203137",
        "00000007 76657273696f6e 03 0000000000000001",
      ]
        .join("")
        .replaceAll(" ", ""),
    );
    assert.deepEqual(decodeNotaryRecord(encoded), record);
  });

  it("receipts: encoding, hash and root", () => {
    assert.equal(
      bytesToHex(encodeReceipt(receiptOk)),
      `02${"22".repeat(32)}00 00000000 0000000000001c20 00000001 00000006 6e6f74617279 00000008 616e63686f726564 00000001 00`.replaceAll(
        " ",
        "",
      ),
    );
    assert.equal(
      bytesToHex(encodeReceipt(receiptFailed)),
      `02${"33".repeat(32)}01 00000017 4e4f544152595f414c52454144595f414e43484f524544 000000000000044c 00000000`.replaceAll(
        " ",
        "",
      ),
    );
    assert.equal(
      bytesToHex(receiptHash(receiptOk, sha256)),
      sha256Hex(tagged("cityledger/receipt/v1"), encodeReceipt(receiptOk)),
    );
    assert.equal(
      bytesToHex(receiptHash(receiptOk, sha256)),
      "60bc586b769f34b3c7d6d549d03d5446f66f6f5d19ea3f240b1a6ef4c1e9f309",
    );
    assert.equal(
      bytesToHex(receiptHash(receiptFailed, sha256)),
      "917c6bd4fd3eefaf8d4d78fe476d6571984a2ecb2b7d2d237cc1a917bcaff23f",
    );
    assert.equal(
      bytesToHex(receiptRoot([receiptOk, receiptFailed], sha256)),
      "72d13edc8b355b27f6f5becfa392e0efacc12deb4f8f999ac01ff648e8956517",
    );
  });
});

describe("receipts", () => {
  it("decode(encode(receipt)) = receipt", () => {
    assert.deepEqual(decodeReceipt(encodeReceipt(receiptOk)), receiptOk);
    assert.deepEqual(decodeReceipt(encodeReceipt(receiptFailed)), receiptFailed);
  });

  it("mutated bytes give DecodeError or a receipt whose encoding is exactly the input", () => {
    const encodings = [encodeReceipt(receiptOk), encodeReceipt(receiptFailed)];
    fc.assert(
      fc.property(
        fc.constantFrom(...encodings),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ maxLength: 8 }),
        (encoded, position, bit, tail) => {
          const mutated = new Uint8Array([...encoded, ...tail]);
          mutated[position % mutated.length]! ^= 1 << bit;
          try {
            const decoded = decodeReceipt(mutated);
            assert.deepEqual(encodeReceipt(decoded), mutated);
          } catch (error) {
            assert.ok(error instanceof DecodeError, String(error));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("gasUsed: kept for failed receipts; above TX_GAS_MAX_LIMIT refused", () => {
    assert.equal(decodeReceipt(encodeReceipt(receiptFailed)).gasUsed, 1_100n);
    const encoded = encodeReceipt(receiptOk);
    const gasOffset = 1 + 32 + 1 + 4;
    const tooMuch = encoded.slice();
    new DataView(tooMuch.buffer).setBigUint64(gasOffset, 1_000_000_001n);
    assert.throws(() => decodeReceipt(tooMuch), { code: "DECODE_INVALID_VALUE" });
    const version1 = encoded.slice();
    version1[0] = 1;
    assert.throws(() => decodeReceipt(version1), { code: "DECODE_UNKNOWN_VERSION" });
  });

  it("refuses non-canonical forms: ok with a code, failed without a code", () => {
    const okWithCode = encodeReceipt(receiptFailed);
    okWithCode[33] = 0;
    assert.throws(() => decodeReceipt(okWithCode), { code: "DECODE_NON_CANONICAL" });
    const failedWithoutCode = encodeReceipt(receiptOk);
    failedWithoutCode[33] = 1;
    assert.throws(() => decodeReceipt(failedWithoutCode), { code: "DECODE_INVALID_VALUE" });
  });
});
