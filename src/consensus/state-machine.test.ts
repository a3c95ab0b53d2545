import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { AssertionError } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import {
  type BlockHeader,
  blockHash,
  encodeBlockHeader,
  evidenceRoot,
  transactionRoot,
} from "../ledger/block.ts";
import { VOTE_TYPE, verifyCommit } from "../ledger/commit.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import { validatorSetHash } from "../ledger/validator-set.ts";
import { decodeEvidence, verifyEvidence } from "./evidence.ts";
import { type ConsensusState, createState, step } from "./state-machine.ts";
import {
  broadcastVotes,
  CHAIN_ID,
  genesis,
  LocalCluster,
  makeConfig,
  makeSet,
  makeValue,
  run,
  signProposal,
  signVote,
  suite,
  TEST_TIMEOUTS,
} from "./test-fixtures.ts";
import { timeoutMs } from "./timeouts.ts";
import type { ConsensusOutput, ConsensusValue } from "./types.ts";

function headerValue(
  set: ReturnType<typeof makeSet>["set"],
  height: bigint,
): { header: BlockHeader; value: ConsensusValue } {
  const header: BlockHeader = {
    chainId: CHAIN_ID,
    height,
    timeMs: 1_800_000_000_000n,
    previousBlockHash: new Uint8Array(32).fill(1),
    previousCommitHash: new Uint8Array(32),
    txRoot: transactionRoot([], suite.hash),
    txCount: 0,
    logRoot: new Uint8Array(32).fill(3),
    logSize: 0n,
    stateRoot: new Uint8Array(32).fill(4),
    receiptRoot: new Uint8Array(32).fill(9),
    validatorSetHash: validatorSetHash(set, suite),
    nextValidatorSetHash: validatorSetHash(set, suite),
    evidenceRoot: evidenceRoot([], suite.hash),
    proposer: keyIdOf(suite, set.validators[0]!.publicKey),
  };
  return { header, value: { hash: blockHash(header, suite.hash), bytes: encodeBlockHeader(header) } };
}

/** Every broadcast of a step comes after at least one WAL append when it is freshly signed. */
function assertWalBeforeBroadcast(outputs: readonly ConsensusOutput[]): void {
  let walSeen = 0;
  let fresh = 0;
  for (const output of outputs) {
    if (output.kind === "walAppend") walSeen++;
    if (output.kind === "broadcast") {
      fresh++;
      assert.ok(walSeen >= fresh, "a signed message is in the WAL before it is broadcast");
    }
  }
}

function decisionOf(outputs: readonly ConsensusOutput[]) {
  return outputs.find((output) => output.kind === "decide");
}

describe("a single validator (n = 1)", () => {
  it("decides as soon as its application hands it a value, through the same code", () => {
    const { set, keys } = makeSet([1n]);
    const holder = { state: createState(makeConfig(keys[0]!), genesis(set)) };
    const started = run(holder, { kind: "start" });
    assert.ok(started.some((output) => output.kind === "requestValue" && output.height === 1n));
    const { header, value } = headerValue(set, 1n);
    const outputs = run(holder, { kind: "valueReady", height: 1n, round: 0, value });
    assertWalBeforeBroadcast(outputs);
    const decision = decisionOf(outputs);
    assert.ok(decision !== undefined && decision.kind === "decide");
    assert.equal(decision.height, 1n);
    assert.equal(decision.round, 0);
    assert.equal(bytesToHex(decision.value.hash), bytesToHex(value.hash));
    // The certificate is a CommitCertificate that verifyCommit accepts for the header.
    assert.ok(verifyCommit(header, decision.certificate, set, suite));
    assert.equal(holder.state.height, 2n);
    // It asks for the next height's value in the same step: instant finality, height after height.
    assert.ok(outputs.some((output) => output.kind === "requestValue" && output.height === 2n));
  });

  it("refuses to reuse a state that step has already consumed", () => {
    const { set, keys } = makeSet([1n]);
    const state = createState(makeConfig(keys[0]!), genesis(set));
    step(state, { kind: "start" });
    assert.throws(() => step(state, { kind: "start" }), AssertionError);
  });
});

