/**
 * A simulator that never fails proves nothing: each test switches on a known bug in the state
 * machine (a test-only flag) or in the driver, and the simulator must find a safety violation
 * within a bounded number of seeds.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SAFETY_VIOLATIONS, type Violation } from "./checker.ts";
import { type SwarmOverrides, swarmOptions } from "./options.ts";
import { runSimulation } from "./simulation.ts";

function firstViolation(
  overrides: SwarmOverrides,
  seedsMax: number,
  kind: "safety" | "agreement" = "safety",
): { seed: number; violation: Violation } | null {
  for (let seed = 0; seed < seedsMax; seed++) {
    const result = runSimulation(swarmOptions(seed, { ...overrides, stopOnViolation: kind === "safety" }));
    const violation = result.violations.find((candidate) =>
      kind === "safety" ? SAFETY_VIOLATIONS.has(candidate.kind) : candidate.kind === "agreement",
    );
    if (violation !== undefined) return { seed, violation };
  }
  return null;
}

function report(name: string, found: { seed: number; violation: Violation } | null): void {
  assert.ok(found !== null, `${name}: no safety violation found`);
  console.log(
    `# ${name}: found at seed ${found.seed} (${found.seed + 1} seeds): ${found.violation.kind}: ${found.violation.detail.split("\n")[0]}`,
  );
}

describe("the simulator finds injected bugs", () => {
  it("ignoring the lock (Alg. 1 lines 23, 29) forks the chain", () => {
    report("ignoreLock", firstViolation({ profile: "adversarial", testOnlyBugs: { ignoreLock: true } }, 300));
  });

  it("counting votes without checking distinct senders breaks validity, then agreement", () => {
    const overrides = { testOnlyBugs: { countDuplicateVotes: true } };
    report("countDuplicateVotes", firstViolation(overrides, 50));
    report("countDuplicateVotes (agreement)", firstViolation(overrides, 100, "agreement"));
  });

  it("a 2/3 quorum instead of > 2/3 lets a 1/3 coalition fork the chain", () => {
    const overrides = {
      profile: "adversarial",
      byzantineAtOneThird: true,
      testOnlyBugs: { quorumAtTwoThirds: true },
    } as const;
    report("quorumAtTwoThirds", firstViolation(overrides, 100));
    report("quorumAtTwoThirds (agreement)", firstViolation(overrides, 100, "agreement"));
  });

  it("the same 1/3 coalition cannot fork the correct machine (its quorums intersect in > 1/3)", () => {
    assert.equal(firstViolation({ profile: "adversarial", byzantineAtOneThird: true }, 40), null);
  });

  it("a driver that sends before its WAL is durable double-signs after crashes", () => {
    const found = firstViolation(
      {
        driverBugs: { sendBeforeWalSync: true },
        crashes: { intervalMeanMs: 300, downtimeMinMs: 10, downtimeMaxMs: 200, tornWrites: false },
        fsyncDelayMaxMs: 5,
      },
      200,
    );
    report("sendBeforeWalSync", found);
    assert.equal(found!.violation.kind, "double-sign");
  });
});
