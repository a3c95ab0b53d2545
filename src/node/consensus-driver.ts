/**
 * The runtime around the pure consensus state machine: real timers, the store's durable WAL,
 * the chain (proposals, validation, commits) and the peer network. It keeps the driver's
 * contract (docs/spec/consensus.md section 10): a WAL record is durable before any message of
 * the same step leaves, and a decided block is durable before the next height's first record.
 * Inputs are handled one at a time, in arrival order; what an output asks of the chain runs
 * outside the queue and comes back as an input (valueReady, valueValidated), as in Alg. 1.
 * @module
 */
import type { Logger } from "pino";
import { assert, assertNever } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import {
  type ConsensusConfig,
  type ConsensusInput,
  type ConsensusMessage,
  type ConsensusOutput,
  type ConsensusState,
  type ConsensusValue,
  createState,
  EvidencePool,
  ownMessages,
  proofOfLockVotes,
  restoreState,
  step,
} from "../consensus/index.ts";
import type { ConsensusWal } from "../storage/index.ts";
import type { Chain, DecidedBlock } from "./chain.ts";
import type { NodeMetrics } from "./metrics.ts";
import type { PeerWireMessage } from "./wire.ts";

/** Inputs handled back to back before yielding to the event loop (a bound on one drain). */
const DRAIN_INPUTS_MAX = 10_000;
/** Queued inputs beyond this are dropped (peer messages only; they are re-gossiped). */
export const CONSENSUS_QUEUE_MAX = 50_000;
/** How often the driver announces its height and, when stuck, re-sends what it signed. */
export const GOSSIP_INTERVAL_MS_DEFAULT = 500;

/** How the driver reaches its peers; the node wires it to src/net (absent for a one-node chain). */
export interface ConsensusTransport {
  broadcast(message: PeerWireMessage): void;
  sendTo(peer: string, message: PeerWireMessage): void;
  penalize(peer: string, reason: string): void;
}

export interface ConsensusDriverOptions {
  readonly config: ConsensusConfig;
  readonly chain: Chain;
  readonly wal: ConsensusWal;
  readonly transport: ConsensusTransport | null;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Builds the value to propose (waits for transactions or the empty-block interval); null when stale. */
  readonly proposeValue: (height: bigint, round: number) => Promise<ConsensusValue | null>;
  /** Called after each block is durable, before the next height's inputs are handled. */
  readonly onCommitted: (decided: DecidedBlock) => void;
  /** A failure the node cannot continue from (a store write failed, a decided block fails here). */
  readonly onFatal: (error: unknown) => void;
  readonly gossipIntervalMs?: number;
}

export class ConsensusDriver {
  readonly evidencePool = new EvidencePool();
  readonly #options: ConsensusDriverOptions;
  #state: ConsensusState | null = null;
  readonly #queue: ConsensusInput[] = [];
  #draining = false;
  #stopped = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #gossipPosition = "";
  /** Last time (ms) a commit was sent to a peer for a height, to answer each status once per interval. */
  readonly #commitSentAt = new Map<string, number>();
  #idle: Promise<void> = Promise.resolve();

  constructor(options: ConsensusDriverOptions) {
    this.#options = options;
  }

  get height(): bigint {
    return this.#state?.height ?? this.#options.chain.height + 1n;
  }

  get round(): number {
    return this.#state?.round ?? 0;
  }

  get step(): string {
    return this.#state?.step ?? "propose";
  }

