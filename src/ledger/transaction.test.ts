import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../base/bytes.ts";
import { TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { ed25519Suite } from "../crypto/ed25519.ts";
import { SUITE_CODES } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { encodeValue, type Value } from "../encoding/value.ts";
import { keyIdOf } from "./key-id.ts";
import {
  decodeTransaction,
  encodeTransaction,
  signTransaction,
  type Transaction,
  transactionSigningBytes,
} from "./transaction.ts";
import { type TransactionContext, validateTransaction } from "./validate-transaction.ts";

const suite = ed25519Suite;
const sender = suite.keyPairFromSeed(new Uint8Array(32).fill(1));
const chainId = "test-city-1";

function sign(overrides: Partial<Parameters<typeof signTransaction>[2]> = {}): Transaction {
  return signTransaction(suite, sender.privateKey, {
    chainId,
    nonce: 0n,
    expiryHeight: 100n,
    contract: "notary",
    method: "anchor",
    args: { title: "minutes", documentHash: new Uint8Array(32).fill(7) },
    ...overrides,
  });
}

function context(overrides: Partial<TransactionContext> = {}): TransactionContext {
  return { chainId, suite, height: 10n, nonceNextOf: () => 0n, ...overrides };
}

const transactionArbitrary = fc.record({
  suiteCode: fc.integer({ min: 0, max: 255 }),
  chainId: fc.string({ maxLength: 20 }),
  senderPublicKey: fc.uint8Array({ maxLength: 65 }),
  nonce: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  expiryHeight: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  contract: fc.string({ maxLength: 20 }),
  method: fc.string({ maxLength: 20 }),
  args: fc.oneof(
    fc.constant<Value>(null),
    fc.string(),
    fc.dictionary(fc.string(), fc.bigInt({ min: -5n, max: 5n })),
  ),
  privateReferences: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 4 }),
  signature: fc.uint8Array({ maxLength: 64 }),
});

describe("transactions", () => {
  it("decode(encode(tx)) = tx, and the encoding is unique", () => {
    fc.assert(
      fc.property(transactionArbitrary, (transaction) => {
        const encoded = encodeTransaction(transaction);
        const decoded = decodeTransaction(encoded);
        assert.deepEqual(encodeTransaction(decoded), encoded);
        assert.equal(decoded.nonce, transaction.nonce);
        assert.deepEqual(encodeValue(decoded.args), encodeValue(transaction.args));
      }),
      { numRuns: 300 },
    );
  });

  it("random and mutated bytes give DecodeError or a canonical transaction, nothing else", () => {
    const encoded = encodeTransaction(sign());
    fc.assert(
      fc.property(
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        fc.uint8Array({ maxLength: 200 }),
        (position, bit, noise) => {
          const mutated = encoded.slice();
          mutated[position % mutated.length]! ^= 1 << bit;
          for (const candidate of [mutated, noise, encoded.subarray(0, position % encoded.length)]) {
            try {
              const decoded = decodeTransaction(candidate);
              assert.equal(bytesToHex(encodeTransaction(decoded)), bytesToHex(candidate));
            } catch (error) {
              assert.ok(error instanceof DecodeError, String(error));
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("accepts a well-formed signed transaction", () => {
    const result = validateTransaction(encodeTransaction(sign()), context());
    assert.ok(result.ok);
    assert.deepEqual(result.value.senderKeyId, keyIdOf(suite, sender.publicKey));
    assert.equal(result.value.hash.length, 32);
  });

  const refusals: Array<[string, () => Uint8Array, Partial<TransactionContext>]> = [
    ["TX_MALFORMED", () => new Uint8Array([1, 2, 3]), {}],
    ["TX_MALFORMED", () => encodeTransaction(sign({ method: "not a method!" })), {}],
    ["TX_MALFORMED", () => encodeTransaction(sign({ contract: "Upper" })), {}],
    ["TX_OVERSIZED", () => new Uint8Array(TX_SIZE_BYTES_MAX + 1), {}],
    ["TX_WRONG_CHAIN", () => encodeTransaction(sign({ chainId: "other-city" })), {}],
    ["TX_UNKNOWN_SUITE", () => encodeTransaction({ ...sign(), suiteCode: 99 }), {}],
    ["TX_WRONG_SUITE", () => encodeTransaction({ ...sign(), suiteCode: SUITE_CODES["sm2-sm3"] }), {}],
    [
      "TX_BAD_SIGNATURE",
      () => {
        const transaction = sign();
        const signature = transaction.signature.slice();
        signature[0]! ^= 1;
        return encodeTransaction({ ...transaction, signature });
      },
      {},
    ],
    ["TX_BAD_SIGNATURE", () => encodeTransaction({ ...sign(), nonce: 1n }), { nonceNextOf: () => 1n }],
    ["TX_EXPIRED", () => encodeTransaction(sign({ expiryHeight: 9n })), {}],
    ["TX_NONCE_TOO_LOW", () => encodeTransaction(sign({ nonce: 4n })), { nonceNextOf: () => 5n }],
    ["TX_NONCE_TOO_FAR_AHEAD", () => encodeTransaction(sign({ nonce: 70n })), { nonceAheadMax: 64n }],
  ];
  for (const [code, build, contextOverrides] of refusals) {
    it(`refuses with ${code}`, () => {
      const result = validateTransaction(build(), context(contextOverrides));
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.error.code, code);
        assert.equal(result.error.name, "TransactionError");
        assert.ok(result.error.message.length > 10);
      }
    });
  }

  it("the signature covers every field", () => {
    const transaction = sign();
    const changed: Transaction[] = [
      { ...transaction, chainId: "test-city-2" },
      { ...transaction, nonce: 1n },
      { ...transaction, expiryHeight: 101n },
      { ...transaction, contract: "other" },
      { ...transaction, method: "other" },
      { ...transaction, args: null },
      { ...transaction, privateReferences: [new Uint8Array(32)] },
    ];
    for (const variant of changed) {
      assert.equal(
        suite.verify(sender.publicKey, transactionSigningBytes(variant), transaction.signature),
        false,
      );
    }
    assert.ok(suite.verify(sender.publicKey, transactionSigningBytes(transaction), transaction.signature));
  });

  it("encoding refuses fields over their limits", () => {
    assert.throws(() => encodeTransaction({ ...sign(), contract: "x".repeat(65) }));
    assert.throws(() =>
      encodeTransaction({ ...sign(), privateReferences: Array(17).fill(new Uint8Array(32)) }),
    );
    assert.throws(() => encodeTransaction({ ...sign(), args: "x".repeat(49 * 1024) }));
  });
});
