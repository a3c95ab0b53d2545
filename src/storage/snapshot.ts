/**
 * State snapshots: the state at a height, exported as a stream of chunks with a manifest, and
 * imported on another store only after every chunk and the rebuilt root are verified.
 *
 * Chunk (docs/PROTOCOL.md, "State snapshot"):
 *   u8 version (1) | u32 chunkIndex | u32 count | count × (key (32) | bytes value)
 * at most SNAPSHOT_CHUNK_ENTRIES_MAX entries, keys strictly increasing within and across chunks.
 *   chunkHash = HASH(u8 len || "cityledger/snapshot-chunk/v1" || chunk)
 * Manifest:
 *   u8 version (1) | u64 height | stateRoot (32) | u64 entryCount | u32 chunkCount | chunkCount × chunkHash
 *   manifestHash = HASH(u8 len || "cityledger/snapshot-manifest/v1" || manifest)
 *
 * The importer trusts nothing but the state root it passes in (from a header whose commit
 * certificate it verified): the manifest must carry that root, each chunk must hash to the
 * manifest's entry for its position as it arrives, and the tree rebuilt from the entries must
 * have that root. Only then are its nodes written, in one transaction: a damaged, reordered,
 * missing or forged chunk leaves the importing store unchanged. `SnapshotImport` does the checks
 * chunk by chunk without writing (a joining node writes the nodes together with its first block,
 * Store.importSnapshotBase); `importSnapshot` writes them with `importState`.
 *
 * Serving: `indexSnapshot` walks the state once and keeps each chunk's first key besides the
 * manifest, so `exportSnapshotChunk` produces any one chunk by walking from its first key
 * (the state at a committed height stays in the store: nodes are content-addressed and never
 * pruned). `readLogFrontier` reads the transparency log's frontier a joining node continues from.
 * @module
 */
