import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../base/bytes.ts";
import { DecodeError } from "../encoding/errors.ts";
import { VOTE_TYPE } from "../ledger/commit.ts";
import { ConsensusError } from "./errors.ts";
import { valueKey } from "./height-book.ts";
import { type ConsensusState, createState, restoreState, step } from "./state-machine.ts";
import { genesis, makeConfig, makeSet, makeValue, signProposal, signVote } from "./test-fixtures.ts";
import type { ConsensusCheckpoint, ConsensusInput, ConsensusOutput } from "./types.ts";
import { decodeWalRecord, encodeWalRecord, MemoryWal, type WalRecord } from "./wal.ts";

describe("WAL records", () => {
  const { keys } = makeSet([1n, 1n, 1n, 1n]);
  const value = makeValue("a block");
  const records: WalRecord[] = [
    { kind: "proposal", proposal: signProposal(keys[0]!, 7n, 2, 1, value) },
    { kind: "proposal", proposal: signProposal(keys[0]!, 7n, 0, -1, value) },
    { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.prevote, 7n, 3, value.hash) },
    { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.precommit, 7n, 3, null) },
    { kind: "lock", height: 7n, round: 3, value, proofOfLock: [] },
    {
      kind: "lock",
      height: 7n,
      round: 3,
      value,
      proofOfLock: [0, 1, 2].map((index) =>
        signVote(keys[index]!, index, VOTE_TYPE.prevote, 7n, 3, value.hash),
      ),
    },
  ];

  it("decode(encode(r)) = r, and re-encodes to the same bytes", () => {
    for (const record of records) {
      const encoded = encodeWalRecord(record);
      const decoded = decodeWalRecord(encoded);
      assert.deepEqual(decoded, record);
      assert.equal(bytesToHex(encodeWalRecord(decoded)), bytesToHex(encoded));
    }
  });

  it("pins the vote record layout", () => {
    const vote = { type: VOTE_TYPE.prevote, height: 7n, round: 3, blockHash: null, validatorIndex: 1 };
    const encoded = encodeWalRecord({
      kind: "vote",
      vote: { ...vote, signature: new Uint8Array([0xaa, 0xbb]) },
    });
    assert.equal(
      bytesToHex(encoded),
      // version, kind vote, vote version, type, height, round, no block, index, signature
      `01` + `02` + `01` + `01` + `0000000000000007` + `00000003` + `00` + `00000001` + `00000002aabb`,
    );
  });

  it("refuses unknown versions, unknown kinds, trailing bytes and truncation", () => {
    const encoded = encodeWalRecord(records[2]!);
    const bad = [
      Uint8Array.from([2, ...encoded.subarray(1)]),
      Uint8Array.from([1, 9, ...encoded.subarray(2)]),
      Uint8Array.from([...encoded, 0]),
      encoded.subarray(0, encoded.length - 1),
    ];
    for (const bytes of bad) assert.throws(() => decodeWalRecord(bytes), DecodeError);
  });
});

describe("MemoryWal", () => {
  it("in immediate mode, makes each append durable and prunes by height", async () => {
    const wal = new MemoryWal();
    await wal.walAppend(1n, new Uint8Array([1]));
    await wal.walAppend(2n, new Uint8Array([2]));
    assert.deepEqual(
      (await wal.walRead(2n)).map((entry) => entry.record[0]),
      [2],
    );
    await wal.walPrune(2n);
    assert.deepEqual(
      (await wal.walRead(0n)).map((entry) => entry.height),
      [2n],
    );
  });

  it("in manual mode, loses unsynced appends at a crash, or keeps a prefix of them (torn write)", async () => {
    const wal = new MemoryWal({ syncMode: "manual" });
    let resolved = 0;
    void wal.walAppend(1n, new Uint8Array([1])).then(() => resolved++);
    wal.sync();
    await Promise.resolve();
    assert.equal(resolved, 1, "the append resolves when it is durable");
    void wal.walAppend(1n, new Uint8Array([2])).then(() => resolved++);
    wal.appendUnsynced(1n, new Uint8Array([3]));
    wal.appendUnsynced(1n, new Uint8Array([4]));
    assert.deepEqual(
      (await wal.walRead(0n)).map((entry) => entry.record[0]),
      [1],
    );
    wal.crash(2);
    await Promise.resolve();
    assert.equal(resolved, 1, "an append lost... or kept by a torn write never resolves after a crash");
    assert.deepEqual(
      (await wal.walRead(0n)).map((entry) => entry.record[0]),
      [1, 2, 3],
    );
  });
});

/**
 * A validator driven by random inputs, crashed at a random step (with its WAL as the driver's
 * contract leaves it), restored and driven on by more random inputs, never signs two
 * different votes (or proposals) for one height, round and step.
 */
