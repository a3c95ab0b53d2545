/**
 * Proposer selection weighted by voting power: CometBFT's proposer-priority algorithm
 * (spec/consensus/proposer-selection.md), made path-independent so proposer(h, r) is a pure
 * function of the height's priorities, its validator set and r.
 *
 * One selection: every validator's priority grows by its power; the highest priority (ties:
 * the lowest index, i.e. the smallest public key) is selected and loses the total power.
 * Over T consecutive selections (T = total power) each validator is selected exactly `power`
 * times. Before the selections of a height, priorities are centred: when max − min exceeds
 * 2T they are divided by ceil((max − min) / 2T) (truncating toward zero), then the floor of
 * their average is subtracted from each.
 *
 * - proposer(h, r): centre P_h, make r + 1 selections, take the last one.
 * - P_{h+1}: centre P_h, make one selection (round 0 of h, whatever round h decided in), then
 *   carry priorities over to set_{h+1} by public key. A validator new in set_{h+1} starts at
 *   −(T' + floor(T' / 8)) (CometBFT's −1.125 T'), so it does not propose at once; when the set
 *   changed, priorities are centred again.
 * - P_1 (genesis): all zero.
 * @module
 */
import { assert } from "../base/assert.ts";
import { compareBytes } from "../base/bytes.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";

const PRIORITY_WINDOW_FACTOR = 2n;

export function initialProposerPriorities(set: ValidatorSet): bigint[] {
  assert(set.validators.length > 0, "a validator set is never empty");
  return set.validators.map(() => 0n);
}

function totalPowerOf(set: ValidatorSet): bigint {
  let total = 0n;
  for (const validator of set.validators) total += validator.power;
  assert(total > 0n, "total power is positive");
  return total;
}

function floorDivide(numerator: bigint, denominator: bigint): bigint {
  assert(denominator > 0n, "floor division by a positive number");
  const quotient = numerator / denominator;
  return quotient * denominator > numerator ? quotient - 1n : quotient;
}

/** Rescales into a window of 2T, then shifts so the average is (about) zero. In place. */
function centrePriorities(priorities: bigint[], totalPower: bigint): void {
  let minimum = priorities[0]!;
  let maximum = priorities[0]!;
  for (const priority of priorities) {
    if (priority < minimum) minimum = priority;
    if (priority > maximum) maximum = priority;
  }
  const window = PRIORITY_WINDOW_FACTOR * totalPower;
  const spread = maximum - minimum;
  if (spread > window) {
    const ratio = (spread + window - 1n) / window;
    for (let index = 0; index < priorities.length; index++) priorities[index] = priorities[index]! / ratio;
  }
  let sum = 0n;
  for (const priority of priorities) sum += priority;
  const average = floorDivide(sum, BigInt(priorities.length));
  for (let index = 0; index < priorities.length; index++) priorities[index] = priorities[index]! - average;
}

/** One selection; returns the selected index. In place. */
function selectOnce(priorities: bigint[], set: ValidatorSet, totalPower: bigint): number {
  let best = 0;
  for (let index = 0; index < priorities.length; index++) {
    priorities[index] = priorities[index]! + set.validators[index]!.power;
    if (priorities[index]! > priorities[best]!) best = index;
  }
  priorities[best] = priorities[best]! - totalPower;
  return best;
}

/**
 * The proposers of rounds 0, 1, 2, … of one height, computed on demand and remembered.
 * Bounded by the rounds asked for (at most ROUND_MAX + 1).
 */
export class ProposerSchedule {
  private readonly working: bigint[];
  private readonly proposers: number[] = [];
  private readonly totalPower: bigint;

  constructor(
    private readonly set: ValidatorSet,
    priorities: readonly bigint[],
  ) {
    assert(priorities.length === set.validators.length, "one priority per validator");
    this.totalPower = totalPowerOf(set);
    this.working = [...priorities];
    centrePriorities(this.working, this.totalPower);
  }

  /** Index (in the height's set) of proposer(h, round). */
  proposerOf(round: number): number {
    assert(Number.isInteger(round) && round >= 0, "rounds are non-negative integers");
    while (this.proposers.length <= round) {
      this.proposers.push(selectOnce(this.working, this.set, this.totalPower));
    }
    const proposer = this.proposers[round]!;
    assert(proposer >= 0 && proposer < this.set.validators.length, "proposer is in the set");
    return proposer;
  }
}

/** P_{h+1} from P_h (see the module comment). */
export function nextProposerPriorities(
  set: ValidatorSet,
  priorities: readonly bigint[],
  nextSet: ValidatorSet,
): bigint[] {
  assert(priorities.length === set.validators.length, "one priority per validator");
  const totalPower = totalPowerOf(set);
  const working = [...priorities];
  centrePriorities(working, totalPower);
  selectOnce(working, set, totalPower);
  if (sameMembersAndPowers(set, nextSet)) return working;
  const nextTotalPower = totalPowerOf(nextSet);
  const newcomerPriority = -(nextTotalPower + nextTotalPower / 8n);
  const carried: bigint[] = [];
  let cursor = 0;
  for (const validator of nextSet.validators) {
    // Both sets are sorted by public key: walk them together.
    while (
      cursor < set.validators.length &&
      compareBytes(set.validators[cursor]!.publicKey, validator.publicKey) < 0
    ) {
      cursor++;
    }
    const previous = set.validators[cursor];
    const kept = previous !== undefined && compareBytes(previous.publicKey, validator.publicKey) === 0;
    carried.push(kept ? working[cursor]! : newcomerPriority);
  }
  assert(carried.length === nextSet.validators.length, "one priority per validator of the next set");
  centrePriorities(carried, nextTotalPower);
  return carried;
}

function sameMembersAndPowers(left: ValidatorSet, right: ValidatorSet): boolean {
  if (left.validators.length !== right.validators.length) return false;
  for (let index = 0; index < left.validators.length; index++) {
    const a = left.validators[index]!;
    const b = right.validators[index]!;
    if (a.power !== b.power || compareBytes(a.publicKey, b.publicKey) !== 0) return false;
  }
  return true;
}
