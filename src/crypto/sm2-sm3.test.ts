import assert from "node:assert/strict";
import crypto from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, concatBytes, hexToBytes, utf8 } from "../base/bytes.ts";
import { createSm2, hmac } from "./portable/sm2.ts";
import { sm2Sm3PortableSuite } from "./portable/sm2-sm3-suite.ts";
import { sm3 as sm3Portable } from "./portable/sm3.ts";
import { sm2Sm3Suite } from "./sm2-sm3.ts";
import { SM3_NATIVE_BYTES_MIN, sm3, sm3IsNative } from "./sm3.ts";
import { SUITE_CODES } from "./suite.ts";

const opensslHasSm3 = crypto.getHashes().includes("sm3");

function opensslSm3(data: Uint8Array): Uint8Array {
  return new Uint8Array(crypto.createHash("sm3").update(data).digest());
}

/** SubjectPublicKeyInfo prefix of an SM2 key: id-ecPublicKey, curve sm2p256v1 (1.2.156.10197.1.301). */
const SM2_SPKI_PREFIX = hexToBytes("3059301306072a8648ce3d020106082a811ccf5501822d034200");
/** PKCS #8 prefix of an SM2 private key; the 32-byte key, "a144034200" and the public key follow. */
const SM2_PKCS8_PREFIX = hexToBytes(
  "308187020100301306072a8648ce3d020106082a811ccf5501822d046d306b0201010420",
);

/** DER ECDSA-Sig-Value (SEQUENCE of two INTEGERs) to fixed-width r || s. */
function derToFixed(der: Uint8Array): Uint8Array {
  assert.equal(der[0], 0x30);
  const parts: Uint8Array[] = [];
  let offset = 2;
  for (let part = 0; part < 2; part++) {
    assert.equal(der[offset], 0x02);
    const length = der[offset + 1]!;
    let value = der.subarray(offset + 2, offset + 2 + length);
    while (value.length > 32) value = value.subarray(1);
    parts.push(concatBytes(new Uint8Array(32 - value.length), value));
    offset += 2 + length;
  }
  return concatBytes(...parts);
}

function fixedToDer(signature: Uint8Array): Uint8Array {
  const integer = (value: Uint8Array): Uint8Array => {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    let body = value.subarray(start);
    if (body[0]! & 0x80) body = concatBytes(Uint8Array.of(0), body);
    return concatBytes(Uint8Array.of(0x02, body.length), body);
  };
  const body = concatBytes(integer(signature.subarray(0, 32)), integer(signature.subarray(32)));
  return concatBytes(Uint8Array.of(0x30, body.length), body);
}

describe("node SM3", () => {
  it("passes GB/T 32905-2016 Appendix A", () => {
    assert.equal(
      bytesToHex(sm3(utf8("abc"))),
      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    );
    assert.equal(
      bytesToHex(sm3(utf8("abcd".repeat(16)))),
      "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    );
  });

  it("uses OpenSSL's SM3 when the runtime has it", () => {
    assert.equal(sm3IsNative, opensslHasSm3);
  });

  it("returns plain Uint8Arrays of 32 bytes on both sides of the native threshold", () => {
    for (const length of [0, SM3_NATIVE_BYTES_MIN - 1, SM3_NATIVE_BYTES_MIN, 5000]) {
      const digest = sm3(new Uint8Array(length));
      assert.equal(digest.length, 32);
      assert.equal(Object.getPrototypeOf(digest), Uint8Array.prototype);
    }
  });

  it("portable, node and OpenSSL SM3 agree at every length around the block and threshold edges", () => {
    const lengths = new Set<number>();
    for (let length = 0; length <= 200; length++) lengths.add(length);
    for (let length = SM3_NATIVE_BYTES_MIN - 70; length <= SM3_NATIVE_BYTES_MIN + 70; length++)
      lengths.add(length);
    for (const blocks of [8, 16, 64])
      for (let delta = -10; delta <= 10; delta++) lengths.add(blocks * 64 + delta);
    for (const length of lengths) {
      const message = Uint8Array.from({ length }, (_, index) => (index * 131 + length * 7) & 0xff);
      const expected = sm3Portable(message);
      assert.deepEqual(sm3(message), expected, `length ${length}`);
      if (opensslHasSm3) assert.deepEqual(opensslSm3(message), expected, `length ${length}`);
    }
  });

  it("portable, node and OpenSSL SM3 agree on random messages", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4200 }), (message) => {
        const expected = sm3Portable(message);
        assert.deepEqual(sm3(message), expected);
        if (opensslHasSm3) assert.deepEqual(opensslSm3(message), expected);
      }),
      { numRuns: 300, seed: 905 },
    );
  });

  it("HMAC over SM3 agrees with OpenSSL's HMAC-SM3", { skip: !opensslHasSm3 }, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 300 }), (key, message) => {
        const expected = new Uint8Array(crypto.createHmac("sm3", key).update(message).digest());
        assert.deepEqual(hmac(sm3Portable, key, message), expected);
        assert.deepEqual(hmac(sm3, key, message), expected);
      }),
      { numRuns: 100, seed: 6979 },
    );
  });
});

