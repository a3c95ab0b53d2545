import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "@noble/hashes/sha2.js";
import fc from "fast-check";
import { bytesToHex, concatBytes, hexToBytes, utf8 } from "../../base/bytes.ts";
import {
  createSm2,
  hmac,
  SM2_DEFAULT_IDENTITY,
  SM2_IDENTITY_BYTES_MAX,
  SM2P256V1,
  type Sm2CurveParameters,
  sm2CurveOf,
} from "./sm2.ts";
import { sm3 } from "./sm3.ts";

const sm2 = createSm2(sm3);
const { n, p } = SM2P256V1;

function scalarBytes(value: bigint): Uint8Array {
  return hexToBytes(value.toString(16).padStart(64, "0"));
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3] = copy[bit >> 3]! ^ (0x80 >> (bit & 7));
  return copy;
}

/**
 * GB/T 32918.5-2017 Annex A (= GM/T 0003.5-2012 Annex A), signature example on the recommended
 * curve; reproduced in OpenSSL's test/sm2_internal_test.c and GmSSL's tests, with the Z_A and e
 * intermediates.
 */
const RECOMMENDED_CURVE_EXAMPLE = {
  privateKey: "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
  publicKey:
    "04" +
    "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020" +
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13",
  identity: "1234567812345678",
  message: "message digest",
  identityDigest: "b2e14c5c79c6df5b85f4fe7ed8db7a262b9da7e07ccb0ea9f4747b8ccda8a4f3",
  messageDigest: "f0b43e94ba45accaace692ed534382eb17e6ab5a19ce7b31f4486fdfc0d28640",
  nonce: 0x59276e27d506861a16680f3ad9c02dccef3cc1fa3cdbe4ce6d54b80deac1bc21n,
  signature:
    "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3" +
    "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa",
};

/** The 256-bit prime-field example curve of GB/T 32918 (GM/T 0003) Part 2, Annex A. */
const EXAMPLE_CURVE: Sm2CurveParameters = Object.freeze({
  p: 0x8542d69e4c044f18e8b92435bf6ff7de457283915c45517d722edb8b08f1dfc3n,
  a: 0x787968b4fa32c3fd2417842e73bbfeff2f3c848b6831d7e0ec65228b3937e498n,
  b: 0x63e4c6d3b23b0c849cf84241484bfe48f61d59a5b16ba06e6e12d1da27c5249an,
  n: 0x8542d69e4c044f18e8b92435bf6ff7dd297720630485628d5ae74ee7c32e79b7n,
  gx: 0x421debd61b62eab6746434ebc3cc315e32220b3badd50bdc4c4e6c147fedd43dn,
  gy: 0x0680512bcbb42c07d47349d2153b70c4e5d7fdfcbfa36ea1a85841b9e46e09a2n,
});

/** GB/T 32918.2-2016 Annex A.2 (= GM/T 0003.2-2012 Annex A.2): ID ALICE123@YAHOO.COM. */
const EXAMPLE_CURVE_EXAMPLE = {
  privateKey: "128b2fa8bd433c6c068c8d803dff79792a519a55171b1b650c23661d15897263",
  publicKey:
    "04" +
    "0ae4c7798aa0f119471bee11825be46202bb79e2a5844495e97c04ff4df2548a" +
    "7c0240f88f1cd4e16352a73c17b7f16f07353e53a176d684a9fe0c6bb798e857",
  identity: "ALICE123@YAHOO.COM",
  message: "message digest",
  identityDigest: "f4a38489e32b45b6f876e3ac2168ca392362dc8f23459c1d1146fc3dbfb7bc9a",
  messageDigest: "b524f552cd82b8b028476e005c377fb19a87e6fc682d48bb5d42e3d9b9effe76",
  nonce: 0x6cb28d99385c175c94f94e934817663fc176d925dd72b727260dbaae1fb2f96fn,
  signature:
    "40f1ec59f793d9f49e09dcef49130d4194f79fb1eed2caa55bacdb49c4e755d1" +
    "6fc6dac32c5d5cf10c77dfb20f7c2eb667a457872fb09ec56327a67ec7deebe7",
};

