/**
 * A block's receipts in one SQLite row (schema version 3): `block_receipts (height, ends,
 * encoded)`, where `encoded` is the block's encoded receipts concatenated in block order and
 * `ends` their end offsets in it, 4 bytes each, little-endian (receipt i is
 * `encoded[ends[i-1] … ends[i])`, ends[-1] = 0). One row per block instead of one per transaction
 * (docs/adr/0002-storage.md, "Receipts per block"); a single receipt is read with `substr`.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { StoreError } from "../errors.ts";

export const RECEIPT_END_BYTES = 4;

/** The row of a block's receipts. */
export function encodeBlockReceipts(receipts: readonly Uint8Array[]): {
  ends: Uint8Array;
  encoded: Uint8Array;
} {
  let sizeBytes = 0;
  for (const receipt of receipts) sizeBytes += receipt.length;
  assert(sizeBytes < 2 ** 32, "a block's receipts fit 4-byte offsets");
  const ends = new Uint8Array(receipts.length * RECEIPT_END_BYTES);
  const endsView = new DataView(ends.buffer);
  const encoded = new Uint8Array(sizeBytes);
  let position = 0;
  for (let index = 0; index < receipts.length; index++) {
    encoded.set(receipts[index]!, position);
    position += receipts[index]!.length;
    endsView.setUint32(index * RECEIPT_END_BYTES, position, true);
  }
  return { ends, encoded };
}

/** Receipts stored in a row (STORE_RECEIPTS_MISMATCH naming the height when the offsets are damaged). */
export function receiptCountOf(ends: Uint8Array, height: bigint): number {
  if (ends.length % RECEIPT_END_BYTES !== 0)
    throw receiptsMismatch("the receipts' offsets are malformed", height);
  return ends.length / RECEIPT_END_BYTES;
}

/** The receipts of a row, copied out of it, checked to tile `encoded` exactly. */
export function decodeBlockReceipts(ends: Uint8Array, encoded: Uint8Array, height: bigint): Uint8Array[] {
  const count = receiptCountOf(ends, height);
  const endsView = new DataView(ends.buffer, ends.byteOffset, ends.byteLength);
  const receipts: Uint8Array[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const end = endsView.getUint32(index * RECEIPT_END_BYTES, true);
    if (end < start || end > encoded.length)
      throw receiptsMismatch("the receipts' offsets are malformed", height);
    receipts.push(encoded.slice(start, end));
    start = end;
  }
  if (start !== encoded.length)
    throw receiptsMismatch("the receipts' offsets do not cover their bytes", height);
  return receipts;
}

/**
 * Where receipt `index` lies in `encoded`, from the bytes `substr(ends, …)` returned for it (see
 * `endsWindowOf`): [start, end).
 */
export function receiptBoundsOf(
  window: Uint8Array,
  index: number,
  height: bigint,
): { start: number; end: number } {
  const view = new DataView(window.buffer, window.byteOffset, window.byteLength);
  const expectedBytes = index === 0 ? RECEIPT_END_BYTES : 2 * RECEIPT_END_BYTES;
  if (window.length !== expectedBytes)
    throw receiptsMismatch("the block holds fewer receipts than transactions", height);
  const start = index === 0 ? 0 : view.getUint32(0, true);
  const end = view.getUint32(expectedBytes - RECEIPT_END_BYTES, true);
  if (end < start) throw receiptsMismatch("the receipts' offsets are malformed", height);
  return { start, end };
}

/** The 1-based `substr` start and length of the offsets receipt `index` needs (its start and end). */
export function endsWindowOf(index: number): { from: number; length: number } {
  assert(Number.isInteger(index) && index >= 0, "a receipt index");
  return index === 0
    ? { from: 1, length: RECEIPT_END_BYTES }
    : { from: (index - 1) * RECEIPT_END_BYTES + 1, length: 2 * RECEIPT_END_BYTES };
}

/** STORE_RECEIPTS_MISMATCH for the block at `height`. */
export function receiptsMismatch(message: string, height: bigint): StoreError {
  return new StoreError("STORE_RECEIPTS_MISMATCH", message, { height });
}