describe("restoring from the WAL", () => {
  const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
  const v = makeValue("v");
  const w = makeValue("w");
  const probe = createState(makeConfig(keys[0]!), genesis(set));
  const self = 0;
  const others = [1, 2, 3];
  const pool: ConsensusInput[] = [];
  for (let round = 0; round <= 2; round++) {
    const proposer = probe.book.schedule.proposerOf(round);
    if (proposer !== self) {
      for (const value of [v, w]) {
        pool.push({ kind: "proposal", proposal: signProposal(keys[proposer]!, 1n, round, -1, value) });
        if (round > 0)
          pool.push({ kind: "proposal", proposal: signProposal(keys[proposer]!, 1n, round, 0, value) });
      }
    }
    for (const index of others) {
      for (const type of [VOTE_TYPE.prevote, VOTE_TYPE.precommit]) {
        for (const hash of [v.hash, w.hash, null]) {
          pool.push({ kind: "vote", vote: signVote(keys[index]!, index, type, 1n, round, hash) });
        }
      }
    }
    for (const timeoutStep of ["propose", "prevote", "precommit"] as const) {
      pool.push({ kind: "timeout", timeout: { step: timeoutStep, height: 1n, round } });
    }
  }
  for (const value of [v, w]) {
    pool.push({ kind: "valueValidated", height: 1n, valueHash: value.hash, verdict: "valid" });
    pool.push({ kind: "valueReady", height: 1n, round: 0, value });
    pool.push({ kind: "valueReady", height: 1n, round: 1, value });
    pool.push({ kind: "valueReady", height: 1n, round: 2, value });
  }

  /** Feeds inputs; records every message sent, the WAL and the latest checkpoint. */
  function drive(
    holder: { state: ConsensusState },
    inputs: readonly ConsensusInput[],
    sink: { sent: ConsensusOutput[]; wal: Uint8Array[][]; checkpoint: ConsensusCheckpoint },
  ): void {
    for (const input of inputs) {
      const result = step(holder.state, input);
      holder.state = result.state;
      const records: Uint8Array[] = [];
      for (const output of result.outputs) {
        if (output.kind === "walAppend") records.push(output.record);
        if (output.kind === "broadcast") sink.sent.push(output);
        if (output.kind === "decide") {
          sink.checkpoint = {
            height: output.height + 1n,
            validatorSet: set,
            nextValidatorSet: set,
            proposerPriorities: output.nextProposerPriorities,
          };
          const next = step(holder.state, {
            kind: "validatorSet",
            height: output.height + 2n,
            validatorSet: set,
          });
          holder.state = next.state;
        }
      }
      sink.wal.push(records);
    }
  }

  function signedTargets(sent: readonly ConsensusOutput[]): Map<string, string> {
    const targets = new Map<string, string>();
    for (const output of sent) {
      if (output.kind !== "broadcast") continue;
      const message = output.message;
      const key =
        message.kind === "vote"
          ? `${message.vote.height}/${message.vote.round}/${message.vote.type}`
          : `${message.proposal.height}/${message.proposal.round}/proposal`;
      const target =
        message.kind === "vote"
          ? valueKey(message.vote.blockHash)
          : `${message.proposal.polRound}/${valueKey(message.proposal.value.hash)}`;
      const previous = targets.get(key);
      assert.ok(
        previous === undefined || previous === target,
        `double sign at ${key}: ${previous} then ${target}`,
      );
      targets.set(key, target);
    }
    return targets;
  }

  it("never signs two different messages for one height, round and step", () => {
    const index = fc.integer({ min: 0, max: pool.length - 1 });
    fc.assert(
      fc.property(
        fc.array(index, { maxLength: 60 }),
        fc.array(index, { maxLength: 60 }),
        fc.boolean(),
        (before, after, tornStep) => {
          const sink = { sent: [] as ConsensusOutput[], wal: [] as Uint8Array[][], checkpoint: genesis(set) };
          const holder = { state: createState(makeConfig(keys[self]!), genesis(set)) };
          drive(holder, [{ kind: "start" }, ...before.map((position) => pool[position]!)], sink);
          // Crash after the last step: its WAL records are durable (the driver wrote them
          // first); with `tornStep` its broadcasts never left.
          if (tornStep && sink.wal.length > 0) {
            const lastRecords = sink.wal[sink.wal.length - 1]!.length;
            if (lastRecords > 0) {
              let dropped = 0;
              while (dropped < lastRecords && sink.sent.length > 0) {
                sink.sent.pop();
                dropped++;
              }
            }
          }
          const durable = sink.wal.flat();
          const restored = {
            state: restoreState(
              makeConfig(keys[self]!),
              sink.checkpoint,
              durable.filter((record) => {
                const decoded = decodeWalRecord(record);
                const height =
                  decoded.kind === "proposal"
                    ? decoded.proposal.height
                    : decoded.kind === "vote"
                      ? decoded.vote.height
                      : decoded.height;
                return height >= sink.checkpoint.height;
              }),
            ),
          };
          const sentBefore = sink.sent.length;
          drive(restored, [{ kind: "start" }, ...after.map((position) => pool[position]!)], sink);
          signedTargets(sink.sent);
          assert.ok(sink.sent.length >= sentBefore);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("restores the lock and the step, and re-sends what it signed", () => {
    const sink = { sent: [] as ConsensusOutput[], wal: [] as Uint8Array[][], checkpoint: genesis(set) };
    const holder = { state: createState(makeConfig(keys[self]!), genesis(set)) };
    const proposer = probe.book.schedule.proposerOf(0);
    const inputs: ConsensusInput[] = [
      { kind: "start" },
      { kind: "proposal", proposal: signProposal(keys[proposer]!, 1n, 0, -1, v) },
      { kind: "valueValidated", height: 1n, valueHash: v.hash, verdict: "valid" },
      { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.prevote, 1n, 0, v.hash) },
      { kind: "vote", vote: signVote(keys[2]!, 2, VOTE_TYPE.prevote, 1n, 0, v.hash) },
    ];
    drive(holder, inputs, sink);
    assert.equal(holder.state.lockedRound, 0);
    const restored = restoreState(makeConfig(keys[self]!), genesis(set), sink.wal.flat());
    assert.equal(restored.lockedRound, 0);
    assert.equal(bytesToHex(restored.lockedValue!.hash), bytesToHex(v.hash));
    assert.equal(restored.step, "precommit");
    const proof = restored.book.round(0)!.prevotes.byValue.get(valueKey(v.hash))!;
    assert.equal(proof.power, 3n, "the proof of lock (own prevote and two others') is back in the log");
    const resumed = step(restored, { kind: "start" });
    const resent = resumed.outputs.filter((output) => output.kind === "broadcast");
    assert.equal(resent.length, 2, "its prevote and its precommit, as signed before");
    assert.equal(resumed.outputs.filter((output) => output.kind === "walAppend").length, 0);
  });

  it("after a torn write that kept the lock but lost the precommit, sends that precommit", () => {
    const sink = { sent: [] as ConsensusOutput[], wal: [] as Uint8Array[][], checkpoint: genesis(set) };
    const holder = { state: createState(makeConfig(keys[self]!), genesis(set)) };
    const proposer = probe.book.schedule.proposerOf(0);
    drive(
      holder,
      [
        { kind: "start" },
        { kind: "proposal", proposal: signProposal(keys[proposer]!, 1n, 0, -1, v) },
        { kind: "valueValidated", height: 1n, valueHash: v.hash, verdict: "valid" },
        { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.prevote, 1n, 0, v.hash) },
        { kind: "vote", vote: signVote(keys[2]!, 2, VOTE_TYPE.prevote, 1n, 0, v.hash) },
      ],
      sink,
    );
    const records = sink.wal.flat();
    const kinds = records.map((record) => decodeWalRecord(record).kind);
    assert.deepEqual(kinds, ["vote", "lock", "vote"], "prevote, lock, precommit");
    const torn = restoreState(makeConfig(keys[self]!), genesis(set), records.slice(0, 2));
    const resumed = step(torn, { kind: "start" });
    const precommits = resumed.outputs.filter(
      (output) =>
        output.kind === "broadcast" &&
        output.message.kind === "vote" &&
        output.message.vote.type === VOTE_TYPE.precommit,
    );
    assert.equal(precommits.length, 1);
    const first = resumed.outputs.findIndex((output) => output.kind === "walAppend");
    const sent = resumed.outputs.indexOf(precommits[0]!);
    assert.ok(first >= 0 && first < sent, "written before it is sent");
  });

  it("refuses a malformed record and a record past the checkpoint", () => {
    assert.throws(
      () => restoreState(makeConfig(keys[self]!), genesis(set), [new Uint8Array([1, 2, 3])]),
      (error: unknown) => error instanceof ConsensusError && error.code === "WAL_RECORD_MALFORMED",
    );
    const ahead = encodeWalRecord({
      kind: "vote",
      vote: signVote(keys[self]!, self, VOTE_TYPE.prevote, 5n, 0, null),
    });
    assert.throws(
      () => restoreState(makeConfig(keys[self]!), genesis(set), [ahead]),
      (error: unknown) => error instanceof ConsensusError && error.code === "WAL_AHEAD_OF_CHECKPOINT",
    );
  });
});
