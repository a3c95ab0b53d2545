/**
 * The message log of one height (Alg. 1: "the message log"): proposals and votes by round,
 * with tallies by voting power, so every upon-rule threshold is a lookup. Bounded: each
 * validator holds at most one prevote and one precommit per round, rounds above `round + 1`
 * are opened only within each validator's ROUNDS_AHEAD_PER_VALIDATOR_MAX allowance, and at
 * most PROPOSALS_PER_HEIGHT_MAX proposals are kept.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { VOTE_TYPE } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";
import {
  CONFLICTING_VOTES_PER_VALIDATOR_MAX,
  PROPOSALS_PER_HEIGHT_MAX,
  ROUND_MAX,
  ROUNDS_AHEAD_PER_VALIDATOR_MAX,
  ROUNDS_STORED_MAX,
} from "./limits.ts";
import { ProposerSchedule } from "./proposer.ts";
import type { ConsensusValue, SignedProposal, SignedVote, TestOnlyBugs } from "./types.ts";

export const NIL_KEY = "nil";

/** The tally key of a vote's target: the value hash in hex, or "nil". */
export function valueKey(hash: Uint8Array | null): string {
  return hash === null ? NIL_KEY : bytesToHex(hash);
}

/** What the execution interface said of a value: not asked yet, asked, or its verdict. */
export type Validity = "unknown" | "pending" | "valid" | "invalid";

interface ValueEntry {
  readonly value: ConsensusValue;
  validity: Validity;
}

/** One value's votes in one round and step: each signer at most once, and their power. */
export interface ValueVotes {
  readonly votes: Array<SignedVote | undefined>;
  power: bigint;
}

/**
 * The votes of one round and step, counted as Alg. 1 counts its message log: "2f+1 ⟨PREVOTE,
 * h, r, id(v)⟩" is the power of the distinct signers of a vote for id(v), and "2f+1 ⟨PREVOTE,
 * h, r, ∗⟩" the power of the distinct signers of any vote. An equivocating signer therefore
 * counts toward each value it voted for (the threshold arithmetic allows for it); otherwise a
 * proof-of-lock that includes a Byzantine vote could never be checked by nodes that heard
 * the Byzantine's other vote first. A signer's second and later votes are kept only for nil
 * and for values proposed at this height (the only ones any rule looks at), and at most
 * CONFLICTING_VOTES_PER_VALIDATOR_MAX of them per signer and height.
 */
export interface VoteTally {
  /** The first vote of each signer. */
  readonly first: Array<SignedVote | undefined>;
  readonly byValue: Map<string, ValueVotes>;
  powerAny: bigint;
}

export interface RoundMessages {
  readonly round: number;
  proposal: SignedProposal | null;
  readonly prevotes: VoteTally;
  readonly precommits: VoteTally;
  /** Which validators sent anything in this round, and their power (Alg. 1 line 55). */
  readonly senders: Uint8Array;
  senderPower: bigint;
}

export type AddVoteResult =
  | { readonly kind: "added" }
  | { readonly kind: "duplicate" }
  /** A second, different vote of a signer: evidence. `counted` when kept for its value. */
  | { readonly kind: "conflicting"; readonly existing: SignedVote; readonly counted: boolean };

export function tallyPower(tally: VoteTally, key: string): bigint {
  return tally.byValue.get(key)?.power ?? 0n;
}

export class HeightBook {
  readonly totalPower: bigint;
  readonly schedule: ProposerSchedule;
  /**
   * The one set of bytes this height uses for each value hash, with its validity: the first
   * bytes seen that were not found malformed, or the bytes this node validated or built
   * itself. Bytes and verdict live and die together, so a verdict never applies to bytes it
   * was not given for. Bounded by the stored proposals plus the locked, valid and catch-up
   * values.
   */
  private readonly values = new Map<string, ValueEntry>();
  evidenceCount = 0;
  private readonly rounds = new Map<number, RoundMessages>();
  private readonly roundsSorted: number[] = [];
  private readonly aheadRoundsOpened: number[];
  private readonly conflictingVotes: number[];
  private proposalCount = 0;
  /** Values proposed at this height (with how many rounds proposed each). */
  private readonly proposedKeys = new Map<string, number>();

  constructor(
    readonly height: bigint,
    readonly validatorSet: ValidatorSet,
    readonly proposerPriorities: readonly bigint[],
    readonly testOnlyBugs: TestOnlyBugs,
  ) {
    let total = 0n;
    for (const validator of validatorSet.validators) total += validator.power;
    assert(total > 0n, "a validator set has power");
    this.totalPower = total;
    this.schedule = new ProposerSchedule(validatorSet, proposerPriorities);
    this.aheadRoundsOpened = validatorSet.validators.map(() => 0);
    this.conflictingVotes = validatorSet.validators.map(() => 0);
  }

