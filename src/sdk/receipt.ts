/**
 * Transaction receipts: their JSON form (docs/PROTOCOL.md, "Receipts") and their offline
 * verification. A receipt proves that a transaction is in the chain's transparency log at a
 * block whose header a quorum of a trusted validator set signed:
 *
 *   transaction --hash--> log leaf --inclusion proof--> header.logRoot (at header.logSize)
 *   header --blockHash--> certificate.blockHash <--precommits-- trusted validator set
 *
 * The log's leaf data is the 32-byte transaction hash (docs/PROTOCOL.md, "Transparency log"),
 * so the leaf hash is HASH(0x00 || txHash). What the transaction did is proved too when the
 * receipt carries its execution receipt (status, error code, gas, events):
 *
 *   execution receipt --receiptHash--> leaf --inclusion proof--> header.receiptRoot
 *
 * and then `result` must agree with it. Without it (a node that does not hold the block's
 * execution receipts), a valid receipt proves inclusion, not the outcome.
 *
 * verifyReceipt is pure and never throws: every failure is a result with a stable code.
 * @module
 */
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { LOG_PROOF_HASHES_MAX, LOG_SIZE_MAX, TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import type { HeaderLink } from "../consensus/light-client.ts";
import { verifyHeaderChain } from "../consensus/light-client.ts";
import { portableSuiteByName } from "../crypto/portable.ts";
import type { SignatureSuite, SuiteName } from "../crypto/suite.ts";
import { decodeReceipt, receiptHashOfEncoded } from "../exec/receipt.ts";
import { type BlockHeader, blockHash, encodeBlockHeader } from "../ledger/block.ts";
import {
  type CommitCertificate,
  certificateSignaturesValid,
  encodeCommitCertificate,
} from "../ledger/commit.ts";
import { verifyInclusion } from "../ledger/merkle-proof.ts";
import { decodeTransaction, hashEncodedTransaction } from "../ledger/transaction.ts";
import { type ValidatorSet, validatorSetHash } from "../ledger/validator-set.ts";
import {
  bytesFromHex,
  certificateFromJson,
  certificateToJson,
  checkWire,
  type ExecutionResult,
  executionResultToJson,
  headerFromJson,
  headerToJson,
  u64FromDecimal,
  u64ToDecimal,
  validatorSetFromJson,
  validatorSetToJson,
} from "./json-codec.ts";
import { EXECUTION_RECEIPT_BYTES_MAX, RECEIPT_FORMAT, ReceiptJson } from "./wire.ts";

/**
 * Everything needed to check offline that a transaction is in the ledger. The same shape as the
 * node's TransactionReceipt (src/node/service.ts); the API checks that the two stay equal.
 */
export interface TransactionReceipt {
  readonly chainId: string;
  readonly transaction: Uint8Array;
  readonly hash: Uint8Array;
  readonly height: bigint;
  readonly indexInBlock: number;
  readonly logIndex: number;
  readonly logSize: bigint;
  readonly inclusionProof: readonly Uint8Array[];
  readonly header: BlockHeader;
  readonly encodedHeader: Uint8Array;
  readonly certificate: CommitCertificate;
  readonly encodedCertificate: Uint8Array;
  readonly validatorSet: ValidatorSet;
  readonly result: ExecutionResult;
  /** The execution receipt and its proof in header.receiptRoot, or null when not held. */
  readonly execution: ExecutionProof | null;
}

export interface ExecutionProof {
  /** The encoded execution receipt (docs/PROTOCOL.md 13.5). */
  readonly receipt: Uint8Array;
  /** RFC 9162 inclusion proof of its receipt hash at indexInBlock among header.txCount. */
  readonly proof: readonly Uint8Array[];
}

/**
 * What the verifier trusts: the chain id, and a validator set it holds for a height (from the
 * genesis document or a checkpoint it checked before). When the set that signed the receipt's
 * header is a later one, `headerChain` carries the certified headers that lead from the trusted
 * set to it (src/consensus/light-client.ts, verifyHeaderChain): the first signed by
 * `validatorSet`, each next one by the set its predecessor announced, the last at the receipt's
 * height or the one just below it.
 */
export interface ReceiptTrust {
  readonly chainId: string;
  readonly validatorSet: ValidatorSet;
  readonly headerChain?: readonly HeaderLink[];
}

export interface VerifyReceiptOptions {
  /** The chain's suite; default the portable one named by the trusted set (browser-safe). */
  readonly suite?: SignatureSuite;
}

export type ReceiptCheckCode =
  /** The receipt (or the transaction in it) is not well-formed. */
  | "RECEIPT_MALFORMED"
  /** The trust checkpoint is not usable (unknown suite, empty header chain, wrong suite given). */
  | "RECEIPT_TRUST_INVALID"
  /** The receipt, its header or its transaction names another chain than the trusted one. */
  | "RECEIPT_WRONG_CHAIN"
  /** The receipt's hash is not the hash of its transaction. */
  | "RECEIPT_TX_HASH_MISMATCH"
  /** The receipt's fields disagree with its header (height, log size, encodings, validator set). */
  | "RECEIPT_HEADER_MISMATCH"
  /** The inclusion proof does not lead from the transaction to the header's log root. */
  | "RECEIPT_INCLUSION_INVALID"
  /** The certificate signs another block than this header. */
  | "RECEIPT_BLOCK_HASH_MISMATCH"
  /** The header was signed by a validator set the verifier has no reason to trust. */
  | "RECEIPT_VALIDATOR_SET_UNTRUSTED"
  /** The header chain from the trusted set does not verify or does not reach the header. */
  | "RECEIPT_HEADER_CHAIN_INVALID"
  /** The certificate lacks valid precommits of more than 2/3 of the signing set's power. */
  | "RECEIPT_CERTIFICATE_INVALID"
  /** The execution receipt is not this transaction's, not in the header's receiptRoot, or disagrees with `result`. */
  | "RECEIPT_EXECUTION_INVALID";

export type ReceiptVerification =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: ReceiptCheckCode; readonly message: string };

