/**
 * One simulated node: the driver around the consensus state machine. It keeps the driver's
 * contract (WAL writes durable before the step's broadcasts leave; the decided block durable
 * before the next height starts), crashes (losing unsynced WAL writes and everything in
 * memory) and restarts from its checkpoint and WAL, gossips (re-sends what it signed at its
 * height, announces its height) and answers lagging peers with commits.
 */
import { assert, assertNever } from "../src/base/assert.ts";
import {
  type ConsensusCheckpoint,
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusMessage,
  type ConsensusOutput,
  type ConsensusState,
  createState,
  initialProposerPriorities,
  MemoryWal,
  ownMessages,
  proofOfLockVotes,
  restoreState,
  type Signer,
  step,
  suiteSigner,
  timeoutMs,
} from "../src/consensus/index.ts";
import type { KeyPair } from "../src/crypto/suite.ts";
import { VOTE_TYPE, verifyCommit } from "../src/ledger/commit.ts";
import type { ValidatorSet } from "../src/ledger/validator-set.ts";
import { decodeSimBlock, type SetRule, SIM_CHAIN_ID, SimApplication } from "./application.ts";
import type { ByzantineBehaviour } from "./byzantine.ts";
import { keyObjectSigner } from "./key-object-signer.ts";
import { describeOutput, shortHash } from "./trace.ts";
import type { SimHost, SimMessage } from "./types.ts";

/** Inputs one node handles back to back before the simulation moves on (a bound, not a tuning knob). */
const LOCAL_INPUTS_MAX = 10_000;

export class SimNode {
  readonly signer: Signer;
  readonly app: SimApplication;
  readonly wal = new MemoryWal({ syncMode: "manual" });
  state: ConsensusState | null = null;
  epoch = 0;
  /** Steps handled, messages received: for the benchmark and the summary. */
  stepsHandled = 0;
  private checkpoint: ConsensusCheckpoint;
  private readonly config: ConsensusConfig;
  private held: ConsensusMessage[] = [];
  private syncScheduled = false;
  private readonly queue: ConsensusInput[] = [];
  private processing = false;
  /** Last height a commit was sent to each peer for, to answer each status once. */
  private readonly commitSentAt = new Map<string, number>();
  private lingerTimeoutKey = "";
  /** (height, round, step) at the last gossip tick. */
  private gossipPosition = "";

  constructor(
    private readonly host: SimHost,
    readonly index: number,
    readonly keyPair: KeyPair,
    readonly byzantine: ReadonlySet<ByzantineBehaviour> | null,
    genesisSet: ValidatorSet,
    setRule: SetRule,
  ) {
    this.signer = host.options.realSignatures
      ? keyObjectSigner(keyPair.privateKey)
      : suiteSigner(host.suite, keyPair.privateKey);
    this.app = new SimApplication(host.suite, genesisSet, setRule);
    this.config = {
      chainId: SIM_CHAIN_ID,
      suite: host.suite,
      signer: this.signer,
      timeouts: host.options.timeouts,
      testOnlyBugs: host.options.testOnlyBugs,
    };
    this.checkpoint = {
      height: 1n,
      validatorSet: genesisSet,
      nextValidatorSet: genesisSet,
      proposerPriorities: initialProposerPriorities(genesisSet),
    };
  }

  get crashed(): boolean {
    return this.state === null;
  }

  get honest(): boolean {
    return this.byzantine === null;
  }

  /** Decided height (the application's chain length). */
  get height(): bigint {
    return this.app.height;
  }

  start(): void {
    assert(this.state === null, "start a stopped node");
    const records = this.wal.readDurable(this.checkpoint.height).map((entry) => entry.record);
    this.state =
      records.length === 0 && this.epoch === 0
        ? createState(this.config, this.checkpoint)
        : restoreState(this.config, this.checkpoint, records);
    if (this.host.tracing) {
      const state = this.state;
      this.host.trace(
        `n${this.index} ${this.epoch === 0 ? "starts" : "restarts"} at h${state.height} r${state.round} ${state.step}` +
          ` (${records.length} WAL records)`,
      );
    }
    this.feed({ kind: "start" });
    this.host.schedule(this.host.prng.int(1, this.host.options.gossipIntervalMs), {
      kind: "gossip",
      node: this.index,
      epoch: this.epoch,
    });
  }

  crash(): void {
    assert(this.state !== null, "crash a running node");
    const pending = this.wal.pendingCount;
    const keep = this.host.options.crashes?.tornWrites === true ? this.host.prng.int(0, pending) : 0;
    this.wal.crash(keep);
    this.host.faults.crashes += 1;
    this.host.faults.walWritesLost += pending - keep;
    this.state = null;
    this.epoch += 1;
    this.held = [];
    this.syncScheduled = false;
    this.queue.length = 0;
    this.commitSentAt.clear();
    if (this.host.tracing) {
      this.host.trace(`n${this.index} crashes (${pending - keep} of ${pending} unsynced WAL writes lost)`);
    }
  }

