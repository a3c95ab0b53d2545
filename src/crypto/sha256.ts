/**
 * Native SHA-256 for the node: OpenSSL through the addon in native/sha256 when it was built
 * (native-sha256.ts: ≈ 0.25 µs for a 65-byte Merkle node), else libsodium through sodium-native
 * (≈ 0.9 µs; about 2x @noble/hashes and 1.5x node:crypto on those inputs, bench/core.ts). Both
 * give the same digests; `SHA256_IMPLEMENTATION` says which runs.
 * @module
 */
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import { nativeSha256 } from "./native-sha256.ts";
import type { HashFunction, HashIntoFunction } from "./suite.ts";

const SHA256_BYTES = 32;

/**
 * Where libsodium writes digests; `sha256` and `sha256Into` copy them out. Hashing straight into
 * a 32-byte view of the caller's buffer costs a view per call and measured about 10 % slower on
 * 65-byte inputs; hashing straight into a fresh 32-byte array is worse still (see `sha256`).
 */
const digestScratch = new Uint8Array(SHA256_BYTES);

/** Which SHA-256 the node runs: the OpenSSL version through the addon, or libsodium. */
export const SHA256_IMPLEMENTATION: string =
  nativeSha256 === null ? "libsodium (sodium-native)" : `${nativeSha256.implementation()} (native/sha256)`;

const digestInto = nativeSha256?.digestInto ?? null;

/**
 * The digest is copied out of the scratch buffer with `slice`. A fresh 32-byte array is one that
 * V8 keeps on its heap, and handing it to libsodium first moves it off the heap (a backing-store
 * allocation per call): that made `sha256` about 1.6x slower (0.78-0.98 million/s against
 * 1.46-1.51 million/s with the copy, on the development VM).
 */
function sha256Digest(data: Uint8Array): Uint8Array {
  if (digestInto !== null) digestInto(digestScratch, 0, data);
  else sodium.crypto_hash_sha256(digestScratch as Buffer, data as Buffer);
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
  if (digestInto !== null) {
    // OpenSSL reads the whole input before it writes the digest: overlapping views are safe.
    digestInto(output, outputOffset, input);
    return;
  }
  sodium.crypto_hash_sha256(digestScratch as Buffer, input as Buffer);
  output.set(digestScratch, outputOffset);
}

/** SHA-256 of `data`; carries `into` (= sha256Into) for Merkle code (suite.ts, `hashIntoOf`). */
export const sha256: HashFunction & { readonly into: HashIntoFunction } = Object.assign(sha256Digest, {
  into: sha256Into,
});
