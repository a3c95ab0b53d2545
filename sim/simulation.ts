/**
 * One simulated run (TigerBeetle's VOPR in spirit): many validators in one process, virtual
 * time, one seed. A safety phase with every fault the options allow, then a liveness phase:
 * partitions heal, crashed nodes restart, the network stops dropping, and every honest node
 * must decide new heights within a bound of virtual time. Checks run as events happen.
 */
import { AssertionError, assert, assertNever } from "../src/base/assert.ts";
import { concatBytes, equalBytes, utf8 } from "../src/base/bytes.ts";
import { type HeaderLink, timeoutMs, verifyHeaderChain } from "../src/consensus/index.ts";
import { ed25519Suite } from "../src/crypto/ed25519.ts";
import { sha256 } from "../src/crypto/sha256.ts";
import type { SignatureSuite } from "../src/crypto/suite.ts";
import { canonicalValidatorSet, type Validator, type ValidatorSet } from "../src/ledger/validator-set.ts";
import { Adversary } from "./byzantine.ts";
import { Checker, type Violation } from "./checker.ts";
import { EventQueue } from "./event-queue.ts";
import { fastSimSuite } from "./fast-suite.ts";
import { Network, type NetworkCounters } from "./network.ts";
import { SimNode } from "./node.ts";
import { runPrng, type SimulationOptions } from "./options.ts";
import type { Prng } from "./prng.ts";
import { describeSimMessage } from "./trace.ts";
import {
  emptyFaultCounters,
  type FaultCounters,
  type SimEvent,
  type SimHost,
  type SimMessage,
} from "./types.ts";

/** Events one run may process: a runaway run is a failure, never a hang. */
export const EVENTS_PER_RUN_MAX = 3_000_000;

export interface SimulationResult {
  readonly seed: number;
  readonly violations: readonly Violation[];
  /** Highest height decided by an honest node. */
  readonly heightsDecided: number;
  readonly virtualTimeMs: number;
  readonly eventsProcessed: number;
  readonly faults: FaultCounters;
  readonly network: NetworkCounters;
  /** A hash of every event processed: equal for equal runs. */
  readonly fingerprint: number;
  readonly livenessChecked: boolean;
}

export type TraceSink = (line: string) => void;

export class Simulation implements SimHost {
  nowMs = 0;
  readonly prng: Prng;
  readonly suite: SignatureSuite;
  readonly checker = new Checker();
  readonly adversary: Adversary;
  readonly faults = emptyFaultCounters();
  readonly nodes: SimNode[] = [];
  readonly network: Network;
  readonly tracing: boolean;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly byzantineKeys: Uint8Array[] = [];
  private readonly genesisSet: ValidatorSet;
  private phase: "safety" | "liveness" = "safety";
  private livenessTarget = 0n;
  private livenessDeadlineMs = Number.POSITIVE_INFINITY;
  private eventsProcessed = 0;
  private fingerprint = 0x811c9dc5;
  private stopped = false;

