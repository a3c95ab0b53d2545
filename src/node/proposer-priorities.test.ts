import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { initialProposerPriorities, nextProposerPriorities } from "../consensus/index.ts";
import { ed25519Suite } from "../crypto/index.ts";
import { canonicalValidatorSet, type ValidatorSet } from "../ledger/index.ts";
import { proposerPrioritiesAt } from "./proposer-priorities.ts";

function setOf(powers: readonly bigint[]): ValidatorSet {
  return canonicalValidatorSet(
    "ed25519",
    powers.map((power, index) => ({
      publicKey: ed25519Suite.keyPairFromSeed(new Uint8Array(32).fill(index + 1)).publicKey,
      power,
    })),
  );
}

describe("proposer priorities recomputed for a snapshot height", () => {
  it("equal the step-by-step replay at every height, with and without a cycle to skip", () => {
    const sets = [
      setOf([10n]),
      setOf([10n, 10n, 10n, 10n]),
      setOf([1n, 2n, 3n, 7n]),
      setOf([5n, 5n, 9n, 13n, 21n, 1n, 1n]),
      setOf([2n ** 40n, 3n, 17n]),
    ];
    for (const set of sets) {
      let priorities = initialProposerPriorities(set);
      for (let height = 1n; height <= 400n; height++) {
        assert.deepEqual(proposerPrioritiesAt(set, height), priorities, `height ${height}`);
        priorities = nextProposerPriorities(set, priorities, set);
      }
    }
  });

  it("skips whole cycles: a height far away costs one cycle", () => {
    const set = setOf([10n, 10n, 10n, 10n]);
    const started = performance.now();
    const far = proposerPrioritiesAt(set, 10_000_000_001n);
    assert.ok(performance.now() - started < 1_000, "no ten billion steps");
    // Equal powers: the cycle is one height per validator, so 10^10 steps land on a multiple of 4.
    assert.deepEqual(far, proposerPrioritiesAt(set, 1n));
    assert.deepEqual(proposerPrioritiesAt(set, 10_000_000_003n), proposerPrioritiesAt(set, 3n));
  });
});
