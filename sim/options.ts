/**
 * What one simulated run looks like. `swarmOptions(seed)` draws a whole configuration from
 * the seed (TigerBeetle's "swarm testing"): cluster size, powers, Byzantine validators and
 * their behaviours, network faults, crashes, set changes and timeouts, so each seed tests a
 * different mix of faults.
 */
import type { TestOnlyBugs, TimeoutConfig } from "../src/consensus/index.ts";
import type { ByzantineBehaviour } from "./byzantine.ts";
import type { NetworkOptions } from "./network.ts";
import { Prng } from "./prng.ts";
import type { SimMessage } from "./types.ts";

export interface CrashOptions {
  /** Mean virtual time between two crashes of some honest node. */
  readonly intervalMeanMs: number;
  readonly downtimeMinMs: number;
  readonly downtimeMaxMs: number;
  /** A crash keeps a random prefix of the unsynced WAL writes (else loses all of them). */
  readonly tornWrites: boolean;
}

export interface PartitionOptions {
  readonly intervalMeanMs: number;
  readonly durationMinMs: number;
  readonly durationMaxMs: number;
}

/** Slow links: now and then a few directed links delay everything by a lot, for a while. */
export interface ClogOptions {
  readonly intervalMeanMs: number;
  readonly durationMaxMs: number;
  readonly extraDelayMaxMs: number;
  /** Links clogged at once. */
  readonly links: number;
}

export interface SimulationOptions {
  readonly seed: number;
  /** Nodes in the genesis validator set; the first `validatorCount` nodes. */
  readonly validatorCount: number;
  /** Extra nodes that follow the chain and may be voted in by set changes. */
  readonly followerCount: number;
  /** Genesis power of each validator (length validatorCount). */
  readonly powers: readonly bigint[];
  /** Byzantine nodes (node index to behaviours); always validators at genesis. */
  readonly byzantine: ReadonlyMap<number, ReadonlySet<ByzantineBehaviour>>;
  /**
   * Allow Byzantine power of exactly 1/3 (safety still holds for > 2/3 quorums; liveness is
   * not checked). Used to show that a 2/3 quorum is a bug.
   */
  readonly byzantineAtOneThird: boolean;
  readonly network: NetworkOptions;
  /** The benign network of the liveness phase. */
  readonly healedNetwork: NetworkOptions;
  readonly partitions: PartitionOptions | null;
  readonly clogs: ClogOptions | null;
  /** In the safety phase, the network delays each round's prevotes to one chosen node. */
  readonly adversarialScheduling: boolean;
  readonly crashes: CrashOptions | null;
  readonly fsyncDelayMaxMs: number;
  readonly applicationDelayMaxMs: number;
  /**
   * How long a proposer's mempool takes to hand over a block (CometBFT's timeout_commit in
   * spirit): bounds heights per virtual second, so n = 1 does not decide forever at time 0.
   */
  readonly blockIntervalMs: number;
  /** Chance that an honest proposer's block changes the validator set. */
  readonly setChangeProbability: number;
  readonly timeouts: TimeoutConfig;
  readonly gossipIntervalMs: number;
  readonly transactionsPerBlock: number;
  readonly transactionBytes: number;
  readonly safetyPhaseMs: number;
  /** Heights every honest node must decide after the heal. */
  readonly livenessHeights: number;
  readonly testOnlyBugs: TestOnlyBugs;
  /** Use real Ed25519 instead of the fast test double. */
  readonly realSignatures: boolean;
  /** Stop at the first violation. */
  readonly stopOnViolation: boolean;
  /**
   * Hand-written scenarios only: decides the fate of each message before the network model
   * does ("drop" loses it, a number delivers it after that many milliseconds).
   */
  readonly scenarioRule?: ScenarioRule;
  /** Hand-written scenarios only: crash `node` at `atMs`, restart it `downtimeMs` later. */
  readonly scriptedCrashes?: ReadonlyArray<{
    readonly atMs: number;
    readonly node: number;
    readonly downtimeMs: number;
  }>;
  /**
   * A deliberately broken driver, for tests only: send signed messages before their WAL
   * records are durable. The double-sign check must then fail after crashes.
   */
  readonly driverBugs?: { readonly sendBeforeWalSync?: boolean };
}

