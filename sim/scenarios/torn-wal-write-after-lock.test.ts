/**
 * Regression (seeds 9792 and 9863 of the long run): a crash tore the WAL write of a step after
 * the lock record, before the precommit record. The restarted validator was locked, in the
 * precommit step, but had never sent its precommit, and with three validators every precommit
 * is needed: nobody decided or timed out, forever. A restored lock without its precommit now
 * finishes that step (line 40) on restart.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { swarmOptions } from "../options.ts";
import { runSimulation } from "../simulation.ts";

describe("torn WAL write after the lock", () => {
  it("the restarted validator sends the precommit its lock implies", () => {
    for (const seed of [9792, 9863]) {
      const result = runSimulation(swarmOptions(seed));
      assert.deepEqual(result.violations, [], `seed ${seed}`);
      assert.ok(result.livenessChecked && result.faults.walWritesLost > 0, `seed ${seed}`);
    }
  });
});
