/**
 * BFT consensus: Tendermint (Algorithm 1 of "The latest gossip on BFT consensus") as a pure
 * state machine, its write-ahead log, evidence of equivocation, proposer selection and the
 * light client's header-chain check. Normative description: docs/spec/consensus.md.
 * @module
 */
export { ConsensusError, type ConsensusErrorCode } from "./errors.ts";
export {
  type DuplicateProposalEvidence,
  type DuplicateVoteEvidence,
  decodeEvidence,
  duplicateProposalEvidence,
  duplicateVoteEvidence,
  EVIDENCE_KIND,
  EVIDENCE_VERSION,
  type Evidence,
  type EvidenceContext,
  EvidencePool,
  encodeEvidence,
  evidenceOffenceKey,
  verifyEvidence,
} from "./evidence.ts";
export { type HeaderLink, verifyHeaderChain } from "./light-client.ts";
export * from "./limits.ts";
export {
  decodeConsensusMessage,
  encodeConsensusMessage,
  MESSAGE_KIND,
  PROPOSAL_VERSION,
  type ProposalTarget,
  proposalSigningBytes,
  signedProposalSigningBytes,
  signedVoteSigningBytes,
} from "./messages.ts";
export { initialProposerPriorities, nextProposerPriorities, ProposerSchedule } from "./proposer.ts";
export { suiteSigner } from "./signer.ts";
export {
  type ConsensusState,
  checkpointOf,
  createState,
  ownMessages,
  proofOfLockVotes,
  restoreState,
  type StepResult,
  step,
} from "./state-machine.ts";
export { checkTimeoutConfig, TIMEOUTS_DEFAULT, timeoutMs } from "./timeouts.ts";
export type {
  ConsensusCheckpoint,
  ConsensusConfig,
  ConsensusEventName,
  ConsensusInput,
  ConsensusMessage,
  ConsensusOutput,
  ConsensusValue,
  RejectCode,
  SignedProposal,
  SignedVote,
  Signer,
  Step,
  TestOnlyBugs,
  TimeoutConfig,
  TimeoutEvent,
  ValueSource,
  ValueValidator,
  ValueVerdict,
} from "./types.ts";
export {
  type ConsensusWal,
  decodeWalRecord,
  encodeWalRecord,
  MemoryWal,
  WAL_RECORD_KIND,
  WAL_RECORD_VERSION,
  type WalRecord,
  walRecordHeight,
} from "./wal.ts";
