/** The addon of native/sha256 (sha256.c), or null when it was not built or is switched off. */
declare const addon: {
  /** Writes SHA-256(input) into output[outputOffset, outputOffset + 32). */
  digestInto(output: Uint8Array, outputOffset: number, input: Uint8Array): void;
  /** The OpenSSL it calls, e.g. "OpenSSL 3.0.19 27 Jan 2026". */
  implementation(): string;
} | null;
export = addon;
