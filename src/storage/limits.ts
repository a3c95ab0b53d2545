/**
 * Every limit of the storage layer, named here and documented in docs/LIMITS.md ("Storage").
 * Limits that depend on each other are checked against each other when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  BLOCK_SIZE_BYTES_MAX,
  BLOCK_TXS_MAX,
  NAME_BYTES_MAX,
  STATE_VALUE_BYTES_MAX,
} from "../base/limits.ts";
import { ERROR_CODE_BYTES_MAX, TX_EVENTS_DATA_BYTES_MAX, TX_EVENTS_MAX } from "../exec/limits.ts";

/** Rows one query by sender, contract or event type returns (callers page with `after`). */
export const QUERY_RESULTS_MAX = 1_000;
/** Events one block may index. */
export const BLOCK_EVENTS_MAX = 100_000;
/** The data of one event. */
export const EVENT_DATA_BYTES_MAX = 64 * 1024;
/** An event type name (same bound as contract and method names). */
export const EVENT_TYPE_BYTES_MAX = NAME_BYTES_MAX;
/** An event's indexed key, in UTF-8 bytes (1 or more; null for none). */
export const EVENT_KEY_BYTES_MAX = 128;
/**
 * One encoded execution receipt, opaque to the store: room for the largest receipt the executor
 * makes (asserted below) and for a few more fields of later receipt versions.
 */
export const RECEIPT_BYTES_MAX = 16 * 1024;
/** A chain-metadata key (ASCII). */
export const METADATA_KEY_BYTES_MAX = 64;
/** A chain-metadata value. */
export const METADATA_VALUE_BYTES_MAX = 64 * 1024;
/** Entries of one block batch's metadata update. */
export const METADATA_ENTRIES_MAX = 64;
/** One consensus write-ahead log record: room for a whole proposed block and its votes. */
export const WAL_RECORD_BYTES_MAX = 40 * 1024 * 1024;
/** Records one `walRead` returns; the WAL is pruned below each committed height. */
export const WAL_READ_RECORDS_MAX = 100_000;
/** Log-node hashes the synchronous log view keeps in its read cache (32 bytes each). */
export const LOG_NODE_CACHE_ENTRIES_MAX = 65_536;
/**
 * SQLite: log tiles (up to 256 hashes, 8 KiB each) the store keeps after reading them, so that the
 * nodes of one proof or of a `verifyStore` walk, which share tiles, cost one read per tile.
 */
export const LOG_TILE_CACHE_ENTRIES_MAX = 64;
/** Bytes of state nodes the synchronous state view keeps in its read cache. */
export const STATE_NODE_CACHE_BYTES_MAX = 64 * 1024 * 1024;
/** Times a synchronous operation is re-run after fetching what it missed (PostgreSQL). */
export const PREFETCH_ROUNDS_MAX = 64;
/** Node keys fetched by one query. */
export const PREFETCH_NODES_PER_QUERY_MAX = 4_096;
/** Entries of one snapshot chunk. */
export const SNAPSHOT_CHUNK_ENTRIES_MAX = 4_096;
/** A chunk is closed once its entries reach this many bytes (values up to 1 MiB may overshoot). */
export const SNAPSHOT_CHUNK_BYTES_TARGET = 4 * 1024 * 1024;
/** Largest encoded chunk an importer accepts. */
export const SNAPSHOT_CHUNK_BYTES_MAX = SNAPSHOT_CHUNK_BYTES_TARGET + STATE_VALUE_BYTES_MAX + 64 * 1024;
/** Chunks one manifest lists. */
export const SNAPSHOT_CHUNKS_MAX = 65_536;
/** An encoded manifest: version, height, state root, entry count, chunk count, the chunk hashes. */
export const SNAPSHOT_MANIFEST_BYTES_MAX = 1 + 8 + 32 + 8 + 4 + SNAPSHOT_CHUNKS_MAX * 32;
/** State entries one import stages in memory before its atomic write. */
export const SNAPSHOT_ENTRIES_MAX = 1 << 22;
/** Subtree hashes the asynchronous state walker fetches per round trip. */
export const STATE_WALK_FETCH_NODES_MAX = 1_024;
/** PostgreSQL connections in one store's pool. */
export const POSTGRES_POOL_CONNECTIONS_MAX = 4;
/** Waiting for a PostgreSQL connection. */
export const POSTGRES_CONNECT_TIMEOUT_MS = 10_000;
/** One PostgreSQL statement (a block batch of 10,000 transactions takes well under a second). */
export const POSTGRES_STATEMENT_TIMEOUT_MS = 120_000;
/** SQLite's page cache per connection. */
export const SQLITE_PAGE_CACHE_BYTES = 64 * 1024 * 1024;
/**
 * SQLite: transactions indexed in memory before their hash and sender entries are written in one
 * sorted batch. A build touches most pages of the random-key index whatever its size, so fewer,
 * larger builds cost less per transaction (at 10^6 stored: 6.4 µs per transaction every 65,536,
 * ≈ 1.6 every 262,144); the tail in memory holds up to this many entries (≈ 25–30 MB).
 */
export const TRANSACTION_INDEX_BATCH_ROWS = 262_144;
/** SQLite: state nodes indexed in memory before their hash entries are written in one sorted batch. */
export const STATE_INDEX_BATCH_ROWS = 131_072;
/** How long SQLite waits for a lock held by another connection. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;
/** WAL pages after which SQLite checkpoints into the main file (4 KiB pages: 16 MiB). */
export const SQLITE_WAL_AUTOCHECKPOINT_PAGES = 4_096;

assert(WAL_RECORD_BYTES_MAX > BLOCK_SIZE_BYTES_MAX, "a WAL record holds a whole proposed block");
assert(SNAPSHOT_CHUNK_BYTES_MAX > STATE_VALUE_BYTES_MAX, "one entry always fits in a chunk");
assert(QUERY_RESULTS_MAX <= BLOCK_TXS_MAX, "a page of results is at most a block's worth of rows");
assert(
  RECEIPT_BYTES_MAX >=
    // version, tx hash, status, error code, event count, gas and other fixed fields (256), events
    256 + ERROR_CODE_BYTES_MAX + TX_EVENTS_MAX * (12 + 2 * NAME_BYTES_MAX) + TX_EVENTS_DATA_BYTES_MAX,
  "the largest receipt the executor makes fits",
);
assert(
  BLOCK_TXS_MAX * RECEIPT_BYTES_MAX < 2 ** 32,
  "a block's receipts fit the 4-byte offsets of their SQLite row (sqlite/block-receipts.ts)",
);
assert(STATE_WALK_FETCH_NODES_MAX <= PREFETCH_NODES_PER_QUERY_MAX, "one walker round is one query");
assert(
  SNAPSHOT_CHUNK_ENTRIES_MAX * SNAPSHOT_CHUNKS_MAX >= SNAPSHOT_ENTRIES_MAX,
  "the manifest covers a full state",
);
