/**
 * Block headers and blocks (docs/PROTOCOL.md, "Block header", "Block").
 *
 * Header, in order: u8 version (2) | string chainId | u64 height | u64 timeMs |
 *   previousBlockHash (32) | previousCommitHash (32) | txRoot (32) | u32 txCount |
 *   logRoot (32) | u64 logSize | stateRoot (32) | receiptRoot (32) | validatorSetHash (32) |
 *   nextValidatorSetHash (32) | evidenceRoot (32) | proposer key id (32)
 * blockHash = HASH(domain("cityledger/block-header/v1") || header encoding)
 *
 * txRoot is the RFC 9162 root over this block's transaction hashes; logRoot/logSize are the
 * transparency log (every transaction ever) after this block; stateRoot is the state tree
 * after executing this block; receiptRoot is the RFC 9162 root over the hashes of this block's
 * execution receipts, in block order (src/exec/receipt.ts), so a receipt's outcome, gas and
 * events are provable like the transaction itself. Height 1 is the first block; its previous hashes are those of
 * the genesis document and 32 zero bytes.
 * @module
 */
import { assert } from "../base/assert.ts";
import { equalBytes } from "../base/bytes.ts";
import {
  BLOCK_EVIDENCE_MAX,
  BLOCK_SIZE_BYTES_MAX,
  BLOCK_TXS_MAX,
  CHAIN_ID_BYTES_MAX,
  TX_SIZE_BYTES_MAX,
} from "../base/limits.ts";
import type { HashFunction } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { type CommitCertificate, readCommitCertificate, writeCommitCertificate } from "./commit.ts";
import { LedgerError } from "./errors.ts";
import { merkleRoot } from "./merkle-proof.ts";
import { hashEncodedTransaction } from "./transaction.ts";

export const BLOCK_HEADER_VERSION = 2;
export const BLOCK_VERSION = 1;
/** Version byte of a proposed block (the consensus value: a block without its certificate). */
export const PROPOSED_BLOCK_VERSION = 1;
export const HASH_BYTES = 32;
/** One piece of evidence (an equivocation: two conflicting signed votes). */
export const EVIDENCE_SIZE_BYTES_MAX = 1024;

export interface BlockHeader {
  readonly chainId: string;
  readonly height: bigint;
  /** Proposer's clock, milliseconds since the Unix epoch; validators check it within bounds. */
  readonly timeMs: bigint;
  readonly previousBlockHash: Uint8Array;
  readonly previousCommitHash: Uint8Array;
  readonly txRoot: Uint8Array;
  readonly txCount: number;
  readonly logRoot: Uint8Array;
  readonly logSize: bigint;
  readonly stateRoot: Uint8Array;
  /** RFC 9162 root over the block's receipt hashes (the empty-tree root for no transactions). */
  readonly receiptRoot: Uint8Array;
  readonly validatorSetHash: Uint8Array;
  readonly nextValidatorSetHash: Uint8Array;
  readonly evidenceRoot: Uint8Array;
  readonly proposer: Uint8Array;
}

export function writeBlockHeader(writer: Writer, header: BlockHeader): void {
  writer
    .u8(BLOCK_HEADER_VERSION)
    .string(header.chainId, CHAIN_ID_BYTES_MAX)
    .u64(header.height)
    .u64(header.timeMs)
    .fixedBytes(header.previousBlockHash, HASH_BYTES)
    .fixedBytes(header.previousCommitHash, HASH_BYTES)
    .fixedBytes(header.txRoot, HASH_BYTES)
    .u32(header.txCount)
    .fixedBytes(header.logRoot, HASH_BYTES)
    .u64(header.logSize)
    .fixedBytes(header.stateRoot, HASH_BYTES)
    .fixedBytes(header.receiptRoot, HASH_BYTES)
    .fixedBytes(header.validatorSetHash, HASH_BYTES)
    .fixedBytes(header.nextValidatorSetHash, HASH_BYTES)
    .fixedBytes(header.evidenceRoot, HASH_BYTES)
    .fixedBytes(header.proposer, HASH_BYTES);
}

