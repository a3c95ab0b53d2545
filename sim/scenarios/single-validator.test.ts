/** n = 1, the embedded default: one validator decides every height alone, through the same code. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runSimulation } from "../simulation.ts";
import { scenarioOptions } from "./scenario.ts";

describe("single validator", () => {
  it("decides a height per block interval, and survives crashes with torn WAL writes", () => {
    const result = runSimulation(
      scenarioOptions({
        validatorCount: 1,
        safetyPhaseMs: 5_000,
        crashes: { intervalMeanMs: 500, downtimeMinMs: 10, downtimeMaxMs: 100, tornWrites: true },
        fsyncDelayMaxMs: 5,
      }),
    );
    assert.deepEqual(result.violations, []);
    assert.ok(result.faults.crashes > 3);
    // 20 ms per block, minus downtime: well over a hundred heights in five virtual seconds.
    assert.ok(result.heightsDecided > 100, `${result.heightsDecided} heights`);
  });
});
