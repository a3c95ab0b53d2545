/**
 * Fixtures for this module's tests (not exported from index.ts): keys, validator sets, values
 * and a tiny synchronous cluster that delivers every message in order and fires timeouts
 * only when a test says so. The deterministic simulator with faults lives in sim/.
 * @module
 */
import { assert, assertNever } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { ed25519Suite } from "../crypto/ed25519.ts";
import { sha256 } from "../crypto/sha256.ts";
import type { KeyPair } from "../crypto/suite.ts";
import type { VoteType } from "../ledger/commit.ts";
import { canonicalValidatorSet, type ValidatorSet } from "../ledger/validator-set.ts";
import { proposalSigningBytes, signedVoteSigningBytes } from "./messages.ts";
import { initialProposerPriorities } from "./proposer.ts";
import { suiteSigner } from "./signer.ts";
import { type ConsensusState, createState, step } from "./state-machine.ts";
import type {
  ConsensusCheckpoint,
  ConsensusConfig,
  ConsensusInput,
  ConsensusMessage,
  ConsensusOutput,
  ConsensusValue,
  SignedProposal,
  SignedVote,
  TestOnlyBugs,
  TimeoutEvent,
} from "./types.ts";

export const CHAIN_ID = "test-city-1";
export const suite = ed25519Suite;
export const TEST_TIMEOUTS = {
  proposeBaseMs: 1_000,
  proposeDeltaMs: 500,
  prevoteBaseMs: 500,
  prevoteDeltaMs: 250,
  precommitBaseMs: 500,
  precommitDeltaMs: 250,
};

export function keyPairs(count: number): KeyPair[] {
  return Array.from({ length: count }, (_, index) =>
    suite.keyPairFromSeed(new Uint8Array(32).fill(index + 1)),
  );
}

/** A validator set of `powers`, with the key pairs in set order (sorted by public key). */
export function makeSet(powers: readonly bigint[]): { set: ValidatorSet; keys: KeyPair[] } {
  const pairs = keyPairs(powers.length);
  const set = canonicalValidatorSet(
    suite.name,
    pairs.map((pair, index) => ({ publicKey: pair.publicKey, power: powers[index]! })),
  );
  const keys = set.validators.map(
    (validator) => pairs.find((pair) => equalBytes(pair.publicKey, validator.publicKey))!,
  );
  return { set, keys };
}

export function makeConfig(key: KeyPair | null, testOnlyBugs: TestOnlyBugs = {}): ConsensusConfig {
  return {
    chainId: CHAIN_ID,
    suite,
    signer: key === null ? null : suiteSigner(suite, key.privateKey),
    timeouts: TEST_TIMEOUTS,
    testOnlyBugs,
  };
}

export function genesis(set: ValidatorSet): ConsensusCheckpoint {
  return {
    height: 1n,
    validatorSet: set,
    nextValidatorSet: set,
    proposerPriorities: initialProposerPriorities(set),
  };
}

/** A value whose hash is SHA-256 of its bytes (the fixtures' "execution interface"). */
export function makeValue(label: string): ConsensusValue {
  const bytes = new TextEncoder().encode(label);
  return { hash: sha256(bytes), bytes };
}

export function verdictOf(value: ConsensusValue, invalidLabels: ReadonlySet<string> = new Set()) {
  const expected = sha256(value.bytes);
  if (!equalBytes(expected, value.hash)) return "malformed" as const;
  return invalidLabels.has(new TextDecoder().decode(value.bytes)) ? ("invalid" as const) : ("valid" as const);
}

interface Decision {
  readonly height: bigint;
  readonly round: number;
  readonly value: ConsensusValue;
  readonly output: Extract<ConsensusOutput, { kind: "decide" }>;
}

/**
 * N machines wired together: broadcasts go to every other machine (a FIFO queue), the
 * application answers at once, timeouts wait in a list until `fireTimeouts`.
 */
export class LocalCluster {
  readonly states: ConsensusState[];
  readonly decisions: Decision[][];
  readonly sent: ConsensusMessage[][];
  readonly outputs: ConsensusOutput[][];
  readonly pendingTimeouts: Array<{ node: number; timeout: TimeoutEvent; durationMs: number }> = [];
  /** Messages from a node to another are dropped while this returns true. */
  dropRule: (from: number, to: number, message: ConsensusMessage) => boolean = () => false;
  invalidLabels = new Set<string>();
  private readonly queue: Array<{ from: number; to: number; message: ConsensusMessage }> = [];
  private valueCounter = 0;

