/**
 * Partitions: a side without more than 2/3 of the power cannot decide; when partitions heal,
 * every node decides again within the liveness bound. Asymmetric (one-way) partitions too.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSimulation } from "../simulation.ts";
import { scenarioOptions } from "./scenario.ts";

describe("partition and heal", () => {
  it("stays safe while partitioned and live after the heal, for many partition schedules", () => {
    let partitions = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const result = runSimulation(
        scenarioOptions({
          seed,
          validatorCount: 5,
          safetyPhaseMs: 8_000,
          partitions: { intervalMeanMs: 800, durationMinMs: 300, durationMaxMs: 3_000 },
          livenessHeights: 3,
        }),
      );
      assert.deepEqual(result.violations, [], `seed ${seed}`);
      assert.ok(result.livenessChecked, `seed ${seed} reached the liveness phase`);
      partitions += result.faults.partitions;
    }
    assert.ok(partitions > 12);
  });
});
