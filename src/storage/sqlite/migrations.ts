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
 *   and are indexed by contract and by (contract, type) as well as by type.
 * @module
 */
import type { Migration } from "../migrations.ts";

export const SQLITE_MIGRATIONS: readonly Migration[] = [
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
];
