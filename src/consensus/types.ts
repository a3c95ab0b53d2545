/**
 * The vocabulary of the consensus state machine: values, signed messages, inputs and outputs
 * (docs/spec/consensus.md). Everything here is plain data; the machine is `step` in
 * state-machine.ts.
 * @module
 */
import type { SignatureSuite } from "../crypto/suite.ts";
import type { CommitCertificate, VoteType } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";

/**
 * What consensus agrees on: an opaque value identified by its 32-byte hash (for a block, the
 * block hash, so a decision's certificate verifies with `verifyCommit`). Consensus never looks
 * inside `bytes`; the execution interface checks that `hash` identifies `bytes`.
 */
export interface ConsensusValue {
  readonly hash: Uint8Array;
  readonly bytes: Uint8Array;
}

/**
 * The execution interface's verdict on a value. Signatures cover only the value's hash, so a
 * relaying peer can attach other bytes to a correctly signed proposal: "malformed" says the
 * bytes are not the value this hash names (they do not decode, or do not hash to it), which
 * condemns those bytes and not the value; "invalid" says the value itself is invalid.
 */
export type ValueVerdict = "valid" | "invalid" | "malformed";

/**
 * The mempool/application interface a driver injects: builds the value to propose (getValue(),
 * Alg. 1 line 18) when the machine outputs `requestValue`; the answer goes back as `valueReady`.
 */
export interface ValueSource {
  proposeValue(height: bigint, round: number): ConsensusValue | Promise<ConsensusValue>;
}

/**
 * The execution interface a driver injects: valid(v), asked by `validateValue` outputs and
 * answered with `valueValidated`. Must be deterministic: every correct node gives the same
 * verdict for the same value at the same height.
 */
export interface ValueValidator {
  validateValue(height: bigint, value: ConsensusValue): ValueVerdict | Promise<ValueVerdict>;
}

/** Steps of a round (Alg. 1 line 4). */
export type Step = "propose" | "prevote" | "precommit";

/** A prevote or precommit with its signer's position in the height's validator set. */
export interface SignedVote {
  readonly type: VoteType;
  readonly height: bigint;
  readonly round: number;
  /** The value voted for, or null for nil. */
  readonly blockHash: Uint8Array | null;
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
}

/** ⟨PROPOSAL, h, round, v, validRound⟩ (Alg. 1 line 19), signed by proposer(h, round). */
export interface SignedProposal {
  readonly height: bigint;
  readonly round: number;
  /** The proposer's validRound: -1, or a round below `round` with 2f+1 prevotes for the value. */
  readonly polRound: number;
  readonly value: ConsensusValue;
  readonly signature: Uint8Array;
}

export type ConsensusMessage =
  | { readonly kind: "proposal"; readonly proposal: SignedProposal }
  | { readonly kind: "vote"; readonly vote: SignedVote };

/** Holds the validator's private key outside the state: the machine only asks for signatures. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** Timeouts grow linearly with the round: `base + round * delta`, clamped to TIMEOUT_MS_MAX. */
export interface TimeoutConfig {
  readonly proposeBaseMs: number;
  readonly proposeDeltaMs: number;
  readonly prevoteBaseMs: number;
  readonly prevoteDeltaMs: number;
  readonly precommitBaseMs: number;
  readonly precommitDeltaMs: number;
}

/**
 * Deliberate bugs, for tests only: the simulator must find a safety violation with each one
 * switched on (sim/bug-injection.test.ts). A node never sets these.
 */
export interface TestOnlyBugs {
  /** Prevote for a proposal even when locked on another value (drops Alg. 1 lines 23, 29). */
  readonly ignoreLock?: boolean;
  /** Count every vote received, without checking that its sender has not voted already. */
  readonly countDuplicateVotes?: boolean;
  /** Accept power ≥ 2/3 of the total as a quorum instead of > 2/3. */
  readonly quorumAtTwoThirds?: boolean;
}

export interface ConsensusConfig {
  readonly chainId: string;
  /** Verifies every incoming signature; its hash is not used by consensus. */
  readonly suite: SignatureSuite;
  /** null for a node that follows the chain without ever signing. */
  readonly signer: Signer | null;
  readonly timeouts: TimeoutConfig;
  readonly testOnlyBugs?: TestOnlyBugs;
}

