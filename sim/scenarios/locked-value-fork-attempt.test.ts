/**
 * The classic attack on a BFT protocol without locks, with four honest validators and a
 * hostile (but legal, pre-GST) network:
 *   round 0: X proposes v; B never gets the proposal and one prevote, so it prevotes and
 *     precommits nil; A and C lock v and precommit it; X hears A and C and decides v, but
 *     nobody hears X's precommit, and X then falls silent;
 *   round 1: B (no validValue) proposes a fresh w.
 * Correct validators A and C are locked on v, prevote nil, and v is decided again later. With
 * the lock ignored (a test-only bug), A, B and C decide w: the checker must see the fork.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { TestOnlyBugs } from "../../src/consensus/index.ts";
import { Simulation } from "../simulation.ts";
import { genesisProposerNode, scenarioOptions } from "./scenario.ts";

function run(testOnlyBugs: TestOnlyBugs) {
  let simulation: Simulation | null = null;
  let roles = { x: -1, b: -1, c: -1 };
  const options = scenarioOptions({
    testOnlyBugs,
    safetyPhaseMs: 8_000,
    scenarioRule: (message, from, to, nowMs) => {
      const { x, b, c } = roles;
      if (from === x && nowMs < 8_000 && simulation!.nodes[x]!.height >= 1n) return "drop"; // X falls silent
      if (message.kind !== "consensus") return 10;
      const inner = message.message;
      const height = inner.kind === "vote" ? inner.vote.height : inner.proposal.height;
      const round = inner.kind === "vote" ? inner.vote.round : inner.proposal.round;
      if (height !== 1n || round !== 0) return 10;
      if (inner.kind === "proposal" && to === b) return "drop";
      if (inner.kind === "vote" && inner.vote.type === 1 && from === c && to === b) return "drop";
      if (inner.kind === "vote" && inner.vote.type === 2 && from === x) return "drop";
      return 10;
    },
  });
  simulation = new Simulation(options);
  const x = genesisProposerNode(simulation, 0);
  const b = genesisProposerNode(simulation, 1);
  const c = [0, 1, 2, 3].find((node) => node !== x && node !== b)!;
  roles = { x, b, c };
  assert.notEqual(x, b);
  const result = simulation.run();
  return { simulation, result, roles };
}

describe("locked value, fork attempt", () => {
  it("correct validators stay locked on the value X decided, and everyone decides it", () => {
    const { simulation, result, roles } = run({});
    assert.deepEqual(result.violations, []);
    const decided = simulation.nodes.map((node) => node.app.chain[0]!);
    assert.equal(decided[roles.x]!.round, 0, "X decided in round 0");
    for (const entry of decided) assert.deepEqual(entry.value.hash, decided[roles.x]!.value.hash);
    assert.ok(decided[roles.b]!.round >= 2, "the others decided the same value in a later round");
  });

  it("with the lock ignored, the checker reports the fork", () => {
    const { result } = run({ ignoreLock: true });
    assert.equal(result.violations[0]?.kind, "agreement", JSON.stringify(result.violations[0]));
  });
});
