/**
 * Native SHA-256 for the node (libsodium through sodium-native): about 2x @noble/hashes and
 * 1.5x node:crypto on the 33- and 65-byte inputs that Merkle trees hash (bench/core.ts).
 * @module
 */
import sodium from "sodium-native";

const SHA256_BYTES = 32;

export function sha256(data: Uint8Array): Uint8Array {
  const digest = new Uint8Array(SHA256_BYTES);
  sodium.crypto_hash_sha256(digest as Buffer, data as Buffer);
  return digest;
}