describe("four validators", () => {
  it("agree on one value per height, round 0, when the network is good", () => {
    const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
    const cluster = new LocalCluster(set, keys);
    cluster.startAll();
    for (let height = 1n; height <= 3n; height++) {
      const first = cluster.decidedHash(0, height);
      assert.ok(first !== null, `height ${height} decided`);
      for (let node = 1; node < 4; node++) assert.equal(cluster.decidedHash(node, height), first);
    }
    for (const decisions of cluster.decisions) assert.ok(decisions.every((decision) => decision.round === 0));
  });

  it("move to the next round on timeouts when the proposer is silent, then decide", () => {
    const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
    const cluster = new LocalCluster(set, keys);
    const proposer = cluster.states[0]!.book.schedule.proposerOf(0);
    cluster.dropRule = (from, _to, message) =>
      from === proposer && message.kind === "proposal" && message.proposal.round === 0;
    cluster.startAll();
    assert.equal(cluster.decisions[0]!.length, 0, "no proposal reached anyone in round 0");
    for (let attempt = 0; attempt < 6 && cluster.decisions.some((list) => list.length === 0); attempt++) {
      cluster.fireTimeouts();
    }
    const hash = cluster.decidedHash(0, 1n);
    assert.ok(hash !== null);
    for (let node = 1; node < 4; node++) assert.equal(cluster.decidedHash(node, 1n), hash);
    assert.ok(cluster.decisions[0]![0]!.round >= 1);
  });

  it("count by voting power: a validator with more than 2/3 of the power decides alone", () => {
    const { set, keys } = makeSet([1n, 1n, 1n, 7n]);
    const big = set.validators.findIndex((validator) => validator.power === 7n);
    const cluster = new LocalCluster(set, keys);
    assert.equal(
      cluster.states[big]!.book.schedule.proposerOf(0),
      big,
      "the heaviest validator proposes first",
    );
    cluster.dropRule = () => true; // nobody hears anybody
    cluster.startAll();
    assert.equal(cluster.decisions[big]!.length > 0, true);
    for (let node = 0; node < 4; node++) if (node !== big) assert.equal(cluster.decisions[node]!.length, 0);
  });

  it("do not decide without the heavy validator when the others hold only 3/10 of the power", () => {
    const { set, keys } = makeSet([1n, 1n, 1n, 7n]);
    const big = set.validators.findIndex((validator) => validator.power === 7n);
    const cluster = new LocalCluster(set, keys);
    cluster.dropRule = (from, to) => from === big || to === big;
    cluster.startAll();
    for (let attempt = 0; attempt < 4; attempt++) cluster.fireTimeouts();
    for (let node = 0; node < 4; node++) if (node !== big) assert.equal(cluster.decisions[node]!.length, 0);
  });
});

/** One machine driven by hand, with the other three validators' messages signed in the test. */
function soloMachine(bugs = {}) {
  const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
  const probe = createState(makeConfig(keys[0]!), genesis(set));
  // The machine under test: a validator that proposes in neither round 0 nor round 1.
  const schedule = probe.book.schedule;
  const self = [0, 1, 2, 3].find(
    (index) => index !== schedule.proposerOf(0) && index !== schedule.proposerOf(1),
  )!;
  const holder: { state: ConsensusState } = {
    state: createState(makeConfig(keys[self]!, bugs), genesis(set)),
  };
  const others = [0, 1, 2, 3].filter((index) => index !== self);
  run(holder, { kind: "start" });
  return { set, keys, holder, self, others, schedule };
}

function validate(holder: { state: ConsensusState }, value: ConsensusValue, height = 1n): ConsensusOutput[] {
  return run(holder, { kind: "valueValidated", height, valueHash: value.hash, verdict: "valid" });
}

