/**
 * Checks and conversions shared by the back ends: validation of a block batch before anything
 * is written, decoding of stored rows with their integrity checks (the stored block hash is
 * recomputed, the transactions are checked against the header's txRoot), compact index keys.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes, utf8 } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { BLOCK_EVIDENCE_MAX, BLOCK_SIZE_BYTES_MAX, NAME_BYTES_MAX } from "../base/limits.ts";
import { sha256 } from "../crypto/sha256.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { receiptHashOfEncoded } from "../exec/receipt.ts";
import {
  type Block,
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  checkBlockBody,
  commitCertificateHash,
  decodeBlockHeader,
  decodeCommitCertificate,
  EVIDENCE_SIZE_BYTES_MAX,
  evidenceRoot,
  HASH_BYTES,
  logFrontierPositions,
  merkleRoot,
  verifyLogFrontier,
} from "../ledger/index.ts";
import { LOG_LEVELS_MAX } from "../ledger/merkle-proof.ts";
import { STATE_HASH_BYTES, STATE_NODE_LEAF_HEADER_BYTES, stateNodeKindOf } from "../state/index.ts";
import { StoreError } from "./errors.ts";
import {
  BLOCK_EVENTS_MAX,
  EVENT_DATA_BYTES_MAX,
  EVENT_KEY_BYTES_MAX,
  EVENT_TYPE_BYTES_MAX,
  METADATA_ENTRIES_MAX,
  METADATA_KEY_BYTES_MAX,
  METADATA_VALUE_BYTES_MAX,
  QUERY_RESULTS_MAX,
  RECEIPT_BYTES_MAX,
  WAL_RECORD_BYTES_MAX,
} from "./limits.ts";
import {
  type BlockBatch,
  type BlockRecord,
  type ChainHead,
  type EventQuery,
  HEAD_METADATA_KEYS,
  METADATA_KEYS,
  type MetadataEntry,
  type PageOptions,
  type SnapshotBaseBatch,
} from "./store.ts";

/** `application_id` of our SQLite files, "CLDG": a database of another application is refused. */
export const SQLITE_APPLICATION_ID = 0x434c4447;

/** The first 8 bytes of a hash as a signed 64-bit integer: the compact key of hash indexes. */
export function hashPrefixOf(hash: Uint8Array): bigint {
  assert(hash.length >= 8, "hash prefixes need 8 bytes");
  // Two 32-bit halves rather than a DataView: about 3x faster, and the commit path takes two per
  // transaction. `high` is signed, so the result is the signed big-endian 64-bit value.
  const high = (hash[0]! << 24) | (hash[1]! << 16) | (hash[2]! << 8) | hash[3]!;
  const low = ((hash[4]! << 24) | (hash[5]! << 16) | (hash[6]! << 8) | hash[7]!) >>> 0;
  return (BigInt(high) << 32n) | BigInt(low);
}

/**
 * The compact index key of an event key: the first 8 bytes of SHA-256 of its UTF-8 bytes (always
 * SHA-256, whatever the chain's suite: it is a storage detail, never hashed into the chain).
 * Readers compare the full key; two keys sharing a prefix only cost a skipped row.
 */
export function eventKeyPrefixOf(key: string): bigint {
  return hashPrefixOf(sha256(utf8(key)));
}

export function encodeU64(value: bigint): Uint8Array {
  assert(value >= 0n, "u64 metadata is not negative");
  assert(value < 1n << 64n, "u64 metadata fits 64 bits");
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, value);
  return bytes;
}

export function decodeU64(bytes: Uint8Array, key: string): bigint {
  if (bytes.length !== 8) throw corrupt(`metadata ${key} is not a u64`, { key });
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}

export function corrupt(message: string, details: Record<string, string | number | bigint | boolean> = {}) {
  return new StoreError("STORE_CORRUPT", message, details);
}

