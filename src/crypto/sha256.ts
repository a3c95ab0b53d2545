/**
 * Native SHA-256 for the node (libsodium through sodium-native): about 2x @noble/hashes and
 * 1.5x node:crypto on the 33- and 65-byte inputs that Merkle trees hash (bench/core.ts).
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";

const SHA256_BYTES = 32;

/**
 * Where libsodium writes digests; `sha256` and `sha256Into` copy them out. Hashing straight into
 * a 32-byte view of the caller's buffer costs a view per call and measured about 10 % slower on
 * 65-byte inputs; hashing straight into a fresh 32-byte array is worse still (see `sha256`).
 */
const digestScratch = new Uint8Array(SHA256_BYTES);

/**
 * The digest is copied out of the scratch buffer with `slice`. A fresh 32-byte array is one that
 * V8 keeps on its heap, and handing it to libsodium first moves it off the heap (a backing-store
 * allocation per call): that made `sha256` about 1.6x slower (0.78-0.98 million/s against
 * 1.46-1.51 million/s with the copy, on the development VM).
 */
export function sha256(data: Uint8Array): Uint8Array {
  sodium.crypto_hash_sha256(digestScratch as Buffer, data as Buffer);
  const digest = digestScratch.slice();
  assert(digest.length === SHA256_BYTES);
  return digest;
}

/**
 * Writes SHA-256(input) into output[outputOffset, outputOffset + 32) without allocating: for
 * code that hashes many small inputs into buffers it owns (the state tree). `input` may be any
 * view, including a view of `output` that does not overlap the digest's place.
 */
export function sha256Into(output: Uint8Array, outputOffset: number, input: Uint8Array): void {
  assert(outputOffset >= 0, "digest offset must not be negative");
  assert(outputOffset + SHA256_BYTES <= output.length, "digest must fit in the output");
  sodium.crypto_hash_sha256(digestScratch as Buffer, input as Buffer);
  output.set(digestScratch, outputOffset);
}
