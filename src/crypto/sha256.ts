/**
 * Native SHA-256 for the node (libsodium through sodium-native): about 2x @noble/hashes and
 * 1.5x node:crypto on the 33- and 65-byte inputs that Merkle trees hash (bench/core.ts).
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";

const SHA256_BYTES = 32;

/**
 * Where `sha256Into` lets libsodium write: a digest goes here first and is then copied to its
 * place. Hashing straight into a 32-byte view of the caller's buffer costs a view per call and
 * measured about 10 % slower (scratch/smt/hash-into.ts); a small typed array that V8 keeps on
 * its heap is worse still, as the native call first moves it off the heap.
 */
const digestScratch = new Uint8Array(SHA256_BYTES);

/**
 * The digest is written to the scratch and copied out with `slice`: a fresh 32-byte array is one
 * V8 keeps on its heap, and letting libsodium write into it directly first moves it off the heap
 * (a backing-store allocation per call), which made `sha256` about 1.6x slower
 * (scratch/smt/sha-alloc.ts: 0.78-0.98 million/s direct, 1.46-1.51 million/s with the copy).
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
