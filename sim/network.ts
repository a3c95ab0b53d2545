/**
 * The simulated network: per message, a delay drawn from a distribution, a chance to be
 * dropped and a chance to be duplicated (reordering follows from independent delays), and
 * partitions that cut every link between groups until healed. All randomness comes from the
 * simulation's one PRNG.
 */
import { assert, assertNever } from "../src/base/assert.ts";
import type { Prng } from "./prng.ts";

export type DelayDistribution = "uniform" | "exponential" | "bimodal";

export interface NetworkOptions {
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  readonly distribution: DelayDistribution;
  readonly dropProbability: number;
  readonly duplicateProbability: number;
}

export interface NetworkCounters {
  sent: number;
  dropped: number;
  duplicated: number;
  cutByPartition: number;
  clogged: number;
}

export class Network {
  readonly counters: NetworkCounters = { sent: 0, dropped: 0, duplicated: 0, cutByPartition: 0, clogged: 0 };
  /** Group of each node while partitioned; null when the network is whole. */
  private groups: number[] | null = null;
  /** One-way partition: messages from group 0 to group 1 still pass. */
  private oneWay = false;
  /** Clogged directed links ("from/to"): until when, and the extra delay of their messages. */
  private readonly clogs = new Map<string, { untilMs: number; extraDelayMs: number }>();

  constructor(
    private readonly prng: Prng,
    private options: NetworkOptions,
  ) {
    checkOptions(options);
  }

  setOptions(options: NetworkOptions): void {
    checkOptions(options);
    this.options = options;
  }

  get partitioned(): boolean {
    return this.groups !== null;
  }

  partition(groups: number[], oneWay = false): void {
    this.groups = groups;
    this.oneWay = oneWay;
  }

  heal(): void {
    this.groups = null;
  }

  /** Slows one directed link until `untilMs` (asynchrony: the network may do this before GST). */
  clog(from: number, to: number, untilMs: number, extraDelayMs: number): void {
    this.clogs.set(`${from}/${to}`, { untilMs, extraDelayMs });
  }

  unclogAll(): void {
    this.clogs.clear();
  }

  private delayMs(): number {
    const { delayMinMs, delayMaxMs } = this.options;
    switch (this.options.distribution) {
      case "uniform":
        return this.prng.int(delayMinMs, delayMaxMs);
      case "exponential":
        return Math.min(delayMaxMs, delayMinMs + this.prng.exponential((delayMaxMs - delayMinMs) / 4 + 1));
      case "bimodal":
        if (this.prng.chance(0.9))
          return this.prng.int(delayMinMs, delayMinMs + Math.ceil((delayMaxMs - delayMinMs) / 10));
        return this.prng.int(delayMinMs, delayMaxMs);
      default:
        return assertNever(this.options.distribution);
    }
  }

  /** Delivery delays of one message from `from` to `to`: none (lost), one, or two (duplicated). */
  deliveries(from: number, to: number, nowMs: number): number[] {
    assert(from !== to, "nodes deliver to themselves inside the state machine");
    this.counters.sent += 1;
    const cut =
      this.groups !== null &&
      this.groups[from] !== this.groups[to] &&
      !(this.oneWay && this.groups[from] === 0);
    if (cut) {
      this.counters.cutByPartition += 1;
      return [];
    }
    if (this.prng.chance(this.options.dropProbability)) {
      this.counters.dropped += 1;
      return [];
    }
    const clog = this.clogs.size === 0 ? undefined : this.clogs.get(`${from}/${to}`);
    const extraDelayMs = clog !== undefined && clog.untilMs > nowMs ? clog.extraDelayMs : 0;
    if (extraDelayMs > 0) this.counters.clogged += 1;
    const delays = [this.delayMs() + extraDelayMs];
    if (this.prng.chance(this.options.duplicateProbability)) {
      this.counters.duplicated += 1;
      delays.push(this.delayMs() + extraDelayMs);
    }
    return delays;
  }
}

function checkOptions(options: NetworkOptions): void {
  assert(options.delayMinMs >= 0 && options.delayMinMs <= options.delayMaxMs, "delay range");
  assert(options.dropProbability >= 0 && options.dropProbability < 1, "drop probability in [0, 1)");
  assert(options.duplicateProbability >= 0 && options.duplicateProbability < 1, "duplicate probability");
}
