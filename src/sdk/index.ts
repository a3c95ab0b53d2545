/**
 * The CityLedger SDK: build and sign transactions, and verify everything a node hands out
 * (commit certificates, transparency-log proofs, state proofs) offline, trusting only a
 * validator set. Runs in browsers: nothing here, directly or transitively, imports a `node:`
 * module or a native addon (test/tidy.test.ts checks the import graph).
 * @module
 */
import { portableSuiteByName, type SuiteName } from "../crypto/portable.ts";
import type { BlockHeader } from "../ledger/block.ts";
import { type CommitCertificate, verifyCommit as verifyCommitWithSuite } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";

export { bytesToHex, hexToBytes, hexToBytesOrNull } from "../base/bytes.ts";
export {
  ed25519PortableSuite,
  type HashFunction,
  portableSuiteByName,
  type SignatureSuite,
  type SuiteName,
  sha256,
  sm2Sm3PortableSuite,
  sm3,
} from "../crypto/portable.ts";
export { DecodeError, decodeValue, encodeValue, type Value } from "../encoding/index.ts";
export { type BlockHeader, blockHash, decodeBlockHeader, encodeBlockHeader } from "../ledger/block.ts";
export {
  type CommitCertificate,
  decodeCommitCertificate,
  encodeCommitCertificate,
} from "../ledger/commit.ts";
export { keyIdOf } from "../ledger/key-id.ts";
export {
  hashLeaf,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from "../ledger/merkle-proof.ts";
export {
  decodeTransaction,
  encodeTransaction,
  hashEncodedTransaction,
  signTransaction,
  type Transaction,
  transactionHash,
  type UnsignedTransaction,
} from "../ledger/transaction.ts";
export {
  decodeValidatorSet,
  encodeValidatorSet,
  type ValidatorSet,
  validatorSetHash,
} from "../ledger/validator-set.ts";
export {
  decodeStateProof,
  encodeStateProof,
  type StateProof,
  verifyStateProof,
} from "../state/state-proof.ts";

const KNOWN_SUITES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];

/**
 * True only when the certificate holds valid precommits over this exact header from distinct
 * members of the validator set with more than 2/3 of its voting power. Never throws.
 */
export function verifyCommit(
  header: BlockHeader,
  certificate: CommitCertificate,
  validatorSet: ValidatorSet,
): boolean {
  if (typeof validatorSet !== "object" || validatorSet === null) return false;
  if (!KNOWN_SUITES.includes(validatorSet.suite)) return false;
  return verifyCommitWithSuite(header, certificate, validatorSet, portableSuiteByName(validatorSet.suite));
}

export { type HeaderLink, verifyHeaderChain } from "../consensus/light-client.ts";
export {
  type CallOptions,
  CityLedgerClient,
  CLIENT_POLL_INTERVAL_MS_DEFAULT,
  CLIENT_POLL_INTERVAL_MS_MIN,
  CLIENT_REQUEST_TIMEOUT_MS_DEFAULT,
  CLIENT_RESPONSE_BYTES_MAX,
  CLIENT_RETRY_ATTEMPTS_DEFAULT,
  CLIENT_RETRY_ATTEMPTS_MAX,
  CLIENT_RETRY_DELAY_MS_DEFAULT,
  CLIENT_RETRY_DELAY_MS_MAX_DEFAULT,
  CLIENT_WAIT_TIMEOUT_MS_DEFAULT,
  ClientError,
  type ClientErrorCode,
  type ClientOptions,
  type DelayFunction,
  type EventQuery,
  type HashInput,
  type NotaryRead,
  platformDelay,
  type WaitForCommitOptions,
  type WebSocketConstructor,
  type WebSocketLike,
} from "./client.ts";
export {
  certificateFromJson,
  certificateToJson,
  type ExecutionResult,
  headerFromJson,
  headerToJson,
  type StateRead,
  stateReadFromJson,
  validatorSetFromJson,
  validatorSetToJson,
  WireFormatError,
  type WireFormatErrorCode,
} from "./json-codec.ts";
export {
  type ReceiptCheckCode,
  type ReceiptTrust,
  type ReceiptVerification,
  receiptFromJson,
  receiptToJson,
  type TransactionReceipt,
  type VerifyReceiptOptions,
  verifyReceipt,
} from "./receipt.ts";
export * from "./wire.ts";