  /** Feeds one input and everything it causes locally, in order. */
  feed(input: ConsensusInput): void {
    this.queue.push(input);
    if (this.processing) return;
    this.processing = true;
    try {
      for (let handled = 0; this.queue.length > 0; handled++) {
        assert(handled < LOCAL_INPUTS_MAX, "local inputs settle");
        const next = this.queue.shift()!;
        if (this.state === null) break;
        const result = step(this.state, next);
        this.stepsHandled += 1;
        this.state = result.state;
        this.handleOutputs(result.outputs);
      }
    } finally {
      this.processing = false;
    }
  }

  private handleOutputs(outputs: readonly ConsensusOutput[]): void {
    let gate = false;
    for (const output of outputs) {
      if (this.host.tracing && output.kind !== "walAppend") {
        const line = describeOutput(output);
        if (line !== null) this.host.trace(`n${this.index} ${line}`);
      }
      switch (output.kind) {
        case "walAppend":
          this.wal.appendUnsynced(output.height, output.record);
          gate = true;
          break;
        case "broadcast":
          if (this.host.options.driverBugs?.sendBeforeWalSync === true) this.sendConsensus(output.message);
          else if (gate || this.held.length > 0) this.held.push(output.message);
          else this.sendConsensus(output.message);
          break;
        case "scheduleTimeout":
          this.host.schedule(output.durationMs, {
            kind: "timeout",
            node: this.index,
            epoch: this.epoch,
            timeout: output.timeout,
          });
          break;
        case "requestValue":
          this.onRequestValue(output.height, output.round);
          break;
        case "validateValue":
          this.reply({
            kind: "valueValidated",
            height: output.height,
            valueHash: output.value.hash,
            verdict: this.app.validateValue(output.height, output.value),
          });
          break;
        case "decide":
          this.onDecide(output);
          break;
        case "evidence":
          if (this.app.evidencePool.add(output.evidence)) this.host.faults.evidenceDetected += 1;
          break;
        case "rejected":
          this.host.faults.rejectedMessages += 1;
          break;
        case "event":
          break;
        default:
          assertNever(output);
      }
    }
    if (this.held.length > 0 && !this.syncScheduled) {
      this.syncScheduled = true;
      this.host.schedule(this.host.prng.int(0, this.host.options.fsyncDelayMaxMs), {
        kind: "walSynced",
        node: this.index,
        epoch: this.epoch,
      });
    }
  }

  /** The WAL is durable: what waited for it may leave. */
  onWalSynced(epoch: number): void {
    if (epoch !== this.epoch || this.state === null) return;
    this.wal.sync();
    this.syncScheduled = false;
    const held = this.held;
    this.held = [];
    for (const message of held) this.sendConsensus(message);
  }

  private reply(input: ConsensusInput): void {
    const delayMs = this.host.prng.int(0, this.host.options.applicationDelayMaxMs);
    if (delayMs === 0) this.queue.push(input);
    else
      this.host.schedule(delayMs, { kind: "applicationReply", node: this.index, epoch: this.epoch, input });
  }

  private onRequestValue(height: bigint, round: number): void {
    if (height !== this.app.height + 1n) return;
    const setChange =
      this.host.options.setChangeProbability > 0 &&
      this.host.prng.chance(this.host.options.setChangeProbability)
        ? this.host.proposeSetChange(this.app.setAt(height + 1n))
        : null;
    if (setChange !== null) this.host.faults.setChanges += 1;
    const value = this.app.proposeValue(height, {
      timeMs: this.host.nowMs,
      proposerPublicKey: this.signer.publicKey,
      transactionCount: this.host.options.transactionsPerBlock,
      transactionBytes: this.host.options.transactionBytes,
      salt: this.index,
      setChange,
    });
    const delayMs =
      this.host.options.blockIntervalMs + this.host.prng.int(0, this.host.options.applicationDelayMaxMs);
    this.host.schedule(delayMs, {
      kind: "applicationReply",
      node: this.index,
      epoch: this.epoch,
      input: { kind: "valueReady", height, round, value },
    });
  }

  private onDecide(output: Extract<ConsensusOutput, { kind: "decide" }>): void {
    const { height, value, certificate } = output;
    assert(height === this.app.height + 1n, "decisions come in height order");
    if (this.honest) {
      const valid = this.app.validateValue(height, value) === "valid";
      let certificateValid = false;
      try {
        const header = decodeSimBlock(value.bytes).header;
        certificateValid = verifyCommit(header, certificate, this.app.setAt(height), this.host.suite);
      } catch {
        certificateValid = false;
      }
      this.host.checker.onDecide(this.host.nowMs, this.index, height, value.hash, valid, certificateValid);
    }
    const nextSet = this.app.commit(height, output.round, value, certificate);
    // The decided block is durable (the block store) before any record of height + 1.
    this.checkpoint = {
      height: height + 1n,
      validatorSet: this.app.setAt(height + 1n),
      nextValidatorSet: nextSet,
      proposerPriorities: output.nextProposerPriorities,
    };
    this.wal.pruneDurable(height + 1n);
    this.queue.push({ kind: "validatorSet", height: height + 2n, validatorSet: nextSet });
  }

