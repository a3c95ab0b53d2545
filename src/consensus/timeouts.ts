/**
 * Timeouts that grow with the round (Alg. 1: timeoutX(r) = initTimeoutX + r * timeoutDelta),
 * so that after GST some round lasts long enough for correct processes to hear each other.
 * @module
 */
import { assert, assertNever } from "../base/assert.ts";
import { ROUND_MAX, TIMEOUT_MS_MAX } from "./limits.ts";
import type { Step, TimeoutConfig } from "./types.ts";

/** CometBFT's defaults: propose 3 s, prevote and precommit 1 s, each + 0.5 s per round. */
export const TIMEOUTS_DEFAULT: TimeoutConfig = {
  proposeBaseMs: 3_000,
  proposeDeltaMs: 500,
  prevoteBaseMs: 1_000,
  prevoteDeltaMs: 500,
  precommitBaseMs: 1_000,
  precommitDeltaMs: 500,
};

export function checkTimeoutConfig(config: TimeoutConfig): void {
  for (const [name, value] of Object.entries(config)) {
    assert(Number.isSafeInteger(value), `timeout ${name} must be an integer`);
    assert(value >= 0, `timeout ${name} must not be negative`);
    assert(value <= TIMEOUT_MS_MAX, `timeout ${name} must not exceed TIMEOUT_MS_MAX`);
  }
  assert(config.proposeBaseMs + config.proposeDeltaMs > 0, "propose timeouts must grow or start above 0");
}

export function timeoutMs(config: TimeoutConfig, step: Step, round: number): number {
  assert(Number.isInteger(round), "round is an integer");
  assert(round >= 0 && round <= ROUND_MAX, "round within range");
  let base: number;
  let delta: number;
  switch (step) {
    case "propose":
      base = config.proposeBaseMs;
      delta = config.proposeDeltaMs;
      break;
    case "prevote":
      base = config.prevoteBaseMs;
      delta = config.prevoteDeltaMs;
      break;
    case "precommit":
      base = config.precommitBaseMs;
      delta = config.precommitDeltaMs;
      break;
    default:
      assertNever(step);
  }
  return Math.min(TIMEOUT_MS_MAX, base + round * delta);
}
