/**
 * The adversary: Byzantine validators (at most f by power) run the honest state machine but
 * everything they send passes through here, where it is withheld (silent), split into
 * conflicting versions for two halves of the network (equivocating proposals, double votes),
 * replaced by an invalid value, or accompanied by replayed old messages. Byzantine nodes
 * collude: for each (height, round) they share one split of the network and one pair of
 * conflicting values, which is the strongest attack on agreement. They sign only with their
 * own keys (no forgery).
 */
import { assert } from "../src/base/assert.ts";
import { equalBytes } from "../src/base/bytes.ts";
import {
  type ConsensusMessage,
  type ConsensusValue,
  proposalSigningBytes,
  type SignedProposal,
  type SignedVote,
  signedVoteSigningBytes,
} from "../src/consensus/index.ts";
import { blockHash } from "../src/ledger/block.ts";
import { VOTE_TYPE } from "../src/ledger/commit.ts";
import { decodeSimBlock, encodeSimBlock, SIM_CHAIN_ID, type SimBlock } from "./application.ts";
import type { SimNode } from "./node.ts";
import type { SimHost } from "./types.ts";

export type ByzantineBehaviour =
  | "silent"
  | "equivocateProposal"
  | "doubleVote"
  | "invalidProposal"
  | "replay"
  /** As proposer, forget validValue: propose a fresh value with no proof of lock. */
  | "amnesia"
  /**
   * Ignore others' precommits, so as never to decide a height by itself and to stay in it,
   * proposing and voting in later rounds; it learns decisions only from catch-up commits.
   */
  | "linger";

export interface Delivery {
  /** Recipient node, or null for every other node. */
  readonly to: number | null;
  readonly message: ConsensusMessage;
}

const HISTORY_MAX = 128;
const ROUND_PLANS_MAX = 256;

interface RoundPlan {
  /** Group (0 or 1) of each node for this (height, round). */
  readonly groups: Uint8Array;
  /** The two values the Byzantine proposer showed the two groups, if it equivocated. */
  values: [ConsensusValue, ConsensusValue] | null;
  /** A node that hears both versions of everything this round (so it can record evidence), or -1. */
  readonly leakNode: number;
  /** The one node that gets the Byzantine precommits for the group-0 value. */
  readonly victim: number;
  /** With adversarial scheduling: the node whose incoming prevotes the network delays, or -1. */
  readonly slowNode: number;
}

export class Adversary {
  private readonly plans = new Map<string, RoundPlan>();
  private readonly history: ConsensusMessage[] = [];
  /** Per height, the value Byzantine precommits tried to get one victim to decide, and when. */
  private readonly forked = new Map<bigint, { hash: Uint8Array; round: number }>();

  constructor(private readonly host: SimHost) {}

  /** Remembers a message a Byzantine node received, to replay later. */
  remember(message: ConsensusMessage): void {
    if (this.history.length >= HISTORY_MAX) this.history.splice(0, 1);
    this.history.push(message);
  }

  /**
   * Adversarial scheduling (safety phase only; before GST the network may be this hostile):
   * the extra delay of a message, which is a lot for prevotes to the round's slow node, so it
   * misses the proof of lock that the others see.
   */
  extraDelayMs(message: ConsensusMessage, to: number): number {
    if (message.kind !== "vote" || message.vote.type !== VOTE_TYPE.prevote) return 0;
    const plan = this.plan(message.vote.height, message.vote.round);
    return plan.slowNode === to ? this.host.prng.int(500, 1_500) : 0;
  }

  private plan(height: bigint, round: number): RoundPlan {
    const key = `${height}/${round}`;
    let plan = this.plans.get(key);
    if (plan === undefined) {
      if (this.plans.size >= ROUND_PLANS_MAX) this.plans.delete(this.plans.keys().next().value!);
      const groups = new Uint8Array(this.host.nodeCount);
      for (let node = 0; node < groups.length; node++) groups[node] = this.host.prng.int(0, 1);
      const leakNode = this.host.prng.chance(0.3) ? this.host.prng.int(0, groups.length - 1) : -1;
      const victim = this.host.prng.int(0, groups.length - 1);
      groups[victim] = 0;
      const slowNode = this.host.prng.chance(0.5) ? this.host.prng.int(0, groups.length - 1) : -1;
      plan = { groups, values: null, leakNode, victim, slowNode };
      this.plans.set(key, plan);
    }
    return plan;
  }

