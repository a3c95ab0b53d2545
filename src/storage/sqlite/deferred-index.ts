/**
 * Deferred indexes of the SQLite back end. Random-key index entries (transaction hash, sender,
 * state node hash) are not written on the commit path: every row carries its 8-byte key prefix,
 * and rows above a watermark are indexed in memory (a TailIndex, rebuilt from the rows when the
 * store opens). When the tail reaches its batch size, its entries are written into the index
 * table in one transaction, sorted by key, with the new watermark: each index page is then
 * written once per batch instead of once per block (docs/adr/0002-storage.md, "Indexes").
 * @module
 */
import { assert } from "../../base/assert.ts";

/** The in-memory key of an 8-byte prefix: its top 48 bits (an exact JavaScript number). */
export function tailKeyOf(prefix: bigint): number {
  return Number(BigInt.asUintN(64, prefix) >> 16n);
}

/**
 * The same key from the hash itself (its first 6 bytes, big-endian): no BigInt arithmetic, as the
 * commit path adds two keys per transaction.
 */
export function tailKeyOfHash(hash: Uint8Array): number {
  assert(hash.length >= 8, "hash prefixes need 8 bytes");
  const low = ((hash[2]! << 24) | (hash[3]! << 16) | (hash[4]! << 8) | hash[5]!) >>> 0;
  return hash[0]! * 2 ** 40 + hash[1]! * 2 ** 32 + low;
}

const NO_IDS: readonly number[] = Object.freeze([]);

/** Row ids (log indexes, state-node ids) above the watermark, by key; ids ascend per key. */
export class TailIndex {
  readonly #idsByKey = new Map<number, number[]>();
  #count = 0;

  get count(): number {
    return this.#count;
  }

  add(prefix: bigint, id: number): void {
    this.addKey(tailKeyOf(prefix), id);
  }

  /** `add` with the key already computed (`tailKeyOf` or `tailKeyOfHash`). */
  addKey(key: number, id: number): void {
    assert(Number.isSafeInteger(id) && id >= 0, "row ids are safe integers");
    const ids = this.#idsByKey.get(key);
    if (ids === undefined) this.#idsByKey.set(key, [id]);
    else {
      assert(ids[ids.length - 1]! < id, "tail ids are added in increasing order");
      ids.push(id);
    }
    this.#count++;
  }

  /** Ids whose key matches `prefix` (a superset of the exact matches: callers check the full hash). */
  idsOf(prefix: bigint): readonly number[] {
    return this.idsOfKey(tailKeyOf(prefix));
  }

  /** `idsOf` with the key already computed (`tailKeyOfHash`: no BigInt arithmetic). */
  idsOfKey(key: number): readonly number[] {
    return this.#idsByKey.get(key) ?? NO_IDS;
  }

  clear(): void {
    this.#idsByKey.clear();
    this.#count = 0;
  }
}
