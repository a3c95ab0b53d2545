/**
 * The SQLite schema, as numbered migrations (the PostgreSQL back end has the same tables and
 * numbers: ../postgres/migrations.ts). Design (docs/adr/0002-storage.md):
 * - the commit path appends: blocks by height, transactions by log index (their position in the
 *   transparency log), events by (log index, event index), log nodes by (level, index);
 * - random-key indexes are compact (the first 8 bytes of a hash as one integer; readers check the
 *   full hash and skip the rare collision) and built off the commit path: the transaction-hash,
 *   sender and state-node indexes are separate tables filled in large sorted batches behind a
 *   watermark (chain metadata `index_watermark:*`); rows above the watermark are indexed in
 *   memory (sqlite-store.ts, "Deferred indexes");
 * - contract names and event types are small integers from a dictionary table (`names`);
 * - (version 2) receipts by log index beside the transactions; events carry an optional key,
 *   indexed by its 8-byte SHA-256 prefix (`key_prefix`, a partial index over keyed events only),
 *   and are indexed by contract and by (contract, type) as well as by type;
 * - (version 3, SQLite only) log nodes in tiles of LOG_TILE_NODES per row (`log_tiles`) and a
 *   block's receipts in one row (`block_receipts`): a block writes about 15 + 1 rows for them
 *   instead of about 3 per transaction. The rows of version 2 are converted in the migration.
 * @module
 */
import type Database from "better-sqlite3";
import type { Migration } from "../migrations.ts";
import { corrupt } from "../store-common.ts";
import { encodeBlockReceipts } from "./block-receipts.ts";
import { LOG_NODE_BYTES, LOG_TILE_NODES, tileOf } from "./log-tiles.ts";

/** A SQLite migration: its statements, then (optionally) a conversion of existing rows in code. */
export interface SqliteMigration extends Migration {
  /** Runs after `sql`, in the same transaction; throws to leave the store as it was. */
  readonly convert?: (database: Database.Database) => void;
}

/** Old rows read per query while converting (better-sqlite3 cannot write while a query iterates). */
const CONVERT_PAGE_ROWS = 65_536;

/** Version 2 -> 3: log_nodes rows into tiles, receipts rows into one row per block; drops the old tables. */
function convertToTilesAndBlockReceipts(database: Database.Database): void {
  const insertTile = database.prepare(
    "INSERT INTO log_tiles (level, tile, first_offset, hashes) VALUES (?, ?, ?, ?)",
  );
  const page = database.prepare(
    "SELECT level, idx, hash FROM log_nodes WHERE (level, idx) > (?, ?) ORDER BY level, idx LIMIT ?",
  );
  let tile: { level: number; tile: number; firstOffset: number; hashes: Uint8Array[] } | null = null;
  const flush = () => {
    if (tile !== null) insertTile.run(tile.level, tile.tile, tile.firstOffset, Buffer.concat(tile.hashes));
  };
  let after = { level: -1, index: -1 };
  for (;;) {
    const rows = page.all(after.level, after.index, CONVERT_PAGE_ROWS) as Array<{
      level: number;
      idx: number;
      hash: Uint8Array;
    }>;
    for (const row of rows) {
      if (row.hash.length !== LOG_NODE_BYTES) {
        throw corrupt("a stored log node is not a 32-byte hash", { level: row.level, index: row.idx });
      }
      const offset = row.idx % LOG_TILE_NODES;
      if (tile !== null && tile.level === row.level && tile.tile === tileOf(row.idx)) {
        // A tile holds contiguous nodes; a hole inside one means rows were lost.
        if (offset !== tile.firstOffset + tile.hashes.length) {
          throw corrupt("the stored log nodes have a hole", { level: row.level, index: row.idx });
        }
        tile.hashes.push(row.hash);
      } else {
        flush();
        tile = { level: row.level, tile: tileOf(row.idx), firstOffset: offset, hashes: [row.hash] };
      }
    }
    if (rows.length < CONVERT_PAGE_ROWS) break;
    const last = rows[rows.length - 1]!;
    after = { level: last.level, index: last.idx };
  }
  flush();
  const blocks = database
    .prepare("SELECT height, first_log_index, tx_count FROM blocks WHERE receipts_stored = 1 ORDER BY height")
    .all() as Array<{ height: number; first_log_index: number; tx_count: number }>;
  const receiptRange = database
    .prepare(
      "SELECT log_index, encoded FROM receipts WHERE log_index >= ? AND log_index < ? ORDER BY log_index",
    )
    .raw();
  const insertReceipts = database.prepare(
    "INSERT INTO block_receipts (height, ends, encoded) VALUES (?, ?, ?)",
  );
  let converted = 0;
  for (const block of blocks) {
    const rows = receiptRange.all(block.first_log_index, block.first_log_index + block.tx_count) as Array<
      [number, Uint8Array]
    >;
    // A block with receipts has one per transaction (verifyStore of version 2 checked the same).
    if (rows.length !== block.tx_count) {
      throw corrupt("a block's receipt rows are not one per transaction", { height: block.height });
    }
    const { ends, encoded } = encodeBlockReceipts(rows.map((row) => row[1]));
    insertReceipts.run(block.height, ends, encoded);
    converted += rows.length;
  }
  const receiptRows = (database.prepare("SELECT count(*) FROM receipts").pluck().get() as number) ?? 0;
  if (receiptRows !== converted) {
    throw corrupt("receipt rows exist outside the blocks that hold receipts", {
      rows: receiptRows,
      converted,
    });
  }
  database.exec("DROP TABLE log_nodes");
  database.exec("DROP TABLE receipts");
}