/** The chain head from the metadata rows (null before the first block). */
export function headOf(read: (key: string) => Uint8Array | undefined): ChainHead | null {
  const heightBytes = read(METADATA_KEYS.headHeight);
  if (heightBytes === undefined) return null;
  const blockHashBytes = read(METADATA_KEYS.headHash);
  const logSizeBytes = read(METADATA_KEYS.logSize);
  const logRoot = read(METADATA_KEYS.logRoot);
  const stateRoot = read(METADATA_KEYS.stateRoot);
  if (blockHashBytes === undefined || logSizeBytes === undefined || logRoot === undefined) {
    throw corrupt("the head metadata is incomplete");
  }
  if (stateRoot === undefined || stateRoot.length !== HASH_BYTES || logRoot.length !== HASH_BYTES) {
    throw corrupt("the head metadata is incomplete");
  }
  const logSize = decodeU64(logSizeBytes, METADATA_KEYS.logSize);
  if (logSize > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("the log size is out of range");
  return {
    height: decodeU64(heightBytes, METADATA_KEYS.headHeight),
    blockHash: blockHashBytes,
    logSize: Number(logSize),
    logRoot,
    stateRoot,
  };
}

/** The metadata rows `commitBlock` writes for the new head. */
export function headMetadataOf(header: BlockHeader, hashOfBlock: Uint8Array): MetadataEntry[] {
  return [
    [METADATA_KEYS.headHeight, encodeU64(header.height)],
    [METADATA_KEYS.headHash, hashOfBlock],
    [METADATA_KEYS.logSize, encodeU64(header.logSize)],
    [METADATA_KEYS.logRoot, header.logRoot],
    [METADATA_KEYS.stateRoot, header.stateRoot],
  ];
}

export function checkMetadataEntries(entries: readonly MetadataEntry[], allowHead: boolean): void {
  if (!Array.isArray(entries) || entries.length > METADATA_ENTRIES_MAX) {
    throw batchInvalid("metadata entries must be an array of at most METADATA_ENTRIES_MAX");
  }
  for (const [key, value] of entries) {
    if (typeof key !== "string" || !/^[a-z0-9_:.-]+$/.test(key) || key.length > METADATA_KEY_BYTES_MAX) {
      throw batchInvalid("metadata keys are short lower-case ASCII names", { key: String(key).slice(0, 80) });
    }
    if (!allowHead && (HEAD_METADATA_KEYS.has(key) || key.startsWith("index_watermark:"))) {
      throw batchInvalid("the head metadata is written by commitBlock only", { key });
    }
    if (!(value instanceof Uint8Array) || value.length > METADATA_VALUE_BYTES_MAX) {
      throw batchInvalid("metadata values are bytes of at most METADATA_VALUE_BYTES_MAX", { key });
    }
  }
}

function batchInvalid(message: string, details: Record<string, string | number | bigint | boolean> = {}) {
  return new StoreError("STORE_BATCH_INVALID", message, details);
}

/** What a checked batch adds, derived once for the back end. */
export interface CheckedBatch {
  readonly blockHash: Uint8Array;
  readonly firstLogIndex: number;
  readonly evidence: Uint8Array;
  readonly header: Uint8Array;
  readonly certificate: Uint8Array;
  /** The canonical certificate of the block below, replacing the one stored with it; or null. */
  readonly previousCertificate: Uint8Array | null;
  readonly metadata: readonly MetadataEntry[];
}

/**
 * Checks a batch against the stored head before anything is written: height and previous hash
 * follow the head, the log grows by the block's transactions, the index entries match the
 * transactions, the body matches the header, and every field is within its limit.
 */
export function checkBlockBatch(
  batch: BlockBatch,
  head: ChainHead | null,
  hash: HashFunction,
  encodeHeader: (header: BlockHeader) => Uint8Array,
  encodeCertificate: (certificate: CommitCertificate) => Uint8Array,
): CheckedBatch {
  const { block } = batch;
  const { header } = block;
  const heightExpected = (head?.height ?? 0n) + 1n;
  if (header.height !== heightExpected) {
    throw new StoreError("STORE_HEIGHT_MISMATCH", "the block does not follow the stored head", {
      height: header.height,
      heightExpected,
    });
  }
  if (head !== null && !equalBytes(header.previousBlockHash, head.blockHash)) {
    throw new StoreError("STORE_HEIGHT_MISMATCH", "the block's previous hash is not the head's hash", {
      height: header.height,
    });
  }
  const logSizeBefore = head?.logSize ?? 0;
  if (header.logSize !== BigInt(logSizeBefore + block.transactions.length)) {
    throw batchInvalid("the header's log size is not the stored log size plus the block's transactions", {
      height: header.height,
    });
  }
  checkTransactionEntries(batch);
  checkReceipts(batch);
  checkBodyAgainstHeader(batch, hash);
  const hashOfBlock = blockHash(header, hash);
  const certificate = block.certificate;
  if (certificate.height !== header.height || !equalBytes(certificate.blockHash, hashOfBlock)) {
    throw batchInvalid("the commit certificate is not for this block", { height: header.height });
  }
  const previous = batch.previousCertificate;
  if (previous !== undefined) {
    if (
      head === null ||
      previous.height !== head.height ||
      !equalBytes(previous.blockHash, head.blockHash) ||
      !equalBytes(commitCertificateHash(previous, hash), header.previousCommitHash)
    ) {
      throw batchInvalid("the previous certificate is not the one the header commits to", {
        height: header.height,
      });
    }
  }
  checkEvents(batch);
  checkNodes(batch);
  checkMetadataEntries(batch.metadata, false);
  return {
    blockHash: hashOfBlock,
    firstLogIndex: logSizeBefore,
    evidence: encodeEvidence(block.evidence),
    header: encodeHeader(header),
    certificate: encodeCertificate(certificate),
    previousCertificate: previous === undefined ? null : encodeCertificate(previous),
    metadata: [...headMetadataOf(header, hashOfBlock), ...batch.metadata],
  };
}

/**
 * Checks a snapshot base (Store.importSnapshotBase) before anything is written: the store holds
 * no block, the certificate names the block, the whole body matches the header (txRoot included:
 * the block came from a peer), the log nodes are exactly the frontier of the header's logSize and
 * fold to its logRoot, and the root node of its stateRoot is among the state nodes (the caller
 * verified the whole tree: SnapshotImport). The metadata gets the head and snapshot keys.
 */
export function checkSnapshotBaseBatch(
  batch: SnapshotBaseBatch,
  head: ChainHead | null,
  hash: HashFunction,
  encodeHeader: (header: BlockHeader) => Uint8Array,
  encodeCertificate: (certificate: CommitCertificate) => Uint8Array,
): CheckedBatch {
  const { block } = batch;
  const { header } = block;
  if (head !== null) {
    throw new StoreError("STORE_NOT_EMPTY", "a snapshot base goes into a store that holds no block", {
      headHeight: head.height,
    });
  }
  if (header.height < 1n || header.logSize < BigInt(header.txCount)) {
    throw batchInvalid("the snapshot block's height or log size is out of range", { height: header.height });
  }
  if (header.logSize > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw batchInvalid("the snapshot block's log size is not a safe integer", { height: header.height });
  }
  const logSize = Number(header.logSize);
  const baseBatch: BlockBatch = {
    block,
    transactions: batch.transactions,
    receipts: [],
    events: [],
    logNodes: batch.logNodes,
    stateNodes: batch.stateNodes,
    metadata: batch.metadata,
  };
  checkTransactionEntries(baseBatch);
  try {
    checkBlockBody(block, hash);
  } catch (error) {
    if (error instanceof CityLedgerError) {
      throw batchInvalid(`the snapshot block's body does not match its header: ${error.message}`, {
        height: header.height,
      });
    }
    throw error;
  }
  const hashOfBlock = blockHash(header, hash);
  if (block.certificate.height !== header.height || !equalBytes(block.certificate.blockHash, hashOfBlock)) {
    throw batchInvalid("the commit certificate is not for this block", { height: header.height });
  }
  checkNodes(baseBatch);
  checkFrontierNodes(batch, logSize, header.logRoot, hash);
  checkStateRootNode(batch, header.stateRoot, hash);
  checkMetadataEntries(batch.metadata, false);
  return {
    blockHash: hashOfBlock,
    firstLogIndex: logSize - header.txCount,
    evidence: encodeEvidence(block.evidence),
    header: encodeHeader(header),
    certificate: encodeCertificate(block.certificate),
    previousCertificate: null,
    metadata: [
      ...headMetadataOf(header, hashOfBlock),
      [METADATA_KEYS.snapshotHeight, encodeU64(header.height)],
      [METADATA_KEYS.snapshotStateRoot, header.stateRoot],
      [METADATA_KEYS.snapshotLogSize, encodeU64(header.logSize)],
      ...batch.metadata,
    ],
  };
}

function checkFrontierNodes(
  batch: SnapshotBaseBatch,
  logSize: number,
  logRoot: Uint8Array,
  hash: HashFunction,
) {
  const positions = logFrontierPositions(logSize);
  if (batch.logNodes.length !== positions.length) {
    throw batchInvalid("the log nodes are not the frontier of the block's log size", { logSize });
  }
  for (let position = 0; position < positions.length; position++) {
    const node = batch.logNodes[position]!;
    if (node.level !== positions[position]!.level || node.index !== positions[position]!.index) {
      throw batchInvalid("the log nodes are not the frontier of the block's log size", { logSize });
    }
  }
  const hashes = batch.logNodes.map((node) => node.hash);
  if (!verifyLogFrontier(logSize, hashes, logRoot, hash)) {
    throw batchInvalid("the log frontier does not fold to the block's log root", { logSize });
  }
}

function checkStateRootNode(batch: SnapshotBaseBatch, stateRoot: Uint8Array, hash: HashFunction): void {
  const empty = stateRoot.every((byte) => byte === 0);
  if (empty) {
    if (batch.stateNodes.length !== 0) throw batchInvalid("an empty state has no nodes");
    return;
  }
  const root = batch.stateNodes.find(([nodeHash]) => equalBytes(nodeHash, stateRoot));
  if (root === undefined || !stateNodeMatches(stateRoot, root[1], hash)) {
    throw batchInvalid("the state nodes do not hold the block's state root");
  }
}

/**
 * True when `text` takes at most `maxBytes` bytes of UTF-8. A UTF-16 code unit takes at most 3, so
 * short names (every one in practice) are not encoded: the commit path checks two per event.
 */
function utf8Within(text: string, maxBytes: number): boolean {
  return text.length * 3 <= maxBytes || utf8(text).length <= maxBytes;
}

/**
 * Shapes of the index entries. Their hashes are not recomputed here (a commit would hash every
 * transaction again): a wrong entry cannot make a read return a wrong row, because every read
 * through an index recomputes the hash from the row's bytes.
 */
function checkTransactionEntries(batch: BlockBatch): void {
  const { transactions } = batch.block;
  if (!Array.isArray(batch.transactions) || batch.transactions.length !== transactions.length) {
    throw batchInvalid("one index entry per transaction is required");
  }
  for (let index = 0; index < transactions.length; index++) {
    const entry = batch.transactions[index]!;
    if (!(entry.hash instanceof Uint8Array) || entry.hash.length !== HASH_BYTES) {
      throw batchInvalid("a transaction hash is not 32 bytes", { index });
    }
    if (!(entry.senderKeyId instanceof Uint8Array) || entry.senderKeyId.length !== HASH_BYTES) {
      throw batchInvalid("a sender key id is not 32 bytes", { index });
    }
    if (typeof entry.contract !== "string" || !utf8Within(entry.contract, NAME_BYTES_MAX)) {
      throw batchInvalid("a contract name is not a name", { index });
    }
  }
}

/**
 * One encoded receipt per transaction, each within RECEIPT_BYTES_MAX. Their root is not
 * recomputed on the commit path (as the txRoot is not: the node computed or checked it against
 * the header); `receiptsByHeight` and `verifyStore` check it.
 */
function checkReceipts(batch: BlockBatch): void {
  const { receipts } = batch;
  if (!Array.isArray(receipts) || receipts.length !== batch.block.transactions.length) {
    throw batchInvalid("one encoded receipt per transaction is required", {
      height: batch.block.header.height,
      receipts: Array.isArray(receipts) ? receipts.length : -1,
      transactions: batch.block.transactions.length,
    });
  }
  for (let index = 0; index < receipts.length; index++) {
    const receipt = receipts[index];
    if (!(receipt instanceof Uint8Array) || receipt.length === 0 || receipt.length > RECEIPT_BYTES_MAX) {
      throw batchInvalid("a receipt is not 1..RECEIPT_BYTES_MAX bytes", { index });
    }
  }
}

/** An event key is null or 1..EVENT_KEY_BYTES_MAX bytes of well-formed UTF-8. */
function isEventKey(key: unknown): key is string {
  return (
    typeof key === "string" && key.length > 0 && key.isWellFormed() && utf8Within(key, EVENT_KEY_BYTES_MAX)
  );
}

/**
 * checkBlockBody's cheap checks (size, count, evidence). The txRoot is not recomputed on the
 * commit path (consensus checked the body before the block was decided); every read checks it.
 */
function checkBodyAgainstHeader(batch: BlockBatch, hash: HashFunction): void {
  const { block } = batch;
  let sizeBytes = 0;
  for (const transaction of block.transactions) sizeBytes += transaction.length;
  if (sizeBytes > BLOCK_SIZE_BYTES_MAX || block.transactions.length !== block.header.txCount) {
    throw batchInvalid("the block's body does not fit its header (size or count)", {
      height: block.header.height,
    });
  }
  if (!equalBytes(evidenceRoot(block.evidence, hash), block.header.evidenceRoot)) {
    throw batchInvalid("the header's evidenceRoot does not match the evidence", {
      height: block.header.height,
    });
  }
}

function checkEvents(batch: BlockBatch): void {
  if (!Array.isArray(batch.events) || batch.events.length > BLOCK_EVENTS_MAX) {
    throw batchInvalid("events must be an array of at most BLOCK_EVENTS_MAX");
  }
  const txCount = batch.block.transactions.length;
  for (const event of batch.events) {
    if (!Number.isInteger(event.txIndex) || event.txIndex < 0 || event.txIndex >= txCount) {
      throw batchInvalid("an event's txIndex is not a transaction of the block");
    }
    if (!Number.isInteger(event.eventIndex) || event.eventIndex < 0 || event.eventIndex > 0x7fff_ffff) {
      throw batchInvalid("an event's eventIndex is out of range");
    }
    if (
      typeof event.type !== "string" ||
      event.type.length === 0 ||
      !utf8Within(event.type, EVENT_TYPE_BYTES_MAX)
    ) {
      throw batchInvalid("an event type is not a name");
    }
    if (typeof event.contract !== "string" || !utf8Within(event.contract, NAME_BYTES_MAX)) {
      throw batchInvalid("an event's contract is not a name");
    }
    if (event.key !== null && !isEventKey(event.key)) {
      throw batchInvalid("an event's key is neither null nor 1..EVENT_KEY_BYTES_MAX bytes of UTF-8");
    }
    if (!(event.data instanceof Uint8Array) || event.data.length > EVENT_DATA_BYTES_MAX) {
      throw batchInvalid("an event's data is not bytes within EVENT_DATA_BYTES_MAX");
    }
  }
}

function checkNodes(batch: BlockBatch): void {
  for (const node of batch.logNodes) {
    if (!Number.isInteger(node.level) || node.level < 0 || node.level >= LOG_LEVELS_MAX) {
      throw batchInvalid("a log node's level is out of range");
    }
    if (!Number.isSafeInteger(node.index) || node.index < 0)
      throw batchInvalid("a log node's index is out of range");
    if (!(node.hash instanceof Uint8Array) || node.hash.length !== HASH_BYTES) {
      throw batchInvalid("a log node is not a 32-byte hash");
    }
  }
  for (const [nodeHash, encoded] of batch.stateNodes) {
    if (!(nodeHash instanceof Uint8Array) || nodeHash.length !== STATE_HASH_BYTES) {
      throw batchInvalid("a state node hash is not 32 bytes");
    }
    if (!(encoded instanceof Uint8Array) || stateNodeKindOf(encoded) === null) {
      throw batchInvalid("a state node is not a well-formed node");
    }
  }
}

export function encodeEvidence(evidence: readonly Uint8Array[]): Uint8Array {
  const writer = new Writer(8 + evidence.length * 256);
  writer.u32(evidence.length);
  for (const item of evidence) writer.bytes(item, EVIDENCE_SIZE_BYTES_MAX);
  return writer.finish();
}

function decodeEvidence(bytes: Uint8Array): Uint8Array[] {
  const reader = new Reader(bytes);
  const count = reader.u32("evidence count");
  if (count > BLOCK_EVIDENCE_MAX) throw corrupt("a block's evidence row lists too many items");
  const items: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    items.push(reader.bytesField(EVIDENCE_SIZE_BYTES_MAX, "evidence"));
  }
  reader.end("evidence list");
  return items;
}