  get validatorCount(): number {
    return this.validatorSet.validators.length;
  }

  powerOf(index: number): bigint {
    const validator = this.validatorSet.validators[index];
    assert(validator !== undefined, "validator index in range");
    return validator.power;
  }

  /** More than 2/3 of the total power (2f+1 in Alg. 1). */
  isQuorum(power: bigint): boolean {
    if (this.testOnlyBugs.quorumAtTwoThirds) return power * 3n >= this.totalPower * 2n;
    return power * 3n > this.totalPower * 2n;
  }

  /** More than 1/3 of the total power (f+1 in Alg. 1). */
  isOneThird(power: bigint): boolean {
    return power * 3n > this.totalPower;
  }

  round(round: number): RoundMessages | undefined {
    return this.rounds.get(round);
  }

  /** Rounds with messages, ascending. */
  roundNumbers(): readonly number[] {
    return this.roundsSorted;
  }

  /**
   * The round's messages, opening the round when `sender` may: any round up to
   * `currentRound + 1`, and beyond that within the sender's allowance. Null: refused.
   */
  openRound(round: number, sender: number, currentRound: number): RoundMessages | null {
    assert(round >= 0 && round <= ROUND_MAX, "rounds are checked before they reach the book");
    const existing = this.rounds.get(round);
    if (existing !== undefined) return existing;
    if (round > currentRound + 1) {
      if (this.aheadRoundsOpened[sender]! >= ROUNDS_AHEAD_PER_VALIDATOR_MAX) return null;
      this.aheadRoundsOpened[sender]! += 1;
    }
    const created: RoundMessages = {
      round,
      proposal: null,
      prevotes: { first: [], byValue: new Map(), powerAny: 0n },
      precommits: { first: [], byValue: new Map(), powerAny: 0n },
      senders: new Uint8Array(this.validatorCount),
      senderPower: 0n,
    };
    this.rounds.set(round, created);
    let position = this.roundsSorted.length;
    while (position > 0 && this.roundsSorted[position - 1]! > round) position--;
    this.roundsSorted.splice(position, 0, round);
    assert(this.rounds.size <= ROUNDS_STORED_MAX, "stored rounds stay bounded");
    return created;
  }

  private noteSender(messages: RoundMessages, index: number): void {
    if (messages.senders[index] === 0) {
      messages.senders[index] = 1;
      messages.senderPower += this.powerOf(index);
    }
  }

  /** The canonical bytes of a value's hash, adopting `value` when the hash is new. */
  canonicalValue(value: ConsensusValue): ConsensusValue {
    const key = valueKey(value.hash);
    const known = this.values.get(key);
    if (known !== undefined) return known.value;
    this.values.set(key, { value, validity: "unknown" });
    return value;
  }

  validityOf(key: string): Validity {
    return this.values.get(key)?.validity ?? "unknown";
  }

  /** Records that validation of the value's canonical bytes was asked for. */
  markPending(key: string): void {
    const entry = this.values.get(key);
    assert(entry !== undefined && entry.validity === "unknown", "ask once, for held bytes");
    entry.validity = "pending";
  }

  setVerdict(key: string, validity: "valid" | "invalid"): void {
    const entry = this.values.get(key);
    assert(entry !== undefined && entry.validity === "pending", "a verdict answers a question");
    entry.validity = validity;
  }

  /** Bytes known to be the value and valid (built or locked by this node): they win. */
  markValid(value: ConsensusValue): ConsensusValue {
    const key = valueKey(value.hash);
    const known = this.values.get(key);
    if (known !== undefined && known.validity === "valid") return known.value;
    if (known !== undefined) this.forgetValue(key);
    this.values.set(key, { value, validity: "valid" });
    return value;
  }

  /**
   * Forgets bytes found malformed: the value, its validity and the proposals that carried it,
   * so the same proposal with the right bytes is accepted when it comes again.
   */
  forgetValue(key: string): void {
    this.values.delete(key);
    for (const round of this.roundsSorted) {
      const messages = this.rounds.get(round)!;
      if (messages.proposal !== null && valueKey(messages.proposal.value.hash) === key) {
        this.removeProposal(messages, key);
      }
    }
    assert(!this.proposedKeys.has(key), "no proposal keeps forgotten bytes");
  }

