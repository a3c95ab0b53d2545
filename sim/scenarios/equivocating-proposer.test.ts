/**
 * A Byzantine proposer shows different values to two halves of the network and double-votes.
 * Safety holds; nodes that hear both versions record evidence, and proposers put it in blocks
 * (covered by the header's evidenceRoot), where verifyEvidence accepts it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeEvidence, verifyEvidence } from "../../src/consensus/index.ts";
import { SIM_CHAIN_ID } from "../application.ts";
import { Simulation } from "../simulation.ts";
import { scenarioOptions } from "./scenario.ts";

describe("equivocating proposer", () => {
  it("cannot fork the chain, and its equivocations end up as evidence in blocks", () => {
    let included = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const simulation = new Simulation(
        scenarioOptions({
          seed,
          safetyPhaseMs: 6_000,
          byzantine: new Map([[seed % 4, new Set(["equivocateProposal", "doubleVote"] as const)]]),
        }),
      );
      const result = simulation.run();
      assert.deepEqual(result.violations, [], `seed ${seed}`);
      assert.ok(result.faults.equivocatingProposals > 0);
      const honest = simulation.nodes.find((node) => node.honest)!;
      for (const decided of honest.app.chain) {
        for (const item of decided.block.evidence) {
          const evidence = decodeEvidence(item);
          const context = {
            chainId: SIM_CHAIN_ID,
            validatorSet: honest.app.setAt(evidence.height),
            suite: simulation.suite,
          };
          assert.ok(verifyEvidence(evidence, context));
          assert.ok(evidence.height < decided.height);
          included++;
        }
      }
    }
    assert.ok(included > 0, "some evidence was committed");
  });
});