  constructor(
    readonly set: ValidatorSet,
    readonly keys: readonly KeyPair[],
    testOnlyBugs: TestOnlyBugs = {},
    /** The application proposes nothing above this height, so runs end. */
    readonly heightMax = 3n,
  ) {
    this.states = keys.map((key) => createState(makeConfig(key, testOnlyBugs), genesis(set)));
    this.decisions = keys.map(() => []);
    this.sent = keys.map(() => []);
    this.outputs = keys.map(() => []);
  }

  startAll(): void {
    for (let node = 0; node < this.states.length; node++) this.input(node, { kind: "start" });
    this.deliverAll();
  }

  input(node: number, input: ConsensusInput): void {
    const result = step(this.states[node]!, input);
    this.states[node] = result.state;
    const followUps: ConsensusInput[] = [];
    for (const output of result.outputs) {
      this.outputs[node]!.push(output);
      this.handle(node, output, followUps);
    }
    for (const followUp of followUps) this.input(node, followUp);
  }

  private handle(node: number, output: ConsensusOutput, followUps: ConsensusInput[]): void {
    switch (output.kind) {
      case "broadcast":
        this.sent[node]!.push(output.message);
        for (let to = 0; to < this.states.length; to++) {
          if (to !== node) this.queue.push({ from: node, to, message: output.message });
        }
        break;
      case "scheduleTimeout":
        this.pendingTimeouts.push({ node, timeout: output.timeout, durationMs: output.durationMs });
        break;
      case "requestValue":
        if (output.height > this.heightMax) break;
        followUps.push({
          kind: "valueReady",
          height: output.height,
          round: output.round,
          value: makeValue(`value ${output.height}/${output.round}/${node}/${this.valueCounter++}`),
        });
        break;
      case "validateValue":
        followUps.push({
          kind: "valueValidated",
          height: output.height,
          valueHash: output.value.hash,
          verdict: verdictOf(output.value, this.invalidLabels),
        });
        break;
      case "decide":
        this.decisions[node]!.push({
          height: output.height,
          round: output.round,
          value: output.value,
          output,
        });
        followUps.push({ kind: "validatorSet", height: output.height + 2n, validatorSet: this.set });
        break;
      case "walAppend":
      case "evidence":
      case "rejected":
      case "event":
        break;
      default:
        assertNever(output);
    }
  }

  deliverAll(limit = 100_000): void {
    for (let delivered = 0; this.queue.length > 0; delivered++) {
      assert(delivered < limit, "deliveries settle");
      const { from, to, message } = this.queue.shift()!;
      if (this.dropRule(from, to, message)) continue;
      this.input(
        to,
        message.kind === "vote"
          ? { kind: "vote", vote: message.vote, peer: `n${from}` }
          : { kind: "proposal", proposal: message.proposal, peer: `n${from}` },
      );
    }
  }

  /** Fires every pending timeout (stale ones are no-ops in the machine), then delivers. */
  fireTimeouts(): void {
    const due = this.pendingTimeouts.splice(0);
    for (const pending of due) this.input(pending.node, { kind: "timeout", timeout: pending.timeout });
    this.deliverAll();
  }

  decidedHash(node: number, height: bigint): string | null {
    const decision = this.decisions[node]!.find((entry) => entry.height === height);
    return decision === undefined ? null : bytesToHex(decision.value.hash);
  }
}

export function signVote(
  key: KeyPair,
  validatorIndex: number,
  type: VoteType,
  height: bigint,
  round: number,
  blockHash: Uint8Array | null,
): SignedVote {
  const unsigned: SignedVote = {
    type,
    height,
    round,
    blockHash,
    validatorIndex,
    signature: new Uint8Array(0),
  };
  return { ...unsigned, signature: suite.sign(key.privateKey, signedVoteSigningBytes(CHAIN_ID, unsigned)) };
}

export function signProposal(
  key: KeyPair,
  height: bigint,
  round: number,
  polRound: number,
  value: ConsensusValue,
): SignedProposal {
  const message = proposalSigningBytes(CHAIN_ID, { height, round, polRound, valueHash: value.hash });
  return { height, round, polRound, value, signature: suite.sign(key.privateKey, message) };
}

/** Runs one input and returns the outputs, replacing the state in `holder`. */
export function run(holder: { state: ConsensusState }, input: ConsensusInput): ConsensusOutput[] {
  const result = step(holder.state, input);
  holder.state = result.state;
  return result.outputs;
}

export function broadcastVotes(outputs: readonly ConsensusOutput[]): SignedVote[] {
  const votes: SignedVote[] = [];
  for (const output of outputs) {
    if (output.kind === "broadcast" && output.message.kind === "vote") votes.push(output.message.vote);
  }
  return votes;
}
