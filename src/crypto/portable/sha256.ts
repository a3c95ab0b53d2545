/**
 * SHA-256 that runs anywhere (browsers included): @noble/hashes. The SDK and the portal use
 * this one; the node uses the faster native one in ../sha256.ts. Both give identical digests.
 * @module
 */
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}