for (const suite of [sm2Sm3Suite, sm2Sm3PortableSuite]) {
  describe(`sm2-sm3 suite (${suite === sm2Sm3Suite ? "node" : "portable"})`, () => {
    it("describes itself", () => {
      assert.equal(suite.name, "sm2-sm3");
      assert.equal(suite.code, SUITE_CODES["sm2-sm3"]);
      assert.equal(suite.publicKeyBytes, 65);
      assert.equal(suite.privateKeyBytes, 32);
      assert.equal(suite.signatureBytes, 64);
      assert.equal(bytesToHex(suite.hash(utf8("abc"))), bytesToHex(sm3Portable(utf8("abc"))));
    });

    it("verifies the GB/T 32918.5-2017 Annex A signature (default identity)", () => {
      const privateKey = hexToBytes("3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8");
      const publicKey = hexToBytes(
        "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020" +
          "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13",
      );
      const signature = hexToBytes(
        "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3" +
          "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa",
      );
      assert.deepEqual(suite.publicKeyOf(privateKey), publicKey);
      assert.ok(suite.isPublicKey(publicKey));
      assert.ok(suite.verify(publicKey, utf8("message digest"), signature));
    });

    it("round-trips on random seeds and messages", () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 32, maxLength: 32 }),
          fc.uint8Array({ maxLength: 600 }),
          (seed, message) => {
            const keyPair = suite.keyPairFromSeed(seed);
            assert.deepEqual(suite.keyPairFromSeed(seed), keyPair);
            assert.deepEqual(suite.publicKeyOf(keyPair.privateKey), keyPair.publicKey);
            assert.ok(suite.isPublicKey(keyPair.publicKey));
            const signature = suite.sign(keyPair.privateKey, message);
            assert.equal(signature.length, suite.signatureBytes);
            assert.ok(suite.verify(keyPair.publicKey, message, signature));
          },
        ),
        { numRuns: 20, seed: 1 },
      );
    });

    it("rejects single-bit flips of message, signature or key, and never throws", () => {
      const keyPair = suite.keyPairFromSeed(new Uint8Array(32).fill(9));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (message, position) => {
          const signature = suite.sign(keyPair.privateKey, message);
          const flip = (bytes: Uint8Array): Uint8Array => {
            const copy = bytes.slice();
            const bit = position % (copy.length * 8);
            copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
            return copy;
          };
          assert.equal(suite.verify(keyPair.publicKey, message, flip(signature)), false);
          assert.equal(suite.verify(flip(keyPair.publicKey), message, signature), false);
          if (message.length > 0)
            assert.equal(suite.verify(keyPair.publicKey, flip(message), signature), false);
        }),
        { numRuns: 30, seed: 2 },
      );
    });

    it("returns false for random bytes as key or signature", () => {
      const keyPair = suite.keyPairFromSeed(new Uint8Array(32).fill(4));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 70 }), (key, signature) => {
          assert.equal(suite.verify(key, utf8("m"), signature), false);
          assert.equal(suite.verify(keyPair.publicKey, utf8("m"), signature), false);
          assert.equal(suite.isPublicKey(key), false);
        }),
        { numRuns: 60, seed: 3 },
      );
    });
  });
}

describe("node and portable sm2-sm3 suites", () => {
  it("derive the same keys and the same signatures", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 700 }),
        (seed, message) => {
          const node = sm2Sm3Suite.keyPairFromSeed(seed);
          assert.deepEqual(sm2Sm3PortableSuite.keyPairFromSeed(seed), node);
          const signature = sm2Sm3Suite.sign(node.privateKey, message);
          assert.deepEqual(sm2Sm3PortableSuite.sign(node.privateKey, message), signature);
          assert.ok(sm2Sm3PortableSuite.verify(node.publicKey, message, signature));
        },
      ),
      { numRuns: 10, seed: 4 },
    );
  });
});

describe("interoperability with OpenSSL's SM2 (through node:crypto)", { skip: !opensslHasSm3 }, () => {
  // node:crypto cannot set SM2's distinguishing identity, and OpenSSL 3 then hashes an empty
  // one (ENTL_A = 0): so this checks our SM2 with ID = "" against OpenSSL's, both directions.
  const sm2 = createSm2(sm3);
  const emptyIdentity = new Uint8Array(0);

  function opensslKeys(privateKey: Uint8Array, publicKey: Uint8Array) {
    return {
      privateKey: crypto.createPrivateKey({
        key: Buffer.from(concatBytes(SM2_PKCS8_PREFIX, privateKey, hexToBytes("a144034200"), publicKey)),
        format: "der",
        type: "pkcs8",
      }),
      publicKey: crypto.createPublicKey({
        key: Buffer.from(concatBytes(SM2_SPKI_PREFIX, publicKey)),
        format: "der",
        type: "spki",
      }),
    };
  }

  it("OpenSSL verifies our signatures, and we verify OpenSSL's", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        (seed, message) => {
          const privateKey = sm2.privateKeyFromSeed(seed);
          const publicKey = sm2.publicKeyOf(privateKey);
          const keys = opensslKeys(privateKey, publicKey);
          const ours = sm2.sign(privateKey, message, emptyIdentity);
          assert.ok(crypto.verify(null, message, keys.publicKey, fixedToDer(ours)));
          // With the default identity the digests differ, so OpenSSL must refuse.
          assert.ok(!crypto.verify(null, message, keys.publicKey, fixedToDer(sm2.sign(privateKey, message))));
          const theirs = derToFixed(new Uint8Array(crypto.sign(null, message, keys.privateKey)));
          assert.ok(sm2.verify(publicKey, message, theirs, emptyIdentity));
          assert.ok(!sm2.verify(publicKey, message, theirs));
        },
      ),
      { numRuns: 10, seed: 5 },
    );
  });
});