const KNOWN_SUITES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];
const HASH_BYTES = 32;

function refuse(code: ReceiptCheckCode, message: string): ReceiptVerification {
  return { ok: false, code, message };
}

/**
 * Checks a receipt offline against a trust checkpoint: the transaction hash, the chain id, the
 * header's consistency, the RFC 9162 inclusion proof at the header's log size, the certificate's
 * block hash, the signing set (trusted directly or through a header chain) and the certificate.
 * Never throws.
 */
export function verifyReceipt(
  receipt: TransactionReceipt,
  trust: ReceiptTrust,
  options: VerifyReceiptOptions = {},
): ReceiptVerification {
  try {
    return verifyReceiptUnguarded(receipt, trust, options);
  } catch (error) {
    // Only malformed input reaches here (a field of the wrong type deep inside a structure).
    const name = error instanceof Error ? error.name : "error";
    return refuse("RECEIPT_MALFORMED", `the receipt could not be checked (${name})`);
  }
}

function verifyReceiptUnguarded(
  receipt: TransactionReceipt,
  trust: ReceiptTrust,
  options: VerifyReceiptOptions,
): ReceiptVerification {
  if (!isReceiptShape(receipt)) return refuse("RECEIPT_MALFORMED", "the receipt is missing fields");
  if (typeof trust !== "object" || trust === null || typeof trust.chainId !== "string") {
    return refuse("RECEIPT_TRUST_INVALID", "the trust checkpoint needs a chain id and a validator set");
  }
  if (typeof trust.validatorSet !== "object" || !KNOWN_SUITES.includes(trust.validatorSet.suite)) {
    return refuse("RECEIPT_TRUST_INVALID", "the trusted validator set names no known suite");
  }
  const suite = options.suite ?? portableSuiteByName(trust.validatorSet.suite);
  if (suite.name !== trust.validatorSet.suite) {
    return refuse("RECEIPT_TRUST_INVALID", "the suite given is not the trusted set's suite");
  }
  const { header } = receipt;

  // The chain: the receipt, its header and the transaction itself must all name the trusted one.
  if (header.chainId !== trust.chainId || receipt.chainId !== trust.chainId) {
    return refuse("RECEIPT_WRONG_CHAIN", `the receipt is for chain ${header.chainId}, not ${trust.chainId}`);
  }
  let transactionChainId: string;
  try {
    transactionChainId = decodeTransaction(receipt.transaction).chainId;
  } catch (error) {
    if (error instanceof CityLedgerError) {
      return refuse("RECEIPT_MALFORMED", `the receipt's transaction does not decode: ${error.message}`);
    }
    throw error;
  }
  if (transactionChainId !== trust.chainId) {
    return refuse("RECEIPT_WRONG_CHAIN", "the transaction was signed for another chain");
  }

  // The transaction hash is what the log holds.
  const transactionHash = hashEncodedTransaction(receipt.transaction, suite.hash);
  if (!equalBytes(transactionHash, receipt.hash)) {
    return refuse("RECEIPT_TX_HASH_MISMATCH", "the receipt's hash is not the hash of its transaction");
  }

  // The receipt's copies of header fields must be the header's.
  const headerMismatch = headerMismatchOf(receipt, suite);
  if (headerMismatch !== null) return refuse("RECEIPT_HEADER_MISMATCH", headerMismatch);

  // The certificate must sign this header.
  const hashOfBlock = blockHash(header, suite.hash);
  if (!equalBytes(hashOfBlock, receipt.certificate.blockHash)) {
    return refuse("RECEIPT_BLOCK_HASH_MISMATCH", "the certificate signs another block than the header");
  }

  // The transaction is one of this block's, and in the log whose root the header carries.
  const inclusionProblem = inclusionProblemOf(receipt, suite);
  if (inclusionProblem !== null) return refuse("RECEIPT_INCLUSION_INVALID", inclusionProblem);

  // What it did: the execution receipt is in the header's receiptRoot, and `result` says the same.
  if (receipt.execution !== null) {
    const executionProblem = executionProblemOf(receipt, receipt.execution, suite);
    if (executionProblem !== null) return refuse("RECEIPT_EXECUTION_INVALID", executionProblem);
  }

  // Which set signed the header, and why it is trusted.
  const signing = signingSetOf(receipt, trust, suite);
  if (!signing.ok) return signing.refusal;

  // The set is the header's (checked above, or through the header chain) and the certificate
  // signs `hashOfBlock`: only the signatures are left (verifyCommit would hash both again).
  if (!certificateSignaturesValid(header, hashOfBlock, receipt.certificate, signing.validatorSet, suite)) {
    return refuse(
      "RECEIPT_CERTIFICATE_INVALID",
      "the certificate does not carry valid precommits of more than 2/3 of the voting power",
    );
  }
  return { ok: true };
}

