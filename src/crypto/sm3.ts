/**
 * SM3 for the node. OpenSSL (through node:crypto) is about 2x faster than the portable
 * TypeScript SM3 on 16 KiB messages, but each call into it costs a fixed ~1.5 µs: at 32 bytes
 * the portable SM3 is about 2x faster, and the two cross near 256 bytes (measured on Node 20,
 * OpenSSL 3.0). So messages below SM3_NATIVE_BYTES_MIN go to the portable SM3 and larger ones
 * to OpenSSL. Both give identical digests (checked at load time here and by property tests in
 * sm2-sm3.test.ts).
 *
 * When the runtime's OpenSSL has no SM3, or its SM3 fails the known-answer check below, every
 * message goes to the portable SM3.
 * @module
 */
import crypto from "node:crypto";
import { assert } from "../base/assert.ts";
import { equalBytes, hexToBytes, utf8 } from "../base/bytes.ts";
import { SM3_DIGEST_BYTES, sm3 as sm3Portable } from "./portable/sm3.ts";

/** Messages of at least this size go to OpenSSL; smaller ones to the portable SM3. */
export const SM3_NATIVE_BYTES_MIN = 256;

type NativeHash = (data: Uint8Array) => Uint8Array;

function nativeHashOneShot(data: Uint8Array): Uint8Array {
  const digest = crypto.hash("sm3", data, "buffer");
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

function nativeHashStreaming(data: Uint8Array): Uint8Array {
  const digest = crypto.createHash("sm3").update(data).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
}

/** GB/T 32905-2016 Appendix A, example 1: SM3("abc"). */
const KNOWN_ANSWER_DIGEST = hexToBytes("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");

function passesKnownAnswer(hash: NativeHash): boolean {
  try {
    return equalBytes(hash(utf8("abc")), KNOWN_ANSWER_DIGEST);
  } catch {
    // The runtime's OpenSSL lacks SM3 (or crypto.hash): the caller falls back.
    return false;
  }
}

function selectNativeHash(): NativeHash | null {
  if (!crypto.getHashes().includes("sm3")) return null;
  // crypto.hash() arrived in Node 20.12 and is faster than createHash(); older 20.x lack it.
  if (typeof crypto.hash === "function" && passesKnownAnswer(nativeHashOneShot)) return nativeHashOneShot;
  if (passesKnownAnswer(nativeHashStreaming)) return nativeHashStreaming;
  return null;
}

const nativeHash: NativeHash | null = selectNativeHash();
assert(equalBytes(sm3Portable(utf8("abc")), KNOWN_ANSWER_DIGEST), "portable SM3 fails its known answer");

/** True when OpenSSL's SM3 is in use for large messages (false: portable SM3 only). */
export const sm3IsNative: boolean = nativeHash !== null;

/** SM3 digest (32 bytes) of the whole message. */
export function sm3(data: Uint8Array): Uint8Array {
  if (nativeHash === null || data.length < SM3_NATIVE_BYTES_MIN) return sm3Portable(data);
  const digest = nativeHash(data);
  assert(digest.length === SM3_DIGEST_BYTES);
  return digest;
}