export function decodeEvidenceRow(bytes: Uint8Array, height: bigint): Uint8Array[] {
  try {
    return decodeEvidence(bytes);
  } catch (error) {
    if (error instanceof CityLedgerError) throw corrupt("a block's evidence row is malformed", { height });
    throw error;
  }
}

/**
 * The block of a record, after checking it: the header decodes and hashes to the stored hash,
 * the certificate is for that hash, the transaction rows are exactly the block's log range and
 * match the header's count and txRoot. Any mismatch is STORE_CORRUPT naming the height.
 */
export function blockOfRecord(record: BlockRecord, hash: HashFunction): Block {
  const height = record.height;
  let header: BlockHeader;
  let certificate: CommitCertificate;
  try {
    header = decodeBlockHeader(record.header);
  } catch (error) {
    if (error instanceof CityLedgerError) throw corrupt("a stored block header is malformed", { height });
    throw error;
  }
  const hashOfBlock = blockHash(header, hash);
  if (!equalBytes(hashOfBlock, record.storedHash)) {
    throw corrupt("a stored block does not match its hash", { height, hash: bytesToHex(record.storedHash) });
  }
  if (header.height !== height) throw corrupt("a stored block sits at the wrong height", { height });
  if (record.certificate === undefined) throw corrupt("a stored block has no commit certificate", { height });
  try {
    certificate = decodeCommitCertificate(record.certificate);
  } catch (error) {
    if (error instanceof CityLedgerError)
      throw corrupt("a stored commit certificate is malformed", { height });
    throw error;
  }
  if (certificate.height !== height || !equalBytes(certificate.blockHash, hashOfBlock)) {
    throw corrupt("a stored commit certificate is not for its block", { height });
  }
  const transactions = transactionsOfRecord(record, header);
  const block: Block = { header, transactions, evidence: record.evidence, certificate };
  try {
    checkBlockBody(block, hash);
  } catch (error) {
    if (error instanceof CityLedgerError) {
      throw corrupt(`a stored block's body does not match its header: ${error.message}`, { height });
    }
    throw error;
  }
  return block;
}

