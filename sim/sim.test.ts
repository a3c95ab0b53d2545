/**
 * The swarm: SEEDS seeds, each a different mix of faults (sim/options.ts), every check on.
 * `npm run sim -- --seed S --trace` replays a failing seed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { swarmOptions } from "./options.ts";
import { runSimulation } from "./simulation.ts";

const SEEDS = 520;

describe("simulator swarm", () => {
  it(`${SEEDS} seeds: agreement, validity, no honest double sign, liveness after heal`, () => {
    const start = performance.now();
    const failures: string[] = [];
    let heights = 0;
    let livenessChecked = 0;
    const kinds = new Map<string, number>();
    for (let seed = 0; seed < SEEDS; seed++) {
      const result = runSimulation(swarmOptions(seed));
      heights += result.heightsDecided;
      if (result.livenessChecked) livenessChecked++;
      for (const [name, count] of Object.entries(result.faults))
        kinds.set(name, (kinds.get(name) ?? 0) + count);
      for (const violation of result.violations) {
        failures.push(
          `seed ${seed}: ${violation.kind}: ${violation.detail.split("\n")[0]} (npm run sim -- --seed ${seed} --trace)`,
        );
      }
    }
    const faults = [...kinds].map(([name, count]) => `${name} ${count}`).join(", ");
    console.log(
      `# ${SEEDS} seeds, ${heights} heights decided, liveness checked in ${livenessChecked}, ` +
        `${((performance.now() - start) / 1000).toFixed(1)} s; faults: ${faults}`,
    );
    assert.deepEqual(failures, []);
    assert.ok(livenessChecked > SEEDS / 2, "most seeds reach the liveness phase");
    for (const name of [
      "crashes",
      "walWritesLost",
      "partitions",
      "equivocatingProposals",
      "doubleVotes",
      "invalidProposals",
      "evidenceDetected",
      "setChanges",
    ]) {
      assert.ok((kinds.get(name) ?? 0) > 0, `the swarm injects ${name}`);
    }
  });
});