  constructor(
    readonly options: SimulationOptions,
    private readonly traceSink: TraceSink | null = null,
  ) {
    this.prng = runPrng(options.seed);
    this.suite = options.realSignatures ? ed25519Suite : fastSimSuite;
    this.tracing = traceSink !== null;
    this.adversary = new Adversary(this);
    this.network = new Network(this.prng, options.network);
    assert(options.powers.length === options.validatorCount, "one power per genesis validator");
    assert(options.blockIntervalMs >= 1, "blocks take virtual time to build");
    const nodeCount = options.validatorCount + options.followerCount;
    const keyPairs = Array.from({ length: nodeCount }, (_, index) =>
      this.suite.keyPairFromSeed(
        sha256(concatBytes(utf8(`sim-key/${options.seed}/`), new Uint8Array([index]))),
      ),
    );
    const validators: Validator[] = options.powers.map((power, index) => ({
      publicKey: keyPairs[index]!.publicKey,
      power,
    }));
    this.genesisSet = canonicalValidatorSet(this.suite.name, validators);
    for (const index of options.byzantine.keys()) {
      assert(index < options.validatorCount, "Byzantine nodes are genesis validators");
      this.byzantineKeys.push(keyPairs[index]!.publicKey);
    }
    assert(this.setRule(this.genesisSet), "the genesis set respects the fault bound");
    for (let index = 0; index < nodeCount; index++) {
      const behaviours = options.byzantine.get(index) ?? null;
      this.nodes.push(
        new SimNode(this, index, keyPairs[index]!, behaviours, this.genesisSet, (set) => this.setRule(set)),
      );
    }
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The chain's governance rule in the simulation: Byzantine power stays within the bound. */
  private setRule(set: ValidatorSet): boolean {
    let total = 0n;
    let byzantine = 0n;
    for (const validator of set.validators) {
      total += validator.power;
      if (this.byzantineKeys.some((key) => equalBytes(key, validator.publicKey)))
        byzantine += validator.power;
    }
    if (set.validators.length === 0) return false;
    return this.options.byzantineAtOneThird ? byzantine * 3n <= total : byzantine * 3n < total;
  }

  schedule(delayMs: number, event: SimEvent): void {
    assert(delayMs >= 0, "events are scheduled in the future");
    this.queue.push(this.nowMs + delayMs, event);
  }

  sendTo(from: number, to: number, message: SimMessage): void {
    if (from === to) return;
    const ruling = this.options.scenarioRule?.(message, from, to, this.nowMs) ?? "model";
    if (ruling === "drop") return;
    if (typeof ruling === "number") {
      this.schedule(ruling, { kind: "deliver", from, to, message });
      return;
    }
    const extraDelayMs =
      this.options.adversarialScheduling && this.phase === "safety" && message.kind === "consensus"
        ? this.adversary.extraDelayMs(message.message, to)
        : 0;
    for (const delayMs of this.network.deliveries(from, to, this.nowMs)) {
      this.schedule(delayMs + extraDelayMs, { kind: "deliver", from, to, message });
    }
  }

  trace(line: string): void {
    this.traceSink?.(`[${String(this.nowMs).padStart(7)}ms] ${line}`);
  }

  /** An honest proposer's validator-set change: a power change, an addition or a removal. */
  proposeSetChange(current: ValidatorSet): ValidatorSet | null {
    const validators = [...current.validators];
    const operation = this.prng.int(0, 2);
    if (operation === 0) {
      const index = this.prng.int(0, validators.length - 1);
      validators[index] = { publicKey: validators[index]!.publicKey, power: BigInt(this.prng.int(1, 10)) };
    } else if (operation === 1) {
      const outside = this.nodes.filter(
        (node) => !validators.some((validator) => equalBytes(validator.publicKey, node.signer.publicKey)),
      );
      if (outside.length === 0) return null;
      validators.push({
        publicKey: this.prng.pick(outside).signer.publicKey,
        power: BigInt(this.prng.int(1, 10)),
      });
    } else {
      if (validators.length <= 1) return null;
      validators.splice(this.prng.int(0, validators.length - 1), 1);
    }
    const next = canonicalValidatorSet(this.suite.name, validators);
    return this.setRule(next) ? next : null;
  }

  private mix(value: number): void {
    this.fingerprint = Math.imul(this.fingerprint ^ (value >>> 0), 0x01000193) >>> 0;
  }

  run(): SimulationResult {
    for (const node of this.nodes) node.start();
    if (this.options.partitions !== null) {
      this.schedule(this.prng.exponential(this.options.partitions.intervalMeanMs), { kind: "partition" });
    }
    if (this.options.crashes !== null) {
      this.schedule(this.prng.exponential(this.options.crashes.intervalMeanMs), {
        kind: "crash",
        node: null,
      });
    }
    if (this.options.clogs !== null) {
      this.schedule(this.prng.exponential(this.options.clogs.intervalMeanMs), { kind: "clog" });
    }
    for (const crash of this.options.scriptedCrashes ?? []) {
      this.queue.push(crash.atMs, { kind: "crash", node: crash.node });
      this.queue.push(crash.atMs + crash.downtimeMs, { kind: "restart", node: crash.node });
    }
    this.schedule(this.options.safetyPhaseMs, { kind: "heal" });
    while (!this.stopped) {
      const next = this.queue.pop();
      if (next === null) break;
      assert(next.atMs >= this.nowMs, "virtual time never goes back");
      this.nowMs = next.atMs;
      if (this.nowMs > this.livenessDeadlineMs) break;
      this.eventsProcessed += 1;
      if (this.eventsProcessed > EVENTS_PER_RUN_MAX) {
        this.checker.add("liveness", this.nowMs, null, "the run exceeded EVENTS_PER_RUN_MAX events");
        break;
      }
      this.process(next.event);
      if (this.options.stopOnViolation && this.checker.violations.length > 0) break;
      if (this.phase === "liveness" && this.livenessReached()) break;
    }
    return this.finish();
  }

  private process(event: SimEvent): void {
    this.mix(this.nowMs);
    try {
      this.dispatch(event);
    } catch (error) {
      if (!(error instanceof AssertionError)) throw error;
      this.checker.add("assertion", this.nowMs, null, `${error.message}\n${error.stack ?? ""}`);
    }
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case "deliver":
        this.mix(event.to * 64 + event.from);
        if (this.tracing && !this.nodes[event.to]!.crashed) {
          this.trace(`n${event.to} <- n${event.from} ${describeSimMessage(event.message)}`);
        }
        this.nodes[event.to]!.receive(event.from, event.message);
        return;
      case "timeout": {
        const node = this.nodes[event.node]!;
        if (node.epoch !== event.epoch || node.crashed) return;
        this.mix(event.node + 1000);
        node.feed({ kind: "timeout", timeout: event.timeout });
        return;
      }
      case "walSynced":
        this.nodes[event.node]!.onWalSynced(event.epoch);
        return;
      case "applicationReply": {
        const node = this.nodes[event.node]!;
        if (node.epoch !== event.epoch || node.crashed) return;
        node.feed(event.input);
        return;
      }
      case "gossip":
        this.nodes[event.node]!.gossip(event.epoch);
        return;
      case "crash":
        this.onCrash(event.node);
        return;
      case "restart": {
        const node = this.nodes[event.node]!;
        if (node.crashed) node.start();
        return;
      }
      case "partition":
        this.onPartition();
        return;
      case "healPartition":
        this.network.heal();
        this.trace("partition heals");
        if (this.phase === "safety" && this.options.partitions !== null) {
          this.schedule(this.prng.exponential(this.options.partitions.intervalMeanMs), { kind: "partition" });
        }
        return;
      case "heal":
        this.onHeal();
        return;
      case "clog":
        this.onClog();
        return;
      default:
        assertNever(event);
    }
  }