export type ScenarioRule = (
  message: SimMessage,
  from: number,
  to: number,
  nowMs: number,
) => "model" | "drop" | number;

export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = [
  "silent",
  "equivocateProposal",
  "doubleVote",
  "invalidProposal",
  "replay",
  "amnesia",
  "linger",
];

/** Chooses Byzantine validators whose total power stays below 1/3 (or at most 1/3). */
export function chooseByzantine(prng: Prng, powers: readonly bigint[], atOneThird: boolean): number[] {
  let total = 0n;
  for (const power of powers) total += power;
  const order = prng.shuffle(powers.map((_, index) => index));
  const chosen: number[] = [];
  let byzantinePower = 0n;
  for (const index of order) {
    const candidate = byzantinePower + powers[index]!;
    const fits = atOneThird ? candidate * 3n <= total : candidate * 3n < total;
    if (fits) {
      chosen.push(index);
      byzantinePower = candidate;
    }
  }
  return chosen.sort((left, right) => left - right);
}

/** The configuration stream of a seed; the run draws from `runPrng(seed)`, a second stream. */
export function configurationPrng(seed: number): Prng {
  return new Prng(BigInt(seed) * 2n);
}

export function runPrng(seed: number): Prng {
  return new Prng(BigInt(seed) * 2n + 1n);
}

/**
 * "mixed": everything varies. "adversarial": 4 or 7 validators of equal power, a colluding
 * Byzantine coalition just under 1/3 (split votes, amnesia, lingering, plus random extras),
 * a fast but lossy network, and adversarial scheduling (each round, prevotes to one node are
 * late): the profile that makes locks matter.
 */
export type SwarmProfile = "mixed" | "adversarial";

export interface SwarmOverrides extends Partial<SimulationOptions> {
  readonly profile?: SwarmProfile;
}

function chooseBehaviours(prng: Prng, required: readonly ByzantineBehaviour[]): Set<ByzantineBehaviour> {
  const behaviours = new Set<ByzantineBehaviour>(required);
  for (const behaviour of BYZANTINE_BEHAVIOURS) {
    if (behaviour !== "silent" && prng.chance(0.5)) behaviours.add(behaviour);
  }
  if (required.length === 0 && prng.chance(0.15)) behaviours.add("silent");
  if (behaviours.size === 0) behaviours.add(prng.pick(BYZANTINE_BEHAVIOURS));
  return behaviours;
}

export function swarmOptions(seed: number, overrides: SwarmOverrides = {}): SimulationOptions {
  const prng = configurationPrng(seed);
  const chosen: SwarmProfile = prng.chance(0.25) ? "adversarial" : "mixed";
  const { profile = chosen, ...rest } = overrides;
  const options = profile === "adversarial" ? adversarialOptions(seed, prng) : mixedOptions(seed, prng);
  const merged = { ...options, ...rest };
  if (rest.byzantineAtOneThird === true && overrides.byzantine === undefined) {
    // 3 or 6 validators of equal power and a coalition of exactly 1/3 of it.
    const validatorCount = prng.pick([3, 6]);
    const powers = Array.from({ length: validatorCount }, () => 1n);
    const byzantine = new Map<number, Set<ByzantineBehaviour>>();
    for (const index of chooseByzantine(prng, powers, true)) {
      byzantine.set(index, chooseBehaviours(prng, ["doubleVote", "equivocateProposal", "linger"]));
    }
    return { ...merged, validatorCount, followerCount: 0, powers, byzantine, setChangeProbability: 0 };
  }
  return merged;
}

function adversarialOptions(seed: number, prng: Prng): SimulationOptions {
  const validatorCount = prng.pick([4, 4, 4, 7]);
  const powers = Array.from({ length: validatorCount }, () => 1n);
  const byzantine = new Map<number, Set<ByzantineBehaviour>>();
  for (const index of chooseByzantine(prng, powers, false)) {
    byzantine.set(index, chooseBehaviours(prng, ["doubleVote", "amnesia", "linger"]));
  }
  const network: NetworkOptions = {
    delayMinMs: 1,
    delayMaxMs: prng.int(50, 150),
    distribution: "exponential",
    dropProbability: 0.03 + prng.float() * 0.07,
    duplicateProbability: prng.chance(0.5) ? 0 : prng.float() * 0.1,
  };
  const base = mixedOptions(seed, prng);
  return {
    ...base,
    validatorCount,
    followerCount: 0,
    powers,
    byzantine,
    network,
    healedNetwork: { ...network, delayMaxMs: Math.min(100, network.delayMaxMs), dropProbability: 0 },
    crashes: null,
    partitions: null,
    clogs: null,
    adversarialScheduling: true,
    setChangeProbability: 0,
    safetyPhaseMs: prng.int(6_000, 10_000),
    timeouts: {
      proposeBaseMs: prng.int(200, 400),
      proposeDeltaMs: 50,
      prevoteBaseMs: prng.int(80, 150),
      prevoteDeltaMs: 50,
      precommitBaseMs: prng.int(80, 150),
      precommitDeltaMs: 50,
    },
  };
}