function headerMismatchOf(receipt: TransactionReceipt, suite: SignatureSuite): string | null {
  const { header } = receipt;
  if (receipt.height !== header.height) return "the receipt's height is not the header's";
  if (receipt.logSize !== header.logSize) return "the receipt's log size is not the header's";
  if (receipt.certificate.height !== header.height) return "the certificate is for another height";
  if (!equalBytes(encodeBlockHeader(header), receipt.encodedHeader)) {
    return "encodedHeader is not the encoding of the header";
  }
  if (!equalBytes(encodeCommitCertificate(receipt.certificate), receipt.encodedCertificate)) {
    return "encodedCertificate is not the encoding of the certificate";
  }
  if (!equalBytes(validatorSetHash(receipt.validatorSet, suite), header.validatorSetHash)) {
    return "the receipt's validator set is not the one the header names";
  }
  return null;
}

function inclusionProblemOf(receipt: TransactionReceipt, suite: SignatureSuite): string | null {
  const { header } = receipt;
  if (header.logSize > BigInt(LOG_SIZE_MAX)) return "the header's log size is beyond LOG_SIZE_MAX";
  const logSize = Number(header.logSize);
  const firstIndex = logSize - header.txCount;
  if (firstIndex < 0) return "the header counts more transactions than its log holds";
  if (receipt.logIndex < firstIndex || receipt.logIndex >= logSize) {
    return "the log index is not one of this block's transactions";
  }
  if (receipt.logIndex - firstIndex !== receipt.indexInBlock) {
    return "the index in the block does not match the log index";
  }
  const included = verifyInclusion(
    receipt.hash,
    receipt.logIndex,
    logSize,
    receipt.inclusionProof,
    header.logRoot,
    suite.hash,
  );
  return included ? null : "the inclusion proof does not lead to the header's log root";
}