export function readBlockHeader(reader: Reader): BlockHeader {
  const version = reader.u8("header version");
  if (version !== BLOCK_HEADER_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown block header version", { version });
  }
  const header: BlockHeader = {
    chainId: reader.string(CHAIN_ID_BYTES_MAX, "chainId"),
    height: reader.u64("height"),
    timeMs: reader.u64("timeMs"),
    previousBlockHash: reader.fixedBytes(HASH_BYTES, "previousBlockHash"),
    previousCommitHash: reader.fixedBytes(HASH_BYTES, "previousCommitHash"),
    txRoot: reader.fixedBytes(HASH_BYTES, "txRoot"),
    txCount: reader.u32("txCount"),
    logRoot: reader.fixedBytes(HASH_BYTES, "logRoot"),
    logSize: reader.u64("logSize"),
    stateRoot: reader.fixedBytes(HASH_BYTES, "stateRoot"),
    receiptRoot: reader.fixedBytes(HASH_BYTES, "receiptRoot"),
    validatorSetHash: reader.fixedBytes(HASH_BYTES, "validatorSetHash"),
    nextValidatorSetHash: reader.fixedBytes(HASH_BYTES, "nextValidatorSetHash"),
    evidenceRoot: reader.fixedBytes(HASH_BYTES, "evidenceRoot"),
    proposer: reader.fixedBytes(HASH_BYTES, "proposer"),
  };
  if (header.txCount > BLOCK_TXS_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "header counts more transactions than a block may hold");
  }
  return header;
}

export function encodeBlockHeader(header: BlockHeader): Uint8Array {
  const writer = new Writer(512);
  writeBlockHeader(writer, header);
  return writer.finish();
}

export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  const reader = new Reader(bytes);
  const header = readBlockHeader(reader);
  reader.end("block header");
  return header;
}

export function blockHash(header: BlockHeader, hash: HashFunction): Uint8Array {
  return hash(domainSeparated(DOMAIN_TAGS.blockHeader, encodeBlockHeader(header)));
}

export interface Block {
  readonly header: BlockHeader;
  /** Encoded transactions, in execution order. */
  readonly transactions: readonly Uint8Array[];
  /** Encoded evidence of misbehaviour (defined by the consensus protocol). */
  readonly evidence: readonly Uint8Array[];
  readonly certificate: CommitCertificate;
}

/** The part blocks and proposed blocks share: header, transactions, evidence. */
function writeBody(writer: Writer, body: Pick<Block, "header" | "transactions" | "evidence">): void {
  assert(body.transactions.length <= BLOCK_TXS_MAX, "a block holds at most BLOCK_TXS_MAX transactions");
  assert(body.evidence.length <= BLOCK_EVIDENCE_MAX, "a block holds at most BLOCK_EVIDENCE_MAX evidence");
  writeBlockHeader(writer, body.header);
  writer.u32(body.transactions.length);
  for (const transaction of body.transactions) writer.bytes(transaction, TX_SIZE_BYTES_MAX);
  writer.u32(body.evidence.length);
  for (const evidence of body.evidence) writer.bytes(evidence, EVIDENCE_SIZE_BYTES_MAX);
}

function readBody(reader: Reader): Pick<Block, "header" | "transactions" | "evidence"> {
  const header = readBlockHeader(reader);
  const transactionCount = reader.u32("transaction count");
  if (transactionCount > BLOCK_TXS_MAX) throw new DecodeError("DECODE_TOO_LONG", "too many transactions");
  const transactions: Uint8Array[] = [];
  for (let index = 0; index < transactionCount; index++) {
    transactions.push(reader.bytesField(TX_SIZE_BYTES_MAX, "transaction"));
  }
  const evidenceCount = reader.u32("evidence count");
  if (evidenceCount > BLOCK_EVIDENCE_MAX) throw new DecodeError("DECODE_TOO_LONG", "too much evidence");
  const evidence: Uint8Array[] = [];
  for (let index = 0; index < evidenceCount; index++) {
    evidence.push(reader.bytesField(EVIDENCE_SIZE_BYTES_MAX, "evidence"));
  }
  return { header, transactions, evidence };
}

function sizeBytesOf(transactions: readonly Uint8Array[]): number {
  let sizeBytes = 1024;
  for (const transaction of transactions) sizeBytes += transaction.length + 4;
  return sizeBytes;
}

function readerWithin(bytes: Uint8Array, what: string): Reader {
  if (bytes.length > BLOCK_SIZE_BYTES_MAX + 1024 * 1024) {
    throw new DecodeError("DECODE_TOO_LONG", `${what} exceeds the size limit`, { sizeBytes: bytes.length });
  }
  return new Reader(bytes);
}