function mixedOptions(seed: number, prng: Prng): SimulationOptions {
  const validatorCount = prng.pick([1, 2, 3, 4, 4, 4, 5, 6, 7]);
  const followerCount = prng.chance(0.3) ? prng.int(1, 2) : 0;
  const weighted = prng.chance(0.5);
  const powers = Array.from({ length: validatorCount }, () => (weighted ? BigInt(prng.int(1, 10)) : 1n));
  const byzantine = new Map<number, Set<ByzantineBehaviour>>();
  if (prng.chance(0.6)) {
    for (const index of chooseByzantine(prng, powers, false))
      byzantine.set(index, chooseBehaviours(prng, []));
  }
  const delayMinMs = prng.int(0, 20);
  const delayMaxMs = delayMinMs + prng.pick([10, 50, 200, 600, 1500]);
  const network: NetworkOptions = {
    delayMinMs,
    delayMaxMs,
    distribution: prng.pick(["uniform", "exponential", "bimodal"] as const),
    dropProbability: prng.chance(0.5) ? 0 : prng.float() * 0.25,
    duplicateProbability: prng.chance(0.5) ? 0 : prng.float() * 0.2,
  };
  const healedNetwork: NetworkOptions = {
    delayMinMs,
    delayMaxMs: delayMinMs + Math.min(100, delayMaxMs - delayMinMs),
    distribution: network.distribution,
    dropProbability: 0,
    duplicateProbability: network.duplicateProbability,
  };
  const partitions: PartitionOptions | null = prng.chance(0.5)
    ? { intervalMeanMs: prng.int(1_000, 6_000), durationMinMs: 200, durationMaxMs: prng.int(500, 6_000) }
    : null;
  const crashes: CrashOptions | null = prng.chance(0.5)
    ? {
        intervalMeanMs: prng.int(500, 5_000),
        downtimeMinMs: 50,
        downtimeMaxMs: prng.int(100, 4_000),
        tornWrites: prng.chance(0.5),
      }
    : null;
  const timeouts: TimeoutConfig = {
    proposeBaseMs: prng.int(200, 800),
    proposeDeltaMs: prng.int(50, 200),
    prevoteBaseMs: prng.int(100, 400),
    prevoteDeltaMs: prng.int(50, 200),
    precommitBaseMs: prng.int(100, 400),
    precommitDeltaMs: prng.int(50, 200),
  };
  return {
    seed,
    validatorCount,
    followerCount,
    powers,
    byzantine,
    byzantineAtOneThird: false,
    network,
    healedNetwork,
    partitions,
    clogs: prng.chance(0.4)
      ? {
          intervalMeanMs: prng.int(300, 3_000),
          durationMaxMs: 3_000,
          extraDelayMaxMs: 1_500,
          links: prng.int(1, 3),
        }
      : null,
    adversarialScheduling: prng.chance(0.2),
    crashes,
    fsyncDelayMaxMs: prng.pick([0, 1, 5]),
    applicationDelayMaxMs: prng.pick([0, 2, 20]),
    blockIntervalMs: prng.int(20, 100),
    setChangeProbability: prng.chance(0.3) ? prng.float() * 0.4 : 0,
    timeouts,
    gossipIntervalMs: prng.int(200, 800),
    transactionsPerBlock: prng.int(0, 3),
    transactionBytes: 32,
    safetyPhaseMs: prng.int(3_000, 12_000),
    livenessHeights: 2,
    testOnlyBugs: {},
    realSignatures: false,
    stopOnViolation: true,
  };
}