function executionProblemOf(
  receipt: TransactionReceipt,
  execution: ExecutionProof,
  suite: SignatureSuite,
): string | null {
  if (!isBytes(execution.receipt, EXECUTION_RECEIPT_BYTES_MAX) || !Array.isArray(execution.proof)) {
    return "the execution proof is not well-formed";
  }
  let decoded: ReturnType<typeof decodeReceipt>;
  try {
    decoded = decodeReceipt(execution.receipt);
  } catch (error) {
    if (error instanceof CityLedgerError) return `the execution receipt does not decode: ${error.message}`;
    throw error;
  }
  if (!equalBytes(decoded.txHash, receipt.hash)) return "the execution receipt is another transaction's";
  const included = verifyInclusion(
    receiptHashOfEncoded(execution.receipt, suite.hash),
    receipt.indexInBlock,
    receipt.header.txCount,
    execution.proof,
    receipt.header.receiptRoot,
    suite.hash,
  );
  if (!included) return "the execution receipt's proof does not lead to the header's receipt root";
  if (receipt.result.ok !== (decoded.status === "ok") || receipt.result.errorCode !== decoded.errorCode) {
    return "the receipt's result disagrees with its execution receipt";
  }
  return null;
}

type SigningSet =
  | { readonly ok: true; readonly validatorSet: ValidatorSet }
  | { readonly ok: false; readonly refusal: ReceiptVerification };

function signingSetOf(receipt: TransactionReceipt, trust: ReceiptTrust, suite: SignatureSuite): SigningSet {
  const { header } = receipt;
  const chain = trust.headerChain;
  if (chain === undefined) {
    if (!equalBytes(validatorSetHash(trust.validatorSet, suite), header.validatorSetHash)) {
      return {
        ok: false,
        refusal: refuse(
          "RECEIPT_VALIDATOR_SET_UNTRUSTED",
          "the header was signed by another validator set than the trusted one (give a header chain)",
        ),
      };
    }
    return { ok: true, validatorSet: trust.validatorSet };
  }
  const chainInvalid = (message: string): SigningSet => ({
    ok: false,
    refusal: refuse("RECEIPT_HEADER_CHAIN_INVALID", message),
  });
  if (!Array.isArray(chain) || chain.length === 0) {
    return { ok: false, refusal: refuse("RECEIPT_TRUST_INVALID", "the header chain is empty") };
  }
  if (!verifyHeaderChain(trust.validatorSet, chain, suite)) {
    return chainInvalid("the header chain does not verify from the trusted validator set");
  }
  const last = chain[chain.length - 1]!;
  if (last.header.chainId !== trust.chainId) return chainInvalid("the header chain is for another chain");
  if (last.header.height === header.height) {
    if (!equalBytes(blockHash(last.header, suite.hash), blockHash(header, suite.hash))) {
      return chainInvalid("the header chain ends at another block of the receipt's height");
    }
    return { ok: true, validatorSet: last.validatorSet };
  }
  if (last.header.height + 1n !== header.height) {
    return chainInvalid("the header chain does not reach the receipt's height");
  }
  if (!equalBytes(header.previousBlockHash, blockHash(last.header, suite.hash))) {
    return chainInvalid("the receipt's header does not follow the last header of the chain");
  }
  if (!equalBytes(header.validatorSetHash, last.header.nextValidatorSetHash)) {
    return chainInvalid("the receipt's header is not signed by the set its predecessor announced");
  }
  return { ok: true, validatorSet: receipt.validatorSet };
}

function isBytes(value: unknown, sizeBytesMax: number): value is Uint8Array {
  return value instanceof Uint8Array && value.length <= sizeBytesMax;
}

