/**
 * Synchronous views of the store for the Merkle structures. `MerkleLog` and `SparseMerkleTree`
 * call their node stores synchronously; the store is asynchronous. Each view:
 * - keeps the nodes written since the last commit in a pending batch, which `commitBlock` writes
 *   atomically with the block (PersistentLedger takes them from here);
 * - reads the pending batch first, then a bounded cache, then the back end: synchronously when
 *   the back end can (SQLite), otherwise it throws NodeMissingError naming the node, and the
 *   caller fetches what was missing asynchronously and runs the operation again
 *   (`withPrefetchedNodes`). For the state tree the caller first fetches the paths of the keys it
 *   is about to update (`prefetchStatePaths`), level by level, so the retry loop is a safety net;
 *   for the log, positions do not depend on hash values, so a dry run with placeholder hashes
 *   finds every node an operation needs in one pass (`prefetchLogNodes`).
 * Choice and measurements: docs/adr/0002-storage.md.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { type LogNodeStore, MerkleLog } from "../ledger/index.ts";
import { LOG_LEVELS_MAX } from "../ledger/merkle-proof.ts";
import {
  STATE_HASH_BYTES,
  STATE_INTERNAL_PREFIX,
  STATE_LEAF_PREFIX,
  type StateNodeStore,
} from "../state/index.ts";
import { type MissingNode, NodeMissingError, StoreError } from "./errors.ts";
import {
  LOG_NODE_CACHE_ENTRIES_MAX,
  PREFETCH_NODES_PER_QUERY_MAX,
  PREFETCH_ROUNDS_MAX,
  STATE_NODE_CACHE_BYTES_MAX,
} from "./limits.ts";
import type { LogNodeEntry, StateNodeEntry, Store, SyncNodeReader } from "./store.ts";
import { corrupt } from "./store-common.ts";

const LOG_HASH_BYTES = 32;
/** Per-entry bookkeeping the state cache charges besides the node bytes (map entry, key string). */
const STATE_CACHE_ENTRY_OVERHEAD_BYTES = 160;
const PLACEHOLDER_HASH = new Uint8Array(LOG_HASH_BYTES);

/**
 * A bounded cache in two generations: when the young map is full it becomes the old one and the
 * previous old one is dropped. Every operation is O(1) (evicting one entry at a time from an
 * insertion-ordered Map is not: V8 skips the deleted entries on every walk from the front).
 */
class GenerationalCache<Value> {
  readonly #costMax: number;
  readonly #costOf: (value: Value) => number;
  #young = new Map<string, Value>();
  #old = new Map<string, Value>();
  #youngCost = 0;

  constructor(costMax: number, costOf: (value: Value) => number) {
    assert(costMax > 0, "a cache holds something");
    this.#costMax = costMax;
    this.#costOf = costOf;
  }

  get(key: string): Value | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  has(key: string): boolean {
    return this.#young.has(key) || this.#old.has(key);
  }

