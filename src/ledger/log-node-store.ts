/**
 * Where the transparency log keeps its hashes: one hash per perfect (complete) subtree.
 * @module
 */
import { assert } from "../base/index.ts";
import { LOG_HASH_BYTES, LOG_LEVELS_MAX } from "./merkle-proof.ts";

/**
 * The hashes of the perfect subtrees of a MerkleLog. The subtree at `(level, index)` covers the
 * entries `[index * 2^level, (index + 1) * 2^level)`; level 0 holds the leaf hashes. Every hash
 * is LOG_HASH_BYTES long.
 *
 * The contract between MerkleLog and a store:
 * - Both methods are synchronous. A persistent store (SQLite, PostgreSQL) batches its writes
 *   itself; when it makes them durable it must keep, for every level, a prefix of what was put,
 *   and make all the puts of one append durable together. A MerkleLog opened over a store takes
 *   its size from level 0 and refuses a store whose upper levels do not match.
 * - MerkleLog puts each `(level, index)` exactly once, and in increasing index order within a
 *   level: index `i` of level `l` is put after index `i - 1` of level `l`. So every level holds
 *   the indices `0 .. count - 1`, and a store may use that (arrays, append-only files).
 * - `put` copies the bytes it keeps: the caller reuses its buffer as soon as `put` returns.
 * - `get` returns the bytes put at `(level, index)`, or undefined when nothing was put there.
 *   The bytes may be a view into the store's own memory: callers must not mutate them. Hashes
 *   are written once, so the store never changes the bytes behind a view it has returned.
 * - One MerkleLog writes to a store at a time.
 */
export interface LogNodeStore {
  get(level: number, index: number): Uint8Array | undefined;
  put(level: number, index: number, hash: Uint8Array): void;
}

/** Hashes in one full chunk of a level: 2^16 hashes, 2 MiB. */
export const MEMORY_STORE_CHUNK_HASHES = 1 << 16;
/** Hashes the first chunk of a level starts with; it doubles up to MEMORY_STORE_CHUNK_HASHES. */
export const MEMORY_STORE_CHUNK_HASHES_MIN = 16;

const CHUNK_SIZE_BYTES = MEMORY_STORE_CHUNK_HASHES * LOG_HASH_BYTES;
const CHUNK_SIZE_BYTES_MIN = MEMORY_STORE_CHUNK_HASHES_MIN * LOG_HASH_BYTES;

assert(Number.isInteger(Math.log2(MEMORY_STORE_CHUNK_HASHES)), "chunks hold a power of two hashes");
assert(Number.isInteger(Math.log2(MEMORY_STORE_CHUNK_HASHES_MIN)), "first chunks double up to full");
assert(MEMORY_STORE_CHUNK_HASHES_MIN <= MEMORY_STORE_CHUNK_HASHES, "first chunks grow up to full");

/**
 * An in-memory LogNodeStore. Each level is a list of large contiguous chunks (2^16 hashes of
 * 32 bytes) rather than one object per hash, so the garbage collector sees a few hundred buffers
 * even for 10^7 entries: about 2 * 32 bytes per entry, 640 MB for 10^7 entries. The first chunk
 * of each level starts small and doubles, so the sparse upper levels cost little.
 *
 * `get` returns subarray views into the chunks: callers must not mutate them. A view taken
 * before a chunk grew keeps pointing at the old copy, whose bytes stay correct (write-once).
 */
export class MemoryLogNodeStore implements LogNodeStore {
  private readonly chunksOfLevel: Uint8Array[][] = [];
  private readonly countOfLevel: number[] = [];

  get(level: number, index: number): Uint8Array | undefined {
    assertLevel(level);
    assertIndex(index);
    const count = this.countOfLevel[level] ?? 0;
    if (index >= count) return undefined;
    const chunk = this.chunksOfLevel[level]![Math.floor(index / MEMORY_STORE_CHUNK_HASHES)];
    assert(chunk !== undefined, "MemoryLogNodeStore: a stored index has its chunk");
    const offset = (index % MEMORY_STORE_CHUNK_HASHES) * LOG_HASH_BYTES;
    assert(offset + LOG_HASH_BYTES <= chunk.length, "MemoryLogNodeStore: a stored index fits its chunk");
    return chunk.subarray(offset, offset + LOG_HASH_BYTES);
  }

  put(level: number, index: number, hash: Uint8Array): void {
    assertLevel(level);
    assertIndex(index);
    assert(hash.length === LOG_HASH_BYTES, "MemoryLogNodeStore: hashes are 32 bytes");
    while (this.countOfLevel.length <= level) {
      this.countOfLevel.push(0);
      this.chunksOfLevel.push([]);
    }
    const count = this.countOfLevel[level]!;
    assert(index === count, "MemoryLogNodeStore: each level is put once per index, in index order");
    const chunks = this.chunksOfLevel[level]!;
    const chunkIndex = Math.floor(index / MEMORY_STORE_CHUNK_HASHES);
    const offset = (index % MEMORY_STORE_CHUNK_HASHES) * LOG_HASH_BYTES;
    if (chunkIndex === chunks.length) {
      assert(offset === 0, "MemoryLogNodeStore: a new chunk starts at its first hash");
      chunks.push(new Uint8Array(chunkIndex === 0 ? CHUNK_SIZE_BYTES_MIN : CHUNK_SIZE_BYTES));
    }
    let chunk = chunks[chunkIndex]!;
    if (offset + LOG_HASH_BYTES > chunk.length) {
      assert(chunkIndex === 0, "MemoryLogNodeStore: only the first chunk of a level grows");
      const grown = new Uint8Array(Math.min(2 * chunk.length, CHUNK_SIZE_BYTES));
      grown.set(chunk);
      chunks[chunkIndex] = grown;
      chunk = grown;
    }
    assert(offset + LOG_HASH_BYTES <= chunk.length, "MemoryLogNodeStore: the chunk has room");
    chunk.set(hash, offset);
    this.countOfLevel[level] = count + 1;
  }

  /** Bytes of hash buffers allocated (the hashes stored plus the unused tail of each level). */
  get allocatedSizeBytes(): number {
    let total = 0;
    for (const chunks of this.chunksOfLevel) {
      for (const chunk of chunks) total += chunk.length;
    }
    return total;
  }
}

function assertLevel(level: number): void {
  assert(Number.isInteger(level), "LogNodeStore: level must be an integer");
  assert(level >= 0, "LogNodeStore: level must not be negative");
  assert(level < LOG_LEVELS_MAX, "LogNodeStore: level must be below LOG_LEVELS_MAX");
}

function assertIndex(index: number): void {
  assert(Number.isSafeInteger(index), "LogNodeStore: index must be a safe integer");
  assert(index >= 0, "LogNodeStore: index must not be negative");
}