describe("SM2 known answers", () => {
  const cases = [
    { name: "GB/T 32918.5-2017 Annex A (sm2p256v1)", curve: SM2P256V1, vector: RECOMMENDED_CURVE_EXAMPLE },
    {
      name: "GB/T 32918.2-2016 Annex A.2 (example curve)",
      curve: EXAMPLE_CURVE,
      vector: EXAMPLE_CURVE_EXAMPLE,
    },
  ];
  for (const { name, curve, vector } of cases) {
    it(`reproduces ${name}: key, Z_A, e, signature`, () => {
      const instance = createSm2(sm3, curve);
      const privateKey = hexToBytes(vector.privateKey);
      const publicKey = hexToBytes(vector.publicKey);
      const identity = utf8(vector.identity);
      const message = utf8(vector.message);
      assert.equal(bytesToHex(instance.publicKeyOf(privateKey)), vector.publicKey);
      assert.equal(bytesToHex(instance.identityDigest(publicKey, identity)), vector.identityDigest);
      assert.equal(bytesToHex(instance.messageDigest(publicKey, message, identity)), vector.messageDigest);
      const signature = instance.signWithNonce(privateKey, message, vector.nonce, identity);
      assert.ok(signature !== null);
      assert.equal(bytesToHex(signature), vector.signature);
      assert.ok(instance.verify(publicKey, message, hexToBytes(vector.signature), identity));
      assert.ok(!instance.verify(publicKey, message, hexToBytes(vector.signature), utf8("1234567812345679")));
      assert.ok(!instance.verify(publicKey, utf8("message digesT"), hexToBytes(vector.signature), identity));
    });
  }

  it("uses 1234567812345678 as the default identity", () => {
    assert.equal(bytesToHex(SM2_DEFAULT_IDENTITY), bytesToHex(utf8("1234567812345678")));
    const vector = RECOMMENDED_CURVE_EXAMPLE;
    const publicKey = hexToBytes(vector.publicKey);
    assert.ok(sm2.verify(publicKey, utf8(vector.message), hexToBytes(vector.signature)));
    assert.equal(bytesToHex(sm2.identityDigest(publicKey)), vector.identityDigest);
  });

  it("signs deterministically (RFC 6979 nonce with HMAC-SM3): pinned regression value", () => {
    const privateKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.privateKey);
    const message = utf8(RECOMMENDED_CURVE_EXAMPLE.message);
    const signature = sm2.sign(privateKey, message);
    assert.deepEqual(sm2.sign(privateKey, message), signature);
    assert.ok(sm2.verify(hexToBytes(RECOMMENDED_CURVE_EXAMPLE.publicKey), message, signature));
    // No standard fixes the nonce derivation: this value was reproduced independently in Python
    // (hashlib SM3 and hmac, textbook affine arithmetic) from RFC 6979 section 3.2.
    assert.equal(
      bytesToHex(signature),
      "24858ee71d63e687feefe41f5af80a59f0791eb1dabc2bbe71daf0e57f06c367" +
        "3d15550de52785a435004c937256ac715c0e04176ac57062c6722fa692f7a491",
    );
  });
});

