/**
 * Helpers for hand-written scenarios: a benign base configuration (no random faults, fixed
 * small delays) that each scenario then breaks on purpose, and the roles of the nodes.
 */
import { equalBytes } from "../../src/base/bytes.ts";
import { initialProposerPriorities, ProposerSchedule } from "../../src/consensus/index.ts";
import { canonicalValidatorSet } from "../../src/ledger/validator-set.ts";
import type { SimulationOptions } from "../options.ts";
import type { Simulation } from "../simulation.ts";

export function scenarioOptions(overrides: Partial<SimulationOptions> = {}): SimulationOptions {
  const validatorCount = overrides.validatorCount ?? 4;
  return {
    seed: 1,
    validatorCount,
    followerCount: 0,
    powers: Array.from({ length: validatorCount }, () => 1n),
    byzantine: new Map(),
    byzantineAtOneThird: false,
    network: {
      delayMinMs: 5,
      delayMaxMs: 15,
      distribution: "uniform",
      dropProbability: 0,
      duplicateProbability: 0,
    },
    healedNetwork: {
      delayMinMs: 5,
      delayMaxMs: 15,
      distribution: "uniform",
      dropProbability: 0,
      duplicateProbability: 0,
    },
    partitions: null,
    clogs: null,
    adversarialScheduling: false,
    crashes: null,
    fsyncDelayMaxMs: 1,
    applicationDelayMaxMs: 0,
    blockIntervalMs: 20,
    setChangeProbability: 0,
    timeouts: {
      proposeBaseMs: 500,
      proposeDeltaMs: 100,
      prevoteBaseMs: 200,
      prevoteDeltaMs: 100,
      precommitBaseMs: 200,
      precommitDeltaMs: 100,
    },
    gossipIntervalMs: 300,
    transactionsPerBlock: 1,
    transactionBytes: 32,
    safetyPhaseMs: 10_000,
    livenessHeights: 2,
    testOnlyBugs: {},
    realSignatures: false,
    stopOnViolation: true,
    ...overrides,
  };
}

/** Node index of proposer(height 1, round) in the genesis set. */
export function genesisProposerNode(simulation: Simulation, round: number): number {
  const validators = simulation.nodes
    .slice(0, simulation.options.validatorCount)
    .map((node, index) => ({ publicKey: node.signer.publicKey, power: simulation.options.powers[index]! }));
  const set = canonicalValidatorSet(simulation.suite.name, validators);
  const proposer = new ProposerSchedule(set, initialProposerPriorities(set)).proposerOf(round);
  return simulation.nodes.findIndex((node) =>
    equalBytes(node.signer.publicKey, set.validators[proposer]!.publicKey),
  );
}
