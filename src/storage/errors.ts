/**
 * Typed errors of the storage layer. Operating errors (a file that is not ours, a schema from
 * a newer release, a tampered row, a commit at the wrong height) carry a stable code; broken
 * invariants of this code are assertions (src/base/assert.ts).
 * @module
 */
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";

export const StoreErrorCode = {
  /** The location holds something that is not a CityLedger store (a text file, another app's database). */
  NOT_CITYLEDGER: "STORE_NOT_CITYLEDGER",
  /** The store was written by a newer release: its schema version is above the code's. */
  SCHEMA_TOO_NEW: "STORE_SCHEMA_TOO_NEW",
  /** The code lacks a migration between the store's schema version and its own. */
  MIGRATION_MISSING: "STORE_MIGRATION_MISSING",
  /** Stored bytes do not match their hash, or rows disagree with each other. */
  CORRUPT: "STORE_CORRUPT",
  /**
   * A block's stored receipts disagree with its header: not one per transaction, or their root
   * is not the header's receiptRoot (damage of the receipt rows; `verifyStore` reports it).
   */
  RECEIPTS_MISMATCH: "STORE_RECEIPTS_MISMATCH",
  /** The location does not exist and the caller asked not to create it. */
  NOT_FOUND: "STORE_NOT_FOUND",
  /** The location is neither a path nor a postgres:// URL. */
  LOCATION_INVALID: "STORE_LOCATION_INVALID",
  /** The back end cannot be reached (PostgreSQL down, connection lost). */
  UNAVAILABLE: "STORE_UNAVAILABLE",
  /** A block batch does not follow the stored head (height, previous hash, log size). */
  HEIGHT_MISMATCH: "STORE_HEIGHT_MISMATCH",
  /** A snapshot base was written to a store that already holds blocks. Nothing was written. */
  NOT_EMPTY: "STORE_NOT_EMPTY",
  /** A block batch is malformed (counts, sizes, lengths). Nothing was written. */
  BATCH_INVALID: "STORE_BATCH_INVALID",
  /** A write failed part-way; the transaction was rolled back, nothing of it is visible. */
  WRITE_FAILED: "STORE_WRITE_FAILED",
  /** A consensus write-ahead log record is larger than WAL_RECORD_BYTES_MAX. */
  WAL_RECORD_TOO_LARGE: "STORE_WAL_RECORD_TOO_LARGE",
  /** A query argument is out of range (limit, height, hash length). */
  QUERY_INVALID: "STORE_QUERY_INVALID",
  /** The store was closed. */
  CLOSED: "STORE_CLOSED",
  /** A Merkle structure was used after a failed commit; reopen it from the store. */
  STRUCTURES_STALE: "STORE_STRUCTURES_STALE",
} as const;

export type StoreErrorCode = (typeof StoreErrorCode)[keyof typeof StoreErrorCode];

export class StoreError extends CityLedgerError<StoreErrorCode> {
  override name = "StoreError";
}

/** What a synchronous node-store view lacked: the caller fetches it asynchronously and retries. */
export type MissingNode =
  | { readonly kind: "log"; readonly level: number; readonly index: number }
  | { readonly kind: "state"; readonly hash: Uint8Array };

/**
 * Thrown by a synchronous node-store view (src/storage/node-adapters.ts) whose back end is
 * asynchronous (PostgreSQL) when a node is neither pending nor cached. Not an error of the data:
 * the caller prefetches `missing` and runs the synchronous operation again.
 */
export class NodeMissingError extends CityLedgerError<"STORE_NODE_MISSING"> {
  override name = "NodeMissingError";
  readonly missing: MissingNode;

  constructor(missing: MissingNode) {
    super(
      "STORE_NODE_MISSING",
      missing.kind === "log" ? "log node not prefetched" : "state node not prefetched",
      missing.kind === "log"
        ? { kind: "log", level: missing.level, index: missing.index }
        : { kind: "state", hash: bytesToHex(missing.hash) },
    );
    this.missing = missing;
  }
}

export const SnapshotErrorCode = {
  /** The manifest is malformed, or its state root is not the trusted one. */
  MANIFEST_INVALID: "SNAPSHOT_MANIFEST_INVALID",
  /** A chunk's hash differs from the manifest's entry for its position (damaged, forged, reordered). */
  CHUNK_HASH_MISMATCH: "SNAPSHOT_CHUNK_HASH_MISMATCH",
  /** A chunk's bytes are not a well-formed chunk, or its entries are out of order. */
  CHUNK_MALFORMED: "SNAPSHOT_CHUNK_MALFORMED",
  /** The stream ended before the manifest's last chunk. */
  CHUNK_MISSING: "SNAPSHOT_CHUNK_MISSING",
  /** The stream carries more chunks than the manifest lists. */
  CHUNK_EXTRA: "SNAPSHOT_CHUNK_EXTRA",
  /** The rebuilt state root differs from the manifest's state root. */
  ROOT_MISMATCH: "SNAPSHOT_ROOT_MISMATCH",
  /** The store holds no block (or no state) at the requested height. */
  HEIGHT_UNKNOWN: "SNAPSHOT_HEIGHT_UNKNOWN",
  /** The state has more entries than SNAPSHOT_ENTRIES_MAX. */
  TOO_LARGE: "SNAPSHOT_TOO_LARGE",
} as const;

export type SnapshotErrorCode = (typeof SnapshotErrorCode)[keyof typeof SnapshotErrorCode];

export class SnapshotError extends CityLedgerError<SnapshotErrorCode> {
  override name = "SnapshotError";
}