  set(key: string, value: Value): void {
    if (this.#young.has(key)) return;
    const cost = this.#costOf(value);
    if (this.#youngCost + cost > this.#costMax / 2) {
      this.#old = this.#young;
      this.#young = new Map();
      this.#youngCost = 0;
    }
    this.#young.set(key, value);
    this.#youngCost += cost;
    assert(this.#youngCost <= this.#costMax / 2 + cost, "the young generation is bounded");
  }
}

function logKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/** The transparency log's node store, persisted through a Store. */
export class StoreLogNodes implements LogNodeStore {
  readonly #reader: SyncNodeReader | null;
  /** Below this size the store holds only the log's frontier (a store joined from a snapshot). */
  readonly frontierSize: number;
  #committedSize: number;
  /** pendingOfLevel[level]: hashes put since the last commit, from index committedCount(level). */
  readonly #pendingOfLevel: Uint8Array[][] = Array.from({ length: LOG_LEVELS_MAX }, () => []);
  #pendingCount = 0;
  readonly #cache = new GenerationalCache<Uint8Array>(LOG_NODE_CACHE_ENTRIES_MAX, () => 1);
  /** Positions a dry run missed (prefetchLogNodes), or null outside a dry run. */
  #recording: Array<{ level: number; index: number }> | null = null;

  constructor(reader: SyncNodeReader | null, committedSize: number, frontierSize = 0) {
    assert(Number.isSafeInteger(committedSize) && committedSize >= 0, "a log size is a safe integer");
    assert(Number.isSafeInteger(frontierSize) && frontierSize >= 0, "a frontier size is a safe integer");
    assert(frontierSize <= committedSize, "the log holds at least its frontier");
    this.#reader = reader;
    this.#committedSize = committedSize;
    this.frontierSize = frontierSize;
  }

  /** A MerkleLog over this view (continuing from the frontier when the store holds only that). */
  openLog(hash: HashFunction): MerkleLog {
    return new MerkleLog({ store: this, hash, frontierSize: this.frontierSize });
  }

  get committedSize(): number {
    return this.#committedSize;
  }

  #committedCount(level: number): number {
    return Math.floor(this.#committedSize / 2 ** level);
  }

  get(level: number, index: number): Uint8Array | undefined {
    assert(Number.isInteger(level) && level >= 0 && level < LOG_LEVELS_MAX, "log level in range");
    assert(Number.isSafeInteger(index) && index >= 0, "log index is a safe integer");
    const committedCount = this.#committedCount(level);
    if (index >= committedCount) return this.#pendingOfLevel[level]![index - committedCount];
    const cached = this.#cache.get(logKey(level, index));
    if (cached !== undefined) return cached;
    if (this.#reader !== null) {
      const stored = this.#reader.logNode(level, index);
      if (stored === undefined || stored.length !== LOG_HASH_BYTES) {
        throw corrupt("a transparency-log node below the committed size is missing", { level, index });
      }
      this.#remember(level, index, stored);
      return stored;
    }
    if (this.#recording !== null) {
      this.#recording.push({ level, index });
      return PLACEHOLDER_HASH;
    }
    throw new NodeMissingError({ kind: "log", level, index });
  }

  put(level: number, index: number, hash: Uint8Array): void {
    assert(hash.length === LOG_HASH_BYTES, "log nodes are 32-byte hashes");
    assert(this.#recording === null, "no writes during a dry run");
    const pending = this.#pendingOfLevel[level];
    assert(pending !== undefined, "log level in range");
    assert(index === this.#committedCount(level) + pending.length, "log nodes are put in index order");
    pending.push(hash.slice());
    this.#pendingCount++;
  }

  /** The nodes put since the last commit, for the block batch. */
  pendingEntries(): LogNodeEntry[] {
    const entries: LogNodeEntry[] = [];
    for (let level = 0; level < LOG_LEVELS_MAX; level++) {
      const base = this.#committedCount(level);
      const pending = this.#pendingOfLevel[level]!;
      for (let offset = 0; offset < pending.length; offset++) {
        entries.push({ level, index: base + offset, hash: pending[offset]! });
      }
    }
    assert(entries.length === this.#pendingCount, "every pending node is listed");
    return entries;
  }

  /** The batch holding the pending nodes is durable at log size `size`. */
  markCommitted(size: number): void {
    assert(
      size === this.#committedSize + this.#pendingOfLevel[0]!.length,
      "the committed size covers the leaves",
    );
    const entries = this.pendingEntries();
    for (const level of this.#pendingOfLevel) level.length = 0;
    this.#pendingCount = 0;
    this.#committedSize = size;
    // Keep the newest nodes: they are the ones proofs of recent receipts need.
    for (const entry of entries) this.#remember(entry.level, entry.index, entry.hash);
  }

  /** Forgets the pending nodes (the commit failed); the MerkleLog that wrote them is stale. */
  discardPending(): void {
    for (const level of this.#pendingOfLevel) level.length = 0;
    this.#pendingCount = 0;
  }

  /** Adds fetched nodes to the cache. */
  addFetched(level: number, index: number, hash: Uint8Array | undefined): void {
    if (hash === undefined || hash.length !== LOG_HASH_BYTES) {
      throw corrupt("a transparency-log node below the committed size is missing", { level, index });
    }
    this.#remember(level, index, hash);
  }

  #remember(level: number, index: number, hash: Uint8Array): void {
    assert(hash.length === LOG_HASH_BYTES, "log nodes are 32-byte hashes");
    this.#cache.set(logKey(level, index), hash);
  }

  /** Runs `operation` with placeholder hashes for uncached nodes; returns the positions it read. */
  recordMisses(operation: () => unknown): Array<{ level: number; index: number }> {
    assert(this.#recording === null, "dry runs do not nest");
    const recorded: Array<{ level: number; index: number }> = [];
    this.#recording = recorded;
    try {
      operation();
    } catch (error) {
      // Typed errors (a bad index) come back in the real run; a broken invariant does not wait.
      if (!(error instanceof Error) || error.name === "AssertionError") {
        this.#recording = null;
        throw error;
      }
    }
    this.#recording = null;
    return recorded;
  }
}

/** Bytes of a node as a cache key. */
function stateKey(hash: Uint8Array): string {
  return bytesToHex(hash);
}

/** The state tree's node store, persisted through a Store. */
export class StoreStateNodes implements StateNodeStore {
  readonly #reader: SyncNodeReader | null;
  readonly #pending = new Map<string, Uint8Array>();
  #pendingEntries: StateNodeEntry[] = [];
  readonly #cache = new GenerationalCache<Uint8Array>(
    STATE_NODE_CACHE_BYTES_MAX,
    (encoded) => encoded.length + STATE_CACHE_ENTRY_OVERHEAD_BYTES,
  );

  constructor(reader: SyncNodeReader | null) {
    this.#reader = reader;
  }

  get(hash: Uint8Array): Uint8Array | undefined {
    assert(hash.length === STATE_HASH_BYTES, "state node hashes are 32 bytes");
    const key = stateKey(hash);
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    if (this.#reader === null) throw new NodeMissingError({ kind: "state", hash: hash.slice() });
    const stored = this.#reader.stateNode(hash);
    if (stored !== undefined) this.#remember(key, stored);
    return stored;
  }

  /** True when the node is pending or cached (a prefetch skips it). */
  has(hash: Uint8Array): boolean {
    const key = stateKey(hash);
    return this.#pending.has(key) || this.#cache.has(key);
  }

  putBatch(nodes: Array<[hash: Uint8Array, encodedNode: Uint8Array]>): void {
    for (const [hash, encoded] of nodes) {
      assert(hash.length === STATE_HASH_BYTES, "state node hashes are 32 bytes");
      assert(encoded.length >= 65, "state nodes hold at least 65 bytes");
      const key = stateKey(hash);
      if (this.#pending.has(key)) continue;
      this.#pending.set(key, encoded);
      this.#pendingEntries.push([hash, encoded]);
    }
    assert(this.#pending.size === this.#pendingEntries.length, "one entry per pending node");
  }

  pendingEntries(): StateNodeEntry[] {
    return this.#pendingEntries;
  }

  /** The batch holding the pending nodes is durable: keep copies of them in the cache. */
  markCommitted(): void {
    for (const [hash, encoded] of this.#pendingEntries) this.#remember(stateKey(hash), encoded.slice());
    this.discardPending();
  }

  discardPending(): void {
    this.#pending.clear();
    this.#pendingEntries = [];
  }

  addFetched(hash: Uint8Array, encoded: Uint8Array | undefined): void {
    if (encoded === undefined) return;
    this.#remember(stateKey(hash), encoded);
  }

  #remember(key: string, encoded: Uint8Array): void {
    assert(encoded.length >= 65, "state nodes hold at least 65 bytes");
    this.#cache.set(key, encoded);
  }
}

/**
 * Runs a synchronous operation over the views, fetching whatever it reports missing and running
 * it again, at most PREFETCH_ROUNDS_MAX times. With a synchronous back end it runs once.
 */
export async function withPrefetchedNodes<Result>(
  store: Store,
  views: { readonly log?: StoreLogNodes; readonly state?: StoreStateNodes },
  operation: () => Result,
): Promise<Result> {
  for (let round = 0; round < PREFETCH_ROUNDS_MAX; round++) {
    try {
      return operation();
    } catch (error) {
      if (!(error instanceof Error) || error.name !== "NodeMissingError") throw error;
      await fetchMissing(store, views, (error as NodeMissingError).missing);
    }
  }
  throw new StoreError(
    "STORE_UNAVAILABLE",
    "an operation kept missing nodes after PREFETCH_ROUNDS_MAX fetches",
    {
      rounds: PREFETCH_ROUNDS_MAX,
    },
  );
}

async function fetchMissing(
  store: Store,
  views: { readonly log?: StoreLogNodes; readonly state?: StoreStateNodes },
  missing: MissingNode,
): Promise<void> {
  if (missing.kind === "log") {
    assert(views.log !== undefined, "a log node is missed only by a log view");
    const [hash] = await store.readLogNodes([{ level: missing.level, index: missing.index }]);
    views.log.addFetched(missing.level, missing.index, hash);
    return;
  }
  assert(views.state !== undefined, "a state node is missed only by a state view");
  const [encoded] = await store.readStateNodes([missing.hash]);
  if (encoded === undefined) {
    throw corrupt("a state node the tree refers to is missing from the store", {
      hash: bytesToHex(missing.hash),
    });
  }
  views.state.addFetched(missing.hash, encoded);
}

/**
 * Fetches, in one query per batch of positions, every log node `operation` reads that is not
 * cached. The operation runs first on a shadow MerkleLog over the same view, in a dry run with
 * placeholder hashes: MerkleLog reads positions that depend on sizes and indices only, never on
 * hash values, so the dry run lists them all. The shadow (whose caches hold placeholder results)
 * is dropped; the caller then runs the operation on its own log, which finds every node cached.
 */
export async function prefetchLogNodes(
  store: Store,
  view: StoreLogNodes,
  operation: (shadow: MerkleLog) => unknown,
): Promise<void> {
  const positions = view.recordMisses(() => operation(view.openLog(store.hash)));
  for (let start = 0; start < positions.length; start += PREFETCH_NODES_PER_QUERY_MAX) {
    const slice = positions.slice(start, start + PREFETCH_NODES_PER_QUERY_MAX);
    const hashes = await store.readLogNodes(slice);
    for (let offset = 0; offset < slice.length; offset++) {
      view.addFetched(slice[offset]!.level, slice[offset]!.index, hashes[offset]);
    }
  }
}

/**
 * Fetches the nodes on the paths from `root` to each key, level by level (one query per level
 * and per PREFETCH_NODES_PER_QUERY_MAX nodes), so that reading or updating these keys finds its
 * nodes cached. With `withSiblings` it also fetches the siblings along the paths, which a
 * deletion needs to collapse a subtree.
 */
export async function prefetchStatePaths(
  store: Store,
  view: StoreStateNodes,
  root: Uint8Array,
  keys: readonly Uint8Array[],
  withSiblings: boolean,
): Promise<number> {
  let frontier: Array<{ hash: Uint8Array; keys: readonly Uint8Array[] }> = [{ hash: root, keys }];
  let fetched = 0;
  for (let depth = 0; depth <= 256 && frontier.length > 0; depth++) {
    const missing = frontier.map((item) => item.hash).filter((hash) => !isEmptyHash(hash) && !view.has(hash));
    fetched += await fetchStateNodes(store, view, missing);
    const next: Array<{ hash: Uint8Array; keys: readonly Uint8Array[] }> = [];
    const siblings: Uint8Array[] = [];
    for (const item of frontier) {
      if (isEmptyHash(item.hash) || !view.has(item.hash)) continue;
      const encoded = view.get(item.hash)!;
      if (encoded[0] === STATE_LEAF_PREFIX) continue;
      assert(encoded[0] === STATE_INTERNAL_PREFIX, "a stored node is a leaf or an internal node");
      const left = encoded.subarray(1, 33);
      const right = encoded.subarray(33, 65);
      const leftKeys = item.keys.filter((key) => bit(key, depth) === 0);
      const rightKeys = item.keys.filter((key) => bit(key, depth) === 1);
      if (leftKeys.length > 0) next.push({ hash: left, keys: leftKeys });
      if (rightKeys.length > 0) next.push({ hash: right, keys: rightKeys });
      if (withSiblings && leftKeys.length === 0) siblings.push(left);
      if (withSiblings && rightKeys.length === 0) siblings.push(right);
    }
    fetched += await fetchStateNodes(
      store,
      view,
      siblings.filter((hash) => !isEmptyHash(hash) && !view.has(hash)),
    );
    frontier = next;
  }
  return fetched;
}

async function fetchStateNodes(store: Store, view: StoreStateNodes, hashes: Uint8Array[]): Promise<number> {
  let fetched = 0;
  for (let start = 0; start < hashes.length; start += PREFETCH_NODES_PER_QUERY_MAX) {
    const slice = hashes.slice(start, start + PREFETCH_NODES_PER_QUERY_MAX);
    const nodes = await store.readStateNodes(slice);
    for (let offset = 0; offset < slice.length; offset++) view.addFetched(slice[offset]!, nodes[offset]);
    fetched += slice.length;
  }
  return fetched;
}

function bit(key: Uint8Array, depth: number): number {
  return (key[depth >> 3]! >> (7 - (depth & 7))) & 1;
}

function isEmptyHash(hash: Uint8Array): boolean {
  for (let index = 0; index < hash.length; index++) if (hash[index] !== 0) return false;
  return true;
}