function transactionsOfRecord(record: BlockRecord, header: BlockHeader): Uint8Array[] {
  const height = record.height;
  if (BigInt(record.firstLogIndex + header.txCount) !== header.logSize) {
    throw corrupt("a stored block's log range disagrees with its header", { height });
  }
  if (record.transactions.length !== header.txCount) {
    throw corrupt("a stored block's transaction rows are missing or extra", { height });
  }
  const transactions: Uint8Array[] = [];
  for (let index = 0; index < record.transactions.length; index++) {
    const row = record.transactions[index]!;
    if (
      row.logIndex !== record.firstLogIndex + index ||
      row.height !== height ||
      row.indexInBlock !== index
    ) {
      throw corrupt("a transaction row's position disagrees with its block", { height, index });
    }
    transactions.push(row.encoded);
  }
  assert(transactions.length === header.txCount, "one transaction per row");
  return transactions;
}

/**
 * The certificate of a stored block, checked against the block's header and stored hash
 * (without reading the block's transactions).
 */
export function certificateOfRows(
  height: bigint,
  headerBytes: Uint8Array,
  storedHash: Uint8Array,
  certificateBytes: Uint8Array,
  hash: HashFunction,
): CommitCertificate {
  try {
    const header = decodeBlockHeader(headerBytes);
    const certificate = decodeCommitCertificate(certificateBytes);
    const hashOfBlock = blockHash(header, hash);
    if (header.height !== height || !equalBytes(hashOfBlock, storedHash)) {
      throw corrupt("a stored block does not match its hash", { height });
    }
    if (certificate.height !== height || !equalBytes(certificate.blockHash, hashOfBlock)) {
      throw corrupt("a stored commit certificate is not for its block", { height });
    }
    return certificate;
  } catch (error) {
    if (error instanceof StoreError) throw error;
    if (error instanceof CityLedgerError)
      throw corrupt("a stored header or certificate is malformed", { height });
    throw error;
  }
}