export function encodeBlock(block: Block): Uint8Array {
  const writer = new Writer(sizeBytesOf(block.transactions));
  writer.u8(BLOCK_VERSION);
  writeBody(writer, block);
  writeCommitCertificate(writer, block.certificate);
  return writer.finish();
}

export function decodeBlock(bytes: Uint8Array): Block {
  const reader = readerWithin(bytes, "block");
  const version = reader.u8("block version");
  if (version !== BLOCK_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown block version", { version });
  }
  const body = readBody(reader);
  const certificate = readCommitCertificate(reader);
  reader.end("block");
  return { ...body, certificate };
}

/**
 * A block before its decision: what a proposer proposes and consensus agrees on, identified by
 * blockHash(header). The decided block is this plus the commit certificate.
 */
export interface ProposedBlock {
  readonly header: BlockHeader;
  readonly transactions: readonly Uint8Array[];
  readonly evidence: readonly Uint8Array[];
  /**
   * The proposer's certificate of the block below, the one header.previousCommitHash names
   * (null at height 1). Validators collect different sets of precommits; the proposer's becomes
   * the canonical certificate of that block on every node (CometBFT's "last commit").
   */
  readonly previousCertificate: CommitCertificate | null;
}

/**
 * u8 version (1) | header | u32 count, bytes transactions | u32 count, bytes evidence |
 * u8 0 (no previous certificate) or 1 followed by the previous commit certificate.
 */
export function encodeProposedBlock(block: ProposedBlock): Uint8Array {
  const writer = new Writer(sizeBytesOf(block.transactions));
  writer.u8(PROPOSED_BLOCK_VERSION);
  writeBody(writer, block);
  if (block.previousCertificate === null) writer.u8(0);
  else {
    writer.u8(1);
    writeCommitCertificate(writer, block.previousCertificate);
  }
  return writer.finish();
}

/** Decodes a canonical proposed block; anything else throws DecodeError. */
export function decodeProposedBlock(bytes: Uint8Array): ProposedBlock {
  const reader = readerWithin(bytes, "proposed block");
  const version = reader.u8("proposed block version");
  if (version !== PROPOSED_BLOCK_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown proposed block version", { version });
  }
  const body = readBody(reader);
  const hasPrevious = reader.u8("previous certificate flag");
  if (hasPrevious > 1)
    throw new DecodeError("DECODE_NON_CANONICAL", "the previous certificate flag is 0 or 1");
  const previousCertificate = hasPrevious === 1 ? readCommitCertificate(reader) : null;
  reader.end("proposed block");
  return { ...body, previousCertificate };
}

/** RFC 9162 root over this block's transaction hashes. */
export function transactionRoot(transactions: readonly Uint8Array[], hash: HashFunction): Uint8Array {
  return merkleRoot(
    transactions.map((transaction) => hashEncodedTransaction(transaction, hash)),
    hash,
  );
}

/** RFC 9162 root over the hashes of the block's evidence items. */
export function evidenceRoot(evidence: readonly Uint8Array[], hash: HashFunction): Uint8Array {
  return merkleRoot(
    evidence.map((item) => hash(domainSeparated(DOMAIN_TAGS.evidence, item))),
    hash,
  );
}

/**
 * Checks that a block's body matches its header (counts, roots, size). It does not check the
 * certificate (verifyCommit), the transactions (validateTransaction) or execution.
 */
export function checkBlockBody(block: Block, hash: HashFunction): void {
  let sizeBytes = 0;
  for (const transaction of block.transactions) sizeBytes += transaction.length;
  if (sizeBytes > BLOCK_SIZE_BYTES_MAX) {
    throw new LedgerError("BLOCK_TOO_LARGE", "the block's transactions exceed the block size limit", {
      sizeBytes,
    });
  }
  if (block.transactions.length !== block.header.txCount) {
    throw new LedgerError(
      "BLOCK_TX_COUNT_MISMATCH",
      "the header's transaction count does not match the body",
    );
  }
  const root = transactionRoot(block.transactions, hash);
  assert(root.length === HASH_BYTES, "roots are 32 bytes");
  if (!equalBytes(root, block.header.txRoot)) {
    throw new LedgerError("BLOCK_TX_ROOT_MISMATCH", "the header's transaction root does not match the body");
  }
  if (!equalBytes(evidenceRoot(block.evidence, hash), block.header.evidenceRoot)) {
    throw new LedgerError(
      "BLOCK_EVIDENCE_ROOT_MISMATCH",
      "the header's evidence root does not match the body",
    );
  }
}
