/**
 * The node's fastest SHA-256: OpenSSL inside Node.js, through the addon in native/sha256 (built
 * by `npm install`). About 4x libsodium's on the 65-byte inputs of Merkle nodes, because the
 * call costs little and OpenSSL uses the CPU's SHA extensions (docs/adr/0008-native-sha256.md).
 * Absent when the addon was not built (no compiler), was switched off
 * (`CITYLEDGER_NATIVE_SHA256=off`), or gives a wrong known answer: callers then use libsodium.
 * @module
 */
import addon from "../../native/sha256/index.cjs";
import { bytesToHex } from "../base/bytes.ts";

export interface NativeSha256 {
  /** Writes SHA-256(input) into output[outputOffset, outputOffset + 32). */
  digestInto(output: Uint8Array, outputOffset: number, input: Uint8Array): void;
  /** The OpenSSL it calls, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  implementation(): string;
}

/** SHA-256("abc"), FIPS 180-2 appendix B.1: the addon must give it before it is used. */
const KNOWN_INPUT = new Uint8Array([0x61, 0x62, 0x63]);
const KNOWN_DIGEST_HEX = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

function checked(candidate: NativeSha256 | null): NativeSha256 | null {
  if (candidate === null) return null;
  const digest = new Uint8Array(32);
  candidate.digestInto(digest, 0, KNOWN_INPUT);
  return bytesToHex(digest) === KNOWN_DIGEST_HEX ? candidate : null;
}

/** The addon, or null. */
export const nativeSha256: NativeSha256 | null = checked(addon);
