/**
 * Tendermint consensus (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", 2018,
 * Algorithm 1) as a pure state machine: `step(state, input) -> { state, outputs }`.
 *
 * Pure: no clock, no I/O, no randomness. Time enters as `timeout` inputs the driver schedules
 * from `scheduleTimeout` outputs; the network as `proposal`/`vote`/`commit` inputs and
 * `broadcast` outputs; disk as `walAppend` outputs that the driver makes durable before it
 * sends any `broadcast` of the same step; the application as `requestValue`/`validateValue`
 * outputs answered by `valueReady`/`valueValidated` inputs. Signatures come from an injected
 * Signer, so no private key lives in the state.
 *
 * `step` takes ownership of the state it is given: the returned state replaces it, and the old
 * one is retired (using it again fails an assertion). This keeps a step O(1) in the size of the
 * message log instead of copying it.
 *
 * Line numbers in comments refer to Algorithm 1 of arXiv:1807.04938v3.
 * @module
 */
import { assert, assertNever } from "../base/assert.ts";
import { equalBytes } from "../base/bytes.ts";
import { HASH_BYTES } from "../ledger/block.ts";
import { type CommitCertificate, type CommitSignature, VOTE_TYPE, type VoteType } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";
import { ConsensusError } from "./errors.ts";
import { duplicateProposalEvidence, duplicateVoteEvidence, encodeEvidence } from "./evidence.ts";
import {
  HeightBook,
  NIL_KEY,
  type RoundMessages,
  tallyPower,
  type Validity,
  valueKey,
} from "./height-book.ts";
import { EVIDENCE_PER_HEIGHT_MAX, ROUND_MAX, RULE_FIRINGS_PER_INPUT_MAX, VALUE_BYTES_MAX } from "./limits.ts";
import {
  isVoteType,
  proposalSigningBytes,
  signedProposalSigningBytes,
  signedVoteSigningBytes,
} from "./messages.ts";
import { nextProposerPriorities } from "./proposer.ts";
import { checkTimeoutConfig, timeoutMs } from "./timeouts.ts";
import type {
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
  Step,
  TimeoutEvent,
  ValueVerdict,
} from "./types.ts";
import { decodeWalRecord, encodeWalRecord, type WalRecord, walRecordHeight } from "./wal.ts";

/** "for the first time" rules of the current round (Alg. 1 lines 34, 36, 47). */
interface RoundFlags {
  prevoteTimeoutScheduled: boolean;
  lockRuleFired: boolean;
  precommitTimeoutScheduled: boolean;
}

export interface ConsensusState {
  readonly config: ConsensusConfig;
  /** Alg. 1 lines 2-9: h_p, round_p, step_p, lockedValue_p, lockedRound_p, validValue_p, validRound_p. */
  readonly height: bigint;
  readonly round: number;
  readonly step: Step;
  readonly lockedValue: ConsensusValue | null;
  readonly lockedRound: number;
  readonly validValue: ConsensusValue | null;
  readonly validRound: number;
  /** The message log of the current height. */
  readonly book: HeightBook;
  /** The validator set of height + 1, once known, and the buffered messages of that height. */
  readonly nextValidatorSet: ValidatorSet | null;
  readonly futureBook: HeightBook | null;
  /** This node's index in the current height's set, or -1 when it does not vote there. */
  readonly ownIndex: number;
  /** Everything this node signed at the current height: what it re-sends and never contradicts. */
  readonly ownVotes: ReadonlyMap<string, SignedVote>;
  readonly ownProposals: ReadonlyMap<number, SignedProposal>;
  readonly started: boolean;
  /** Built by restoreState: `start` resumes the restored round instead of starting round 0. */
  readonly restored: boolean;
  readonly retired: boolean;
}

interface MutableState {
  config: ConsensusConfig;
  height: bigint;
  round: number;
  step: Step;
  lockedValue: ConsensusValue | null;
  lockedRound: number;
  validValue: ConsensusValue | null;
  validRound: number;
  book: HeightBook;
  nextValidatorSet: ValidatorSet | null;
  futureBook: HeightBook | null;
  ownIndex: number;
  ownVotes: Map<string, SignedVote>;
  ownProposals: Map<number, SignedProposal>;
  started: boolean;
  restored: boolean;
  retired: boolean;
  flags: RoundFlags;
  /** A verified certificate from catch-up, waiting for its value to be validated. */
  commitCandidate: { value: ConsensusValue; certificate: CommitCertificate } | null;
}

export interface StepResult {
  readonly state: ConsensusState;
  readonly outputs: ConsensusOutput[];
}

function freshFlags(): RoundFlags {
  return { prevoteTimeoutScheduled: false, lockRuleFired: false, precommitTimeoutScheduled: false };
}

function ownVoteKey(type: VoteType, round: number): string {
  return `${type}/${round}`;
}

function indexOfKey(set: ValidatorSet, publicKey: Uint8Array | undefined): number {
  if (publicKey === undefined) return -1;
  return set.validators.findIndex((validator) => equalBytes(validator.publicKey, publicKey));
}

function sameSet(left: ValidatorSet, right: ValidatorSet): boolean {
  if (left.suite !== right.suite || left.validators.length !== right.validators.length) return false;
  return left.validators.every(
    (validator, index) =>
      validator.power === right.validators[index]!.power &&
      equalBytes(validator.publicKey, right.validators[index]!.publicKey),
  );
}

