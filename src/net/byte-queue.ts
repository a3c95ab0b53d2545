/**
 * Received bytes waiting to be parsed, kept as the chunks the socket delivered. Reading copies
 * only when a field spans chunks, so a peer that trickles one byte at a time costs linear work,
 * not the quadratic cost of concatenating every chunk onto a growing buffer.
 * @module
 */
import { AssertionError, assert } from "../base/assert.ts";

export class ByteQueue {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes of chunks[0] already read. */
  private headOffset = 0;
  private bufferedBytes = 0;

  get length(): number {
    return this.bufferedBytes;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.length;
  }

  /** The byte at `index` from the front, without consuming it. */
  byteAt(index: number): number {
    assert(index >= 0, "a byte index is not negative");
    assert(index < this.bufferedBytes, "the byte is buffered");
    let remaining = index + this.headOffset;
    for (const chunk of this.chunks) {
      if (remaining < chunk.length) return chunk[remaining]!;
      remaining -= chunk.length;
    }
    throw new AssertionError("unreachable: the byte is buffered");
  }

  /** Consumes `count` bytes: a view when they sit in one chunk, else a copy. */
  read(count: number): Uint8Array {
    assert(count >= 0, "a read count is not negative");
    assert(count <= this.bufferedBytes, "a read takes only buffered bytes");
    const head = this.chunks[0];
    if (head !== undefined && head.length - this.headOffset >= count) {
      const view = head.subarray(this.headOffset, this.headOffset + count);
      this.consume(count);
      return view;
    }
    const out = new Uint8Array(count);
    let written = 0;
    while (written < count) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length - this.headOffset, count - written);
      out.set(chunk.subarray(this.headOffset, this.headOffset + take), written);
      written += take;
      this.consume(take);
    }
    return out;
  }

  /** Consumes everything buffered. */
  readAll(): Uint8Array {
    return this.read(this.bufferedBytes);
  }

  private consume(count: number): void {
    this.headOffset += count;
    this.bufferedBytes -= count;
    while (this.chunks.length > 0 && this.headOffset >= this.chunks[0]!.length) {
      this.headOffset -= this.chunks[0]!.length;
      this.chunks.shift();
    }
    assert(this.bufferedBytes >= 0, "never more consumed than buffered");
    if (this.chunks.length === 0) assert(this.headOffset === 0, "an empty queue has no offset");
  }
}
