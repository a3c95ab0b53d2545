/**
 * The `sm2-sm3` signature suite over any SM3 implementation: SM2 signatures with the default
 * distinguishing identity "1234567812345678", SM3 as the chain's hash. The node builds it over
 * OpenSSL's SM3 (../sm2-sm3.ts); the browser SDK uses sm2Sm3PortableSuite below. Both give the
 * same keys, signatures and digests.
 *
 * keyPairFromSeed(seed): d = (OS2IP(SM3(tag || 0x00 || seed) || SM3(tag || 0x01 || seed))
 * mod (n - 2)) + 1 with tag = "CityLedger SM2 private key from seed v1" (see
 * Sm2.privateKeyFromSeed): deterministic, always in [1, n - 2], bias below 2^-250.
 * @module
 */
import { assert } from "../../base/assert.ts";
import type { HashFunction, KeyPair, SignatureSuite } from "../suite.ts";
import { SUITE_CODES } from "../suite.ts";
import {
  createSm2,
  SM2_PRIVATE_KEY_BYTES,
  SM2_PUBLIC_KEY_BYTES,
  SM2_SEED_BYTES,
  SM2_SIGNATURE_BYTES,
} from "./sm2.ts";
import { SM3_DIGEST_BYTES, sm3 } from "./sm3.ts";

export function createSm2Sm3Suite(hash: HashFunction): SignatureSuite {
  assert(hash(new Uint8Array(0)).length === SM3_DIGEST_BYTES);
  const sm2 = createSm2(hash);
  return Object.freeze({
    name: "sm2-sm3",
    code: SUITE_CODES["sm2-sm3"],
    publicKeyBytes: SM2_PUBLIC_KEY_BYTES,
    privateKeyBytes: SM2_PRIVATE_KEY_BYTES,
    signatureBytes: SM2_SIGNATURE_BYTES,
    hash,
    keyPairFromSeed(seed: Uint8Array): KeyPair {
      assert(seed.length === SM2_SEED_BYTES, "sm2-sm3: seeds are 32 bytes");
      const privateKey = sm2.privateKeyFromSeed(seed);
      const publicKey = sm2.publicKeyOf(privateKey);
      assert(privateKey.length === SM2_PRIVATE_KEY_BYTES);
      assert(publicKey.length === SM2_PUBLIC_KEY_BYTES);
      return { publicKey, privateKey };
    },
    publicKeyOf: (privateKey: Uint8Array) => sm2.publicKeyOf(privateKey),
    sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
      const signature = sm2.sign(privateKey, message);
      assert(signature.length === SM2_SIGNATURE_BYTES);
      return signature;
    },
    verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) =>
      sm2.verify(publicKey, message, signature),
    isPublicKey: (publicKey: Uint8Array) => sm2.isPublicKey(publicKey),
  });
}

/** `sm2-sm3` over the portable SM3: for browsers and the SDK. */
export const sm2Sm3PortableSuite: SignatureSuite = createSm2Sm3Suite(sm3);