function makeFutureBook(config: ConsensusConfig, book: HeightBook, nextSet: ValidatorSet): HeightBook {
  const priorities = nextProposerPriorities(book.validatorSet, book.proposerPriorities, nextSet);
  return new HeightBook(book.height + 1n, nextSet, priorities, config.testOnlyBugs ?? {});
}

/** A machine at the checkpoint's height, before `start` (Alg. 1 lines 1-9). */
export function createState(config: ConsensusConfig, checkpoint: ConsensusCheckpoint): ConsensusState {
  checkTimeoutConfig(config.timeouts);
  assert(checkpoint.height >= 1n, "heights start at 1");
  assert(checkpoint.validatorSet.validators.length > 0, "a validator set is never empty");
  assert(checkpoint.nextValidatorSet.validators.length > 0, "a validator set is never empty");
  assert(checkpoint.validatorSet.suite === config.suite.name, "the set uses the chain's suite");
  const bugs = config.testOnlyBugs ?? {};
  const book = new HeightBook(
    checkpoint.height,
    checkpoint.validatorSet,
    checkpoint.proposerPriorities,
    bugs,
  );
  const state: MutableState = {
    config,
    height: checkpoint.height,
    round: 0,
    step: "propose",
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    book,
    nextValidatorSet: checkpoint.nextValidatorSet,
    futureBook: makeFutureBook(config, book, checkpoint.nextValidatorSet),
    ownIndex: indexOfKey(checkpoint.validatorSet, config.signer?.publicKey),
    ownVotes: new Map(),
    ownProposals: new Map(),
    started: false,
    restored: false,
    retired: false,
    flags: freshFlags(),
    commitCandidate: null,
  };
  return state;
}

/**
 * A machine rebuilt after a crash from its checkpoint and the WAL records read back from the
 * checkpoint's height on (`walRead(checkpoint.height)`). It knows every vote and proposal it
 * signed at that height and its lock, resumes in the highest round it reached, at the step
 * its signed messages imply, and will not sign anything that contradicts them.
 */