describe("HMAC", () => {
  it("passes RFC 4231 test cases 1 and 2 with SHA-256 (the construction, independent of SM3)", () => {
    const key1 = new Uint8Array(20).fill(0x0b);
    assert.equal(
      bytesToHex(hmac(sha256, key1, utf8("Hi There"))),
      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    );
    assert.equal(
      bytesToHex(hmac(sha256, utf8("Jefe"), utf8("what do ya want for nothing?"))),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });
});

describe("SM2 keys", () => {
  it("accepts private keys in [1, n - 2] only", () => {
    for (const value of [1n, 2n, n - 3n, n - 2n]) assert.ok(sm2.isPrivateKey(scalarBytes(value)));
    for (const value of [0n, n - 1n, n, n + 1n, (1n << 256n) - 1n]) {
      assert.ok(!sm2.isPrivateKey(scalarBytes(value)));
    }
    assert.ok(!sm2.isPrivateKey(new Uint8Array(31).fill(1)));
    assert.ok(!sm2.isPrivateKey(new Uint8Array(33).fill(1)));
    assert.throws(() => sm2.publicKeyOf(scalarBytes(n - 1n)), /not a private key/);
    assert.throws(() => sm2.publicKeyOf(scalarBytes(0n)), /not a private key/);
  });

  it("derives private keys from seeds deterministically, in range, distinct", () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const privateKey = sm2.privateKeyFromSeed(seed);
        assert.ok(sm2.isPrivateKey(privateKey));
        assert.deepEqual(sm2.privateKeyFromSeed(seed), privateKey);
        seen.add(`${bytesToHex(seed)}:${bytesToHex(privateKey)}`);
      }),
      { numRuns: 200, seed: 32918 },
    );
    const keys = new Set([...seen].map((entry) => entry.split(":")[1]));
    const seeds = new Set([...seen].map((entry) => entry.split(":")[0]));
    assert.equal(keys.size, seeds.size);
    assert.throws(() => sm2.privateKeyFromSeed(new Uint8Array(31)), /seeds are 32 bytes/);
  });

  it("pins the seed derivation (cross-checked with Python hashlib's SM3)", () => {
    // d = (OS2IP(SM3(tag || 0x00 || seed) || SM3(tag || 0x01 || seed)) mod (n - 2)) + 1.
    assert.equal(
      bytesToHex(sm2.privateKeyFromSeed(new Uint8Array(32))),
      "820cfe4b10b411ecde2708cfd9b1f4155377f854f0e3b16e570e3f65f305c55e",
    );
    assert.equal(
      bytesToHex(sm2.privateKeyFromSeed(new Uint8Array(32).fill(0xff))),
      "539eb4268698279b1f5d8495cf96ec6466babbe82e51003211552772885e5cdc",
    );
  });

  it("recognises public keys: uncompressed, canonical, on the curve", () => {
    const publicKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.publicKey);
    assert.ok(sm2.isPublicKey(publicKey));
    const generator = concatBytes(Uint8Array.of(4), scalarBytes(SM2P256V1.gx), scalarBytes(SM2P256V1.gy));
    assert.ok(sm2.isPublicKey(generator));
    const rejected = [
      new Uint8Array(0),
      new Uint8Array(65),
      Uint8Array.of(0),
      concatBytes(Uint8Array.of(2), publicKey.subarray(1, 33)),
      concatBytes(Uint8Array.of(3), publicKey.subarray(1)),
      concatBytes(Uint8Array.of(6), publicKey.subarray(1)),
      publicKey.subarray(0, 64),
      concatBytes(publicKey, Uint8Array.of(0)),
      flipBit(publicKey, 8 * 64 + 7),
      // (0, 0), the usual stand-in for the point at infinity, is not on the curve (b != 0).
      concatBytes(Uint8Array.of(4), new Uint8Array(64)),
      // Coordinates at or above p are not field elements.
      concatBytes(Uint8Array.of(4), scalarBytes(p), scalarBytes(SM2P256V1.gy)),
      concatBytes(Uint8Array.of(4), scalarBytes(SM2P256V1.gx), scalarBytes(p)),
      concatBytes(Uint8Array.of(4), scalarBytes((1n << 256n) - 1n), scalarBytes((1n << 256n) - 1n)),
    ];
    for (const candidate of rejected) assert.ok(!sm2.isPublicKey(candidate), bytesToHex(candidate));
    assert.ok(
      sm2.isPublicKey(
        concatBytes(Uint8Array.of(4), scalarBytes(SM2P256V1.gx), scalarBytes(p - SM2P256V1.gy)),
      ),
    );
  });
});