/** Round 0: value v gets 2f+1 prevotes, so the machine locks v; precommits fall short. */
function lockInRoundZero(solo: ReturnType<typeof soloMachine>, v: ConsensusValue): void {
  const { keys, holder, others, schedule } = solo;
  const proposer = schedule.proposerOf(0);
  run(holder, { kind: "proposal", proposal: signProposal(keys[proposer]!, 1n, 0, -1, v) });
  validate(holder, v);
  for (const index of others.slice(0, 2)) {
    run(holder, { kind: "vote", vote: signVote(keys[index]!, index, VOTE_TYPE.prevote, 1n, 0, v.hash) });
  }
  assert.equal(holder.state.lockedRound, 0);
  for (const index of others.slice(0, 2)) {
    run(holder, { kind: "vote", vote: signVote(keys[index]!, index, VOTE_TYPE.precommit, 1n, 0, null) });
  }
  run(holder, { kind: "timeout", timeout: { step: "precommit", height: 1n, round: 0 } });
  assert.equal(holder.state.round, 1);
}

describe("locking (Alg. 1 lines 22-43)", () => {
  it("a validator locked on v prevotes nil for another value proposed without a newer proof of lock", () => {
    const solo = soloMachine();
    const v = makeValue("v");
    const w = makeValue("w");
    lockInRoundZero(solo, v);
    const proposer = solo.schedule.proposerOf(1);
    run(solo.holder, { kind: "proposal", proposal: signProposal(solo.keys[proposer]!, 1n, 1, -1, w) });
    const outputs = validate(solo.holder, w);
    const [prevote] = broadcastVotes(outputs);
    assert.ok(prevote !== undefined && prevote.type === VOTE_TYPE.prevote && prevote.round === 1);
    assert.equal(prevote.blockHash, null, "line 26: locked on v, so nil");
  });

  it("with the test-only bug ignoreLock it prevotes the other value (what the simulator must catch)", () => {
    const solo = soloMachine({ ignoreLock: true });
    const v = makeValue("v");
    const w = makeValue("w");
    lockInRoundZero(solo, v);
    const proposer = solo.schedule.proposerOf(1);
    run(solo.holder, { kind: "proposal", proposal: signProposal(solo.keys[proposer]!, 1n, 1, -1, w) });
    const [prevote] = broadcastVotes(validate(solo.holder, w));
    assert.equal(bytesToHex(prevote!.blockHash!), bytesToHex(w.hash));
  });

  it("a newer proof of lock (line 28-29) releases the lock", () => {
    const solo = soloMachine();
    const v = makeValue("v");
    const w = makeValue("w");
    lockInRoundZero(solo, v);
    // Round 1: w gets 2f+1 prevotes from the others; this machine stays on nil (prevote timeout).
    run(solo.holder, { kind: "timeout", timeout: { step: "propose", height: 1n, round: 1 } });
    for (const index of solo.others) {
      run(solo.holder, {
        kind: "vote",
        vote: signVote(solo.keys[index]!, index, VOTE_TYPE.prevote, 1n, 1, w.hash),
      });
    }
    run(solo.holder, { kind: "timeout", timeout: { step: "prevote", height: 1n, round: 1 } });
    for (const index of solo.others) {
      run(solo.holder, {
        kind: "vote",
        vote: signVote(solo.keys[index]!, index, VOTE_TYPE.precommit, 1n, 1, null),
      });
    }
    run(solo.holder, { kind: "timeout", timeout: { step: "precommit", height: 1n, round: 1 } });
    assert.equal(solo.holder.state.round, 2);
    const proposer = solo.schedule.proposerOf(2);
    if (proposer === solo.self) return; // this machine would propose itself; the rule is covered above
    const outputs = run(solo.holder, {
      kind: "proposal",
      proposal: signProposal(solo.keys[proposer]!, 1n, 2, 1, w),
    });
    const votes = broadcastVotes([...outputs, ...validate(solo.holder, w)]);
    const prevote = votes.find((vote) => vote.type === VOTE_TYPE.prevote && vote.round === 2);
    assert.ok(prevote !== undefined);
    assert.equal(bytesToHex(prevote.blockHash!), bytesToHex(w.hash), "lockedRound 0 ≤ vr 1: prevote w");
  });
});

