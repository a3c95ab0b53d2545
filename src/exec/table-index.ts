/**
 * An ordered index of a table's ids, kept in the state itself, so a contract can scan its rows
 * by prefix although state keys are hashes (ADR 0007, "State"). The index of table `t` lives in
 * the contract's own reserved table `_ix-t` (CONTRACT_TABLE_PATTERN lets only the executor's
 * side name tables starting with "_"), so scans are deterministic, provable and travel with
 * snapshots like any other state.
 *
 *   id "meta"            {version: 1, count, pageNext, pages: [[pageNo, firstId], ...]}
 *   id "page" ‖ u32 n    {version: 1, ids: [id, ...]}                  (ids sorted by bytes)
 *
 * Pages are in id order; page i holds the ids from its firstId up to the next page's firstId.
 * A page splits in two when it would pass TABLE_INDEX_PAGE_IDS_MAX ids (appending at either end
 * starts a new page instead, so ascending inserts fill pages); after a delete, a page merges into
 * a neighbour when both together hold at most half a page. Hence any two adjacent pages hold
 * more than half a page, which bounds the pages by TABLE_INDEX_PAGES_MAX for TABLE_INDEX_IDS_MAX
 * ids. Values are canonical values, decoded strictly; a malformed index is a bug (assert).
 *
 * `TableIndex` caches what it reads during one call and writes each changed page once at
 * `flush()`, so a call that inserts many ids writes few entries.
 * @module
 */
import { assert } from "../base/assert.ts";
import { compareBytes } from "../base/bytes.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import { decodeValue, encodeValue, type Value } from "../encoding/value.ts";
import { isValueMap } from "./args.ts";
import type { ContractState } from "./contract.ts";
import { ExecutionError } from "./errors.ts";
import {
  SANDBOX_STATE_ID_BYTES_MAX,
  TABLE_INDEX_IDS_MAX,
  TABLE_INDEX_PAGE_IDS_MAX,
  TABLE_INDEX_PAGES_MAX,
  TX_STATE_WRITE_BYTES_MAX,
} from "./limits.ts";
import { CONTRACT_TABLE_PATTERN } from "./state-keys.ts";

export const TABLE_INDEX_TABLE_PREFIX = "_ix-";
export const TABLE_INDEX_VERSION = 1n;
const META_ID = new Uint8Array([0x6d, 0x65, 0x74, 0x61]); // "meta"
const PAGE_ID_PREFIX = [0x70, 0x61, 0x67, 0x65]; // "page"
const PAGE_MERGE_IDS_MAX = TABLE_INDEX_PAGE_IDS_MAX / 2;

/** The reserved table holding the index of `table`. */
export function tableIndexTableOf(table: string): string {
  assert(!table.startsWith("_"), "reserved tables are not indexed");
  const indexTable = `${TABLE_INDEX_TABLE_PREFIX}${table}`;
  assert(CONTRACT_TABLE_PATTERN.test(indexTable), "index table names are table names");
  return indexTable;
}

function pageIdOf(pageNo: number): Uint8Array {
  assert(Number.isInteger(pageNo) && pageNo >= 1);
  assert(pageNo <= 0xffff_ffff);
  return new Uint8Array([
    ...PAGE_ID_PREFIX,
    (pageNo >>> 24) & 0xff,
    (pageNo >>> 16) & 0xff,
    (pageNo >>> 8) & 0xff,
    pageNo & 0xff,
  ]);
}

interface PageRef {
  readonly pageNo: number;
  firstId: Uint8Array;
}

interface Meta {
  count: number;
  pageNext: number;
  pages: PageRef[];
}

export interface ScanOptions {
  /** Only ids starting with these bytes (default: all). */
  readonly prefix?: Uint8Array;
  /** Only ids after this one, exclusive (to continue a scan). */
  readonly after?: Uint8Array;
  /** Most ids returned (at least 1). */
  readonly limit: number;
}

function hasPrefix(id: Uint8Array, prefix: Uint8Array): boolean {
  if (id.length < prefix.length) return false;
  for (let index = 0; index < prefix.length; index++) if (id[index] !== prefix[index]) return false;
  return true;
}