describe("SM2 verification arithmetic", () => {
  const curve = sm2CurveOf(SM2P256V1);
  const { Point } = curve;

  function nobleCombination(s: bigint, t: bigint, point: { x: bigint; y: bigint }) {
    const sum = Point.BASE.multiplyUnsafe(s).add(Point.fromAffine(point).multiplyUnsafe(t));
    return sum.is0() ? null : sum.toAffine();
  }

  it("agrees with noble's [s]G + [t]Q on random scalars and points", () => {
    const scalar = fc.bigInt({ min: 0n, max: n - 1n });
    fc.assert(
      fc.property(scalar, scalar, fc.bigInt({ min: 1n, max: n - 1n }), (s, t, q) => {
        const point = Point.BASE.multiply(q).toAffine();
        assert.deepEqual(curve.toAffine(curve.linearCombination(s, t, point)), nobleCombination(s, t, point));
      }),
      { numRuns: 40, seed: 2016 },
    );
  });

  it("handles the exceptional cases: Q = +-G, sums at infinity, zero scalars, tiny and huge scalars", () => {
    const generator = { x: SM2P256V1.gx, y: SM2P256V1.gy };
    const negated = { x: SM2P256V1.gx, y: p - SM2P256V1.gy };
    const cases: Array<[bigint, bigint, { x: bigint; y: bigint }]> = [
      [1n, 1n, generator], // G + G: the doubling case of the addition
      [1n, 1n, negated], // G - G: infinity
      [5n, n - 5n, generator], // 5G + (n - 5)G: infinity
      [7n, 7n, negated],
      [0n, 0n, generator],
      [0n, 3n, generator],
      [3n, 0n, negated],
      [n - 1n, n - 1n, generator],
      [n - 1n, 1n, negated],
      [(1n << 255n) + 1n, (1n << 128n) - 1n, generator],
    ];
    for (const [s, t, point] of cases) {
      assert.deepEqual(
        curve.toAffine(curve.linearCombination(s, t, point)),
        nobleCombination(s, t, point),
        `${s} ${t}`,
      );
    }
  });

  it("agrees with noble on the example curve too (general a, not -3)", () => {
    const example = sm2CurveOf(EXAMPLE_CURVE);
    const scalar = fc.bigInt({ min: 0n, max: EXAMPLE_CURVE.n - 1n });
    fc.assert(
      fc.property(scalar, scalar, fc.bigInt({ min: 1n, max: EXAMPLE_CURVE.n - 1n }), (s, t, q) => {
        const point = example.Point.BASE.multiply(q).toAffine();
        const sum = example.Point.BASE.multiplyUnsafe(s).add(
          example.Point.fromAffine(point).multiplyUnsafe(t),
        );
        assert.deepEqual(
          example.toAffine(example.linearCombination(s, t, point)),
          sum.is0() ? null : sum.toAffine(),
        );
      }),
      { numRuns: 15, seed: 2012 },
    );
  });
});