describe("message checks", () => {
  it("drops votes with bad signatures or unknown signers and reports them for peer scoring", () => {
    const solo = soloMachine();
    const [other] = solo.others;
    const vote = signVote(solo.keys[other!]!, other!, VOTE_TYPE.prevote, 1n, 0, null);
    const forged = {
      ...vote,
      signature: vote.signature.map((byte, index) => (index === 0 ? byte ^ 1 : byte)),
    };
    const rejected = run(solo.holder, { kind: "vote", vote: forged, peer: "peer-7" });
    assert.deepEqual(
      rejected
        .filter((output) => output.kind === "rejected")
        .map((output) => output.kind === "rejected" && output.code),
      ["SIGNATURE_INVALID"],
    );
    assert.equal(solo.holder.state.book.round(0)?.prevotes.powerAny ?? 0n, 0n);
    const outsider = run(solo.holder, { kind: "vote", vote: { ...vote, validatorIndex: 9 } });
    assert.ok(outsider.some((output) => output.kind === "rejected" && output.code === "NOT_A_VALIDATOR"));
  });

  it("drops a proposal signed by anyone but the round's proposer", () => {
    const solo = soloMachine();
    const proposer = solo.schedule.proposerOf(0);
    const impostor = solo.others.find((index) => index !== proposer)!;
    const outputs = run(solo.holder, {
      kind: "proposal",
      proposal: signProposal(solo.keys[impostor]!, 1n, 0, -1, makeValue("x")),
    });
    assert.ok(outputs.some((output) => output.kind === "rejected" && output.code === "SIGNATURE_INVALID"));
    assert.equal(solo.holder.state.book.round(0)?.proposal ?? null, null);
  });

  it("records a double vote as evidence that verifyEvidence accepts, and counts both votes by value", () => {
    const solo = soloMachine();
    const [other] = solo.others;
    const v = makeValue("v");
    run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[other!]!, other!, VOTE_TYPE.prevote, 1n, 0, null),
    });
    const proposer = solo.schedule.proposerOf(0);
    run(solo.holder, { kind: "proposal", proposal: signProposal(solo.keys[proposer]!, 1n, 0, -1, v) });
    const outputs = run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[other!]!, other!, VOTE_TYPE.prevote, 1n, 0, v.hash),
    });
    const evidence = outputs.find((output) => output.kind === "evidence");
    assert.ok(evidence !== undefined && evidence.kind === "evidence");
    const decoded = decodeEvidence(evidence.evidence);
    assert.ok(verifyEvidence(decoded, { chainId: CHAIN_ID, validatorSet: solo.set, suite }));
    const tally = solo.holder.state.book.round(0)!.prevotes;
    assert.equal(tally.powerAny, 1n, "distinct signers");
    assert.equal(tally.byValue.get("nil")?.power, 1n);
    assert.equal(tally.byValue.get(bytesToHex(v.hash))?.power, 1n);
  });

  it("forgets bytes found malformed and accepts the same proposal with the right bytes", () => {
    const solo = soloMachine();
    const v = makeValue("v");
    const proposer = solo.schedule.proposerOf(0);
    const proposal = signProposal(solo.keys[proposer]!, 1n, 0, -1, v);
    const corrupted = { ...proposal, value: { hash: v.hash, bytes: new TextEncoder().encode("not v") } };
    run(solo.holder, { kind: "proposal", proposal: corrupted });
    run(solo.holder, { kind: "valueValidated", height: 1n, valueHash: v.hash, verdict: "malformed" });
    assert.equal(solo.holder.state.book.round(0)!.proposal, null);
    const outputs = run(solo.holder, { kind: "proposal", proposal });
    const request = outputs.find((output) => output.kind === "validateValue");
    assert.ok(request !== undefined && request.kind === "validateValue");
    assert.equal(new TextDecoder().decode(request.value.bytes), "v");
    const [prevote] = broadcastVotes(validate(solo.holder, v));
    assert.equal(bytesToHex(prevote!.blockHash!), bytesToHex(v.hash));
  });
});