/**
 * Where a (re)started machine begins: the first undecided height, its validator set, the set
 * of the height after it, and the proposer priorities of that height. A driver saves the one
 * a `decide` output implies together with the decided block.
 */
export interface ConsensusCheckpoint {
  readonly height: bigint;
  readonly validatorSet: ValidatorSet;
  readonly nextValidatorSet: ValidatorSet;
  readonly proposerPriorities: readonly bigint[];
}

export interface TimeoutEvent {
  readonly step: Step;
  readonly height: bigint;
  readonly round: number;
}

export type ConsensusInput =
  /** Once, right after createState or restoreState (Alg. 1 line 10). */
  | { readonly kind: "start" }
  | { readonly kind: "proposal"; readonly proposal: SignedProposal; readonly peer?: string }
  | { readonly kind: "vote"; readonly vote: SignedVote; readonly peer?: string }
  | { readonly kind: "timeout"; readonly timeout: TimeoutEvent }
  /** The application's answer to `requestValue` (getValue(), Alg. 1 line 18). */
  | {
      readonly kind: "valueReady";
      readonly height: bigint;
      readonly round: number;
      readonly value: ConsensusValue;
    }
  /** The execution interface's answer to `validateValue` (valid(v) in Alg. 1). */
  | {
      readonly kind: "valueValidated";
      readonly height: bigint;
      readonly valueHash: Uint8Array;
      readonly verdict: ValueVerdict;
    }
  /** A decided value with its certificate, from a peer ahead of us (catch-up). */
  | {
      readonly kind: "commit";
      readonly height: bigint;
      readonly value: ConsensusValue;
      readonly certificate: CommitCertificate;
      readonly peer?: string;
    }
  /**
   * The validator set that takes effect at `height`, known once block `height - 2` is
   * executed. The machine needs the set of height h+1 before it can decide height h.
   */
  | { readonly kind: "validatorSet"; readonly height: bigint; readonly validatorSet: ValidatorSet };

/** Why a message from a peer was dropped (for peer scoring). */
export type RejectCode =
  | "SIGNATURE_INVALID"
  | "NOT_A_VALIDATOR"
  | "ROUND_OUT_OF_RANGE"
  | "ROUNDS_AHEAD_EXCEEDED"
  | "POL_ROUND_INVALID"
  | "VALUE_MALFORMED"
  | "CERTIFICATE_INVALID";

/** Things worth a log line (STYLE.md rule 17: pure modules return events, the node logs). */
export type ConsensusEventName =
  | "round_started"
  | "round_skipped"
  | "height_ahead"
  | "round_limit_reached"
  | "proposals_evicted";

export type ConsensusOutput =
  /** Durable BEFORE any `broadcast` of the same step is sent (the driver's contract). */
  | { readonly kind: "walAppend"; readonly height: bigint; readonly record: Uint8Array }
  | { readonly kind: "broadcast"; readonly message: ConsensusMessage }
  | { readonly kind: "scheduleTimeout"; readonly timeout: TimeoutEvent; readonly durationMs: number }
  /** Ask the mempool/application for a value to propose; answer with `valueReady`. */
  | { readonly kind: "requestValue"; readonly height: bigint; readonly round: number }
  /** Ask the execution interface whether a value is valid; answer with `valueValidated`. */
  | { readonly kind: "validateValue"; readonly height: bigint; readonly value: ConsensusValue }
  | {
      readonly kind: "decide";
      readonly height: bigint;
      readonly round: number;
      readonly value: ConsensusValue;
      readonly certificate: CommitCertificate;
      /** Proposer priorities of height + 1, for the checkpoint saved with the block. */
      readonly nextProposerPriorities: readonly bigint[];
    }
  /** An encoded equivocation (evidence.ts), to be included in a block by a proposer. */
  | { readonly kind: "evidence"; readonly height: bigint; readonly evidence: Uint8Array }
  | {
      readonly kind: "rejected";
      readonly code: RejectCode;
      readonly peer: string | null;
      readonly height: bigint;
      readonly round: number;
    }
  | {
      readonly kind: "event";
      readonly name: ConsensusEventName;
      readonly height: bigint;
      readonly round: number;
    };