export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      CREATE TABLE chain_metadata (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE blocks (
        height INTEGER PRIMARY KEY,
        hash_prefix INTEGER NOT NULL,
        hash BLOB NOT NULL,
        header BLOB NOT NULL,
        evidence BLOB NOT NULL,
        first_log_index INTEGER NOT NULL,
        tx_count INTEGER NOT NULL
      );
      CREATE INDEX blocks_by_hash ON blocks (hash_prefix);
      CREATE TABLE certificates (height INTEGER PRIMARY KEY, certificate BLOB NOT NULL);
      CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE transactions (
        log_index INTEGER PRIMARY KEY,
        height INTEGER NOT NULL,
        index_in_block INTEGER NOT NULL,
        hash_prefix INTEGER NOT NULL,
        sender_prefix INTEGER NOT NULL,
        contract_id INTEGER NOT NULL,
        hash BLOB NOT NULL,
        encoded BLOB NOT NULL
      );
      CREATE INDEX transactions_by_contract ON transactions (contract_id);
      CREATE TABLE transaction_hash_index (
        hash_prefix INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        PRIMARY KEY (hash_prefix, log_index)
      ) WITHOUT ROWID;
      CREATE TABLE transaction_sender_index (
        sender_prefix INTEGER NOT NULL,
        log_index INTEGER NOT NULL,
        PRIMARY KEY (sender_prefix, log_index)
      ) WITHOUT ROWID;
      CREATE TABLE events (
        log_index INTEGER NOT NULL,
        event_index INTEGER NOT NULL,
        type_id INTEGER NOT NULL,
        contract_id INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (log_index, event_index)
      ) WITHOUT ROWID;
      CREATE INDEX events_by_type ON events (type_id, log_index, event_index);
      CREATE TABLE log_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
      ) WITHOUT ROWID;
      CREATE TABLE state_nodes (id INTEGER PRIMARY KEY, hash_prefix INTEGER NOT NULL, node BLOB NOT NULL);
      CREATE TABLE state_node_index (
        hash_prefix INTEGER NOT NULL,
        id INTEGER NOT NULL,
        PRIMARY KEY (hash_prefix, id)
      ) WITHOUT ROWID;
      CREATE TABLE consensus_wal (sequence INTEGER PRIMARY KEY, height INTEGER NOT NULL, record BLOB NOT NULL);
      CREATE INDEX consensus_wal_by_height ON consensus_wal (height)
    `,
  },
  {
    // Receipts and event keys (docs/adr/0002-storage.md, "Receipts and event queries"). Existing
    // blocks keep receipts_stored = 0 (their receipts are not held); existing events get key NULL.
    version: 2,
    name: "receipts, event keys, event indexes by contract and key",
    sql: `
      ALTER TABLE blocks ADD COLUMN receipts_stored INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE receipts (log_index INTEGER PRIMARY KEY, encoded BLOB NOT NULL);
      ALTER TABLE events ADD COLUMN event_key TEXT;
      ALTER TABLE events ADD COLUMN key_prefix INTEGER;
      CREATE INDEX events_by_contract ON events (contract_id, log_index, event_index);
      CREATE INDEX events_by_contract_type ON events (contract_id, type_id, log_index, event_index);
      CREATE INDEX events_by_key ON events (key_prefix, log_index, event_index) WHERE key_prefix IS NOT NULL
    `,
  },
  {
    // Log nodes in tiles and receipts per block (docs/adr/0002-storage.md, "Schema version 3").
    // WITHOUT ROWID: a tile is found by its key alone, with no second index.
    version: 3,
    name: "log nodes in tiles, receipts per block",
    sql: `
      CREATE TABLE log_tiles (
        level INTEGER NOT NULL,
        tile INTEGER NOT NULL,
        first_offset INTEGER NOT NULL,
        hashes BLOB NOT NULL,
        PRIMARY KEY (level, tile)
      ) WITHOUT ROWID;
      CREATE TABLE block_receipts (height INTEGER PRIMARY KEY, ends BLOB NOT NULL, encoded BLOB NOT NULL)
    `,
    convert: convertToTilesAndBlockReceipts,
  },
];