/** True when `encoded` is the state node named by `nodeHash` (its first 65 bytes hash to it). */
export function stateNodeMatches(nodeHash: Uint8Array, encoded: Uint8Array, hash: HashFunction): boolean {
  if (stateNodeKindOf(encoded) === null) return false;
  return equalBytes(hash(encoded.subarray(0, STATE_NODE_LEAF_HEADER_BYTES)), nodeHash);
}

export interface CheckedPage {
  readonly limit: number;
  readonly afterLogIndex: number;
}

export function checkPage(page: PageOptions | undefined): CheckedPage {
  const limit = page?.limit ?? QUERY_RESULTS_MAX;
  const afterLogIndex = page?.afterLogIndex ?? -1;
  if (!Number.isInteger(limit) || limit < 1 || limit > QUERY_RESULTS_MAX) {
    throw new StoreError("STORE_QUERY_INVALID", `limit must be an integer from 1 to ${QUERY_RESULTS_MAX}`);
  }
  if (!Number.isSafeInteger(afterLogIndex) || afterLogIndex < -1) {
    throw new StoreError("STORE_QUERY_INVALID", "afterLogIndex must be a log index");
  }
  return { limit, afterLogIndex };
}

export interface CheckedEventQuery extends CheckedPage {
  readonly contract: string | undefined;
  readonly type: string | undefined;
  readonly key: string | undefined;
}

