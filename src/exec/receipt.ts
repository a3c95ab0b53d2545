/**
 * Execution receipts: what a transaction did, in canonical bytes that can be hashed, stored,
 * served and compared across nodes. Every included transaction has one, in block order, whether
 * it succeeded or failed ("included but failed", as auditors know from Ethereum receipts).
 *
 *   u8 version (2) ‖ bytes<32> txHash ‖ u8 status (0 ok, 1 failed) ‖
 *   string≤64 errorCode (empty when ok) ‖ u64 gasUsed ‖ u32 eventCount (≤ TX_EVENTS_MAX) ‖
 *   eventCount × (string≤64 contract ‖ string≤64 type ‖ bytes≤8192 data)
 *
 *   receiptHash = HASH(u8 tagLength ‖ "cityledger/receipt/v1" ‖ encoding)
 *   receiptRoot = RFC 9162 root over the block's receipt hashes, in block order
 *
 * A failed receipt carries no events (a failed transaction's events are dropped). Only the
 * stable error code is encoded; the human message and details stay out of hashed bytes.
 * gasUsed is the gas the transaction used (ADR 0007), failed or not, at most TX_GAS_MAX_LIMIT.
 * @module
 */
import { assert } from "../base/assert.ts";
import { NAME_BYTES_MAX } from "../base/limits.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { merkleRoot } from "../ledger/merkle-proof.ts";
import {
  ERROR_CODE_BYTES_MAX,
  EVENT_TYPE_BYTES_MAX,
  TX_EVENTS_DATA_BYTES_MAX,
  TX_EVENTS_MAX,
  TX_GAS_MAX_LIMIT,
} from "./limits.ts";
import { EXEC_DOMAIN_TAGS, execDomainWriter } from "./state-keys.ts";

export const RECEIPT_VERSION = 2;
export const RECEIPT_TX_HASH_BYTES = 32;
export const RECEIPT_STATUS_CODES = { ok: 0, failed: 1 } as const;
export type ReceiptStatus = keyof typeof RECEIPT_STATUS_CODES;
/** Error codes: upper-case identifiers such as NOTARY_ALREADY_ANCHORED. */
export const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** One event of a receipt (its position is its event index). */
export interface ReceiptEvent {
  readonly contract: string;
  readonly type: string;
  /** A canonical value (src/encoding/value.ts), encoded. */
  readonly data: Uint8Array;
}

export interface TransactionReceipt {
  readonly txHash: Uint8Array;
  readonly status: ReceiptStatus;
  /** The ExecutionError code when failed; null when ok. */
  readonly errorCode: string | null;
  /** Gas the transaction used, also when it failed (0 to TX_GAS_MAX_LIMIT). */
  readonly gasUsed: bigint;
  readonly events: readonly ReceiptEvent[];
}

function checkReceipt(receipt: TransactionReceipt): void {
  assert(receipt.txHash.length === RECEIPT_TX_HASH_BYTES, "receipts name a 32-byte transaction hash");
  if (receipt.status === "ok") assert(receipt.errorCode === null, "an ok receipt has no error code");
  if (receipt.status === "failed") {
    assert(receipt.errorCode !== null, "a failed receipt has an error code");
    assert(ERROR_CODE_PATTERN.test(receipt.errorCode), "error codes are upper-case identifiers");
    assert(receipt.events.length === 0, "a failed receipt has no events");
  }
  assert(receipt.events.length <= TX_EVENTS_MAX, "events per transaction are bounded");
  assert(receipt.gasUsed >= 0n, "gas used is not negative");
  assert(receipt.gasUsed <= TX_GAS_MAX_LIMIT, "gas used is bounded by the largest gas limit");
}