  transform(node: SimNode, message: ConsensusMessage): Delivery[] {
    const behaviours = node.byzantine;
    assert(behaviours !== null, "only Byzantine nodes' messages are transformed");
    if (behaviours.has("silent")) return [];
    const deliveries =
      message.kind === "proposal"
        ? this.transformProposal(node, behaviours, message.proposal)
        : this.transformVote(node, behaviours, message.vote);
    if (behaviours.has("replay") && this.history.length > 0 && this.host.prng.chance(0.5)) {
      this.host.faults.replays += 1;
      deliveries.push({
        to: this.host.prng.int(0, this.host.nodeCount - 1),
        message: this.host.prng.pick(this.history),
      });
    }
    if (behaviours.has("invalidProposal") && this.host.prng.chance(0.3)) {
      // Relay someone's correctly signed proposal with corrupted bytes.
      const proposal = this.history.findLast((seen) => seen.kind === "proposal");
      if (proposal !== undefined && proposal.kind === "proposal") {
        this.host.faults.invalidProposals += 1;
        const corrupted = { ...proposal.proposal, value: this.invalidVariant(proposal.proposal.value) };
        deliveries.push({
          to: this.host.prng.int(0, this.host.nodeCount - 1),
          message: { kind: "proposal", proposal: corrupted },
        });
      }
    }
    return deliveries;
  }

  private transformProposal(
    node: SimNode,
    behaviours: ReadonlySet<ByzantineBehaviour>,
    original: SignedProposal,
  ): Delivery[] {
    let proposal = original;
    if (behaviours.has("amnesia") && original.polRound >= 0 && node.app.height + 1n === original.height) {
      const fresh = this.freshValue(node, original.height);
      proposal = signProposal(node, { ...original, polRound: -1, value: fresh });
      this.plan(original.height, original.round).values = [fresh, fresh];
    }
    if (behaviours.has("invalidProposal") && this.host.prng.chance(0.5)) {
      this.host.faults.invalidProposals += 1;
      proposal = signProposal(node, { ...original, value: this.invalidVariant(original.value) });
    }
    if (!behaviours.has("equivocateProposal") || node.app.height + 1n !== original.height) {
      return [{ to: null, message: { kind: "proposal", proposal } }];
    }
    const alternative = this.freshValue(node, original.height);
    const other = signProposal(node, { ...original, polRound: -1, value: alternative });
    const plan = this.plan(original.height, original.round);
    plan.values = [proposal.value, alternative];
    this.host.faults.equivocatingProposals += 1;
    return this.split(plan, { kind: "proposal", proposal }, { kind: "proposal", proposal: other });
  }

  /** Another valid value for the height: what an equivocating or amnesic proposer shows. */
  private freshValue(node: SimNode, height: bigint): ConsensusValue {
    return node.app.proposeValue(height, {
      timeMs: this.host.nowMs,
      proposerPublicKey: node.signer.publicKey,
      transactionCount: 1,
      transactionBytes: 16,
      salt: this.host.prng.nextU32(),
      setChange: null,
    });
  }

