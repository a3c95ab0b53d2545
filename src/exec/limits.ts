/**
 * Limits of the execution module (TigerBeetle style: `<noun>_<unit>_MAX`), each documented in
 * docs/LIMITS.md ("Execution"). They bound what one transaction may make the executor hold and
 * write, and the fields of the `notary` system contract. Relations between them, and with the
 * core limits, are asserted when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  BLOCK_TXS_MAX,
  NAME_BYTES_MAX,
  STATE_BATCH_UPDATES_MAX,
  STATE_VALUE_BYTES_MAX,
  TX_ARGS_BYTES_MAX,
} from "../base/limits.ts";

/** Events one transaction may emit. */
export const TX_EVENTS_MAX = 8;
/** Bytes of event data one transaction may emit, all its events together. */
export const TX_EVENTS_DATA_BYTES_MAX = 8 * 1024;
/** State writes (set or delete) one transaction may make, its nonce not counted. */
export const TX_STATE_WRITES_MAX = 64;
/** Bytes of state values one transaction may write, all its writes together. */
export const TX_STATE_WRITE_BYTES_MAX = 16 * 1024;
/** A state-key namespace such as `contract/notary/record` (ASCII). */
export const STATE_NAMESPACE_BYTES_MAX = 128;
/** The id part of a state key (a key id, a document hash, ...). */
export const STATE_KEY_ID_BYTES_MAX = 256;
/** A contract's table name, the last part of its namespaces. */
export const CONTRACT_TABLE_BYTES_MAX = 32;
/** An event type name. */
export const EVENT_TYPE_BYTES_MAX = NAME_BYTES_MAX;
/** An execution error code in a receipt (`[A-Z][A-Z0-9_]*`). */
export const ERROR_CODE_BYTES_MAX = 64;

/** `notary`: a document title (UTF-8, no control characters). */
export const NOTARY_TITLE_BYTES_MAX = 256;
/** `notary`: a document type such as `permit` (`[a-z][a-z0-9-]*`). */
export const NOTARY_DOCUMENT_TYPE_BYTES_MAX = 32;
/** `notary`: an optional description (UTF-8; newlines and tabs allowed). */
export const NOTARY_DESCRIPTION_BYTES_MAX = 2048;
/** `notary`: an optional reference URI where the document can be found (printable ASCII). */
export const NOTARY_URI_BYTES_MAX = 1024;
/** `notary`: an optional reason given when revoking. */
export const NOTARY_REASON_BYTES_MAX = 512;

/**
 * Upper bound of one encoded notary record (and of its event data): the text fields at their
 * limits plus 512 bytes for the map structure, keys, hashes, heights and times.
 */
export const NOTARY_RECORD_BYTES_MAX =
  NOTARY_TITLE_BYTES_MAX +
  NOTARY_DOCUMENT_TYPE_BYTES_MAX +
  NOTARY_DESCRIPTION_BYTES_MAX +
  NOTARY_URI_BYTES_MAX +
  NOTARY_REASON_BYTES_MAX +
  512;

assert(
  BLOCK_TXS_MAX * (TX_STATE_WRITES_MAX + 1) <= STATE_BATCH_UPDATES_MAX,
  "a full block's writes, nonces included, fit one state batch",
);
assert(TX_STATE_WRITE_BYTES_MAX <= STATE_VALUE_BYTES_MAX, "any allowed write is a valid state value");
assert(TX_EVENTS_DATA_BYTES_MAX <= TX_ARGS_BYTES_MAX, "events stay smaller than the arguments bound");
assert(NOTARY_RECORD_BYTES_MAX <= TX_STATE_WRITE_BYTES_MAX, "a notary record fits one transaction's writes");
assert(NOTARY_RECORD_BYTES_MAX <= TX_EVENTS_DATA_BYTES_MAX, "a notary record fits one transaction's events");
assert(CONTRACT_TABLE_BYTES_MAX + NAME_BYTES_MAX + 10 <= STATE_NAMESPACE_BYTES_MAX, "namespaces fit");