describe("rounds and heights", () => {
  it("skips to a higher round on f+1 of its messages (line 55), not on fewer", () => {
    const solo = soloMachine();
    const [first, second] = solo.others;
    run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[first!]!, first!, VOTE_TYPE.prevote, 1n, 5, null),
    });
    assert.equal(solo.holder.state.round, 0, "1/4 of the power is not f+1");
    const outputs = run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[second!]!, second!, VOTE_TYPE.precommit, 1n, 5, null),
    });
    assert.equal(solo.holder.state.round, 5);
    assert.ok(outputs.some((output) => output.kind === "event" && output.name === "round_skipped"));
  });

  it("bounds how many rounds ahead one validator can open", () => {
    const solo = soloMachine();
    const [first] = solo.others;
    const codes: string[] = [];
    for (const round of [10, 20, 30, 40]) {
      const outputs = run(solo.holder, {
        kind: "vote",
        vote: signVote(solo.keys[first!]!, first!, VOTE_TYPE.prevote, 1n, round, null),
      });
      for (const output of outputs) if (output.kind === "rejected") codes.push(output.code);
    }
    assert.deepEqual(codes, ["ROUNDS_AHEAD_EXCEEDED", "ROUNDS_AHEAD_EXCEEDED"]);
  });

  it("schedules timeouts that grow with the round", () => {
    assert.equal(timeoutMs(TEST_TIMEOUTS, "propose", 0), 1_000);
    assert.equal(timeoutMs(TEST_TIMEOUTS, "propose", 4), 3_000);
    assert.equal(timeoutMs(TEST_TIMEOUTS, "precommit", 2), 1_000);
    assert.equal(timeoutMs({ ...TEST_TIMEOUTS, proposeDeltaMs: 600_000 }, "propose", 900), 600_000);
    const solo = soloMachine();
    run(solo.holder, { kind: "timeout", timeout: { step: "propose", height: 1n, round: 0 } });
    const outputs = run(solo.holder, {
      kind: "timeout",
      timeout: { step: "precommit", height: 1n, round: 0 },
    });
    const scheduled = outputs.find((output) => output.kind === "scheduleTimeout");
    assert.ok(scheduled !== undefined && scheduled.kind === "scheduleTimeout");
    assert.equal(scheduled.timeout.round, 1);
    assert.equal(scheduled.durationMs, 1_500);
  });

  it("decides from a verified catch-up certificate, and refuses one short of 2/3", () => {
    const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
    const value = makeValue("decided elsewhere");
    const precommits = [0, 1, 2].map((index) =>
      signVote(keys[index]!, index, VOTE_TYPE.precommit, 1n, 3, value.hash),
    );
    const certificate = {
      height: 1n,
      round: 3,
      blockHash: value.hash,
      signatures: precommits.map((vote) => ({
        validatorIndex: vote.validatorIndex,
        signature: vote.signature,
      })),
    };
    const holder = { state: createState(makeConfig(keys[3]!), genesis(set)) };
    run(holder, { kind: "start" });
    const short = run(holder, {
      kind: "commit",
      height: 1n,
      value,
      certificate: { ...certificate, signatures: certificate.signatures.slice(0, 2) },
    });
    assert.ok(short.some((output) => output.kind === "rejected" && output.code === "CERTIFICATE_INVALID"));
    run(holder, { kind: "commit", height: 1n, value, certificate });
    const outputs = validate(holder, value);
    const decision = decisionOf(outputs);
    assert.ok(decision !== undefined && decision.kind === "decide" && decision.round === 3);
    assert.equal(holder.state.height, 2n);
  });

  it("buffers the next height's messages and refuses what is further ahead", () => {
    const solo = soloMachine();
    const [first] = solo.others;
    run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[first!]!, first!, VOTE_TYPE.prevote, 2n, 0, null),
    });
    assert.equal(solo.holder.state.futureBook?.round(0)?.prevotes.powerAny, 1n);
    const ahead = run(solo.holder, {
      kind: "vote",
      vote: signVote(solo.keys[first!]!, first!, VOTE_TYPE.prevote, 3n, 0, null),
    });
    assert.ok(ahead.some((output) => output.kind === "event" && output.name === "height_ahead"));
  });

  it("applies a validator-set change decided in block H from height H+2", () => {
    const { set: one, keys } = makeSet([1n]);
    const { set: two } = makeSet([1n, 1n]);
    const holder = { state: createState(makeConfig(keys[0]!), genesis(one)) };
    run(holder, { kind: "start" });
    // Height 1 decides; its execution changes the set from height 3 on.
    let outputs = run(holder, { kind: "valueReady", height: 1n, round: 0, value: makeValue("block 1") });
    assert.ok(decisionOf(outputs) !== undefined);
    run(holder, { kind: "validatorSet", height: 3n, validatorSet: two });
    outputs = run(holder, { kind: "valueReady", height: 2n, round: 0, value: makeValue("block 2") });
    assert.ok(decisionOf(outputs) !== undefined, "height 2 is still signed by the old set alone");
    run(holder, { kind: "validatorSet", height: 4n, validatorSet: two });
    assert.equal(holder.state.height, 3n);
    assert.equal(holder.state.book.validatorSet.validators.length, 2);
    if (holder.state.ownIndex === holder.state.book.schedule.proposerOf(0)) {
      outputs = run(holder, { kind: "valueReady", height: 3n, round: 0, value: makeValue("block 3") });
    }
    assert.equal(
      decisionOf(outputs.filter((output) => output.kind === "decide" && output.height === 3n)),
      undefined,
    );
    assert.equal(holder.state.height, 3n, "half of the power is not enough at height 3");
  });
});

