/**
 * Ed25519 (RFC 8032) that runs anywhere: @noble/curves. Used by the SDK and the portal to
 * verify offline; the node verifies with libsodium (../ed25519.ts). Strict RFC 8032 rules
 * (zip215 off: canonical encodings only), matching libsodium on everything a node accepts.
 * @module
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { assert } from "../../base/assert.ts";
import { type KeyPair, type SignatureSuite, SUITE_CODES } from "../suite.ts";
import { sha256 } from "./sha256.ts";

export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_PRIVATE_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;

export const ed25519PortableSuite: SignatureSuite = {
  name: "ed25519",
  code: SUITE_CODES.ed25519,
  publicKeyBytes: ED25519_PUBLIC_KEY_BYTES,
  privateKeyBytes: ED25519_PRIVATE_KEY_BYTES,
  signatureBytes: ED25519_SIGNATURE_BYTES,
  hash: sha256,
  keyPairFromSeed(seed: Uint8Array): KeyPair {
    assert(seed.length === ED25519_PRIVATE_KEY_BYTES, "an Ed25519 seed is 32 bytes");
    return { privateKey: seed.slice(), publicKey: ed25519.getPublicKey(seed) };
  },
  publicKeyOf(privateKey: Uint8Array): Uint8Array {
    assert(privateKey.length === ED25519_PRIVATE_KEY_BYTES, "an Ed25519 private key is 32 bytes");
    return ed25519.getPublicKey(privateKey);
  },
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array {
    assert(privateKey.length === ED25519_PRIVATE_KEY_BYTES, "an Ed25519 private key is 32 bytes");
    return ed25519.sign(message, privateKey);
  },
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  isPublicKey(publicKey: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
    return ed25519.utils.isValidPublicKey(publicKey, false);
  },
};
