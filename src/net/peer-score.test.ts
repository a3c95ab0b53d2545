import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { PeerScores, reconnectDelayMs } from "./peer-score.ts";

const PEER = "aa".repeat(32);
const OTHER = "bb".repeat(32);

function scores(recordsMax = 8) {
  return new PeerScores({ banThreshold: 100, banDurationMs: 1000, halfLifeMs: 100, recordsMax });
}

describe("peer scores", () => {
  it("bans at the threshold, for the ban duration, then starts again at zero", () => {
    const table = scores();
    assert.deepEqual(table.penalize(PEER, 60, 0), { score: 60, bannedNow: false });
    assert.deepEqual(table.penalize(PEER, 40, 0), { score: 100, bannedNow: true });
    assert.equal(table.isBanned(PEER, 999), true);
    assert.equal(table.bannedUntilMs(PEER, 500), 1000);
    assert.equal(table.penalize(PEER, 50, 500).bannedNow, false, "a ban is not extended by more penalties");
    assert.equal(table.isBanned(PEER, 1000), false);
    assert.equal(table.score(PEER, 1000), 0);
    assert.equal(table.isBanned(OTHER, 0), false);
  });

  it("halves scores every half-life", () => {
    const table = scores();
    table.penalize(PEER, 80, 0);
    assert.equal(table.score(PEER, 100), 40);
    assert.equal(table.score(PEER, 300), 10);
    assert.equal(table.penalize(PEER, 80, 300).bannedNow, false, "80 + 10 stays below 100");
  });

  it("keeps at most recordsMax records, dropping the least recently touched", () => {
    const table = scores(3);
    for (let index = 0; index < 10; index++) table.penalize(index.toString(16).padStart(64, "0"), 10, index);
    assert.equal(table.size, 3);
  });
});

describe("reconnect backoff", () => {
  it("doubles from the minimum up to the maximum, with jitter in the upper half", () => {
    assert.equal(reconnectDelayMs(0, 0, 100, 10_000), 50);
    assert.equal(reconnectDelayMs(0, 0.999, 100, 10_000), 100);
    assert.equal(reconnectDelayMs(3, 0, 100, 10_000), 400);
    assert.equal(reconnectDelayMs(1000, 0.5, 100, 10_000), 7_500);
  });

  it("stays within [min / 2, max] for every attempt and fraction", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (attempt, fraction, delayMsMin, extra) => {
          const delay = reconnectDelayMs(attempt, fraction, delayMsMin, delayMsMin + extra);
          assert.ok(delay >= delayMsMin / 2);
          assert.ok(delay <= delayMsMin + extra);
        },
      ),
    );
  });
});