  /** Restores from the checkpoint and the WAL records above it, then starts the first round. */
  async start(): Promise<void> {
    assert(this.#state === null, "start once");
    const checkpoint = this.#options.chain.checkpoint();
    const records = await this.#options.wal.walRead(checkpoint.height);
    const encoded = records
      .filter((entry) => entry.height === checkpoint.height)
      .map((entry) => entry.record);
    this.#state =
      encoded.length === 0
        ? createState(this.#options.config, checkpoint)
        : restoreState(this.#options.config, checkpoint, encoded);
    this.#options.logger.info(
      { height: checkpoint.height, walRecords: encoded.length },
      encoded.length === 0 ? "consensus starts" : "consensus restores from its write-ahead log",
    );
    this.#enqueue({ kind: "start" });
    this.#scheduleGossip();
  }

  /** Stops timers and input handling; waits for the input being handled to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#queue.length = 0;
    await this.#idle;
  }

  /** A message from a peer on the consensus channel (already decoded and bounded by src/node/wire.ts). */
  receive(peer: string, message: PeerWireMessage): void {
    if (this.#stopped || this.#state === null) return;
    switch (message.kind) {
      case "consensus": {
        this.#options.metrics.consensusMessages.inc();
        const inner = message.message;
        const height = inner.kind === "vote" ? inner.vote.height : inner.proposal.height;
        if (height > this.#state.height)
          this.#options.transport?.sendTo(peer, { kind: "status", height: this.#state.height });
        if (inner.kind === "vote") this.#enqueuePeer({ kind: "vote", vote: inner.vote, peer });
        else this.#enqueuePeer({ kind: "proposal", proposal: inner.proposal, peer });
        return;
      }
      case "status":
        this.#answerStatus(peer, message.height);
        return;
      case "commit":
        // Catching up: ask the same peer for the next block now instead of at the next gossip tick.
        if (message.height >= this.#state.height) {
          this.#options.transport?.sendTo(peer, { kind: "status", height: message.height + 1n });
        }
        this.#enqueuePeer({
          kind: "commit",
          height: message.height,
          value: message.value,
          certificate: message.certificate,
          peer,
        });
        return;
      case "transactions":
        return;
      default:
        assertNever(message);
    }
  }

  #enqueuePeer(input: ConsensusInput): void {
    if (this.#queue.length >= CONSENSUS_QUEUE_MAX) return;
    this.#enqueue(input);
  }

  #enqueue(input: ConsensusInput): void {
    if (this.#stopped) return;
    this.#queue.push(input);
    if (!this.#draining) this.#idle = this.#drain();
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      for (let handled = 0; this.#queue.length > 0 && !this.#stopped; handled++) {
        if (handled >= DRAIN_INPUTS_MAX) {
          // Yield so sockets and timers are served; the queue resumes right after.
          await new Promise<void>((resolve) => setImmediate(resolve));
          handled = 0;
        }
        const input = this.#queue.shift()!;
        const state = this.#state;
        assert(state !== null, "inputs are handled after start");
        const result = step(state, input);
        this.#state = result.state;
        await this.#handle(result.outputs);
      }
    } catch (error) {
      this.#stopped = true;
      this.#options.onFatal(error);
    } finally {
      this.#draining = false;
    }
  }

  async #handle(outputs: readonly ConsensusOutput[]): Promise<void> {
    const { wal, metrics, logger, transport } = this.#options;
    for (const output of outputs) {
      switch (output.kind) {
        case "walAppend": {
          // Durable before the broadcasts that follow it in this list (awaited in order).
          const end = metrics.walAppend.startTimer();
          await wal.walAppend(output.height, output.record);
          end();
          break;
        }
        case "broadcast":
          transport?.broadcast({ kind: "consensus", message: output.message });
          break;
        case "scheduleTimeout":
          this.#setTimer(output.durationMs, () =>
            this.#enqueue({ kind: "timeout", timeout: output.timeout }),
          );
          break;
        case "requestValue":
          this.#requestValue(output.height, output.round);
          break;
        case "validateValue":
          this.#validateValue(output.height, output.value);
          break;
        case "decide":
          await this.#decide(output);
          break;
        case "evidence":
          if (this.evidencePool.add(output.evidence)) {
            logger.warn({ height: output.height }, "a validator equivocated: evidence kept for a block");
          }
          break;
        case "rejected":
          metrics.consensusRejected.inc({ code: output.code });
          if (output.peer !== null) transport?.penalize(output.peer, output.code);
          break;
        case "event":
          if (output.name === "round_started") {
            metrics.roundsSkipped.inc();
            metrics.consensusRound.set(output.round);
            if (output.round > 0) logger.info({ height: output.height, round: output.round }, "new round");
          } else {
            logger.debug(
              { height: output.height, round: output.round, event: output.name },
              "consensus event",
            );
          }
          break;
        default:
          assertNever(output);
      }
    }
  }

  #requestValue(height: bigint, round: number): void {
    this.#options
      .proposeValue(height, round)
      .then((value) => {
        // null: the chain moved past this height meanwhile; the machine has moved on too.
        if (value !== null) this.#enqueue({ kind: "valueReady", height, round, value });
      })
      .catch((error: unknown) => {
        if (this.#stopped) return;
        this.#options.onFatal(error);
      });
  }