  private onCrash(requested: number | null): void {
    if (requested !== null) {
      if (this.phase === "safety" && !this.nodes[requested]!.crashed) this.nodes[requested]!.crash();
      return;
    }
    const crashes = this.options.crashes;
    if (this.phase !== "safety" || crashes === null) return;
    const candidates = this.nodes.filter((node) => node.honest && !node.crashed);
    if (candidates.length > 0) {
      const node = this.prng.pick(candidates);
      node.crash();
      this.mix(node.index + 2000);
      this.schedule(this.prng.int(crashes.downtimeMinMs, crashes.downtimeMaxMs), {
        kind: "restart",
        node: node.index,
      });
    }
    this.schedule(this.prng.exponential(crashes.intervalMeanMs), { kind: "crash", node: null });
  }

  private onPartition(): void {
    const partitions = this.options.partitions;
    if (this.phase !== "safety" || partitions === null || this.network.partitioned) return;
    const groups = this.nodes.map(() => 0);
    const shape = this.prng.int(0, 2);
    if (shape === 0) {
      groups[this.prng.int(0, groups.length - 1)] = 1; // isolate one node
    } else {
      for (let index = 0; index < groups.length; index++) groups[index] = this.prng.int(0, 1);
    }
    // A third of partitions are one-way: group 1 still hears group 0 but cannot be heard.
    const oneWay = shape === 2;
    this.network.partition(groups, oneWay);
    this.faults.partitions += 1;
    this.trace(
      `partition${oneWay ? " (one-way)" : ""} ${groups.map((group, index) => `n${index}:${group}`).join(" ")}`,
    );
    this.schedule(this.prng.int(partitions.durationMinMs, partitions.durationMaxMs), {
      kind: "healPartition",
    });
  }

  private onClog(): void {
    const clogs = this.options.clogs;
    if (this.phase !== "safety" || clogs === null || this.nodes.length < 2) return;
    for (let link = 0; link < clogs.links; link++) {
      const from = this.prng.int(0, this.nodes.length - 1);
      const to = (from + this.prng.int(1, this.nodes.length - 1)) % this.nodes.length;
      const extraDelayMs = this.prng.int(1, clogs.extraDelayMaxMs);
      this.network.clog(from, to, this.nowMs + this.prng.int(1, clogs.durationMaxMs), extraDelayMs);
      this.faults.clogs += 1;
      if (this.tracing) this.trace(`link n${from} -> n${to} slows down by ${extraDelayMs}ms`);
    }
    this.schedule(this.prng.exponential(clogs.intervalMeanMs), { kind: "clog" });
  }

