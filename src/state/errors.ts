/**
 * Typed errors of the state tree. Bad input from callers (keys, values, roots, batches) and a
 * store that lacks or garbles a node are operating errors with stable codes; broken invariants
 * of the tree itself are assertions (src/base/assert.ts).
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

export const StateErrorCode = {
  /** A key is not a Uint8Array of exactly STATE_KEY_BYTES (32) bytes. */
  KEY_INVALID: "STATE_KEY_INVALID",
  /** A value is neither null nor a non-empty Uint8Array. */
  VALUE_INVALID: "STATE_VALUE_INVALID",
  /** A value is longer than STATE_VALUE_BYTES_MAX. */
  VALUE_TOO_LARGE: "STATE_VALUE_TOO_LARGE",
  /** A batch is not an array of updates, or an update is not `{ key, value }`. */
  BATCH_INVALID: "STATE_BATCH_INVALID",
  /** A batch holds more than STATE_BATCH_UPDATES_MAX updates. */
  BATCH_TOO_LARGE: "STATE_BATCH_TOO_LARGE",
  /** A root is not a Uint8Array of exactly 32 bytes. */
  ROOT_INVALID: "STATE_ROOT_INVALID",
  /** The store lacks a node that a root reaches: an unknown root, or a corrupted or pruned store. */
  NODE_MISSING: "STATE_NODE_MISSING",
  /** The store returned bytes that are not a well-formed node, or a leaf whose value does not match. */
  NODE_CORRUPT: "STATE_NODE_CORRUPT",
} as const;

export type StateErrorCode = (typeof StateErrorCode)[keyof typeof StateErrorCode];

export class StateError extends CityLedgerError<StateErrorCode> {
  override name = "StateError";
}