export function checkEventQuery(query: EventQuery | undefined): CheckedEventQuery {
  const page = checkPage(query);
  const contract = query?.contract;
  if (contract !== undefined && (typeof contract !== "string" || utf8(contract).length > NAME_BYTES_MAX)) {
    throw new StoreError("STORE_QUERY_INVALID", "contract must be a contract name");
  }
  const type = query?.type;
  if (type !== undefined && (typeof type !== "string" || utf8(type).length > EVENT_TYPE_BYTES_MAX)) {
    throw new StoreError("STORE_QUERY_INVALID", "type must be an event type name");
  }
  const key = query?.key;
  if (key !== undefined && !isEventKey(key)) {
    throw new StoreError("STORE_QUERY_INVALID", "key must be 1..EVENT_KEY_BYTES_MAX bytes of UTF-8");
  }
  return { ...page, contract, type, key };
}

/**
 * The receipts of a block record, checked against its header: undefined when the block was not
 * committed with its receipts (and none is stored in its range); otherwise one row per
 * transaction at the block's log positions whose root (RFC 9162 over `receiptHashOfEncoded`) is
 * the header's receiptRoot. STORE_RECEIPTS_MISMATCH names the height when they disagree;
 * STORE_CORRUPT when the header does not match the stored block hash.
 */
