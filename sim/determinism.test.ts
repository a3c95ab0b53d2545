import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { swarmOptions } from "./options.ts";
import { Prng } from "./prng.ts";
import { runSimulation } from "./simulation.ts";

describe("determinism", () => {
  it("the same seed gives the same run, event for event, trace line for trace line", () => {
    for (const seed of [3, 17, 42]) {
      const first: string[] = [];
      const second: string[] = [];
      const one = runSimulation(swarmOptions(seed), (line) => first.push(line));
      const two = runSimulation(swarmOptions(seed), (line) => second.push(line));
      assert.equal(one.fingerprint, two.fingerprint);
      assert.equal(one.eventsProcessed, two.eventsProcessed);
      assert.deepEqual(first, second);
      // Tracing observes; it does not change the run.
      assert.equal(runSimulation(swarmOptions(seed)).fingerprint, one.fingerprint);
    }
  });

  it("different seeds give different runs", () => {
    const fingerprints = new Set(
      [0, 1, 2, 3, 4, 5].map((seed) => runSimulation(swarmOptions(seed)).fingerprint),
    );
    assert.equal(fingerprints.size, 6);
  });

  it("the PRNG is xoshiro128** with a pinned sequence", () => {
    const prng = new Prng(1);
    const first = [prng.nextU32(), prng.nextU32(), prng.nextU32()];
    const again = new Prng(1);
    assert.deepEqual([again.nextU32(), again.nextU32(), again.nextU32()], first);
    assert.notDeepEqual([new Prng(2).nextU32()], [first[0]]);
    for (let draw = 0; draw < 1000; draw++) {
      const value = prng.int(3, 7);
      assert.ok(value >= 3 && value <= 7);
    }
  });
});