export function restoreState(
  config: ConsensusConfig,
  checkpoint: ConsensusCheckpoint,
  encodedRecords: readonly Uint8Array[],
): ConsensusState {
  const state = createState(config, checkpoint) as MutableState;
  const records: WalRecord[] = [];
  for (const encoded of encodedRecords) {
    let record: WalRecord;
    try {
      record = decodeWalRecord(encoded);
    } catch (error) {
      throw new ConsensusError("WAL_RECORD_MALFORMED", "a WAL record does not decode", {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    const height = walRecordHeight(record);
    if (height < checkpoint.height) continue;
    if (height > checkpoint.height) {
      throw new ConsensusError("WAL_AHEAD_OF_CHECKPOINT", "the WAL holds records past the checkpoint", {
        height,
        checkpointHeight: checkpoint.height,
      });
    }
    records.push(record);
  }
  let roundMax = 0;
  for (const record of records) {
    const round =
      record.kind === "proposal"
        ? record.proposal.round
        : record.kind === "vote"
          ? record.vote.round
          : record.round;
    roundMax = Math.max(roundMax, round);
  }
  state.round = roundMax;
  for (const record of records) replayRecord(state, record);
  state.step = restoredStep(state);
  state.restored = true;
  return state;
}

function replayRecord(state: MutableState, record: WalRecord): void {
  switch (record.kind) {
    case "proposal": {
      const proposal = record.proposal;
      const existing = state.ownProposals.get(proposal.round);
      if (existing !== undefined) {
        if (
          !equalBytes(existing.value.hash, proposal.value.hash) ||
          existing.polRound !== proposal.polRound
        ) {
          throw new ConsensusError("WAL_CONFLICTING_RECORDS", "the WAL holds two proposals for one round");
        }
        return;
      }
      state.ownProposals.set(proposal.round, proposal);
      acceptOwnProposal(state, proposal);
      return;
    }
    case "vote": {
      const vote = record.vote;
      if (vote.validatorIndex !== state.ownIndex) {
        throw new ConsensusError("CHECKPOINT_INVALID", "the WAL holds a vote of another validator index");
      }
      const key = ownVoteKey(vote.type, vote.round);
      const existing = state.ownVotes.get(key);
      if (existing !== undefined) {
        if (valueKey(existing.blockHash) !== valueKey(vote.blockHash)) {
          throw new ConsensusError(
            "WAL_CONFLICTING_RECORDS",
            "the WAL holds two votes for one round and step",
          );
        }
        return;
      }
      state.ownVotes.set(key, vote);
      const messages = state.book.openRound(vote.round, vote.validatorIndex, state.round);
      assert(messages !== null, "own rounds never exceed the current round");
      state.book.addVote(messages, vote);
      return;
    }
    case "lock": {
      restoreProofOfLock(state, record.round, record.proofOfLock);
      if (record.round >= state.lockedRound) {
        state.lockedValue = record.value;
        state.lockedRound = record.round;
      }
      if (record.round >= state.validRound) {
        state.validValue = record.value;
        state.validRound = record.round;
      }
      state.book.markValid(record.value);
      return;
    }
  }
}

/**
 * Puts a lock's proof back in the message log, so this node can relay it again. The votes
 * were verified before they were written; they are verified again (a damaged WAL must not
 * make the node vouch for a forged vote), and one that fails is skipped.
 */
function restoreProofOfLock(state: MutableState, round: number, votes: readonly SignedVote[]): void {
  for (const vote of votes) {
    if (vote.height !== state.height || vote.round !== round || vote.type !== VOTE_TYPE.prevote) continue;
    const validator = state.book.validatorSet.validators[vote.validatorIndex];
    if (validator === undefined) continue;
    if (
      !state.config.suite.verify(
        validator.publicKey,
        signedVoteSigningBytes(state.config.chainId, vote),
        vote.signature,
      )
    ) {
      continue;
    }
    const messages = state.book.openRound(round, vote.validatorIndex, state.round);
    if (messages !== null) state.book.addVote(messages, vote);
  }
}

/** The step that the signed messages of the restored round imply. */
function restoredStep(state: MutableState): Step {
  if (state.ownVotes.has(ownVoteKey(VOTE_TYPE.precommit, state.round))) return "precommit";
  if (state.lockedRound === state.round) return "precommit";
  if (state.ownVotes.has(ownVoteKey(VOTE_TYPE.prevote, state.round))) return "prevote";
  return "propose";
}

/** The messages this node signed at its current height, to re-send (gossip, catch-up). */
export function ownMessages(state: ConsensusState): ConsensusMessage[] {
  const messages: ConsensusMessage[] = [];
  for (const proposal of state.ownProposals.values()) messages.push({ kind: "proposal", proposal });
  for (const vote of state.ownVotes.values()) messages.push({ kind: "vote", vote });
  return messages;
}

/**
 * The prevotes that justify validValue at validRound (its proof of lock), for the driver to
 * gossip along with its own messages: a node that proposes or is locked on validValue needs
 * every correct node to see these votes, including any Byzantine vote among them that other
 * nodes did not receive (Alg. 1 assumes gossip relays what correct nodes receive).
 */
export function proofOfLockVotes(state: ConsensusState): SignedVote[] {
  if (state.validValue === null || state.validRound < 0) return [];
  const messages = state.book.round(state.validRound);
  const votes = messages?.prevotes.byValue.get(valueKey(state.validValue.hash))?.votes ?? [];
  return votes.filter((vote): vote is SignedVote => vote !== undefined);
}

/** The checkpoint of the current height (when the next set is known), for the driver. */
export function checkpointOf(state: ConsensusState): ConsensusCheckpoint | null {
  if (state.nextValidatorSet === null) return null;
  return {
    height: state.height,
    validatorSet: state.book.validatorSet,
    nextValidatorSet: state.nextValidatorSet,
    proposerPriorities: state.book.proposerPriorities,
  };
}

/** Handles one input. Synchronous and deterministic. */
export function step(state: ConsensusState, input: ConsensusInput): StepResult {
  assert(!state.retired, "a state is used once: continue with the state step returned");
  const current = state as MutableState;
  current.retired = true;
  const next: MutableState = { ...current, retired: false };
  const outputs: ConsensusOutput[] = [];
  if (input.kind === "start") {
    assert(!next.started, "start is the first input, given once");
    next.started = true;
    if (next.restored) resumeRound(next, outputs);
    else enterRound(next, outputs, 0); // Alg. 1 line 10
  } else {
    assert(next.started, "start comes before any other input");
    handleInput(next, outputs, input);
  }
  evaluate(next, outputs);
  return { state: next, outputs };
}

function handleInput(state: MutableState, out: ConsensusOutput[], input: ConsensusInput): void {
  switch (input.kind) {
    case "start":
      assert(false, "start is handled by step");
      break;
    case "proposal":
      onProposal(state, out, input.proposal, input.peer ?? null);
      break;
    case "vote":
      onVote(state, out, input.vote, input.peer ?? null);
      break;
    case "timeout":
      onTimeout(state, out, input.timeout);
      break;
    case "valueReady":
      onValueReady(state, out, input.height, input.round, input.value);
      break;
    case "valueValidated":
      onValueValidated(state, input.height, input.valueHash, input.verdict);
      break;
    case "commit":
      onCommit(state, out, input.height, input.value, input.certificate, input.peer ?? null);
      break;
    case "validatorSet":
      onValidatorSet(state, input.height, input.validatorSet);
      break;
    default:
      assertNever(input, "unknown consensus input");
  }
}

function reject(
  out: ConsensusOutput[],
  code: RejectCode,
  peer: string | null,
  height: bigint,
  round: number,
): void {
  out.push({ kind: "rejected", code, peer, height, round });
}

function event(out: ConsensusOutput[], name: ConsensusEventName, height: bigint, round: number): void {
  out.push({ kind: "event", name, height, round });
}

/** The message log a message of `height` belongs to, or null (stale or too far ahead). */
function bookFor(
  state: MutableState,
  out: ConsensusOutput[],
  height: bigint,
  round: number,
): HeightBook | null {
  if (height === state.height) return state.book;
  if (height < state.height) return null;
  if (height === state.height + 1n && state.futureBook !== null) return state.futureBook;
  event(out, "height_ahead", height, round);
  return null;
}

function roundOf(state: MutableState, book: HeightBook): number {
  return book === state.book ? state.round : 0;
}

function onProposal(
  state: MutableState,
  out: ConsensusOutput[],
  proposal: SignedProposal,
  peer: string | null,
): void {
  const book = bookFor(state, out, proposal.height, proposal.round);
  if (book === null) return;
  if (!Number.isInteger(proposal.round) || proposal.round < 0 || proposal.round > ROUND_MAX) {
    reject(out, "ROUND_OUT_OF_RANGE", peer, proposal.height, 0);
    return;
  }
  if (!Number.isInteger(proposal.polRound) || proposal.polRound < -1 || proposal.polRound >= proposal.round) {
    reject(out, "POL_ROUND_INVALID", peer, proposal.height, proposal.round);
    return;
  }
  if (proposal.value.hash.length !== HASH_BYTES || proposal.value.bytes.length > VALUE_BYTES_MAX) {
    reject(out, "VALUE_MALFORMED", peer, proposal.height, proposal.round);
    return;
  }
  const proposerIndex = book.schedule.proposerOf(proposal.round);
  const existing = book.round(proposal.round)?.proposal ?? null;
  if (
    existing !== null &&
    equalBytes(existing.signature, proposal.signature) &&
    sameProposal(existing, proposal)
  ) {
    return; // a duplicate of what we hold
  }
  const proposer = book.validatorSet.validators[proposerIndex]!;
  const message = signedProposalSigningBytes(state.config.chainId, proposal);
  if (!state.config.suite.verify(proposer.publicKey, message, proposal.signature)) {
    reject(out, "SIGNATURE_INVALID", peer, proposal.height, proposal.round);
    return;
  }
  if (existing !== null) {
    // The first proposal of a round is the one that counts; a different one is evidence.
    if (!sameProposal(existing, proposal)) {
      recordProposalEquivocation(state, out, book, proposer.publicKey, existing, proposal);
    }
    return;
  }
  const messages = book.openRound(proposal.round, proposerIndex, roundOf(state, book));
  if (messages === null) {
    reject(out, "ROUNDS_AHEAD_EXCEEDED", peer, proposal.height, proposal.round);
    return;
  }
  // One set of bytes per hash: a later proposal of the same value uses the bytes already held.
  const canonical = { ...proposal, value: book.canonicalValue(proposal.value) };
  if (!book.setProposal(messages, canonical, protectedKeys(state, book), roundOf(state, book))) {
    event(out, "proposals_evicted", proposal.height, proposal.round);
    return;
  }
  if (book === state.book) requestValidation(state, out, canonical.value);
}

function sameProposal(left: SignedProposal, right: SignedProposal): boolean {
  return left.polRound === right.polRound && equalBytes(left.value.hash, right.value.hash);
}

function protectedKeys(state: MutableState, book: HeightBook): Set<string> {
  const keys = new Set<string>();
  if (book !== state.book) return keys;
  if (state.lockedValue !== null) keys.add(valueKey(state.lockedValue.hash));
  if (state.validValue !== null) keys.add(valueKey(state.validValue.hash));
  if (state.commitCandidate !== null) keys.add(valueKey(state.commitCandidate.value.hash));
  return keys;
}

function recordProposalEquivocation(
  state: MutableState,
  out: ConsensusOutput[],
  book: HeightBook,
  publicKey: Uint8Array,
  one: SignedProposal,
  other: SignedProposal,
): void {
  if (book.evidenceCount >= EVIDENCE_PER_HEIGHT_MAX) return;
  book.evidenceCount += 1;
  const evidence = duplicateProposalEvidence(
    { chainId: state.config.chainId, publicKey, height: one.height, round: one.round },
    { polRound: one.polRound, valueHash: one.value.hash, signature: one.signature },
    { polRound: other.polRound, valueHash: other.value.hash, signature: other.signature },
  );
  out.push({ kind: "evidence", height: one.height, evidence: encodeEvidence(evidence) });
}

function onVote(state: MutableState, out: ConsensusOutput[], vote: SignedVote, peer: string | null): void {
  const book = bookFor(state, out, vote.height, vote.round);
  if (book === null) return;
  if (!Number.isInteger(vote.round) || vote.round < 0 || vote.round > ROUND_MAX) {
    reject(out, "ROUND_OUT_OF_RANGE", peer, vote.height, 0);
    return;
  }
  if (
    !Number.isInteger(vote.validatorIndex) ||
    vote.validatorIndex < 0 ||
    vote.validatorIndex >= book.validatorCount
  ) {
    reject(out, "NOT_A_VALIDATOR", peer, vote.height, vote.round);
    return;
  }
  if (!isVoteType(vote.type) || (vote.blockHash !== null && vote.blockHash.length !== HASH_BYTES)) {
    reject(out, "VALUE_MALFORMED", peer, vote.height, vote.round);
    return;
  }
  const known = book.round(vote.round);
  if (known !== undefined && book.holdsVote(known, vote)) {
    book.addVote(known, vote); // a duplicate: counted again only by the test-only bug
    return;
  }
  const validator = book.validatorSet.validators[vote.validatorIndex]!;
  const message = signedVoteSigningBytes(state.config.chainId, vote);
  if (!state.config.suite.verify(validator.publicKey, message, vote.signature)) {
    reject(out, "SIGNATURE_INVALID", peer, vote.height, vote.round);
    return;
  }
  const messages = book.openRound(vote.round, vote.validatorIndex, roundOf(state, book));
  if (messages === null) {
    reject(out, "ROUNDS_AHEAD_EXCEEDED", peer, vote.height, vote.round);
    return;
  }
  const result = book.addVote(messages, vote);
  // An equivocation is the signer's fault, not the relaying peer's: evidence, no rejection.
  if (result.kind === "conflicting")
    recordVoteEquivocation(state, out, book, validator.publicKey, result.existing, vote);
}

function recordVoteEquivocation(
  state: MutableState,
  out: ConsensusOutput[],
  book: HeightBook,
  publicKey: Uint8Array,
  one: SignedVote,
  other: SignedVote,
): void {
  if (book.evidenceCount >= EVIDENCE_PER_HEIGHT_MAX) return;
  book.evidenceCount += 1;
  const evidence = duplicateVoteEvidence(
    { chainId: state.config.chainId, publicKey, height: one.height, round: one.round, voteType: one.type },
    { blockHash: one.blockHash, signature: one.signature },
    { blockHash: other.blockHash, signature: other.signature },
  );
  out.push({ kind: "evidence", height: one.height, evidence: encodeEvidence(evidence) });
}

function requestValidation(state: MutableState, out: ConsensusOutput[], value: ConsensusValue): void {
  const key = valueKey(value.hash);
  if (state.book.validityOf(key) !== "unknown") return;
  state.book.markPending(key);
  out.push({ kind: "validateValue", height: state.height, value });
}

function onValueValidated(
  state: MutableState,
  height: bigint,
  valueHash: Uint8Array,
  verdict: ValueVerdict,
): void {
  if (height !== state.height) return;
  const key = valueKey(valueHash);
  if (state.book.validityOf(key) !== "pending") return;
  switch (verdict) {
    case "valid":
    case "invalid":
      state.book.setVerdict(key, verdict);
      return;
    case "malformed":
      // These bytes are not the value: forget them, and wait for the right ones.
      state.book.forgetValue(key);
      if (state.commitCandidate !== null && valueKey(state.commitCandidate.value.hash) === key) {
        state.commitCandidate = null;
      }
      return;
    default:
      assertNever(verdict);
  }
}

/** Alg. 1 lines 57-67. */
function onTimeout(state: MutableState, out: ConsensusOutput[], timeout: TimeoutEvent): void {
  if (timeout.height !== state.height || timeout.round !== state.round) return;
  switch (timeout.step) {
    case "propose":
      // Alg. 1 lines 57-60: OnTimeoutPropose.
      if (state.step !== "propose") return;
      castVote(state, out, VOTE_TYPE.prevote, null);
      state.step = "prevote";
      return;
    case "prevote":
      // Alg. 1 lines 61-64: OnTimeoutPrevote.
      if (state.step !== "prevote") return;
      castVote(state, out, VOTE_TYPE.precommit, null);
      state.step = "precommit";
      return;
    case "precommit":
      // Alg. 1 lines 65-67: OnTimeoutPrecommit.
      enterRound(state, out, state.round + 1);
      return;
  }
}

/** getValue() answered (Alg. 1 line 18): propose it if this is still our turn. */
function onValueReady(
  state: MutableState,
  out: ConsensusOutput[],
  height: bigint,
  round: number,
  value: ConsensusValue,
): void {
  assert(value.hash.length === HASH_BYTES, "the application's value has a 32-byte hash");
  assert(value.bytes.length <= VALUE_BYTES_MAX, "the application's value fits VALUE_BYTES_MAX");
  if (height !== state.height || round !== state.round || state.step !== "propose") return;
  if (!isOwnTurn(state) || state.ownProposals.has(round)) return;
  if (state.validValue !== null) propose(state, out, state.validValue, state.validRound);
  else propose(state, out, value, -1);
}

function onCommit(
  state: MutableState,
  out: ConsensusOutput[],
  height: bigint,
  value: ConsensusValue,
  certificate: CommitCertificate,
  peer: string | null,
): void {
  if (height !== state.height || state.commitCandidate !== null) return;
  if (value.hash.length !== HASH_BYTES || value.bytes.length > VALUE_BYTES_MAX) {
    reject(out, "VALUE_MALFORMED", peer, height, 0);
    return;
  }
  if (!verifyCertificateForValue(state, certificate, height, value.hash)) {
    reject(out, "CERTIFICATE_INVALID", peer, height, certificate.round);
    return;
  }
  const canonical = state.book.canonicalValue(value);
  state.commitCandidate = { value: canonical, certificate };
  requestValidation(state, out, canonical);
}

/** verifyCommit's checks, against a value hash instead of a header (consensus is agnostic). */
function verifyCertificateForValue(
  state: MutableState,
  certificate: CommitCertificate,
  height: bigint,
  valueHash: Uint8Array,
): boolean {
  const book = state.book;
  if (certificate.height !== height || !equalBytes(certificate.blockHash, valueHash)) return false;
  if (!Number.isInteger(certificate.round) || certificate.round < 0 || certificate.round > 0xffff_ffff)
    return false;
  if (certificate.signatures.length > book.validatorCount) return false;
  const message = signedVoteSigningBytes(state.config.chainId, {
    type: VOTE_TYPE.precommit,
    height,
    round: certificate.round,
    blockHash: valueHash,
    validatorIndex: 0,
    signature: new Uint8Array(0),
  });
  let power = 0n;
  let indexPrevious = -1;
  for (const entry of certificate.signatures) {
    if (!Number.isInteger(entry.validatorIndex) || entry.validatorIndex <= indexPrevious) return false;
    if (entry.validatorIndex >= book.validatorCount) return false;
    indexPrevious = entry.validatorIndex;
    const validator = book.validatorSet.validators[entry.validatorIndex]!;
    if (!state.config.suite.verify(validator.publicKey, message, entry.signature)) return false;
    power += validator.power;
  }
  return book.isQuorum(power);
}

function onValidatorSet(state: MutableState, height: bigint, validatorSet: ValidatorSet): void {
  assert(height <= state.height + 1n, "the driver gives the set of height + 1 after each decision");
  if (height <= state.height) return;
  assert(validatorSet.validators.length > 0, "a validator set is never empty");
  assert(validatorSet.suite === state.config.suite.name, "the set uses the chain's suite");
  if (state.nextValidatorSet !== null) {
    assert(sameSet(state.nextValidatorSet, validatorSet), "the set of a height never changes once known");
    return;
  }
  state.nextValidatorSet = validatorSet;
  state.futureBook = makeFutureBook(state.config, state.book, validatorSet);
}

function isOwnTurn(state: MutableState): boolean {
  return state.ownIndex >= 0 && state.book.schedule.proposerOf(state.round) === state.ownIndex;
}

/** StartRound(round), Alg. 1 lines 11-21. */
function enterRound(state: MutableState, out: ConsensusOutput[], round: number): void {
  assert(round >= state.round, "rounds only move forward");
  if (round > ROUND_MAX) {
    event(out, "round_limit_reached", state.height, state.round);
    return;
  }
  state.round = round; // line 12
  state.step = "propose"; // line 13
  state.flags = freshFlags();
  event(out, "round_started", state.height, round);
  if (isOwnTurn(state)) {
    // Lines 14-19: propose validValue if there is one, else ask the application (getValue()).
    if (state.validValue !== null) propose(state, out, state.validValue, state.validRound);
    else out.push({ kind: "requestValue", height: state.height, round });
  }
  // Line 21. Deviation: the proposer schedules it too, so a proposer whose application never
  // answers still moves on (as CometBFT does); OnTimeoutPropose is a no-op once it prevoted.
  scheduleTimeout(state, out, "propose");
}

/** After restoreState: re-send what was signed and carry on in the restored round and step. */
function resumeRound(state: MutableState, out: ConsensusOutput[]): void {
  event(out, "round_started", state.height, state.round);
  for (const message of ownMessages(state)) out.push({ kind: "broadcast", message });
  // A torn write kept the lock but lost the precommit written right after it: finish that step
  // (line 40). Without it a node whose precommit the others need would wait forever.
  const precommitted = state.ownVotes.has(ownVoteKey(VOTE_TYPE.precommit, state.round));
  if (state.lockedValue !== null && state.lockedRound === state.round && !precommitted) {
    state.flags.lockRuleFired = true;
    castVote(state, out, VOTE_TYPE.precommit, state.lockedValue.hash);
  }
  if (state.step !== "propose") return;
  if (isOwnTurn(state) && !state.ownProposals.has(state.round)) {
    if (state.validValue !== null) propose(state, out, state.validValue, state.validRound);
    else out.push({ kind: "requestValue", height: state.height, round: state.round });
  }
  scheduleTimeout(state, out, "propose");
}

function scheduleTimeout(state: MutableState, out: ConsensusOutput[], timeoutStep: Step): void {
  out.push({
    kind: "scheduleTimeout",
    timeout: { step: timeoutStep, height: state.height, round: state.round },
    durationMs: timeoutMs(state.config.timeouts, timeoutStep, state.round),
  });
}

/** Broadcast ⟨PROPOSAL, h_p, round_p, value, polRound⟩ (Alg. 1 line 19), WAL first. */
function propose(state: MutableState, out: ConsensusOutput[], value: ConsensusValue, polRound: number): void {
  const signer = state.config.signer;
  assert(signer !== null && state.ownIndex >= 0, "only a validator proposes");
  assert(!state.ownProposals.has(state.round), "one proposal per round");
  assert(polRound < state.round, "polRound below the round");
  const message = proposalSigningBytes(state.config.chainId, {
    height: state.height,
    round: state.round,
    polRound,
    valueHash: value.hash,
  });
  const proposal: SignedProposal = {
    height: state.height,
    round: state.round,
    polRound,
    value,
    signature: signer.sign(message),
  };
  state.ownProposals.set(state.round, proposal);
  out.push({
    kind: "walAppend",
    height: state.height,
    record: encodeWalRecord({ kind: "proposal", proposal }),
  });
  out.push({ kind: "broadcast", message: { kind: "proposal", proposal } });
  acceptOwnProposal(state, proposal);
}

function acceptOwnProposal(state: MutableState, proposal: SignedProposal): void {
  // The application built this value (or we locked it): these bytes are the value, and valid.
  const value = state.book.markValid(proposal.value);
  const messages = state.book.openRound(proposal.round, state.ownIndex, state.round);
  assert(messages !== null, "own rounds are never ahead of the current round");
  if (messages.proposal === null) {
    const stored = state.book.setProposal(
      messages,
      { ...proposal, value },
      protectedKeys(state, state.book),
      state.round,
    );
    assert(stored, "the current round's proposal is never evicted");
  }
}

/** Broadcast ⟨PREVOTE|PRECOMMIT, h_p, round_p, id⟩, WAL first; never two different ones. */
function castVote(
  state: MutableState,
  out: ConsensusOutput[],
  type: VoteType,
  blockHash: Uint8Array | null,
): void {
  const signer = state.config.signer;
  if (signer === null || state.ownIndex < 0) return; // a follower moves through steps silently
  const key = ownVoteKey(type, state.round);
  const existing = state.ownVotes.get(key);
  if (existing !== undefined) {
    assert(
      valueKey(existing.blockHash) === valueKey(blockHash),
      "never sign two different votes for one step",
    );
    return;
  }
  const unsigned: SignedVote = {
    type,
    height: state.height,
    round: state.round,
    blockHash,
    validatorIndex: state.ownIndex,
    signature: new Uint8Array(0),
  };
  const vote: SignedVote = {
    ...unsigned,
    signature: signer.sign(signedVoteSigningBytes(state.config.chainId, unsigned)),
  };
  state.ownVotes.set(key, vote);
  out.push({ kind: "walAppend", height: state.height, record: encodeWalRecord({ kind: "vote", vote }) });
  out.push({ kind: "broadcast", message: { kind: "vote", vote } });
  const messages = state.book.openRound(state.round, state.ownIndex, state.round);
  assert(messages !== null, "the current round always opens");
  const result = state.book.addVote(messages, vote);
  assert(result.kind === "added", "an own vote is the first of its step");
}

/** Runs the upon-rules until none fires (each firing moves the machine forward). */
function evaluate(state: MutableState, out: ConsensusOutput[]): void {
  for (let firing = 0; firing <= RULE_FIRINGS_PER_INPUT_MAX; firing++) {
    assert(firing < RULE_FIRINGS_PER_INPUT_MAX, "upon-rules settle within the firing limit");
    if (!fireOneRule(state, out)) return;
  }
}

function fireOneRule(state: MutableState, out: ConsensusOutput[]): boolean {
  if (ruleDecide(state, out)) return true; // lines 49-54, and catch-up commits
  if (ruleSkipRound(state, out)) return true; // lines 55-56
  if (state.step === "propose" && ruleProposalInPropose(state, out)) return true; // lines 22-33
  const messages = state.book.round(state.round);
  if (messages === undefined) return false;
  if (rulePrevoteTimeout(state, out, messages)) return true; // lines 34-35
  if (ruleLock(state, out, messages)) return true; // lines 36-43
  if (rulePrecommitNil(state, out, messages)) return true; // lines 44-46
  return rulePrecommitTimeout(state, out, messages); // lines 47-48
}

function validityOf(state: MutableState, hash: Uint8Array): Validity {
  return state.book.validityOf(valueKey(hash));
}

/**
 * Lines 49-54: upon ⟨PROPOSAL, h_p, r, v, ∗⟩ from proposer(h_p, r) AND 2f+1 ⟨PRECOMMIT, h_p, r,
 * id(v)⟩ while decision_p[h_p] = nil: if valid(v), decide v and start the next height. Also a
 * verified catch-up certificate (2f+1 precommits for v) with valid(v).
 */
function ruleDecide(state: MutableState, out: ConsensusOutput[]): boolean {
  if (state.nextValidatorSet === null) return false; // the next height's set is not known yet
  const book = state.book;
  for (const round of book.roundNumbers()) {
    const messages = book.round(round)!;
    const proposal = messages.proposal;
    if (proposal === null) continue;
    if (!book.isQuorum(tallyPower(messages.precommits, valueKey(proposal.value.hash)))) continue;
    if (validityOf(state, proposal.value.hash) !== "valid") continue; // line 50
    decide(state, out, round, proposal.value, certificateOf(book, messages, proposal.value.hash));
    return true;
  }
  const candidate = state.commitCandidate;
  if (candidate !== null && validityOf(state, candidate.value.hash) === "valid") {
    decide(state, out, candidate.certificate.round, candidate.value, candidate.certificate);
    return true;
  }
  return false;
}

function certificateOf(book: HeightBook, messages: RoundMessages, hash: Uint8Array): CommitCertificate {
  const signatures: CommitSignature[] = [];
  let power = 0n;
  const votes = messages.precommits.byValue.get(valueKey(hash))?.votes ?? [];
  for (let index = 0; index < book.validatorCount; index++) {
    const vote = votes[index];
    if (vote === undefined) continue;
    assert(vote.blockHash !== null && equalBytes(vote.blockHash, hash), "votes are tallied by value");
    signatures.push({ validatorIndex: index, signature: vote.signature });
    power += book.powerOf(index);
  }
  assert(book.testOnlyBugs.countDuplicateVotes === true || book.isQuorum(power), "a decision has a quorum");
  return { height: book.height, round: messages.round, blockHash: hash, signatures };
}

/** Lines 51-54: decision_p[h_p] = v; h_p ← h_p + 1; reset; StartRound(0). */
function decide(
  state: MutableState,
  out: ConsensusOutput[],
  round: number,
  value: ConsensusValue,
  certificate: CommitCertificate,
): void {
  assert(state.nextValidatorSet !== null && state.futureBook !== null, "the next height's set is known");
  assert(equalBytes(certificate.blockHash, value.hash), "the certificate is for the decided value");
  const nextBook = state.futureBook;
  out.push({
    kind: "decide",
    height: state.height,
    round,
    value,
    certificate,
    nextProposerPriorities: nextBook.proposerPriorities,
  });
  state.height += 1n;
  state.book = nextBook;
  state.nextValidatorSet = null;
  state.futureBook = null;
  state.lockedValue = null;
  state.lockedRound = -1;
  state.validValue = null;
  state.validRound = -1;
  state.ownIndex = indexOfKey(nextBook.validatorSet, state.config.signer?.publicKey);
  state.ownVotes = new Map();
  state.ownProposals = new Map();
  state.commitCandidate = null;
  state.round = 0;
  // Proposals buffered for this height can be validated now that the previous one is decided.
  for (const bufferedRound of nextBook.roundNumbers()) {
    const proposal = nextBook.round(bufferedRound)!.proposal;
    if (proposal !== null) requestValidation(state, out, proposal.value);
  }
  enterRound(state, out, 0);
}

/** Lines 55-56: upon f+1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p: StartRound(round). */
function ruleSkipRound(state: MutableState, out: ConsensusOutput[]): boolean {
  const rounds = state.book.roundNumbers();
  for (let position = rounds.length - 1; position >= 0; position--) {
    const round = rounds[position]!;
    if (round <= state.round) return false;
    if (state.book.isOneThird(state.book.round(round)!.senderPower)) {
      event(out, "round_skipped", state.height, round);
      enterRound(state, out, round);
      return true;
    }
  }
  return false;
}

/** Lines 22-27 (polRound = -1) and 28-33 (polRound ≥ 0), in step propose. */
function ruleProposalInPropose(state: MutableState, out: ConsensusOutput[]): boolean {
  const proposal = state.book.round(state.round)?.proposal ?? null;
  if (proposal === null) return false;
  const validity = validityOf(state, proposal.value.hash);
  if (validity !== "valid" && validity !== "invalid") return false; // valid(v) not known yet
  const valid = validity === "valid";
  const ignoreLock = state.config.testOnlyBugs?.ignoreLock === true;
  const lockedOnIt = state.lockedValue !== null && equalBytes(state.lockedValue.hash, proposal.value.hash);
  let accept: boolean;
  if (proposal.polRound === -1) {
    // Line 23: valid(v) ∧ (lockedRound_p = −1 ∨ lockedValue_p = v).
    accept = valid && (ignoreLock || state.lockedRound === -1 || lockedOnIt);
  } else {
    // Line 28: needs 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩ with 0 ≤ vr < round_p.
    assert(proposal.polRound < state.round, "polRound is checked on arrival");
    const polMessages = state.book.round(proposal.polRound);
    if (polMessages === undefined) return false;
    if (!state.book.isQuorum(tallyPower(polMessages.prevotes, valueKey(proposal.value.hash)))) return false;
    // Line 29: valid(v) ∧ (lockedRound_p ≤ vr ∨ lockedValue_p = v).
    accept = valid && (ignoreLock || state.lockedRound <= proposal.polRound || lockedOnIt);
  }
  castVote(state, out, VOTE_TYPE.prevote, accept ? proposal.value.hash : null); // lines 24/26, 30/32
  state.step = "prevote"; // lines 27, 33
  return true;
}

/** Lines 34-35: upon 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step = prevote, the first time. */
function rulePrevoteTimeout(state: MutableState, out: ConsensusOutput[], messages: RoundMessages): boolean {
  if (state.step !== "prevote" || state.flags.prevoteTimeoutScheduled) return false;
  if (!state.book.isQuorum(messages.prevotes.powerAny)) return false;
  state.flags.prevoteTimeoutScheduled = true;
  scheduleTimeout(state, out, "prevote");
  return true;
}

/**
 * Lines 36-43: upon ⟨PROPOSAL, h_p, round_p, v, ∗⟩ AND 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩
 * while valid(v) ∧ step_p ≥ prevote, the first time.
 */
function ruleLock(state: MutableState, out: ConsensusOutput[], messages: RoundMessages): boolean {
  if (state.step === "propose" || state.flags.lockRuleFired) return false;
  const proposal = messages.proposal;
  if (proposal === null) return false;
  if (!state.book.isQuorum(tallyPower(messages.prevotes, valueKey(proposal.value.hash)))) return false;
  if (validityOf(state, proposal.value.hash) !== "valid") return false;
  state.flags.lockRuleFired = true;
  if (state.step === "prevote") {
    state.lockedValue = proposal.value; // line 38
    state.lockedRound = state.round; // line 39
    // The lock, with the prevotes that justify it, is durable before the precommit leaves.
    const proofOfLock = (messages.prevotes.byValue.get(valueKey(proposal.value.hash))?.votes ?? []).filter(
      (vote): vote is SignedVote => vote !== undefined,
    );
    out.push({
      kind: "walAppend",
      height: state.height,
      record: encodeWalRecord({
        kind: "lock",
        height: state.height,
        round: state.round,
        value: proposal.value,
        proofOfLock,
      }),
    });
    castVote(state, out, VOTE_TYPE.precommit, proposal.value.hash); // line 40
    state.step = "precommit"; // line 41
  }
  state.validValue = proposal.value; // line 42
  state.validRound = state.round; // line 43
  return true;
}

/** Lines 44-46: upon 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote. */
function rulePrecommitNil(state: MutableState, out: ConsensusOutput[], messages: RoundMessages): boolean {
  if (state.step !== "prevote") return false;
  if (!state.book.isQuorum(tallyPower(messages.prevotes, NIL_KEY))) return false;
  castVote(state, out, VOTE_TYPE.precommit, null);
  state.step = "precommit";
  return true;
}

/** Lines 47-48: upon 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩, the first time. */
function rulePrecommitTimeout(state: MutableState, out: ConsensusOutput[], messages: RoundMessages): boolean {
  if (state.flags.precommitTimeoutScheduled) return false;
  if (!state.book.isQuorum(messages.precommits.powerAny)) return false;
  state.flags.precommitTimeoutScheduled = true;
  scheduleTimeout(state, out, "precommit");
  return true;
}