function isReceiptShape(receipt: TransactionReceipt): boolean {
  if (typeof receipt !== "object" || receipt === null) return false;
  if (typeof receipt.chainId !== "string") return false;
  if (!isBytes(receipt.transaction, TX_SIZE_BYTES_MAX)) return false;
  if (!isBytes(receipt.hash, HASH_BYTES) || receipt.hash.length !== HASH_BYTES) return false;
  if (typeof receipt.height !== "bigint" || typeof receipt.logSize !== "bigint") return false;
  if (!Number.isSafeInteger(receipt.indexInBlock) || receipt.indexInBlock < 0) return false;
  if (!Number.isSafeInteger(receipt.logIndex) || receipt.logIndex < 0) return false;
  if (!Array.isArray(receipt.inclusionProof) || receipt.inclusionProof.length > LOG_PROOF_HASHES_MAX) {
    return false;
  }
  if (typeof receipt.header !== "object" || receipt.header === null) return false;
  if (typeof receipt.certificate !== "object" || receipt.certificate === null) return false;
  if (!(receipt.certificate.blockHash instanceof Uint8Array)) return false;
  if (!(receipt.encodedHeader instanceof Uint8Array)) return false;
  if (!(receipt.encodedCertificate instanceof Uint8Array)) return false;
  return typeof receipt.validatorSet === "object" && receipt.validatorSet !== null;
}

/** The receipt's JSON form (docs/PROTOCOL.md, "Receipts"). */
export function receiptToJson(receipt: TransactionReceipt): ReceiptJson {
  return {
    format: RECEIPT_FORMAT,
    chainId: receipt.chainId,
    transaction: bytesToHex(receipt.transaction),
    hash: bytesToHex(receipt.hash),
    height: u64ToDecimal(receipt.height),
    indexInBlock: receipt.indexInBlock,
    logIndex: receipt.logIndex,
    logSize: u64ToDecimal(receipt.logSize),
    inclusionProof: receipt.inclusionProof.map((hash) => bytesToHex(hash)),
    header: headerToJson(receipt.header),
    encodedHeader: bytesToHex(receipt.encodedHeader),
    certificate: certificateToJson(receipt.certificate),
    encodedCertificate: bytesToHex(receipt.encodedCertificate),
    validatorSet: validatorSetToJson(receipt.validatorSet),
    result: executionResultToJson(receipt.result),
    execution:
      receipt.execution === null
        ? null
        : {
            receipt: bytesToHex(receipt.execution.receipt),
            proof: receipt.execution.proof.map((hash) => bytesToHex(hash)),
          },
  };
}

/**
 * Parses a receipt's JSON form (already parsed from text). Throws WireFormatError (code
 * WIRE_MALFORMED) when it is not in the documented form; whether it is *true* is verifyReceipt's
 * question.
 */
export function receiptFromJson(json: unknown): TransactionReceipt {
  checkWire(ReceiptJson, json, "the receipt");
  const receipt = json as ReceiptJson;
  return {
    chainId: receipt.chainId,
    transaction: bytesFromHex(receipt.transaction, "transaction"),
    hash: bytesFromHex(receipt.hash, "hash"),
    height: u64FromDecimal(receipt.height, "height"),
    indexInBlock: receipt.indexInBlock,
    logIndex: receipt.logIndex,
    logSize: u64FromDecimal(receipt.logSize, "logSize"),
    inclusionProof: receipt.inclusionProof.map((hash, index) =>
      bytesFromHex(hash, `inclusionProof[${index}]`),
    ),
    header: headerFromJson(receipt.header),
    encodedHeader: bytesFromHex(receipt.encodedHeader, "encodedHeader"),
    certificate: certificateFromJson(receipt.certificate),
    encodedCertificate: bytesFromHex(receipt.encodedCertificate, "encodedCertificate"),
    validatorSet: validatorSetFromJson(receipt.validatorSet),
    result: {
      ok: receipt.result.ok,
      errorCode: receipt.result.errorCode,
      errorMessage: receipt.result.errorMessage,
    },
    execution:
      receipt.execution === null
        ? null
        : {
            receipt: bytesFromHex(receipt.execution.receipt, "execution.receipt"),
            proof: receipt.execution.proof.map((hash, index) =>
              bytesFromHex(hash, `execution.proof[${index}]`),
            ),
          },
  };
}