export function receiptsOfRecord(record: BlockRecord, hash: HashFunction): Uint8Array[] | undefined {
  const height = record.height;
  if (!record.receiptsStored) {
    if (record.receipts.length === 0) return undefined;
    throw new StoreError("STORE_RECEIPTS_MISMATCH", "receipt rows are stored for a block without receipts", {
      height,
    });
  }
  let header: BlockHeader;
  try {
    header = decodeBlockHeader(record.header);
  } catch (error) {
    if (error instanceof CityLedgerError) throw corrupt("a stored block header is malformed", { height });
    throw error;
  }
  if (header.height !== height || !equalBytes(blockHash(header, hash), record.storedHash)) {
    throw corrupt("a stored block does not match its hash", { height });
  }
  const firstLogIndex = Number(header.logSize) - header.txCount;
  if (record.receipts.length !== header.txCount) {
    throw new StoreError("STORE_RECEIPTS_MISMATCH", "the block's receipts are not one per transaction", {
      height,
      receipts: record.receipts.length,
      transactions: header.txCount,
    });
  }
  const receipts: Uint8Array[] = [];
  for (let index = 0; index < record.receipts.length; index++) {
    const row = record.receipts[index]!;
    if (row.logIndex !== firstLogIndex + index) {
      throw new StoreError("STORE_RECEIPTS_MISMATCH", "a receipt row's position disagrees with its block", {
        height,
        index,
      });
    }
    receipts.push(row.encoded);
  }
  const root = merkleRoot(
    receipts.map((receipt) => receiptHashOfEncoded(receipt, hash)),
    hash,
  );
  if (!equalBytes(root, header.receiptRoot)) {
    throw new StoreError("STORE_RECEIPTS_MISMATCH", "the block's receipts do not match its receiptRoot", {
      height,
    });
  }
  return receipts;
}

export function checkHashArgument(hashArgument: Uint8Array, name: string): void {
  if (!(hashArgument instanceof Uint8Array) || hashArgument.length !== HASH_BYTES) {
    throw new StoreError("STORE_QUERY_INVALID", `${name} must be 32 bytes`);
  }
}

export function checkHeightArgument(height: bigint): void {
  if (typeof height !== "bigint" || height < 0n || height >= 1n << 63n) {
    throw new StoreError("STORE_QUERY_INVALID", "a height is a non-negative 63-bit integer");
  }
}

export function checkWalRecord(height: bigint, record: Uint8Array): void {
  checkHeightArgument(height);
  if (!(record instanceof Uint8Array)) throw new StoreError("STORE_QUERY_INVALID", "a WAL record is bytes");
  if (record.length > WAL_RECORD_BYTES_MAX) {
    throw new StoreError("STORE_WAL_RECORD_TOO_LARGE", "the WAL record exceeds WAL_RECORD_BYTES_MAX", {
      sizeBytes: record.length,
      sizeBytesMax: WAL_RECORD_BYTES_MAX,
    });
  }
}

/** Bytes as a plain Uint8Array view (drivers hand out Buffers; callers get the standard type). */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