  private onHeal(): void {
    this.phase = "liveness";
    this.network.heal();
    this.network.unclogAll();
    this.network.setOptions(this.options.healedNetwork);
    for (const node of this.nodes) if (node.crashed) node.start();
    this.trace("heal: the network is whole and reliable, every node runs");
    if (this.options.byzantineAtOneThird) {
      this.stopped = true; // no liveness is promised with f = n/3
      return;
    }
    let heightMax = 0n;
    let roundMax = 0;
    for (const node of this.nodes) {
      if (!node.honest) continue;
      if (node.height > heightMax) heightMax = node.height;
      if (node.state !== null && node.state.round > roundMax) roundMax = node.state.round;
    }
    this.livenessTarget = heightMax + BigInt(this.options.livenessHeights);
    this.livenessDeadlineMs = this.nowMs + this.livenessBoundMs(roundMax);
  }

  /**
   * Virtual time the honest nodes get to decide `livenessHeights` new heights: per height,
   * enough rounds for every Byzantine proposer to waste one and two more, each round as
   * long as its three timeouts and a few message delays, from the highest round reached.
   */
  livenessBoundMs(roundMax: number): number {
    const byzantine = this.options.byzantine.size;
    const roundsPerHeight = byzantine + 3;
    const round = Math.min(1_000, roundMax + roundsPerHeight * (this.options.livenessHeights + 1));
    const timeouts = this.options.timeouts;
    const roundMs =
      timeoutMs(timeouts, "propose", round) +
      timeoutMs(timeouts, "prevote", round) +
      timeoutMs(timeouts, "precommit", round) +
      4 * this.options.healedNetwork.delayMaxMs +
      this.options.gossipIntervalMs;
    return (
      (this.options.livenessHeights + 2) * roundsPerHeight * roundMs + 10 * this.options.gossipIntervalMs
    );
  }

  private livenessReached(): boolean {
    for (const node of this.nodes) {
      if (node.honest && node.height < this.livenessTarget) return false;
    }
    return true;
  }

  private finish(): SimulationResult {
    let livenessChecked = false;
    if (this.phase === "liveness" && !this.options.byzantineAtOneThird && !this.hasSafetyViolation()) {
      livenessChecked = true;
      for (const node of this.nodes) {
        if (node.honest && node.height < this.livenessTarget) {
          this.checker.add(
            "liveness",
            this.nowMs,
            node.index,
            `n${node.index} decided ${node.height} of ${this.livenessTarget} heights by the deadline (${node.describe()})`,
          );
        }
      }
    }
    this.checkLightClient();
    let heightsDecided = 0n;
    for (const node of this.nodes)
      if (node.honest && node.height > heightsDecided) heightsDecided = node.height;
    return {
      seed: this.options.seed,
      violations: this.checker.violations,
      heightsDecided: Number(heightsDecided),
      virtualTimeMs: this.nowMs,
      eventsProcessed: this.eventsProcessed,
      faults: this.faults,
      network: this.network.counters,
      fingerprint: this.fingerprint,
      livenessChecked,
    };
  }

  private hasSafetyViolation(): boolean {
    return this.checker.violations.some((violation) => violation.kind !== "liveness");
  }

  /** A light client trusting only the genesis set follows the longest honest chain. */
  private checkLightClient(): void {
    if (this.hasSafetyViolation()) return;
    let longest: SimNode | null = null;
    for (const node of this.nodes) {
      if (node.honest && (longest === null || node.height > longest.height)) longest = node;
    }
    if (longest === null || longest.height === 0n) return;
    const links: HeaderLink[] = longest.app.chain.map((decided) => ({
      header: decided.block.header,
      certificate: decided.certificate,
      validatorSet: longest.app.setAt(decided.height),
    }));
    if (!verifyHeaderChain(this.genesisSet, links, this.suite)) {
      this.checker.add(
        "light-client",
        this.nowMs,
        longest.index,
        "verifyHeaderChain refuses the decided chain",
      );
    }
  }
}

export function runSimulation(
  options: SimulationOptions,
  traceSink: TraceSink | null = null,
): SimulationResult {
  return new Simulation(options, traceSink).run();
}