  #validateValue(height: bigint, value: ConsensusValue): void {
    const end = this.#options.metrics.execution.startTimer();
    this.#options.chain
      .validateProposal(height, value)
      .then((verdict) => {
        end();
        if (verdict !== "valid") {
          this.#options.logger.warn(
            { height, block: bytesToHex(value.hash), verdict },
            "a proposal was refused",
          );
        }
        this.#enqueue({ kind: "valueValidated", height, valueHash: value.hash, verdict });
      })
      .catch((error: unknown) => {
        if (this.#stopped) return;
        this.#options.onFatal(error);
      });
  }

  async #decide(output: Extract<ConsensusOutput, { kind: "decide" }>): Promise<void> {
    const { chain, metrics, wal } = this.#options;
    const end = metrics.storeCommit.startTimer();
    const decided = await chain.commitDecided({
      height: output.height,
      value: output.value,
      certificate: output.certificate,
      nextProposerPriorities: output.nextProposerPriorities,
    });
    end();
    this.evidencePool.markCommitted(decided.block.evidence);
    this.evidencePool.prune(output.height + 1n);
    // Records below the next height are no longer needed: the block is durable.
    await wal.walPrune(output.height + 1n);
    this.#options.onCommitted(decided);
    // The set that signs height + 2 is known once this block is executed (constant until governance).
    this.#queue.unshift({
      kind: "validatorSet",
      height: output.height + 2n,
      validatorSet: chain.validatorSetAt(output.height + 2n),
    });
    metrics.consensusHeight.set(Number(output.height + 1n));
  }

  #setTimer(durationMs: number, callback: () => void): void {
    if (this.#stopped) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopped) callback();
    }, durationMs);
    this.#timers.add(timer);
  }

  #scheduleGossip(): void {
    this.#setTimer(this.#options.gossipIntervalMs ?? GOSSIP_INTERVAL_MS_DEFAULT, () => {
      this.#gossip();
      this.#scheduleGossip();
    });
  }

  /**
   * Announces the height; when nothing moved since the last tick, re-sends what this node signed
   * at this height and relays the proof of lock of its validValue (a peer may have missed them).
   */
  #gossip(): void {
    const transport = this.#options.transport;
    const state = this.#state;
    if (transport === null || state === null) return;
    const position = `${state.height}/${state.round}/${state.step}`;
    const stuck = position === this.#gossipPosition;
    this.#gossipPosition = position;
    if (stuck) {
      for (const message of ownMessages(state)) transport.broadcast({ kind: "consensus", message });
      if (state.round > state.validRound) {
        for (const vote of proofOfLockVotes(state)) {
          const message: ConsensusMessage = { kind: "vote", vote };
          transport.broadcast({ kind: "consensus", message });
        }
      }
    }
    transport.broadcast({ kind: "status", height: state.height });
  }

  /** A peer works on `height`, which this node has committed: send it that block's decision. */
  #answerStatus(peer: string, height: bigint): void {
    const { chain, transport } = this.#options;
    if (transport === null || height < 1n || height > chain.height) return;
    const key = `${peer}/${height}`;
    const nowMs = Date.now();
    const sentAt = this.#commitSentAt.get(key);
    const intervalMs = this.#options.gossipIntervalMs ?? GOSSIP_INTERVAL_MS_DEFAULT;
    if (sentAt !== undefined && nowMs - sentAt < intervalMs) return;
    if (this.#commitSentAt.size > 4096) this.#commitSentAt.clear();
    this.#commitSentAt.set(key, nowMs);
    void this.#sendCommit(peer, height);
  }

  async #sendCommit(peer: string, height: bigint): Promise<void> {
    const { chain, transport } = this.#options;
    try {
      const block = await chain.store.blockByHeight(height);
      if (block === undefined || transport === null) return;
      const value = await chain.valueOf(block);
      // Null: the block this store joined from a snapshot at (the block below it is not held).
      if (value === null) return;
      transport.sendTo(peer, { kind: "commit", height, value, certificate: block.certificate });
    } catch (error) {
      this.#options.logger.warn(
        { error: (error as Error).message, height },
        "cannot read a block for a peer",
      );
    }
  }
}