  /**
   * The colluding vote strategy (a forking attack). In a round it splits, Byzantine prevotes
   * show each group its value; Byzantine precommits give the value to one victim only (who
   * may then decide it with honest precommits) and the other version to everyone else (who
   * then do not). In later rounds of that height they support any value but the victim's.
   * Correct validators stay safe: their locks keep them on the victim's value.
   */
  private transformVote(
    node: SimNode,
    behaviours: ReadonlySet<ByzantineBehaviour>,
    vote: SignedVote,
  ): Delivery[] {
    const plan = this.plan(vote.height, vote.round);
    if (!behaviours.has("doubleVote") && plan.values === null)
      return [{ to: null, message: { kind: "vote", vote } }];
    this.host.faults.doubleVotes += 1;
    const seen = node.state?.book.round(vote.round)?.proposal?.value.hash ?? null;
    const forked = this.forked.get(vote.height);
    if (forked !== undefined && vote.round > forked.round) {
      const target = plan.values?.[0].hash ?? seen;
      const hash = target !== null && !equalBytes(target, forked.hash) ? target : null;
      return [{ to: null, message: { kind: "vote", vote: signVote(node, { ...vote, blockHash: hash }) } }];
    }
    const first = plan.values !== null ? plan.values[0].hash : (seen ?? vote.blockHash);
    const second = plan.values !== null ? plan.values[1].hash : null;
    const one = { kind: "vote", vote: signVote(node, { ...vote, blockHash: first }) } as const;
    const other = { kind: "vote", vote: signVote(node, { ...vote, blockHash: second }) } as const;
    if (vote.type === VOTE_TYPE.prevote) return this.split(plan, one, other);
    if (first !== null) {
      if (this.forked.size >= ROUND_PLANS_MAX) this.forked.delete(this.forked.keys().next().value!);
      if (!this.forked.has(vote.height)) this.forked.set(vote.height, { hash: first, round: vote.round });
    }
    const nil = { kind: "vote", vote: signVote(node, { ...vote, blockHash: null }) } as const;
    const deliveries: Delivery[] = [];
    for (let to = 0; to < plan.groups.length; to++) {
      const message = to === plan.victim ? one : plan.groups[to] === 1 ? other : nil;
      deliveries.push({ to, message });
    }
    if (plan.leakNode >= 0)
      deliveries.push({ to: plan.leakNode, message: plan.leakNode === plan.victim ? other : one });
    return deliveries;
  }

  private split(plan: RoundPlan, toGroupZero: ConsensusMessage, toGroupOne: ConsensusMessage): Delivery[] {
    const deliveries: Delivery[] = [];
    for (let node = 0; node < plan.groups.length; node++) {
      deliveries.push({ to: node, message: plan.groups[node] === 0 ? toGroupZero : toGroupOne });
    }
    // In some rounds one node hears both versions: it records the equivocation as evidence.
    if (plan.leakNode >= 0) {
      deliveries.push({
        to: plan.leakNode,
        message: plan.groups[plan.leakNode] === 0 ? toGroupOne : toGroupZero,
      });
    }
    return deliveries;
  }

  /**
   * A value honest validators must refuse: a block with a wrong parent (invalid), or the
   * honest value's hash with corrupted bytes (malformed: a relay can do this to any proposal,
   * since the signature covers only the hash).
   */
  private invalidVariant(value: ConsensusValue): ConsensusValue {
    if (this.host.prng.chance(0.5)) {
      const bytes = value.bytes.slice();
      const position = this.host.prng.int(0, bytes.length - 1);
      bytes[position] = bytes[position]! ^ (1 << this.host.prng.int(0, 7));
      return { hash: value.hash, bytes };
    }
    let block: SimBlock;
    try {
      block = decodeSimBlock(value.bytes);
    } catch {
      return { hash: value.hash, bytes: value.bytes.subarray(1) }; // already corrupt: more so
    }
    const header = { ...block.header, previousBlockHash: this.host.suite.hash(value.hash) };
    return { hash: blockHash(header, this.host.suite.hash), bytes: encodeSimBlock({ ...block, header }) };
  }
}

function signProposal(node: SimNode, proposal: SignedProposal): SignedProposal {
  const message = proposalSigningBytes(SIM_CHAIN_ID, {
    height: proposal.height,
    round: proposal.round,
    polRound: proposal.polRound,
    valueHash: proposal.value.hash,
  });
  return { ...proposal, signature: node.signer.sign(message) };
}

function signVote(node: SimNode, vote: SignedVote): SignedVote {
  return { ...vote, signature: node.signer.sign(signedVoteSigningBytes(SIM_CHAIN_ID, vote)) };
}
