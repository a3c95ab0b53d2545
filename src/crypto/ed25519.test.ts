import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { ed25519Suite } from "./ed25519.ts";
import { ed25519PortableSuite } from "./portable/ed25519-suite.ts";

// RFC 8032, section 7.1: TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
const RFC8032_VECTORS = [
  {
    name: "TEST 1",
    secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    message: "",
    signature:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    name: "TEST 2",
    secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    message: "72",
    signature:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    name: "TEST 3",
    secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    message: "af82",
    signature:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
  {
    name: "TEST SHA(abc)",
    secretKey: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
    publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
    message:
      "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
    signature:
      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
  },
];

for (const suite of [ed25519Suite, ed25519PortableSuite]) {
  describe(`ed25519 (${suite === ed25519Suite ? "libsodium" : "portable"})`, () => {
    for (const vector of RFC8032_VECTORS) {
      it(`passes RFC 8032 ${vector.name}`, () => {
        const secretKey = hexToBytes(vector.secretKey);
        const message = hexToBytes(vector.message);
        assert.equal(bytesToHex(suite.publicKeyOf(secretKey)), vector.publicKey);
        assert.equal(bytesToHex(suite.sign(secretKey, message)), vector.signature);
        assert.ok(suite.verify(hexToBytes(vector.publicKey), message, hexToBytes(vector.signature)));
        assert.ok(suite.isPublicKey(hexToBytes(vector.publicKey)));
      });
    }

    it("rejects every single-bit change of message, signature or key, and never throws", () => {
      const keyPair = suite.keyPairFromSeed(new Uint8Array(32).fill(9));
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (message, position) => {
          const signature = suite.sign(keyPair.privateKey, message);
          assert.ok(suite.verify(keyPair.publicKey, message, signature));
          const flip = (bytes: Uint8Array): Uint8Array => {
            const copy = bytes.slice();
            const bit = position % (copy.length * 8);
            copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7));
            return copy;
          };
          assert.ok(!suite.verify(keyPair.publicKey, message, flip(signature)));
          assert.ok(!suite.verify(flip(keyPair.publicKey), message, signature));
          if (message.length > 0) assert.ok(!suite.verify(keyPair.publicKey, flip(message), signature));
        }),
        { numRuns: 200 },
      );
    });

    it("returns false for malformed keys and signatures", () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 70 }), (key, signature) => {
          assert.equal(suite.verify(key, new Uint8Array(3), signature), false);
        }),
        { numRuns: 300 },
      );
    });
  });
}

it("libsodium and portable Ed25519 agree on random keys and messages", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 300 }),
      (seed, message) => {
        const native = ed25519Suite.keyPairFromSeed(seed);
        const portable = ed25519PortableSuite.keyPairFromSeed(seed);
        assert.deepEqual(native.publicKey, portable.publicKey);
        const signature = ed25519Suite.sign(seed, message);
        assert.deepEqual(signature, ed25519PortableSuite.sign(seed, message));
        assert.ok(ed25519PortableSuite.verify(portable.publicKey, message, signature));
      },
    ),
    { numRuns: 50 },
  );
});
