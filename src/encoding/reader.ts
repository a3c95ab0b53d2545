/**
 * Reader of the canonical fixed layout. Every read is bounds-checked and every failure is a
 * DecodeError (never a RangeError or a TypeError), so hostile bytes cannot crash a caller.
 * @module
 */
import { DecodeError } from "./errors.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ASCII_FAST_PATH_BYTES_MAX = 64;

/**
 * Strict UTF-8 decoding. Short ASCII text (names, ids: the common case) is decoded by hand,
 * which is several times faster than TextDecoder; anything else goes through the fatal decoder.
 */
export function decodeUtf8(bytes: Uint8Array, field: string): string {
  if (bytes.length <= ASCII_FAST_PATH_BYTES_MAX) {
    let text = "";
    let index = 0;
    for (; index < bytes.length; index++) {
      const byte = bytes[index]!;
      if (byte >= 0x80) break;
      text += String.fromCharCode(byte);
    }
    if (index === bytes.length) return text;
  }
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new DecodeError("DECODE_INVALID_UTF8", `${field} is not valid UTF-8`, { field });
  }
}

export class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remainingBytes(): number {
    return this.bytes.length - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  private need(sizeBytes: number, field: string): void {
    if (this.remainingBytes < sizeBytes) {
      throw new DecodeError("DECODE_TRUNCATED", `input ends inside ${field}`, {
        field,
        neededBytes: sizeBytes,
        remainingBytes: this.remainingBytes,
      });
    }
  }

  u8(field = "u8"): number {
    this.need(1, field);
    return this.bytes[this.offset++]!;
  }

  u16(field = "u16"): number {
    this.need(2, field);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(field = "u32"): number {
    this.need(4, field);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(field = "u64"): bigint {
    this.need(8, field);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    return value;
  }

  i64(field = "i64"): bigint {
    this.need(8, field);
    const value = this.view.getBigInt64(this.offset);
    this.offset += 8;
    return value;
  }

  /** A boolean is exactly 0x00 or 0x01: any other byte is non-canonical. */
  bool(field = "bool"): boolean {
    const byte = this.u8(field);
    if (byte > 1) {
      throw new DecodeError("DECODE_NON_CANONICAL", `${field} must be 0 or 1`, { field, byte });
    }
    return byte === 1;
  }

  /** A copy of the next `sizeBytes` bytes. */
  fixedBytes(sizeBytes: number, field = "bytes"): Uint8Array {
    this.need(sizeBytes, field);
    const out = this.bytes.slice(this.offset, this.offset + sizeBytes);
    this.offset += sizeBytes;
    return out;
  }

  bytesField(sizeBytesMax: number, field = "bytes"): Uint8Array {
    const sizeBytes = this.u32(`${field} length`);
    if (sizeBytes > sizeBytesMax) {
      throw new DecodeError("DECODE_TOO_LONG", `${field} exceeds its limit`, {
        field,
        sizeBytes,
        sizeBytesMax,
      });
    }
    return this.fixedBytes(sizeBytes, field);
  }

  /** UTF-8 text; invalid UTF-8 (overlong forms, surrogates) is rejected, so text is canonical. */
  string(sizeBytesMax: number, field = "string"): string {
    const sizeBytes = this.u32(`${field} length`);
    if (sizeBytes > sizeBytesMax) {
      throw new DecodeError("DECODE_TOO_LONG", `${field} exceeds its limit`, {
        field,
        sizeBytes,
        sizeBytesMax,
      });
    }
    this.need(sizeBytes, field);
    const text = decodeUtf8(this.bytes.subarray(this.offset, this.offset + sizeBytes), field);
    this.offset += sizeBytes;
    return text;
  }

  /** Every decoder ends here: bytes after the structure make the input non-canonical. */
  end(structure: string): void {
    if (this.remainingBytes !== 0) {
      throw new DecodeError("DECODE_TRAILING_BYTES", `bytes follow the end of ${structure}`, {
        structure,
        trailingBytes: this.remainingBytes,
      });
    }
  }
}
