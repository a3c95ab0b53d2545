/**
 * The ledger: transactions, blocks, votes, commit certificates, validator sets and the RFC 9162
 * transparency log. Functions take the chain's suite (or hash) as an argument so the same code
 * serves the node (native crypto) and the browser SDK (portable crypto).
 * @module
 */
export {
  type Block,
  type BlockHeader,
  blockHash,
  checkBlockBody,
  decodeBlock,
  decodeBlockHeader,
  decodeProposedBlock,
  EVIDENCE_SIZE_BYTES_MAX,
  encodeBlock,
  encodeBlockHeader,
  encodeProposedBlock,
  evidenceRoot,
  HASH_BYTES,
  PROPOSED_BLOCK_VERSION,
  type ProposedBlock,
  transactionRoot,
} from "./block.ts";
export {
  type CommitCertificate,
  type CommitSignature,
  certificateSignaturesValid,
  commitCertificateHash,
  decodeCommitCertificate,
  encodeCommitCertificate,
  VOTE_TYPE,
  type VoteTarget,
  type VoteType,
  verifyCommit,
  voteSigningBytes,
} from "./commit.ts";
export {
  LedgerError,
  type LedgerErrorCode,
  TransactionError,
  type TransactionErrorCode,
} from "./errors.ts";
export { KEY_ID_BYTES, keyIdOf } from "./key-id.ts";
export {
  isLogFrontierNode,
  type LogFrontierPosition,
  logFrontierPositions,
  logRootOfFrontier,
  verifyLogFrontier,
} from "./log-frontier.ts";
export { type LogNodeStore, MemoryLogNodeStore } from "./log-node-store.ts";
export { MerkleLog, MerkleLogError, type MerkleLogErrorCode, type MerkleLogOptions } from "./merkle-log.ts";
export {
  emptyRoot,
  hashChildren,
  hashLeaf,
  LOG_HASH_BYTES,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
  verifyInclusionOfLeafHash,
} from "./merkle-proof.ts";
export {
  decodeTransaction,
  encodeTransaction,
  hashEncodedTransaction,
  PRIVATE_REFERENCE_BYTES,
  signingBytesOfEncoded,
  signTransaction,
  type Transaction,
  type TransactionBody,
  transactionHash,
  transactionSigningBytes,
  type UnsignedTransaction,
} from "./transaction.ts";
export {
  CHAIN_ID_PATTERN,
  CONTRACT_NAME_PATTERN,
  METHOD_NAME_PATTERN,
  type TransactionContext,
  type ValidTransaction,
  validateTransaction,
} from "./validate-transaction.ts";
export {
  canonicalValidatorSet,
  checkValidatorSet,
  decodeValidatorSet,
  encodeValidatorSet,
  totalVotingPower,
  type Validator,
  type ValidatorSet,
  validatorSetHash,
} from "./validator-set.ts";
