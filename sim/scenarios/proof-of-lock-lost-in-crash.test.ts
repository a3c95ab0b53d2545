/**
 * Regression (found by seed 2198 of the long run): a validator locked on a value whose proof of
 * lock included a Byzantine prevote that no other correct validator received; it crashed and,
 * with only its own votes in the WAL, could never show the others why it was locked: the two
 * correct validators, needing each other for a quorum, never decided again. The lock record
 * now carries its proof, which the restarted validator relays.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { swarmOptions } from "../options.ts";
import { runSimulation } from "../simulation.ts";

describe("proof of lock lost in a crash", () => {
  it("the restarted validator relays its restored proof of lock, and the chain moves on", () => {
    const result = runSimulation(swarmOptions(2198));
    assert.deepEqual(result.violations, []);
    assert.ok(result.livenessChecked);
    assert.ok(result.faults.crashes > 0 && result.faults.equivocatingProposals > 0);
  });
});
