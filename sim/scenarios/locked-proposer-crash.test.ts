/**
 * The next round's proposer is locked on v when it crashes. Round 0: X proposes v; X and B see
 * 2f+1 prevotes and lock v; A misses X's prevote and C the proposal, so nobody decides. B,
 * proposer of round 1, crashes right after precommitting and restarts. From its WAL it must
 * recover its lock (and its signed votes): it re-proposes v with polRound 0, never a new
 * value, never a second vote for a step it voted in, and everyone decides v.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "../../src/base/bytes.ts";
import { Simulation } from "../simulation.ts";
import { genesisProposerNode, scenarioOptions } from "./scenario.ts";

describe("locked proposer crash", () => {
  it("recovers the lock from the WAL and re-proposes the locked value", () => {
    let roles = { x: -1, a: -1, b: -1, c: -1 };
    const lines: string[] = [];
    const options = scenarioOptions({
      safetyPhaseMs: 10_000,
      scenarioRule: (message, from, to, nowMs) => {
        if (nowMs > 1_500 || message.kind !== "consensus") return 10;
        const inner = message.message;
        if (inner.kind === "proposal" && inner.proposal.round === 0 && to === roles.c) return "drop";
        if (
          inner.kind === "vote" &&
          inner.vote.type === 1 &&
          inner.vote.round === 0 &&
          from === roles.x &&
          to === roles.a
        ) {
          return "drop";
        }
        return 10;
      },
    });
    const probe = new Simulation(options);
    const x = genesisProposerNode(probe, 0);
    const b = genesisProposerNode(probe, 1);
    const [a, c] = [0, 1, 2, 3].filter((node) => node !== x && node !== b);
    roles = { x, a: a!, b, c: c! };
    const simulation = new Simulation(
      { ...options, scriptedCrashes: [{ atMs: 150, node: b, downtimeMs: 400 }] },
      (line) => lines.push(line),
    );
    const result = simulation.run();
    assert.deepEqual(result.violations, []);
    assert.equal(result.faults.crashes, 1);
    const firstProposal = lines.find((line) => line.includes(`n${x} signs proposal h1 r0`))!;
    const v = firstProposal.split(" ").at(-1)!;
    assert.ok(
      lines.some((line) => line.includes(`n${b} restarts at h1 r0 precommit`)),
      "B restarts locked, in precommit",
    );
    const reproposals = lines.filter((line) => line.includes(`n${b} signs proposal h1 r`));
    assert.ok(reproposals.length > 0, "B proposes again after its restart");
    for (const line of reproposals)
      assert.ok(line.endsWith(`pol0 ${v}`), `B re-proposes v with polRound 0: ${line}`);
    for (const node of simulation.nodes)
      assert.equal(bytesToHex(node.app.chain[0]!.value.hash).slice(0, 8), v);
  });
});