describe("input from peers never throws", () => {
  it("random votes, proposals and commits are dropped or counted, never crash the machine", () => {
    const solo = soloMachine();
    const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });
    const hash = fc.oneof(fc.constant(null), bytes(32), fc.uint8Array({ maxLength: 40 }));
    const vote = fc.record({
      type: fc.integer({ min: 0, max: 4 }),
      height: fc.bigInt({ min: 0n, max: 4n }),
      round: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.integer({ min: 0, max: 0xffff_ffff }), fc.double()),
      blockHash: hash,
      validatorIndex: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.double()),
      signature: fc.uint8Array({ maxLength: 70 }),
    });
    const proposal = fc.record({
      height: fc.bigInt({ min: 0n, max: 4n }),
      round: fc.integer({ min: -1, max: 2_000 }),
      polRound: fc.integer({ min: -3, max: 3 }),
      value: fc.record({ hash: fc.uint8Array({ maxLength: 40 }), bytes: fc.uint8Array({ maxLength: 64 }) }),
      signature: fc.uint8Array({ maxLength: 70 }),
    });
    const input = fc.oneof(
      vote.map((candidate) => ({ kind: "vote" as const, vote: candidate as never })),
      proposal.map((candidate) => ({ kind: "proposal" as const, proposal: candidate as never })),
      fc
        .record({
          round: fc.integer({ min: 0, max: 3 }),
          signature: bytes(64),
          index: fc.integer({ min: -1, max: 6 }),
        })
        .map(({ round, signature, index }) => ({
          kind: "commit" as const,
          height: 1n,
          value: makeValue("x"),
          certificate: {
            height: 1n,
            round,
            blockHash: makeValue("x").hash,
            signatures: [{ validatorIndex: index, signature }],
          },
        })),
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 30 }), (inputs) => {
        for (const candidate of inputs) run(solo.holder, candidate);
      }),
      { numRuns: 200 },
    );
    assert.ok(solo.holder.state.height >= 1n);
  });
});
