/**
 * The signature-suite contract. A chain is created with one suite (see the genesis document);
 * every signature and every hash on that chain uses it. Suites are pure: key generation takes
 * its seed from the caller, signing derives its nonce deterministically, nothing reads a clock
 * or a random source.
 * @module
 */
import { assert } from "../base/assert.ts";

/** A cryptographic hash: bytes in, a fixed-size digest out (32 bytes for every suite we ship). */
export type HashFunction = (data: Uint8Array) => Uint8Array;

/** Writes the digest of `input` into output[outputOffset, outputOffset + 32), allocating nothing. */
export type HashIntoFunction = (output: Uint8Array, outputOffset: number, input: Uint8Array) => void;

/** Bytes of every digest a HashIntoFunction writes. */
const HASH_INTO_DIGEST_BYTES = 32;

/**
 * Writing a hash's digest into a caller's buffer, for Merkle code that hashes many small inputs:
 * the `into` a HashFunction carries (the node's SHA-256 does, skipping a digest allocation per
 * hash), else the HashFunction and a copy (SM3, the portable SHA-256). Same digests either way.
 */
export function hashIntoOf(hash: HashFunction): HashIntoFunction {
  const into = (hash as HashFunction & { readonly into?: unknown }).into;
  if (typeof into === "function") return into as HashIntoFunction;
  return (output, outputOffset, input) => {
    const digest = hash(input);
    assert(digest.length === HASH_INTO_DIGEST_BYTES, "the hash function must give 32-byte digests");
    output.set(digest, outputOffset);
  };
}

export type SuiteName = "ed25519" | "sm2-sm3";

/** The byte that names a suite inside encoded structures (docs/PROTOCOL.md, "Suites"). */
export const SUITE_CODES: Readonly<Record<SuiteName, number>> = { ed25519: 1, "sm2-sm3": 2 };

export function suiteNameOfCode(code: number): SuiteName | null {
  if (code === SUITE_CODES.ed25519) return "ed25519";
  if (code === SUITE_CODES["sm2-sm3"]) return "sm2-sm3";
  return null;
}

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export interface SignatureSuite {
  readonly name: SuiteName;
  /** SUITE_CODES[name]. */
  readonly code: number;
  readonly publicKeyBytes: number;
  readonly privateKeyBytes: number;
  readonly signatureBytes: number;
  /** The chain's hash: SHA-256 for `ed25519`, SM3 for `sm2-sm3`. Always 32 bytes. */
  readonly hash: HashFunction;
  /** Derives a key pair from 32 bytes of secret randomness supplied by the caller. */
  keyPairFromSeed(seed: Uint8Array): KeyPair;
  publicKeyOf(privateKey: Uint8Array): Uint8Array;
  /** Signs the message bytes (the suite hashes them as its standard prescribes). */
  sign(privateKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** True only for a valid signature. Never throws: malformed keys or signatures give false. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** True when the bytes are a well-formed public key of this suite (on the curve, canonical). */
  isPublicKey(publicKey: Uint8Array): boolean;
}
