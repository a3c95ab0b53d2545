/**
 * Writer of the canonical fixed layout (docs/adr/0001-canonical-encoding.md): big-endian
 * fixed-width integers, u32 length prefixes, UTF-8 strings. Every field has an explicit bound
 * and the writer refuses to exceed it, so an encoding that left here will also decode.
 * @module
 */
import { assert } from "../base/assert.ts";
import { EncodeError } from "./errors.ts";

const U64_LIMIT = 1n << 64n;
const I64_MIN = -(1n << 63n);
const I64_LIMIT = 1n << 63n;
/** Texts up to this many code units are written by a loop when they are ASCII (most keys and names). */
const ASCII_LOOP_UNITS_MAX = 64;
const CAPACITY_BYTES_INITIAL = 256;
const SCRATCH_BYTES = 64 * 1024;
const utf8Encoder = new TextEncoder();

const SCRATCH_POOL_MAX = 4;

/**
 * Scratch buffers shared by writers: allocating an ArrayBuffer costs about a microsecond, more
 * than encoding a small structure. A writer borrows one and `finish` copies the result out and
 * returns it. A writer abandoned by an exception simply never returns its buffer; the pool
 * refills itself from later writers.
 */
const scratchPool: Uint8Array[] = [];
/** Each pooled buffer's DataView, made once (a DataView per writer cost ≈ 0.1 µs). */
const scratchViews = new WeakMap<Uint8Array, DataView>();

export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;
  private borrowed: boolean;

  constructor(capacityBytes = CAPACITY_BYTES_INITIAL) {
    assert(capacityBytes > 0, "writer capacity must be positive");
    if (capacityBytes <= SCRATCH_BYTES) {
      const pooled = scratchPool.pop();
      this.buffer = pooled ?? new Uint8Array(SCRATCH_BYTES);
      this.view =
        (pooled === undefined ? undefined : scratchViews.get(pooled)) ?? new DataView(this.buffer.buffer);
      this.borrowed = true;
    } else {
      this.buffer = new Uint8Array(capacityBytes);
      this.view = new DataView(this.buffer.buffer);
      this.borrowed = false;
    }
  }

  /** Gives the scratch buffer back; called by finish, and by callers that abandon a writer. */
  release(): void {
    if (this.borrowed) {
      this.borrowed = false;
      if (scratchPool.length < SCRATCH_POOL_MAX) {
        scratchPool.push(this.buffer);
        scratchViews.set(this.buffer, this.view);
      }
    }
  }

  private reserve(sizeBytes: number): void {
    const needed = this.length + sizeBytes;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.length));
    this.release();
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "value does not fit in u8", { value });
    }
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "value does not fit in u16", { value });
    }
    this.reserve(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "value does not fit in u32", { value });
    }
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
    return this;
  }

  u64(value: bigint): this {
    if (value < 0n || value >= U64_LIMIT) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "value does not fit in u64", { value });
    }
    this.reserve(8);
    this.view.setBigUint64(this.length, value);
    this.length += 8;
    return this;
  }

  i64(value: bigint): this {
    if (value < I64_MIN || value >= I64_LIMIT) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "value does not fit in i64", { value });
    }
    this.reserve(8);
    this.view.setBigInt64(this.length, value);
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  /** Bytes of a length fixed by the format (hashes, keys): no length prefix. */
  fixedBytes(bytes: Uint8Array, sizeBytes: number): this {
    if (bytes.length !== sizeBytes) {
      throw new EncodeError("ENCODE_INVALID_VALUE", "fixed-size field has the wrong length", {
        expectedBytes: sizeBytes,
        actualBytes: bytes.length,
      });
    }
    this.reserve(sizeBytes);
    this.buffer.set(bytes, this.length);
    this.length += sizeBytes;
    return this;
  }

  /** u32 length, then the bytes. */
  bytes(bytes: Uint8Array, sizeBytesMax: number): this {
    if (bytes.length > sizeBytesMax) {
      throw new EncodeError("ENCODE_TOO_LONG", "byte field exceeds its limit", {
        sizeBytes: bytes.length,
        sizeBytesMax,
      });
    }
    this.u32(bytes.length);
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** u32 length, then the UTF-8 bytes. Lone surrogates cannot be encoded. */
  string(text: string, sizeBytesMax: number): this {
    if (!text.isWellFormed()) {
      throw new EncodeError("ENCODE_INVALID_VALUE", "text contains a lone surrogate");
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit; encode in place, then write the length.
    this.reserve(4 + text.length * 3);
    const start = this.length + 4;
    const written =
      text.length <= ASCII_LOOP_UNITS_MAX && this.#asciiInto(text, start)
        ? text.length
        : utf8Encoder.encodeInto(text, this.buffer.subarray(start)).written;
    if (written > sizeBytesMax) {
      throw new EncodeError("ENCODE_TOO_LONG", "text field exceeds its limit", {
        sizeBytes: written,
        sizeBytesMax,
      });
    }
    this.view.setUint32(this.length, written);
    this.length = start + written;
    return this;
  }

  /**
   * Writes an ASCII text's bytes at `start` (its UTF-8 is its code units) and returns true; false,
   * with bytes written that the caller overwrites, at the first code unit that is not ASCII.
   * Short texts: cheaper than encodeInto's view and call.
   */
  #asciiInto(text: string, start: number): boolean {
    const buffer = this.buffer;
    for (let index = 0; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code > 0x7f) return false;
      buffer[start + index] = code;
    }
    return true;
  }

  /**
   * Starts a length-prefixed field whose content is written next (a nested structure):
   * reserves the u32 length and returns its position for `endLengthPrefixed`.
   */
  beginLengthPrefixed(): number {
    const position = this.length;
    this.reserve(4);
    this.length += 4;
    return position;
  }

  endLengthPrefixed(position: number, sizeBytesMax: number): this {
    const sizeBytes = this.length - position - 4;
    assert(sizeBytes >= 0, "endLengthPrefixed after its begin");
    if (sizeBytes > sizeBytesMax) {
      throw new EncodeError("ENCODE_TOO_LONG", "field exceeds its limit", { sizeBytes, sizeBytesMax });
    }
    this.view.setUint32(position, sizeBytes);
    return this;
  }

  /** Bytes written so far: a copy owned by the caller. The writer is done after this. */
  finish(): Uint8Array {
    const out = this.buffer.slice(0, this.length);
    this.release();
    return out;
  }

  get sizeBytes(): number {
    return this.length;
  }
}
