/**
 * The proposer priorities a node needs to start consensus at a height it did not reach by
 * replaying blocks (it joined from a state snapshot). The header does not commit to them, so they
 * are recomputed, never taken from a peer: with the validator set constant since genesis (until
 * governance changes it, Chain.validatorSetAt), P_1 is all zero and P_{h+1} =
 * nextProposerPriorities(set, P_h, set) depends on nothing else, whatever rounds each height took
 * (src/consensus/proposer.ts). The sequence is a deterministic function of its last value, so
 * once it returns to P_1 it repeats: the replay stops at the first return and skips whole cycles.
 * With every power equal to 10 (the default) the cycle is as many heights as there are
 * validators; in general it is at most the total power (each validator proposes `power` times
 * per cycle), and the replay costs O(min(height, cycle) × validators).
 * @module
 */
import { assert } from "../base/assert.ts";
import { initialProposerPriorities, nextProposerPriorities } from "../consensus/index.ts";
import type { ValidatorSet } from "../ledger/index.ts";

function samePriorities(left: readonly bigint[], right: readonly bigint[]): boolean {
  if (left.length !== right.length) return false;
  for (let index = 0; index < left.length; index++) if (left[index] !== right[index]) return false;
  return true;
}

/** P_height for a validator set that signed every height from 1 to `height` (height >= 1). */
export function proposerPrioritiesAt(set: ValidatorSet, height: bigint): bigint[] {
  assert(typeof height === "bigint" && height >= 1n, "heights start at 1");
  const initial = initialProposerPriorities(set);
  const steps = height - 1n;
  let priorities = initial;
  let done = 0n;
  while (done < steps) {
    priorities = nextProposerPriorities(set, priorities, set);
    done++;
    if (samePriorities(priorities, initial)) {
      // A cycle of `done` heights: the remaining steps land where steps mod cycle land.
      const cycle = done;
      let remaining = steps % cycle;
      priorities = initial;
      while (remaining > 0n) {
        priorities = nextProposerPriorities(set, priorities, set);
        remaining--;
      }
      assert(priorities.length === set.validators.length, "one priority per validator");
      return priorities;
    }
  }
  assert(done === steps, "the replay made every step");
  return priorities;
}
