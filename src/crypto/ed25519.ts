/**
 * Ed25519 (RFC 8032) for the node, on libsodium (sodium-native): verify is about 2x node:crypto
 * (MEASURED.md: 17,300/s vs 8,200/s per core) and needs no key import per call. Private keys
 * are the 32-byte RFC 8032 seed; libsodium's 64-byte form is derived when signing.
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import {
  ED25519_PRIVATE_KEY_BYTES,
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
} from "./portable/ed25519-suite.ts";
import { sha256 } from "./sha256.ts";
import { type KeyPair, type SignatureSuite, SUITE_CODES } from "./suite.ts";

const SODIUM_SECRET_KEY_BYTES = 64;

/**
 * The one place libsodium's 64-byte secret key is expanded into: locked memory (sodium_malloc),
 * allocated once and wiped after each use. Allocating locked memory per call instead exhausts
 * the process's locked-memory limit (8 MiB here) within about 10,000 signatures, because it is
 * released only when the garbage collector gets to it, and the process then aborts.
 */
const secretKeyScratch = sodium.sodium_malloc(SODIUM_SECRET_KEY_BYTES);

/** Expands the seed into the scratch key, runs `use`, and wipes the scratch key. */
function withSecretKey<Result>(
  seed: Uint8Array,
  use: (secretKey: Buffer, publicKey: Buffer) => Result,
): Result {
  assert(seed.length === ED25519_PRIVATE_KEY_BYTES, "an Ed25519 seed is 32 bytes");
  const publicKey = Buffer.alloc(ED25519_PUBLIC_KEY_BYTES);
  try {
    sodium.crypto_sign_seed_keypair(publicKey, secretKeyScratch, seed as Buffer);
    return use(secretKeyScratch, publicKey);
  } finally {
    sodium.sodium_memzero(secretKeyScratch);
  }
}

export const ed25519Suite: SignatureSuite = {
  name: "ed25519",
  code: SUITE_CODES.ed25519,
  publicKeyBytes: ED25519_PUBLIC_KEY_BYTES,
  privateKeyBytes: ED25519_PRIVATE_KEY_BYTES,
  signatureBytes: ED25519_SIGNATURE_BYTES,
  hash: sha256,
  keyPairFromSeed(seed: Uint8Array): KeyPair {
    const publicKey = withSecretKey(seed, (_secretKey, publicKey) => new Uint8Array(publicKey));
    return { privateKey: seed.slice(), publicKey };
  },
  publicKeyOf(privateKey: Uint8Array): Uint8Array {
    return withSecretKey(privateKey, (_secretKey, publicKey) => new Uint8Array(publicKey));
  },
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    const signature = new Uint8Array(ED25519_SIGNATURE_BYTES);
    withSecretKey(privateKey, (secretKey) => {
      sodium.crypto_sign_detached(signature as Buffer, message as Buffer, secretKey);
    });
    return signature;
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false;
    if (!(message instanceof Uint8Array)) return false;
    return sodium.crypto_sign_verify_detached(signature as Buffer, message as Buffer, publicKey as Buffer);
  },
  isPublicKey(publicKey: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    // libsodium's own check: canonical encoding, on the curve, not of small order.
    const curvePoint = Buffer.alloc(sodium.crypto_box_PUBLICKEYBYTES);
    try {
      sodium.crypto_sign_ed25519_pk_to_curve25519(curvePoint, publicKey as Buffer);
      return true;
    } catch {
      return false;
    }
  },
};
