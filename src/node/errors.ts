/**
 * Errors of the node process: configuration, data directory and wiring. Stable codes; messages
 * name what is wrong and, where possible, what to do. They never carry key material.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

export type NodeErrorCode =
  /** A read of the committed state (an API query) needs more entries than COMMITTED_READ_KEYS_MAX. */
  | "NODE_READ_TOO_LARGE"
  /** The config file is missing, not JSON, or fails its schema (details name the field). */
  | "NODE_CONFIG_INVALID"
  /** The genesis file is missing, not JSON, or not a valid genesis document. */
  | "NODE_GENESIS_INVALID"
  /** The data directory was made for another genesis. */
  | "NODE_GENESIS_MISMATCH"
  /** The data directory holds blocks but not the metadata this node writes. */
  | "NODE_STORE_FOREIGN"
  /** The data directory is damaged (run `cityledger store verify`). */
  | "NODE_STORE_CORRUPT"
  /** A block decided by consensus fails on this node: its software or data differ from the others'. */
  | "NODE_DECIDED_INVALID"
  /** The node key file cannot be read or unsealed. */
  | "NODE_KEY_INVALID"
  /** The node is stopping or stopped. */
  | "NODE_STOPPED";

export class NodeError extends CityLedgerError<NodeErrorCode> {
  override name = "NodeError";
}

export type SnapshotSyncErrorCode =
  /** No peer offered a snapshot with a certified header within the discovery time. */
  | "SNAPSHOT_SYNC_NO_OFFER"
  /** Every peer offering the chosen snapshot failed, refused or lied; none is left to ask. */
  | "SNAPSHOT_SYNC_PEERS_EXHAUSTED"
  /**
   * The chosen snapshot is not the state of its certified header: its manifest names another
   * state root or chunk count, its chunks do not rebuild the header's state root, or its chunks
   * do not decode. Every peer that offered it lied (or runs broken software).
   */
  | "SNAPSHOT_SYNC_SNAPSHOT_INVALID"
  /** The offered state has more entries or chunks than this node stages in memory (SNAPSHOT_ENTRIES_MAX). */
  | "SNAPSHOT_SYNC_TOO_LARGE"
  /** The node stopped while joining. */
  | "SNAPSHOT_SYNC_STOPPED";

/** Why joining from a snapshot did not complete; the node then starts from genesis (block sync). */
export class SnapshotSyncError extends CityLedgerError<SnapshotSyncErrorCode> {
  override name = "SnapshotSyncError";
}
