/**
 * Errors of the node process: configuration, data directory and wiring. Stable codes; messages
 * name what is wrong and, where possible, what to do. They never carry key material.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

export type NodeErrorCode =
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