import { assert } from "../base/assert.ts";
import { compareBytes, equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { type LogFrontierPosition, logFrontierPositions, logRootOfFrontier } from "../ledger/index.ts";
import { MemoryStateNodeStore, SparseMerkleTree, STATE_LEAF_PREFIX } from "../state/index.ts";
import { SnapshotError } from "./errors.ts";
import {
  SNAPSHOT_CHUNK_BYTES_MAX,
  SNAPSHOT_CHUNK_BYTES_TARGET,
  SNAPSHOT_CHUNK_ENTRIES_MAX,
  SNAPSHOT_CHUNKS_MAX,
  SNAPSHOT_ENTRIES_MAX,
  SNAPSHOT_MANIFEST_BYTES_MAX,
} from "./limits.ts";
import { walkStateEntries } from "./state-walk.ts";
import { type LogNodeEntry, METADATA_KEYS, type StateNodeEntry, type Store } from "./store.ts";
import { corrupt, encodeU64 } from "./store-common.ts";

export const SNAPSHOT_VERSION = 1;
/**
 * Entries walked between yields to the event loop. On SQLite every node read is synchronous, so a
 * walk of the whole state (every 1,000 heights, to export a snapshot) would otherwise hold a
 * running validator's event loop for seconds: its votes and timers would wait.
 */
export const SNAPSHOT_WALK_YIELD_ENTRIES = 256;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const HASH_BYTES = 32;
const KEY_BYTES = 32;

export interface SnapshotManifest {
  readonly height: bigint;
  readonly stateRoot: Uint8Array;
  readonly entryCount: number;
  readonly chunkHashes: readonly Uint8Array[];
}

export interface SnapshotEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

export function snapshotChunkHash(chunk: Uint8Array, hash: HashFunction): Uint8Array {
  return hash(domainSeparated(DOMAIN_TAGS.snapshotChunk, chunk));
}

/** The name peers give a snapshot they offer: the hash of its encoded manifest. */
export function snapshotManifestHash(encodedManifest: Uint8Array, hash: HashFunction): Uint8Array {
  assert(encodedManifest.length <= SNAPSHOT_MANIFEST_BYTES_MAX, "a manifest is within its limit");
  return hash(domainSeparated(DOMAIN_TAGS.snapshotManifest, encodedManifest));
}

export function encodeSnapshotChunk(chunkIndex: number, entries: readonly SnapshotEntry[]): Uint8Array {
  assert(entries.length > 0 && entries.length <= SNAPSHOT_CHUNK_ENTRIES_MAX, "a chunk holds 1..MAX entries");
  const writer = new Writer(64 + entries.length * 128);
  writer.u8(SNAPSHOT_VERSION).u32(chunkIndex).u32(entries.length);
  for (const entry of entries)
    writer.fixedBytes(entry.key, KEY_BYTES).bytes(entry.value, STATE_VALUE_BYTES_MAX);
  return writer.finish();
}

export function decodeSnapshotChunk(bytes: Uint8Array): { chunkIndex: number; entries: SnapshotEntry[] } {
  const reader = new Reader(bytes);
  const version = reader.u8("chunk version");
  if (version !== SNAPSHOT_VERSION) throw new Error("unknown chunk version");
  const chunkIndex = reader.u32("chunkIndex");
  const count = reader.u32("entry count");
  if (count === 0 || count > SNAPSHOT_CHUNK_ENTRIES_MAX) throw new Error("entry count out of range");
  const entries: SnapshotEntry[] = [];
  for (let index = 0; index < count; index++) {
    const key = reader.fixedBytes(KEY_BYTES, "key");
    const value = reader.bytesField(STATE_VALUE_BYTES_MAX, "value");
    if (value.length === 0) throw new Error("empty value");
    entries.push({ key, value });
  }
  reader.end("snapshot chunk");
  return { chunkIndex, entries };
}

export function encodeSnapshotManifest(manifest: SnapshotManifest): Uint8Array {
  assert(
    manifest.chunkHashes.length <= SNAPSHOT_CHUNKS_MAX,
    "a manifest lists at most SNAPSHOT_CHUNKS_MAX chunks",
  );
  const writer = new Writer(64 + manifest.chunkHashes.length * HASH_BYTES);
  writer
    .u8(SNAPSHOT_VERSION)
    .u64(manifest.height)
    .fixedBytes(manifest.stateRoot, HASH_BYTES)
    .u64(BigInt(manifest.entryCount))
    .u32(manifest.chunkHashes.length);
  for (const chunkHash of manifest.chunkHashes) writer.fixedBytes(chunkHash, HASH_BYTES);
  return writer.finish();
}

export function decodeSnapshotManifest(bytes: Uint8Array): SnapshotManifest {
  if (!(bytes instanceof Uint8Array) || bytes.length > SNAPSHOT_MANIFEST_BYTES_MAX) {
    throw new SnapshotError("SNAPSHOT_MANIFEST_INVALID", "the snapshot manifest is larger than its limit");
  }
  try {
    const reader = new Reader(bytes);
    const version = reader.u8("manifest version");
    if (version !== SNAPSHOT_VERSION) throw new Error("unknown manifest version");
    const height = reader.u64("height");
    const stateRoot = reader.fixedBytes(HASH_BYTES, "stateRoot");
    const entryCount = reader.u64("entryCount");
    const chunkCount = reader.u32("chunkCount");
    if (chunkCount > SNAPSHOT_CHUNKS_MAX || entryCount > BigInt(SNAPSHOT_ENTRIES_MAX)) {
      throw new SnapshotError(
        "SNAPSHOT_TOO_LARGE",
        "the snapshot has more chunks or entries than this node stages (SNAPSHOT_CHUNKS_MAX, SNAPSHOT_ENTRIES_MAX)",
      );
    }
    const chunkHashes: Uint8Array[] = [];
    for (let index = 0; index < chunkCount; index++)
      chunkHashes.push(reader.fixedBytes(HASH_BYTES, "chunkHash"));
    reader.end("snapshot manifest");
    return { height, stateRoot, entryCount: Number(entryCount), chunkHashes };
  } catch (error) {
    if (error instanceof SnapshotError) throw error;
    if (error instanceof Error) {
      throw new SnapshotError(
        "SNAPSHOT_MANIFEST_INVALID",
        `the snapshot manifest is malformed: ${error.message}`,
      );
    }
    throw error;
  }
}

/** The state root a store holds for `height`: the header's, checked against the stored block. */
async function stateRootAt(store: Store, height: bigint): Promise<Uint8Array> {
  const block = await store.blockByHeight(height);
  if (block === undefined) {
    throw new SnapshotError("SNAPSHOT_HEIGHT_UNKNOWN", `the store holds no block at height ${height}`, {
      height,
    });
  }
  return block.header.stateRoot;
}

/** Bytes an entry adds to a chunk's running size (the closing rule of `chunksOf`). */
function entrySizeBytes(entry: SnapshotEntry): number {
  return KEY_BYTES + 4 + entry.value.length;
}

/** True when a chunk holding `count` entries of `sizeBytes` is closed. */
function chunkFull(count: number, sizeBytes: number, chunkEntriesMax: number): boolean {
  return count === chunkEntriesMax || sizeBytes >= SNAPSHOT_CHUNK_BYTES_TARGET;
}

function checkChunkEntriesMax(chunkEntriesMax: number): void {
  assert(Number.isInteger(chunkEntriesMax), "chunk entries is an integer");
  assert(
    chunkEntriesMax >= 1 && chunkEntriesMax <= SNAPSHOT_CHUNK_ENTRIES_MAX,
    "chunk entries within the limit",
  );
}

/** Chunks of the state under `root`, in key order: each chunk's bytes and its first key. */
async function* chunksOf(
  store: Store,
  root: Uint8Array,
  chunkEntriesMax: number,
  signal: AbortSignal | undefined = undefined,
): AsyncGenerator<{ chunk: Uint8Array; firstKey: Uint8Array; entryCount: number }> {
  checkChunkEntriesMax(chunkEntriesMax);
  let entries: SnapshotEntry[] = [];
  let sizeBytes = 0;
  let chunkIndex = 0;
  let total = 0;
  const read = (hashes: readonly Uint8Array[]) => {
    signal?.throwIfAborted();
    return store.readStateNodes(hashes);
  };
  for await (const entry of walkStateEntries(read, root, store.hash)) {
    entries.push(entry);
    sizeBytes += entrySizeBytes(entry);
    total++;
    if (total % SNAPSHOT_WALK_YIELD_ENTRIES === 0) await yieldToEventLoop();
    if (total > SNAPSHOT_ENTRIES_MAX) {
      throw new SnapshotError("SNAPSHOT_TOO_LARGE", "the state has more than SNAPSHOT_ENTRIES_MAX entries");
    }
    if (chunkFull(entries.length, sizeBytes, chunkEntriesMax)) {
      const chunk = encodeSnapshotChunk(chunkIndex++, entries);
      yield { chunk, firstKey: entries[0]!.key, entryCount: entries.length };
      entries = [];
      sizeBytes = 0;
    }
  }
  if (entries.length > 0) {
    const chunk = encodeSnapshotChunk(chunkIndex, entries);
    yield { chunk, firstKey: entries[0]!.key, entryCount: entries.length };
  }
}

export interface ExportOptions {
  /** Entries per chunk (default and maximum SNAPSHOT_CHUNK_ENTRIES_MAX); both passes must agree. */
  readonly chunkEntriesMax?: number;
  /** Stops the walk between two reads (its reason is thrown): a node that stops does not wait for it. */
  readonly signal?: AbortSignal;
}

/** A manifest with what its exporter needs to serve any one chunk (kept by the exporter only). */
export interface SnapshotIndex {
  readonly manifest: SnapshotManifest;
  /** The first key of each chunk, in chunk order (not part of the manifest: local to the exporter). */
  readonly chunkFirstKeys: readonly Uint8Array[];
  readonly chunkEntriesMax: number;
}

/** First pass: the manifest of the state at `height` and each chunk's first key (chunks dropped). */
export async function indexSnapshot(
  store: Store,
  height: bigint,
  options: ExportOptions = {},
): Promise<SnapshotIndex> {
  const stateRoot = await stateRootAt(store, height);
  const chunkEntriesMax = options.chunkEntriesMax ?? SNAPSHOT_CHUNK_ENTRIES_MAX;
  const chunkHashes: Uint8Array[] = [];
  const chunkFirstKeys: Uint8Array[] = [];
  let entryCount = 0;
  const chunks = chunksOf(store, stateRoot, chunkEntriesMax, options.signal);
  for await (const { chunk, firstKey, entryCount: count } of chunks) {
    if (chunkHashes.length >= SNAPSHOT_CHUNKS_MAX) {
      throw new SnapshotError("SNAPSHOT_TOO_LARGE", "the state needs more than SNAPSHOT_CHUNKS_MAX chunks");
    }
    chunkHashes.push(snapshotChunkHash(chunk, store.hash));
    chunkFirstKeys.push(firstKey);
    entryCount += count;
  }
  assert(chunkFirstKeys.length === chunkHashes.length, "one first key per chunk");
  return { manifest: { height, stateRoot, entryCount, chunkHashes }, chunkFirstKeys, chunkEntriesMax };
}

/** First pass: the manifest of the state at `height` (chunk hashes computed, chunks dropped). */
export async function createSnapshotManifest(
  store: Store,
  height: bigint,
  options: ExportOptions = {},
): Promise<SnapshotManifest> {
  return (await indexSnapshot(store, height, options)).manifest;
}

/**
 * One chunk of an indexed snapshot, made by walking the state from the chunk's first key; checked
 * against the manifest before it leaves (SNAPSHOT_CHUNK_HASH_MISMATCH: the stored state changed
 * under the snapshot, which content addressing rules out unless the store is damaged).
 */
export async function exportSnapshotChunk(
  store: Store,
  snapshot: SnapshotIndex,
  chunkIndex: number,
): Promise<Uint8Array> {
  const { manifest, chunkFirstKeys, chunkEntriesMax } = snapshot;
  checkChunkEntriesMax(chunkEntriesMax);
  assert(Number.isInteger(chunkIndex), "a chunk index is an integer");
  assert(chunkIndex >= 0 && chunkIndex < manifest.chunkHashes.length, "the chunk is in the manifest");
  const firstKey = chunkFirstKeys[chunkIndex]!;
  const entries: SnapshotEntry[] = [];
  let sizeBytes = 0;
  const read = (hashes: readonly Uint8Array[]) => store.readStateNodes(hashes);
  for await (const entry of walkStateEntries(read, manifest.stateRoot, store.hash, firstKey)) {
    entries.push(entry);
    sizeBytes += entrySizeBytes(entry);
    if (chunkFull(entries.length, sizeBytes, chunkEntriesMax)) break;
    if (entries.length % SNAPSHOT_WALK_YIELD_ENTRIES === 0) await yieldToEventLoop();
  }
  if (entries.length === 0 || !equalBytes(entries[0]!.key, firstKey)) {
    throw chunkError("SNAPSHOT_CHUNK_HASH_MISMATCH", chunkIndex, "no longer starts at its first key");
  }
  const chunk = encodeSnapshotChunk(chunkIndex, entries);
  if (!equalBytes(snapshotChunkHash(chunk, store.hash), manifest.chunkHashes[chunkIndex]!)) {
    throw chunkError("SNAPSHOT_CHUNK_HASH_MISMATCH", chunkIndex, "no longer matches the manifest");
  }
  return chunk;
}

/** Second pass: the chunks the manifest lists, in order (each checked against it before it leaves). */
export async function* exportSnapshotChunks(
  store: Store,
  manifest: SnapshotManifest,
  options: ExportOptions = {},
): AsyncGenerator<Uint8Array> {
  let index = 0;
  for await (const { chunk } of chunksOf(
    store,
    manifest.stateRoot,
    options.chunkEntriesMax ?? SNAPSHOT_CHUNK_ENTRIES_MAX,
  )) {
    const expected = manifest.chunkHashes[index];
    assert(expected !== undefined, "the state did not grow: it is content-addressed");
    assert(
      equalBytes(snapshotChunkHash(chunk, store.hash), expected),
      "the chunk is the one the manifest lists",
    );
    index++;
    yield chunk;
  }
  assert(index === manifest.chunkHashes.length, "every listed chunk was exported");
}

export interface ImportOptions {
  /** The state root the importer trusts (from a header with a verified commit certificate). */
  readonly trustedStateRoot: Uint8Array;
}

function chunkError(
  code: "SNAPSHOT_CHUNK_HASH_MISMATCH" | "SNAPSHOT_CHUNK_MALFORMED",
  chunkIndex: number,
  why: string,
) {
  return new SnapshotError(code, `snapshot chunk ${chunkIndex} ${why}`, { chunkIndex });
}

/** What a verified snapshot holds: its entry count, its root, and the nodes of its tree. */
export interface StagedSnapshot {
  readonly entryCount: number;
  readonly stateRoot: Uint8Array;
  /** Every node under the root (nothing else), ready for `importState` or `importSnapshotBase`. */
  readonly nodes: StateNodeEntry[];
}

/**
 * A snapshot being verified, chunk by chunk, in chunk order, without writing anything: each chunk
 * is checked against the manifest as it arrives and applied to a tree in memory; `finish` checks
 * that every chunk came and that the rebuilt root is the manifest's (which the constructor
 * checked against the trusted root). Memory: the staged tree, bounded by SNAPSHOT_ENTRIES_MAX.
 */
export class SnapshotImport {
  readonly manifest: SnapshotManifest;
  readonly #hash: HashFunction;
  readonly #staging = new MemoryStateNodeStore();
  readonly #tree: SparseMerkleTree;
  #chunkIndex = 0;
  #entryCount = 0;
  #keyPrevious: Uint8Array | null = null;
  #finished = false;

  constructor(manifest: SnapshotManifest, options: ImportOptions & { readonly hash: HashFunction }) {
    if (!equalBytes(manifest.stateRoot, options.trustedStateRoot)) {
      throw new SnapshotError(
        "SNAPSHOT_MANIFEST_INVALID",
        "the manifest's state root is not the trusted state root",
      );
    }
    if (manifest.chunkHashes.length > SNAPSHOT_CHUNKS_MAX) {
      throw new SnapshotError("SNAPSHOT_MANIFEST_INVALID", "the manifest lists too many chunks");
    }
    this.manifest = manifest;
    this.#hash = options.hash;
    this.#tree = new SparseMerkleTree({ store: this.#staging, hash: options.hash });
  }

  /** Chunks accepted so far; the next chunk to add has this index. */
  get chunksAdded(): number {
    return this.#chunkIndex;
  }

  /** Checks the next chunk against the manifest and applies its entries; throws SnapshotError. */
  addChunk(chunk: Uint8Array): void {
    assert(!this.#finished, "no chunk after finish");
    const chunkIndex = this.#chunkIndex;
    const expected = this.manifest.chunkHashes[chunkIndex];
    if (expected === undefined) {
      throw new SnapshotError("SNAPSHOT_CHUNK_EXTRA", `snapshot chunk ${chunkIndex} is not in the manifest`, {
        chunkIndex,
      });
    }
    if (!(chunk instanceof Uint8Array) || chunk.length > SNAPSHOT_CHUNK_BYTES_MAX) {
      throw chunkError(
        "SNAPSHOT_CHUNK_MALFORMED",
        chunkIndex,
        "is not bytes within SNAPSHOT_CHUNK_BYTES_MAX",
      );
    }
    if (!equalBytes(snapshotChunkHash(chunk, this.#hash), expected)) {
      throw chunkError(
        "SNAPSHOT_CHUNK_HASH_MISMATCH",
        chunkIndex,
        "does not match the manifest (damaged, reordered or forged)",
      );
    }
    let decoded: ReturnType<typeof decodeSnapshotChunk>;
    try {
      decoded = decodeSnapshotChunk(chunk);
    } catch (error) {
      if (error instanceof Error || error instanceof CityLedgerError) {
        throw chunkError("SNAPSHOT_CHUNK_MALFORMED", chunkIndex, `is malformed: ${error.message}`);
      }
      throw error;
    }
    if (decoded.chunkIndex !== chunkIndex)
      throw chunkError("SNAPSHOT_CHUNK_MALFORMED", chunkIndex, "carries another index");
    for (const entry of decoded.entries) {
      if (this.#keyPrevious !== null && compareBytes(this.#keyPrevious, entry.key) >= 0) {
        throw chunkError("SNAPSHOT_CHUNK_MALFORMED", chunkIndex, "has keys out of order");
      }
      this.#keyPrevious = entry.key;
    }
    this.#entryCount += decoded.entries.length;
    if (this.#entryCount > SNAPSHOT_ENTRIES_MAX) {
      throw new SnapshotError(
        "SNAPSHOT_TOO_LARGE",
        "the snapshot has more than SNAPSHOT_ENTRIES_MAX entries",
      );
    }
    this.#tree.applyBatch(decoded.entries);
    this.#chunkIndex++;
    assert(this.#chunkIndex <= this.manifest.chunkHashes.length, "never more chunks than listed");
  }

  /** Checks completeness and the rebuilt root; the verified tree's nodes. */
  finish(): StagedSnapshot {
    assert(!this.#finished, "finish once");
    const chunkIndex = this.#chunkIndex;
    if (chunkIndex < this.manifest.chunkHashes.length) {
      throw new SnapshotError("SNAPSHOT_CHUNK_MISSING", `snapshot chunk ${chunkIndex} never arrived`, {
        chunkIndex,
      });
    }
    if (
      this.#entryCount !== this.manifest.entryCount ||
      !equalBytes(this.#tree.root, this.manifest.stateRoot)
    ) {
      throw new SnapshotError(
        "SNAPSHOT_ROOT_MISMATCH",
        "the rebuilt state root is not the manifest's state root",
        { entryCount: this.#entryCount },
      );
    }
    this.#finished = true;
    const root = this.#tree.root;
    return { entryCount: this.#entryCount, stateRoot: root, nodes: reachableNodes(this.#staging, root) };
  }
}

/**
 * Imports a snapshot: verifies each chunk against the manifest as it arrives, rebuilds the tree
 * in memory, compares its root with the manifest's (which must be the trusted root), and only
 * then writes the nodes and the snapshot metadata in one transaction.
 */
export async function importSnapshot(
  store: Store,
  manifest: SnapshotManifest,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ImportOptions,
): Promise<{ entryCount: number; stateRoot: Uint8Array }> {
  const staged = new SnapshotImport(manifest, { ...options, hash: store.hash });
  for await (const chunk of chunks) staged.addChunk(chunk);
  const { entryCount, stateRoot, nodes } = staged.finish();
  await store.importState(nodes, [
    [METADATA_KEYS.snapshotHeight, encodeU64(manifest.height)],
    [METADATA_KEYS.snapshotStateRoot, stateRoot],
  ]);
  return { entryCount, stateRoot };
}

/**
 * The transparency log's frontier at `logSize` as the store holds it (one node per set bit,
 * largest subtree first), checked against `logRoot` (the header's): STORE_CORRUPT otherwise.
 */
export async function readLogFrontier(
  store: Store,
  logSize: number,
  logRoot: Uint8Array,
): Promise<LogNodeEntry[]> {
  const positions: LogFrontierPosition[] = logFrontierPositions(logSize);
  const hashes = await store.readLogNodes(positions);
  const entries: LogNodeEntry[] = [];
  for (let position = 0; position < positions.length; position++) {
    const hash = hashes[position];
    const { level, index } = positions[position]!;
    if (hash === undefined) throw corrupt("a log frontier node is missing", { level, index, logSize });
    entries.push({ level, index, hash });
  }
  const root = logRootOfFrontier(
    logSize,
    entries.map((entry) => entry.hash),
    store.hash,
  );
  if (root === null || !equalBytes(root, logRoot)) {
    throw corrupt("the stored log frontier does not fold to the header's log root", { logSize });
  }
  return entries;
}

/** The nodes under `root` (the staging store also holds the intermediate roots of each chunk). */
function reachableNodes(staging: MemoryStateNodeStore, root: Uint8Array): StateNodeEntry[] {
  const nodes: StateNodeEntry[] = [];
  const stack: Uint8Array[] = isEmpty(root) ? [] : [root];
  while (stack.length > 0) {
    assert(stack.length <= 2 * 257, "the stack holds one pending sibling per level");
    const hash = stack.pop()!;
    const encoded = staging.get(hash);
    assert(encoded !== undefined, "the staging store holds the tree it built");
    nodes.push([hash, encoded]);
    if (encoded[0] === STATE_LEAF_PREFIX) continue;
    const left = encoded.subarray(1, 33);
    const right = encoded.subarray(33, 65);
    if (!isEmpty(right)) stack.push(right);
    if (!isEmpty(left)) stack.push(left);
  }
  return nodes;
}

function isEmpty(hash: Uint8Array): boolean {
  for (let index = 0; index < hash.length; index++) if (hash[index] !== 0) return false;
  return true;
}