describe("SM2 sign and verify", () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it("round-trips on random seeds, messages and identities", () => {
    fc.assert(
      fc.property(
        seed,
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 40 }),
        (key, message, id) => {
          const privateKey = sm2.privateKeyFromSeed(key);
          const publicKey = sm2.publicKeyOf(privateKey);
          const signature = sm2.sign(privateKey, message, id);
          assert.equal(signature.length, 64);
          assert.ok(sm2.verify(publicKey, message, signature, id));
          assert.ok(!sm2.verify(publicKey, message, signature, concatBytes(id, Uint8Array.of(0))));
        },
      ),
      { numRuns: 25, seed: 3229 },
    );
  });

  it("rejects every single-bit flip of the signature and of the public key", () => {
    const privateKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.privateKey);
    const publicKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.publicKey);
    const message = utf8("flip me");
    const signature = sm2.sign(privateKey, message);
    assert.ok(sm2.verify(publicKey, message, signature));
    for (let bit = 0; bit < signature.length * 8; bit++) {
      assert.equal(sm2.verify(publicKey, message, flipBit(signature, bit)), false, `signature bit ${bit}`);
    }
    for (let bit = 0; bit < publicKey.length * 8; bit++) {
      assert.equal(sm2.verify(flipBit(publicKey, bit), message, signature), false, `public key bit ${bit}`);
    }
  });

  it("rejects single-bit flips of random messages", () => {
    fc.assert(
      fc.property(
        seed,
        fc.uint8Array({ minLength: 1, maxLength: 100 }),
        fc.nat(),
        (key, message, position) => {
          const privateKey = sm2.privateKeyFromSeed(key);
          const publicKey = sm2.publicKeyOf(privateKey);
          const signature = sm2.sign(privateKey, message);
          assert.equal(
            sm2.verify(publicKey, flipBit(message, position % (message.length * 8)), signature),
            false,
          );
        },
      ),
      { numRuns: 25, seed: 3230 },
    );
  });

  it("rejects r or s outside [1, n - 1], and r + s = n", () => {
    const publicKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.publicKey);
    const message = utf8(RECOMMENDED_CURVE_EXAMPLE.message);
    const valid = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.signature);
    const r = valid.subarray(0, 32);
    const s = valid.subarray(32);
    for (const bad of [0n, n, n + 1n, (1n << 256n) - 1n]) {
      assert.equal(sm2.verify(publicKey, message, concatBytes(scalarBytes(bad), s)), false);
      assert.equal(sm2.verify(publicKey, message, concatBytes(r, scalarBytes(bad))), false);
    }
    const rValue = BigInt(`0x${bytesToHex(r)}`);
    assert.equal(sm2.verify(publicKey, message, concatBytes(r, scalarBytes(n - rValue))), false);
    assert.equal(sm2.verify(publicKey, message, valid.subarray(0, 63)), false);
    assert.equal(sm2.verify(publicKey, message, concatBytes(valid, Uint8Array.of(0))), false);
    assert.equal(sm2.verify(publicKey, message, new Uint8Array(0)), false);
  });

  it("returns false, never throws, for random keys and signatures", () => {
    const publicKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.publicKey);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 70 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ maxLength: 70 }),
        (key, signature, anyLength) => {
          const keyed = concatBytes(Uint8Array.of(4), key.subarray(0, 64));
          assert.equal(sm2.verify(key, utf8("m"), signature), false);
          assert.equal(sm2.verify(keyed, utf8("m"), signature), false);
          assert.equal(sm2.verify(publicKey, utf8("m"), signature), false);
          assert.equal(sm2.verify(publicKey, utf8("m"), anyLength), false);
        },
      ),
      { numRuns: 60, seed: 3231 },
    );
  });

  it("returns false for identities too long for ENTL_A instead of throwing", () => {
    const vector = RECOMMENDED_CURVE_EXAMPLE;
    const publicKey = hexToBytes(vector.publicKey);
    const signature = hexToBytes(vector.signature);
    const message = utf8(vector.message);
    assert.equal(
      sm2.verify(publicKey, message, signature, new Uint8Array(SM2_IDENTITY_BYTES_MAX + 1)),
      false,
    );
    assert.equal(sm2.verify(publicKey, message, signature, new Uint8Array(SM2_IDENTITY_BYTES_MAX)), false);
    const privateKey = hexToBytes(vector.privateKey);
    const longIdentity = new Uint8Array(SM2_IDENTITY_BYTES_MAX).fill(0x41);
    const longSignature = sm2.sign(privateKey, message, longIdentity);
    assert.ok(sm2.verify(publicKey, message, longSignature, longIdentity));
  });

  it("rejects nonces outside [1, n - 1] in signWithNonce (a programmer error)", () => {
    const privateKey = hexToBytes(RECOMMENDED_CURVE_EXAMPLE.privateKey);
    assert.throws(() => sm2.signWithNonce(privateKey, utf8("m"), 0n), /nonce out of range/);
    assert.throws(() => sm2.signWithNonce(privateKey, utf8("m"), n), /nonce out of range/);
  });
});