/** Position of the first id >= `id` in a sorted list (binary search). */
function lowerBound(ids: readonly Uint8Array[], id: Uint8Array): number {
  let low = 0;
  let high = ids.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareBytes(ids[middle]!, id) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

function naturalOf(value: Value | undefined, what: string): number {
  assert(typeof value === "bigint", `table index: ${what} is an integer`);
  assert(value >= 0n && value <= 0xffff_ffffn, `table index: ${what} is a u32`);
  return Number(value);
}

function bytesOf(value: Value | undefined, what: string): Uint8Array {
  assert(value instanceof Uint8Array, `table index: ${what} is bytes`);
  assert(value.length <= SANDBOX_STATE_ID_BYTES_MAX, `table index: ${what} is a bounded id`);
  return value;
}

export function decodeIndexMeta(bytes: Uint8Array): Meta {
  const value = decodeValue(bytes, TX_STATE_WRITE_BYTES_MAX);
  assert(isValueMap(value), "table index: meta is a map");
  assert(value.version === TABLE_INDEX_VERSION, "table index: known version");
  const pagesValue = value.pages;
  assert(Array.isArray(pagesValue), "table index: pages is a list");
  const pages: PageRef[] = (pagesValue as readonly Value[]).map((entry) => {
    assert(Array.isArray(entry) && entry.length === 2, "table index: a page ref is a pair");
    const pair = entry as readonly Value[];
    return { pageNo: naturalOf(pair[0], "pageNo"), firstId: bytesOf(pair[1], "firstId") };
  });
  assert(pages.length <= TABLE_INDEX_PAGES_MAX, "table index: bounded pages");
  return { count: naturalOf(value.count, "count"), pageNext: naturalOf(value.pageNext, "pageNext"), pages };
}

function encodeIndexMeta(meta: Meta): Uint8Array {
  return encodeValue({
    version: TABLE_INDEX_VERSION,
    count: BigInt(meta.count),
    pageNext: BigInt(meta.pageNext),
    pages: meta.pages.map((page) => [BigInt(page.pageNo), page.firstId]),
  });
}

export function decodeIndexPage(bytes: Uint8Array): Uint8Array[] {
  const value = decodeValue(bytes, TX_STATE_WRITE_BYTES_MAX);
  assert(isValueMap(value), "table index: a page is a map");
  assert(value.version === TABLE_INDEX_VERSION, "table index: known version");
  const idsValue = value.ids;
  assert(Array.isArray(idsValue), "table index: ids is a list");
  const ids = (idsValue as readonly Value[]).map((id) => bytesOf(id, "id"));
  assert(ids.length >= 1 && ids.length <= TABLE_INDEX_PAGE_IDS_MAX, "table index: page size");
  return ids;
}

function encodeIndexPage(ids: readonly Uint8Array[]): Uint8Array {
  return encodeValue({ version: TABLE_INDEX_VERSION, ids: [...ids] });
}

interface TableCache {
  meta: Meta;
  metaDirty: boolean;
  readonly pages: Map<number, Uint8Array[]>;
  /** Pages written (a list) or removed (null) since the last flush. */
  readonly pagesDirty: Map<number, Uint8Array[] | null>;
}

/** The ordered indexes of one contract's tables, over its own ContractState, for one call. */
export class TableIndex {
  readonly #state: ContractState;
  readonly #tables = new Map<string, TableCache>();

  constructor(state: ContractState) {
    this.#state = state;
  }

  /**
   * An entry of the index, or undefined when the state has none. A read the transaction could not
   * make (it ran out of gas, or broke a limit before: `get` then answers nothing) fails the
   * operation with EXEC_READ_REFUSED (the transaction fails with the first cause anyway), rather
   * than passing for a missing entry: a listed page that is missing is a broken index (assert).
   */
  #read(table: string, id: Uint8Array): Uint8Array | undefined {
    const bytes = this.#state.get(table, id);
    if (bytes !== undefined) return bytes;
    const peek = this.#state.peek;
    if (peek !== undefined && peek.call(this.#state, table, id) !== undefined) {
      throw new ExecutionError(
        "EXEC_READ_REFUSED",
        "the table's index could not be read: the transaction ran out of gas or broke a limit before",
        { table },
      );
    }
    return undefined;
  }

  #table(table: string): TableCache {
    const cached = this.#tables.get(table);
    if (cached !== undefined) return cached;
    const bytes = this.#read(tableIndexTableOf(table), META_ID);
    const meta: Meta = bytes === undefined ? { count: 0, pageNext: 1, pages: [] } : decodeIndexMeta(bytes);
    const cache: TableCache = { meta, metaDirty: false, pages: new Map(), pagesDirty: new Map() };
    this.#tables.set(table, cache);
    return cache;
  }

  #page(table: string, cache: TableCache, pageNo: number): Uint8Array[] {
    const cached = cache.pages.get(pageNo);
    if (cached !== undefined) return cached;
    const bytes = this.#read(tableIndexTableOf(table), pageIdOf(pageNo));
    assert(bytes !== undefined, "table index: a listed page exists");
    const ids = decodeIndexPage(bytes);
    cache.pages.set(pageNo, ids);
    return ids;
  }

  /** Index of the page whose range holds `id` (the first page for ids below every page). */
  #pageIndexOf(meta: Meta, id: Uint8Array): number {
    assert(meta.pages.length > 0);
    let low = 0;
    let high = meta.pages.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (compareBytes(meta.pages[middle]!.firstId, id) <= 0) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  #putPage(cache: TableCache, pageNo: number, ids: Uint8Array[]): void {
    assert(ids.length >= 1 && ids.length <= TABLE_INDEX_PAGE_IDS_MAX);
    cache.pages.set(pageNo, ids);
    cache.pagesDirty.set(pageNo, ids);
  }

  #newPage(cache: TableCache, ids: Uint8Array[]): PageRef {
    const pageNo = cache.meta.pageNext;
    cache.meta.pageNext += 1;
    this.#putPage(cache, pageNo, ids);
    return { pageNo, firstId: ids[0]! };
  }

  /** True when `id` is in the index of `table`. */
  has(table: string, id: Uint8Array): boolean {
    const cache = this.#table(table);
    if (cache.meta.pages.length === 0) return false;
    const ref = cache.meta.pages[this.#pageIndexOf(cache.meta, id)]!;
    const ids = this.#page(table, cache, ref.pageNo);
    const position = lowerBound(ids, id);
    return position < ids.length && compareBytes(ids[position]!, id) === 0;
  }

  /** Adds `id` (nothing when present); EXEC_TABLE_INDEX_FULL when the table holds the most ids. */
  insert(table: string, id: Uint8Array): Result<void, ExecutionError> {
    assert(id.length <= SANDBOX_STATE_ID_BYTES_MAX, "ids are checked before indexing");
    const cache = this.#table(table);
    const meta = cache.meta;
    if (meta.pages.length === 0) {
      meta.pages.push(this.#newPage(cache, [id]));
      meta.count = 1;
      cache.metaDirty = true;
      return ok(undefined);
    }
    const pageIndex = this.#pageIndexOf(meta, id);
    const ref = meta.pages[pageIndex]!;
    const ids = this.#page(table, cache, ref.pageNo);
    const position = lowerBound(ids, id);
    if (position < ids.length && compareBytes(ids[position]!, id) === 0) return ok(undefined);
    if (meta.count >= TABLE_INDEX_IDS_MAX) {
      return fail(
        new ExecutionError("EXEC_TABLE_INDEX_FULL", "the table holds the most rows a table may hold", {
          table,
          idsMax: TABLE_INDEX_IDS_MAX,
        }),
      );
    }
    meta.count += 1;
    cache.metaDirty = true;
    if (ids.length < TABLE_INDEX_PAGE_IDS_MAX) {
      const next = [...ids.slice(0, position), id, ...ids.slice(position)];
      this.#putPage(cache, ref.pageNo, next);
      if (position === 0) ref.firstId = id;
      return ok(undefined);
    }
    // A full page: append at an end starts a new page; otherwise split in two halves.
    const isLast = pageIndex === meta.pages.length - 1;
    if (position === ids.length && isLast) {
      meta.pages.push(this.#newPage(cache, [id]));
    } else if (position === 0 && pageIndex === 0) {
      const first = this.#newPage(cache, [id]);
      meta.pages.unshift(first);
    } else {
      const next = [...ids.slice(0, position), id, ...ids.slice(position)];
      const half = next.length >>> 1;
      this.#putPage(cache, ref.pageNo, next.slice(0, half));
      ref.firstId = next[0]!;
      meta.pages.splice(pageIndex + 1, 0, this.#newPage(cache, next.slice(half)));
    }
    assert(meta.pages.length <= TABLE_INDEX_PAGES_MAX, "adjacent pages hold more than half a page");
    return ok(undefined);
  }

  /** Removes `id` (nothing when absent). */
  remove(table: string, id: Uint8Array): void {
    const cache = this.#table(table);
    const meta = cache.meta;
    if (meta.pages.length === 0) return;
    const pageIndex = this.#pageIndexOf(meta, id);
    const ref = meta.pages[pageIndex]!;
    const ids = this.#page(table, cache, ref.pageNo);
    const position = lowerBound(ids, id);
    if (position >= ids.length || compareBytes(ids[position]!, id) !== 0) return;
    const next = [...ids.slice(0, position), ...ids.slice(position + 1)];
    meta.count -= 1;
    cache.metaDirty = true;
    assert(meta.count >= 0);
    if (next.length === 0) {
      this.#dropPage(cache, pageIndex);
      return;
    }
    this.#putPage(cache, ref.pageNo, next);
    ref.firstId = next[0]!;
    this.#mergeAround(table, cache, pageIndex);
  }

  #dropPage(cache: TableCache, pageIndex: number): void {
    const ref = cache.meta.pages[pageIndex]!;
    cache.pages.delete(ref.pageNo);
    cache.pagesDirty.set(ref.pageNo, null);
    cache.meta.pages.splice(pageIndex, 1);
  }

  /** Merges page `pageIndex` with a neighbour when both fit half a page together. */
  #mergeAround(table: string, cache: TableCache, pageIndex: number): void {
    const pages = cache.meta.pages;
    const ids = this.#page(table, cache, pages[pageIndex]!.pageNo);
    if (pageIndex > 0) {
      const left = pages[pageIndex - 1]!;
      const leftIds = this.#page(table, cache, left.pageNo);
      if (leftIds.length + ids.length <= PAGE_MERGE_IDS_MAX) {
        this.#putPage(cache, left.pageNo, [...leftIds, ...ids]);
        this.#dropPage(cache, pageIndex);
        return;
      }
    }
    if (pageIndex + 1 < pages.length) {
      const right = pages[pageIndex + 1]!;
      const rightIds = this.#page(table, cache, right.pageNo);
      if (ids.length + rightIds.length <= PAGE_MERGE_IDS_MAX) {
        this.#putPage(cache, pages[pageIndex]!.pageNo, [...ids, ...rightIds]);
        this.#dropPage(cache, pageIndex + 1);
      }
    }
  }

  /** Ids of `table` in byte order, after `after` and starting with `prefix`, at most `limit`. */
  scan(table: string, options: ScanOptions): Uint8Array[] {
    assert(Number.isInteger(options.limit) && options.limit >= 1, "scans return at least one id");
    const prefix = options.prefix ?? new Uint8Array(0);
    const cache = this.#table(table);
    const meta = cache.meta;
    const found: Uint8Array[] = [];
    if (meta.pages.length === 0) return found;
    let start = prefix;
    if (options.after !== undefined && compareBytes(options.after, start) >= 0) start = options.after;
    for (let pageIndex = this.#pageIndexOf(meta, start); pageIndex < meta.pages.length; pageIndex++) {
      const ids = this.#page(table, cache, meta.pages[pageIndex]!.pageNo);
      for (let position = lowerBound(ids, start); position < ids.length; position++) {
        const id = ids[position]!;
        if (options.after !== undefined && compareBytes(id, options.after) <= 0) continue;
        if (!hasPrefix(id, prefix)) return found;
        found.push(id);
        if (found.length >= options.limit) return found;
      }
    }
    return found;
  }

  /** Ids in `table`'s index. */
  count(table: string): number {
    return this.#table(table).meta.count;
  }

  /** Writes the changed pages and page lists; the cache stays valid. */
  flush(): void {
    const tables = [...this.#tables.keys()].sort();
    for (const table of tables) {
      const cache = this.#tables.get(table)!;
      const indexTable = tableIndexTableOf(table);
      const pageNos = [...cache.pagesDirty.keys()].sort((left, right) => left - right);
      for (const pageNo of pageNos) {
        const ids = cache.pagesDirty.get(pageNo)!;
        if (ids === null) this.#state.delete(indexTable, pageIdOf(pageNo));
        else this.#state.set(indexTable, pageIdOf(pageNo), encodeIndexPage(ids));
      }
      cache.pagesDirty.clear();
      if (cache.metaDirty) {
        if (cache.meta.pages.length === 0) this.#state.delete(indexTable, META_ID);
        else this.#state.set(indexTable, META_ID, encodeIndexMeta(cache.meta));
        cache.metaDirty = false;
      }
    }
  }

  /** Forgets what was read (after another call may have written the same tables). */
  clear(): void {
    for (const cache of this.#tables.values()) {
      assert(cache.pagesDirty.size === 0 && !cache.metaDirty, "flush before clearing");
    }
    this.#tables.clear();
  }
}