export function encodeReceipt(receipt: TransactionReceipt): Uint8Array {
  checkReceipt(receipt);
  const writer = new Writer(256);
  writer
    .u8(RECEIPT_VERSION)
    .fixedBytes(receipt.txHash, RECEIPT_TX_HASH_BYTES)
    .u8(RECEIPT_STATUS_CODES[receipt.status])
    .string(receipt.errorCode ?? "", ERROR_CODE_BYTES_MAX)
    .u64(receipt.gasUsed)
    .u32(receipt.events.length);
  for (const event of receipt.events) {
    writer
      .string(event.contract, NAME_BYTES_MAX)
      .string(event.type, EVENT_TYPE_BYTES_MAX)
      .bytes(event.data, TX_EVENTS_DATA_BYTES_MAX);
  }
  return writer.finish();
}

/** Decodes one canonical receipt; anything else throws DecodeError. */
export function decodeReceipt(bytes: Uint8Array): TransactionReceipt {
  const reader = new Reader(bytes);
  const version = reader.u8("receipt version");
  if (version !== RECEIPT_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown receipt version", { version });
  }
  const txHash = reader.fixedBytes(RECEIPT_TX_HASH_BYTES, "txHash");
  const statusCode = reader.u8("status");
  let status: ReceiptStatus;
  if (statusCode === RECEIPT_STATUS_CODES.ok) status = "ok";
  else if (statusCode === RECEIPT_STATUS_CODES.failed) status = "failed";
  else throw new DecodeError("DECODE_INVALID_VALUE", "unknown receipt status", { statusCode });
  const errorText = reader.string(ERROR_CODE_BYTES_MAX, "errorCode");
  if (status === "ok" && errorText !== "") {
    throw new DecodeError("DECODE_NON_CANONICAL", "an ok receipt carries no error code");
  }
  if (status === "failed" && !ERROR_CODE_PATTERN.test(errorText)) {
    throw new DecodeError("DECODE_INVALID_VALUE", "a failed receipt carries an error code");
  }
  const gasUsed = reader.u64("gasUsed");
  if (gasUsed > TX_GAS_MAX_LIMIT)
    throw new DecodeError("DECODE_INVALID_VALUE", "gas used exceeds any gas limit");
  const eventCount = reader.u32("event count");
  if (eventCount > TX_EVENTS_MAX) throw new DecodeError("DECODE_TOO_LONG", "too many events", { eventCount });
  if (status === "failed" && eventCount !== 0) {
    throw new DecodeError("DECODE_NON_CANONICAL", "a failed receipt carries no events");
  }
  const events: ReceiptEvent[] = [];
  let dataBytes = 0;
  for (let index = 0; index < eventCount; index++) {
    const contract = reader.string(NAME_BYTES_MAX, "event contract");
    const type = reader.string(EVENT_TYPE_BYTES_MAX, "event type");
    const data = reader.bytesField(TX_EVENTS_DATA_BYTES_MAX, "event data");
    dataBytes += data.length;
    events.push({ contract, type, data });
  }
  if (dataBytes > TX_EVENTS_DATA_BYTES_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "event data exceeds the per-transaction limit", { dataBytes });
  }
  reader.end("receipt");
  return { txHash, status, errorCode: status === "ok" ? null : errorText, gasUsed, events };
}

export function receiptHash(receipt: TransactionReceipt, hash: HashFunction): Uint8Array {
  const encoded = encodeReceipt(receipt);
  const message = execDomainWriter(EXEC_DOMAIN_TAGS.receipt, 64 + encoded.length)
    .fixedBytes(encoded, encoded.length)
    .finish();
  return hash(message);
}

/** `receiptHash` of a receipt already encoded (the store keeps receipts as encoded bytes). */
export function receiptHashOfEncoded(encoded: Uint8Array, hash: HashFunction): Uint8Array {
  const message = execDomainWriter(EXEC_DOMAIN_TAGS.receipt, 64 + encoded.length)
    .fixedBytes(encoded, encoded.length)
    .finish();
  return hash(message);
}

/** RFC 9162 root over the receipts' hashes, in block order (a future header field). */
export function receiptRoot(receipts: readonly TransactionReceipt[], hash: HashFunction): Uint8Array {
  return merkleRoot(
    receipts.map((receipt) => receiptHash(receipt, hash)),
    hash,
  );
}
