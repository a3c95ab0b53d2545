import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { initialProposerPriorities, nextProposerPriorities, ProposerSchedule } from "./proposer.ts";
import { makeSet } from "./test-fixtures.ts";

describe("proposer selection", () => {
  it("within a height, T consecutive rounds give each validator `power` turns", () => {
    const { set } = makeSet([1n, 2n, 3n, 4n]);
    const schedule = new ProposerSchedule(set, initialProposerPriorities(set));
    const turns = set.validators.map(() => 0);
    for (let round = 0; round < 10; round++) turns[schedule.proposerOf(round)]! += 1;
    assert.deepEqual(
      turns,
      set.validators.map((validator) => Number(validator.power)),
    );
  });

  it("across heights, round 0 rotates with the same weights, deterministically", () => {
    const { set } = makeSet([5n, 1n, 1n, 3n]);
    const run = () => {
      let priorities: readonly bigint[] = initialProposerPriorities(set);
      const turns = set.validators.map(() => 0);
      const order: number[] = [];
      for (let height = 0; height < 20; height++) {
        const proposer = new ProposerSchedule(set, priorities).proposerOf(0);
        turns[proposer]! += 1;
        order.push(proposer);
        priorities = nextProposerPriorities(set, priorities, set);
      }
      return { turns, order };
    };
    const first = run();
    assert.deepEqual(
      first.turns,
      set.validators.map((validator) => Number(validator.power) * 2),
    );
    assert.deepEqual(run().order, first.order);
  });

  it("a validator joining a set does not propose right away", () => {
    const { set: small } = makeSet([1n, 1n, 1n]);
    const { set: large } = makeSet([1n, 1n, 1n, 10n]);
    const newcomer = large.validators.findIndex((validator) => validator.power === 10n);
    // Same keys for the first three: makeSet derives keys from the index.
    let priorities = nextProposerPriorities(small, initialProposerPriorities(small), large);
    assert.equal(priorities.length, 4);
    assert.ok(priorities[newcomer]! < 0n, "starts behind everyone");
    assert.notEqual(new ProposerSchedule(large, priorities).proposerOf(0), newcomer);
    // It still gets its share later: with 10 of 13 power it proposes most heights.
    let turns = 0;
    for (let height = 0; height < 13; height++) {
      if (new ProposerSchedule(large, priorities).proposerOf(0) === newcomer) turns++;
      priorities = nextProposerPriorities(large, priorities, large);
    }
    assert.ok(turns >= 9, `the newcomer proposed ${turns} of 13 heights`);
  });

  it("keeps priorities bounded when powers are very uneven", () => {
    const { set } = makeSet([1n, 1n << 40n]);
    let priorities: readonly bigint[] = initialProposerPriorities(set);
    for (let height = 0; height < 200; height++) priorities = nextProposerPriorities(set, priorities, set);
    const total = (1n << 40n) + 1n;
    for (const priority of priorities) assert.ok(priority <= 2n * total && priority >= -2n * total);
  });
});