  private sendConsensus(message: ConsensusMessage): void {
    if (this.byzantine === null) {
      this.host.checker.onHonestSend(this.host.nowMs, this.index, this.signer.publicKey, message);
      for (let to = 0; to < this.host.nodeCount; to++) {
        if (to !== this.index) this.host.sendTo(this.index, to, { kind: "consensus", message });
      }
      return;
    }
    for (const delivery of this.host.adversary.transform(this, message)) {
      for (let to = 0; to < this.host.nodeCount; to++) {
        if (to === this.index || (delivery.to !== null && delivery.to !== to)) continue;
        this.host.sendTo(this.index, to, { kind: "consensus", message: delivery.message });
      }
    }
  }

  receive(from: number, message: SimMessage): void {
    if (this.state === null) return;
    switch (message.kind) {
      case "consensus": {
        if (this.byzantine !== null) {
          this.host.adversary.remember(message.message);
          const inner = message.message;
          if (
            this.byzantine.has("linger") &&
            inner.kind === "vote" &&
            inner.vote.type === VOTE_TYPE.precommit
          ) {
            this.lingerOn(inner.vote.height, inner.vote.round);
            if (inner.vote.blockHash !== null) return;
          }
        }
        const height =
          message.message.kind === "vote" ? message.message.vote.height : message.message.proposal.height;
        if (height > this.state.height) this.askForCommit(from);
        const peer = `n${from}`;
        if (message.message.kind === "vote") this.feed({ kind: "vote", vote: message.message.vote, peer });
        else this.feed({ kind: "proposal", proposal: message.message.proposal, peer });
        return;
      }
      case "status":
        this.answerStatus(from, message.height);
        return;
      case "commit":
        this.feed({
          kind: "commit",
          height: message.height,
          value: message.value,
          certificate: message.certificate,
          peer: `n${from}`,
        });
        return;
      default:
        assertNever(message);
    }
  }

  /**
   * A lingering Byzantine node never counts others' precommits for values, so it never
   * decides by itself; it still moves to the next round on time, by timing out itself.
   */
  private lingerOn(height: bigint, round: number): void {
    if (this.state === null || height !== this.state.height || round !== this.state.round) return;
    const key = `${height}/${round}`;
    if (this.lingerTimeoutKey === key) return;
    this.lingerTimeoutKey = key;
    this.host.schedule(timeoutMs(this.host.options.timeouts, "precommit", round), {
      kind: "timeout",
      node: this.index,
      epoch: this.epoch,
      timeout: { step: "precommit", height, round },
    });
  }

  private askForCommit(peer: number): void {
    if (this.state === null) return;
    this.host.sendTo(this.index, peer, { kind: "status", height: this.state.height });
  }

  /** A peer at `height` lags: send it the decision of that height, once per gossip interval. */
  private answerStatus(peer: number, height: bigint): void {
    if (height > this.app.height || height < 1n) return;
    const key = `${peer}/${height}`;
    const sentAt = this.commitSentAt.get(key);
    if (sentAt !== undefined && this.host.nowMs - sentAt < this.host.options.gossipIntervalMs) return;
    if (this.commitSentAt.size > 1024) this.commitSentAt.clear();
    this.commitSentAt.set(key, this.host.nowMs);
    const decided = this.app.decidedAt(height);
    this.host.sendTo(this.index, peer, {
      kind: "commit",
      height,
      value: decided.value,
      certificate: decided.certificate,
    });
  }

  /**
   * Periodic gossip: announce the height and, when this node has not moved since the last
   * tick (so someone may be missing something), re-send what it signed at this height and
   * relay the proof of lock of its validValue.
   */
  gossip(epoch: number): void {
    if (epoch !== this.epoch || this.state === null) return;
    const state = this.state;
    const position = `${state.height}/${state.round}/${state.step}`;
    const stuck = position === this.gossipPosition;
    this.gossipPosition = position;
    // Messages waiting for the WAL are not re-sent: they leave when it is durable.
    if (stuck && this.held.length === 0) {
      for (const message of ownMessages(state)) this.sendConsensus(message);
    }
    // Relay the proof of lock of validValue (others' prevotes; our own went out above).
    if (stuck && this.honest && state.round > state.validRound) {
      for (const vote of proofOfLockVotes(state)) {
        if (vote.validatorIndex === state.ownIndex) continue;
        for (let to = 0; to < this.host.nodeCount; to++) {
          if (to !== this.index)
            this.host.sendTo(this.index, to, { kind: "consensus", message: { kind: "vote", vote } });
        }
      }
    }
    for (let to = 0; to < this.host.nodeCount; to++) {
      if (to !== this.index) this.host.sendTo(this.index, to, { kind: "status", height: state.height });
    }
    this.host.schedule(this.host.options.gossipIntervalMs, {
      kind: "gossip",
      node: this.index,
      epoch: this.epoch,
    });
  }

  describe(): string {
    if (this.state === null) return `n${this.index} down at decided height ${this.app.height}`;
    const state = this.state;
    const locked =
      state.lockedValue === null ? "-" : `${shortHash(state.lockedValue.hash)}@${state.lockedRound}`;
    return `n${this.index} h${state.height} r${state.round} ${state.step} locked ${locked} decided ${this.app.height}`;
  }
}
