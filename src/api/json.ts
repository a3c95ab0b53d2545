/**
 * The node's answers (src/node/service.ts) in their JSON wire form (src/sdk/wire.ts): bytes as
 * lower-case hex, 64-bit integers as decimal strings. Pure functions; the receipt, header,
 * certificate and validator-set forms are the SDK's own, so clients parse exactly what is sent.
 * @module
 */

import { assert, assertNever } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { suiteByName } from "../crypto/index.ts";
import { decodeValue, type Json, valueToJson } from "../encoding/index.ts";
import { encodeCommitCertificate } from "../ledger/commit.ts";
import { totalVotingPower, type ValidatorSet, validatorSetHash } from "../ledger/validator-set.ts";
import type {
  BlockSummary,
  ChainEvent,
  CommittedBlock,
  TransactionReceipt as NodeReceipt,
  NodeStatus,
  StateRead,
  TransactionStatus,
} from "../node/service.ts";
import {
  certificateToJson,
  executionResultToJson,
  headerToJson,
  u64ToDecimal,
  validatorSetToJson,
} from "../sdk/json-codec.ts";
import type { TransactionReceipt as SdkReceipt } from "../sdk/receipt.ts";
import type {
  BlockJson,
  BlockNoticeJson,
  EventJson,
  NodeStatusJson,
  StateReadJson,
  TransactionStatusJson,
  ValidatorsJson,
} from "../sdk/wire.ts";

/** True only when two types are the same (each assignable to the other, exactly). */
type Same<Left, Right> =
  (<Probe>() => Probe extends Left ? 1 : 2) extends <Probe>() => Probe extends Right ? 1 : 2 ? true : false;
/**
 * The SDK's receipt (what clients verify) and the node's (what the API serves) are one shape;
 * this fails to compile when either side changes alone.
 */
export const RECEIPT_SHAPES_AGREE: Same<SdkReceipt, NodeReceipt> = true;

/** Nesting a notary record may have in JSON (records are flat; this only bounds recursion). */
const RECORD_DEPTH_MAX = 8;
/** Entries of one object or array inside a notary record. */
const RECORD_ITEMS_MAX = 1024;

export function transactionStatusToJson(status: TransactionStatus): TransactionStatusJson {
  const hash = bytesToHex(status.hash);
  switch (status.status) {
    case "pending":
      return { status: "pending", hash };
    case "unknown":
      return { status: "unknown", hash };
    case "committed":
      return {
        status: "committed",
        hash,
        height: u64ToDecimal(status.height),
        indexInBlock: status.indexInBlock,
        logIndex: status.logIndex,
        result: executionResultToJson(status.result),
      };
    default:
      return assertNever(status);
  }
}

export function blockToJson(block: BlockSummary): BlockJson {
  assert(block.height === block.header.height, "a block summary's height is its header's");
  return {
    height: u64ToDecimal(block.height),
    hash: bytesToHex(block.hash),
    header: headerToJson(block.header),
    encodedHeader: bytesToHex(block.encodedHeader),
    certificate: certificateToJson(block.certificate),
    encodedCertificate: bytesToHex(encodeCommitCertificate(block.certificate)),
    transactionHashes: block.transactionHashes.map((hash) => bytesToHex(hash)),
    evidenceCount: block.evidenceCount,
    sizeBytes: block.sizeBytes,
  };
}

export function blockNoticeToJson(block: CommittedBlock): BlockNoticeJson {
  return {
    height: u64ToDecimal(block.summary.height),
    hash: bytesToHex(block.summary.hash),
    header: headerToJson(block.summary.header),
    txCount: block.transactions.length,
    transactionHashes: block.transactions.map((transaction) => bytesToHex(transaction.hash)),
    eventCount: block.events.length,
    sizeBytes: block.summary.sizeBytes,
  };
}

export function validatorsToJson(set: ValidatorSet): ValidatorsJson {
  return {
    validatorSet: validatorSetToJson(set),
    validatorSetHash: bytesToHex(validatorSetHash(set, suiteByName(set.suite))),
    totalPower: u64ToDecimal(totalVotingPower(set)),
  };
}

export function stateReadToJson(read: StateRead): StateReadJson {
  return {
    key: bytesToHex(read.key),
    value: read.value === undefined ? null : bytesToHex(read.value),
    height: u64ToDecimal(read.height),
    stateRoot: bytesToHex(read.stateRoot),
    proof: bytesToHex(read.encodedProof),
  };
}

export function eventToJson(event: ChainEvent): EventJson {
  return {
    height: u64ToDecimal(event.height),
    txIndex: event.txIndex,
    eventIndex: event.eventIndex,
    logIndex: event.logIndex,
    contract: event.contract,
    type: event.type,
    key: event.key,
    data: bytesToHex(event.data),
    value: eventValueJson(event.data),
  };
}

/** An event's data as value JSON, or null (failure records are not canonical values). */
function eventValueJson(data: Uint8Array): Json {
  try {
    return valueToJson(decodeValue(data));
  } catch (error) {
    if (error instanceof CityLedgerError) return null;
    throw error;
  }
}

export function statusToJson(status: NodeStatus): NodeStatusJson {
  return {
    chainId: status.chainId,
    suite: status.suite,
    nodePublicKey: bytesToHex(status.nodePublicKey),
    validator: status.validator,
    height: u64ToDecimal(status.height),
    headHash: status.headHash === null ? null : bytesToHex(status.headHash),
    headTimeMs: status.headTimeMs === null ? null : u64ToDecimal(status.headTimeMs),
    logSize: u64ToDecimal(status.logSize),
    stateRoot: bytesToHex(status.stateRoot),
    consensus: {
      height: u64ToDecimal(status.consensus.height),
      round: status.consensus.round,
      step: status.consensus.step,
    },
    mempool: { count: status.mempool.count, sizeBytes: status.mempool.sizeBytes },
    peers: status.peers,
    syncing: status.syncing,
    startedAtMs: status.startedAtMs,
  };
}

/**
 * A decoded contract record in JSON form, whatever the contract put in it: bigints become
 * decimal strings, bytes hex, and anything JSON cannot carry (functions, symbols, undefined,
 * non-finite numbers) is left out. Depth and size are bounded.
 */
export function recordToJson(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const converted = jsonValueOf(record, 0);
  assert(
    typeof converted === "object" && converted !== null && !Array.isArray(converted),
    "a record is an object",
  );
  return converted as Record<string, unknown>;
}

function jsonValueOf(value: unknown, depth: number): unknown {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "bigint") return value.toString(10);
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (typeof value !== "object" || depth >= RECORD_DEPTH_MAX) return undefined;
  if (Array.isArray(value)) {
    return value.slice(0, RECORD_ITEMS_MAX).map((item) => jsonValueOf(item, depth + 1) ?? null);
  }
  const out: Record<string, unknown> = {};
  let count = 0;
  for (const [key, item] of Object.entries(value)) {
    if (count++ >= RECORD_ITEMS_MAX) break;
    const converted = jsonValueOf(item, depth + 1);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}