  private removeProposal(messages: RoundMessages, key: string): void {
    assert(messages.proposal !== null, "remove a stored proposal");
    messages.proposal = null;
    this.proposalCount -= 1;
    const count = this.proposedKeys.get(key)!;
    if (count === 1) this.proposedKeys.delete(key);
    else this.proposedKeys.set(key, count - 1);
  }

  /** True when exactly this vote (value and signature) is stored already. */
  holdsVote(messages: RoundMessages, vote: SignedVote): boolean {
    const tally = vote.type === VOTE_TYPE.prevote ? messages.prevotes : messages.precommits;
    const stored = tally.byValue.get(valueKey(vote.blockHash))?.votes[vote.validatorIndex];
    return stored !== undefined && equalBytes(stored.signature, vote.signature);
  }

  /** Adds a verified vote (see VoteTally for how votes count). */
  addVote(messages: RoundMessages, vote: SignedVote): AddVoteResult {
    assert(vote.height === this.height, "vote of this height");
    assert(vote.round === messages.round, "vote of this round");
    const tally = vote.type === VOTE_TYPE.prevote ? messages.prevotes : messages.precommits;
    const power = this.powerOf(vote.validatorIndex);
    const key = valueKey(vote.blockHash);
    let entry = tally.byValue.get(key);
    if (entry?.votes[vote.validatorIndex] !== undefined) {
      // Test-only bug: count the vote again, whoever sent it before.
      if (this.testOnlyBugs.countDuplicateVotes) {
        entry.power += power;
        tally.powerAny += power;
      }
      return { kind: "duplicate" };
    }
    const existing = tally.first[vote.validatorIndex];
    if (existing !== undefined) {
      const kept = key === NIL_KEY || this.proposedKeys.has(key);
      if (!kept || this.conflictingVotes[vote.validatorIndex]! >= CONFLICTING_VOTES_PER_VALIDATOR_MAX) {
        return { kind: "conflicting", existing, counted: false };
      }
      this.conflictingVotes[vote.validatorIndex]! += 1;
    }
    if (entry === undefined) {
      entry = { votes: [], power: 0n };
      tally.byValue.set(key, entry);
    }
    entry.votes[vote.validatorIndex] = vote;
    entry.power += power;
    if (existing !== undefined) {
      if (this.testOnlyBugs.countDuplicateVotes) tally.powerAny += power;
      return { kind: "conflicting", existing, counted: true };
    }
    tally.first[vote.validatorIndex] = vote;
    tally.powerAny += power;
    assert(
      this.testOnlyBugs.countDuplicateVotes || tally.powerAny <= this.totalPower,
      "tallies never exceed the total",
    );
    assert(
      this.testOnlyBugs.countDuplicateVotes || entry.power <= tally.powerAny,
      "a value's power is within the total",
    );
    this.noteSender(messages, vote.validatorIndex);
    return { kind: "added" };
  }

  /**
   * Stores the round's proposal (the caller has checked signer and signature). When the height
   * already holds PROPOSALS_PER_HEIGHT_MAX proposals, the lowest round whose value is not
   * protected (locked, valid) and that is not `currentRound` is evicted; false when none is.
   */
  setProposal(
    messages: RoundMessages,
    proposal: SignedProposal,
    protectedKeys: ReadonlySet<string>,
    currentRound: number,
  ): boolean {
    assert(messages.proposal === null, "one proposal per round");
    assert(proposal.round === messages.round, "proposal of this round");
    if (this.proposalCount >= PROPOSALS_PER_HEIGHT_MAX && !this.evictProposal(protectedKeys, currentRound)) {
      return false;
    }
    messages.proposal = proposal;
    this.proposalCount += 1;
    const key = valueKey(proposal.value.hash);
    this.proposedKeys.set(key, (this.proposedKeys.get(key) ?? 0) + 1);
    assert(this.proposalCount <= PROPOSALS_PER_HEIGHT_MAX, "stored proposals stay bounded");
    this.noteSender(messages, this.schedule.proposerOf(proposal.round));
    return true;
  }

  private evictProposal(protectedKeys: ReadonlySet<string>, currentRound: number): boolean {
    for (const round of this.roundsSorted) {
      const messages = this.rounds.get(round)!;
      if (messages.proposal === null || round === currentRound) continue;
      const key = valueKey(messages.proposal.value.hash);
      if (protectedKeys.has(key)) continue;
      this.removeProposal(messages, key);
      if (!this.proposedKeys.has(key)) this.values.delete(key);
      return true;
    }
    return false;
  }
}
