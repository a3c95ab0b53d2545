/**
 * The PostgreSQL schema: the same tables, columns and migration numbers as the SQLite back end
 * (../sqlite/migrations.ts), in PostgreSQL types. The migrations table is
 * `cityledger_migrations`; a database with other tables and without it is not ours.
 * @module
 */
import type { Migration } from "../migrations.ts";

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      CREATE TABLE chain_metadata (key TEXT PRIMARY KEY, value BYTEA NOT NULL);
      CREATE TABLE blocks (
        height BIGINT PRIMARY KEY,
        hash_prefix BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        header BYTEA NOT NULL,
        evidence BYTEA NOT NULL,
        first_log_index BIGINT NOT NULL,
        tx_count INTEGER NOT NULL
      );
      CREATE INDEX blocks_by_hash ON blocks (hash_prefix);
      CREATE TABLE certificates (height BIGINT PRIMARY KEY, certificate BYTEA NOT NULL);
      CREATE TABLE names (id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name TEXT NOT NULL UNIQUE);
      CREATE TABLE transactions (
        log_index BIGINT PRIMARY KEY,
        height BIGINT NOT NULL,
        index_in_block INTEGER NOT NULL,
        hash_prefix BIGINT NOT NULL,
        sender_prefix BIGINT NOT NULL,
        contract_id INTEGER NOT NULL,
        encoded BYTEA NOT NULL
      );
      CREATE INDEX transactions_by_hash ON transactions (hash_prefix);
      CREATE INDEX transactions_by_sender ON transactions (sender_prefix, log_index);
      CREATE INDEX transactions_by_contract ON transactions (contract_id, log_index);
      CREATE TABLE events (
        log_index BIGINT NOT NULL,
        event_index INTEGER NOT NULL,
        type_id INTEGER NOT NULL,
        contract_id INTEGER NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (log_index, event_index)
      );
      CREATE INDEX events_by_type ON events (type_id, log_index, event_index);
      CREATE TABLE log_nodes (level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
      CREATE TABLE state_nodes (hash_prefix BIGINT NOT NULL, node BYTEA NOT NULL);
      CREATE INDEX state_nodes_by_hash ON state_nodes (hash_prefix);
      CREATE TABLE consensus_wal (
        sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        height BIGINT NOT NULL,
        record BYTEA NOT NULL
      );
      CREATE INDEX consensus_wal_by_height ON consensus_wal (height)
    `,
  },
  {
    // The same as SQLite's migration 2. ADD COLUMN with a constant default does not rewrite the
    // table (PostgreSQL 11 and later); the index builds read the events once.
    version: 2,
    name: "receipts, event keys, event indexes by contract and key",
    sql: `
      ALTER TABLE blocks ADD COLUMN receipts_stored BOOLEAN NOT NULL DEFAULT false;
      CREATE TABLE receipts (log_index BIGINT PRIMARY KEY, encoded BYTEA NOT NULL);
      ALTER TABLE events ADD COLUMN event_key TEXT;
      ALTER TABLE events ADD COLUMN key_prefix BIGINT;
      CREATE INDEX events_by_contract ON events (contract_id, log_index, event_index);
      CREATE INDEX events_by_contract_type ON events (contract_id, type_id, log_index, event_index);
      CREATE INDEX events_by_key ON events (key_prefix, log_index, event_index) WHERE key_prefix IS NOT NULL
    `,
  },
];
