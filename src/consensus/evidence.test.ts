import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AssertionError } from "../base/assert.ts";
import { sm2Sm3Suite } from "../crypto/sm2-sm3.ts";
import { DecodeError } from "../encoding/errors.ts";
import { EVIDENCE_SIZE_BYTES_MAX } from "../ledger/block.ts";
import { VOTE_TYPE } from "../ledger/commit.ts";
import { canonicalValidatorSet } from "../ledger/validator-set.ts";
import {
  decodeEvidence,
  duplicateProposalEvidence,
  duplicateVoteEvidence,
  EvidencePool,
  encodeEvidence,
  verifyEvidence,
} from "./evidence.ts";
import { EVIDENCE_POOL_MAX } from "./limits.ts";
import { proposalSigningBytes, signedVoteSigningBytes } from "./messages.ts";
import { CHAIN_ID, makeSet, makeValue, signProposal, signVote, suite } from "./test-fixtures.ts";

const { set, keys } = makeSet([1n, 1n, 1n, 1n]);
const v = makeValue("v");
const w = makeValue("w");

function doubleVote(height = 5n, round = 2) {
  const one = signVote(keys[1]!, 1, VOTE_TYPE.precommit, height, round, v.hash);
  const other = signVote(keys[1]!, 1, VOTE_TYPE.precommit, height, round, null);
  return duplicateVoteEvidence(
    { chainId: CHAIN_ID, publicKey: keys[1]!.publicKey, height, round, voteType: VOTE_TYPE.precommit },
    { blockHash: one.blockHash, signature: one.signature },
    { blockHash: other.blockHash, signature: other.signature },
  );
}

describe("evidence", () => {
  const context = { chainId: CHAIN_ID, validatorSet: set, suite };

  it("a double vote is canonical, at most 1 KiB, and verifies against the set", () => {
    const evidence = doubleVote();
    const encoded = encodeEvidence(evidence);
    assert.ok(encoded.length <= EVIDENCE_SIZE_BYTES_MAX);
    assert.deepEqual(decodeEvidence(encoded), evidence);
    assert.equal(evidence.first.blockHash, null, "nil sorts first");
    assert.ok(verifyEvidence(evidence, context));
  });

  it("a double proposal verifies too", () => {
    const one = signProposal(keys[0]!, 5n, 2, -1, v);
    const other = signProposal(keys[0]!, 5n, 2, 1, w);
    const evidence = duplicateProposalEvidence(
      { chainId: CHAIN_ID, publicKey: keys[0]!.publicKey, height: 5n, round: 2 },
      { polRound: one.polRound, valueHash: one.value.hash, signature: one.signature },
      { polRound: other.polRound, valueHash: other.value.hash, signature: other.signature },
    );
    assert.deepEqual(decodeEvidence(encodeEvidence(evidence)), evidence);
    assert.ok(verifyEvidence(evidence, context));
  });

  it("is refused for another chain, a non-member, a forged signature or one vote twice", () => {
    const evidence = doubleVote();
    assert.equal(verifyEvidence({ ...evidence, chainId: "other-city-1" }, context), false);
    const strangers = canonicalValidatorSet(suite.name, [
      { publicKey: new Uint8Array(32).fill(9), power: 1n },
    ]);
    assert.equal(verifyEvidence(evidence, { ...context, validatorSet: strangers }), false);
    const forged = { ...evidence, second: { ...evidence.second, signature: new Uint8Array(64) } };
    assert.equal(verifyEvidence(forged, context), false);
    assert.equal(verifyEvidence({ ...evidence, second: evidence.first }, context), false);
    assert.throws(() => duplicateVoteEvidence(evidence, evidence.first, evidence.first), AssertionError);
  });

  it("decoding refuses items out of order and trailing bytes", () => {
    const encoded = encodeEvidence(doubleVote());
    assert.throws(() => decodeEvidence(Uint8Array.from([...encoded, 0])), DecodeError);
    const evidence = doubleVote();
    const swapped = encodeEvidence({ ...evidence, first: evidence.second, second: evidence.first });
    assert.throws(() => decodeEvidence(swapped), DecodeError);
  });

  it("fits 1 KiB with the largest keys (SM2, 65 bytes) and the longest chain id", () => {
    const sm2 = sm2Sm3Suite.keyPairFromSeed(new Uint8Array(32).fill(3));
    const chainId = "c".repeat(64);
    const sign = (hash: Uint8Array | null) =>
      sm2Sm3Suite.sign(
        sm2.privateKey,
        signedVoteSigningBytes(chainId, {
          type: VOTE_TYPE.precommit,
          height: 1n,
          round: 0,
          blockHash: hash,
          validatorIndex: 0,
          signature: new Uint8Array(0),
        }),
      );
    const evidence = duplicateVoteEvidence(
      { chainId, publicKey: sm2.publicKey, height: 1n, round: 0, voteType: VOTE_TYPE.precommit },
      { blockHash: v.hash, signature: sign(v.hash) },
      { blockHash: w.hash, signature: sign(w.hash) },
    );
    const encoded = encodeEvidence(evidence);
    assert.ok(encoded.length <= EVIDENCE_SIZE_BYTES_MAX, `${encoded.length} bytes`);
    const sm2Set = canonicalValidatorSet("sm2-sm3", [{ publicKey: sm2.publicKey, power: 1n }]);
    assert.ok(verifyEvidence(decodeEvidence(encoded), { chainId, validatorSet: sm2Set, suite: sm2Sm3Suite }));
    assert.ok(
      proposalSigningBytes(chainId, { height: 1n, round: 0, polRound: -1, valueHash: v.hash }).length < 200,
    );
  });
});

describe("evidence pool", () => {
  it("deduplicates by offence, stays bounded, and forgets committed evidence", () => {
    const pool = new EvidencePool();
    const first = encodeEvidence(doubleVote(5n, 2));
    assert.ok(pool.add(first));
    assert.equal(pool.add(first), false, "the same offence twice");
    assert.equal(pool.add(new Uint8Array([1, 2, 3])), false, "malformed");
    assert.deepEqual(pool.pending(10, 6n), [first]);
    assert.deepEqual(pool.pending(10, 5n), [], "evidence of a height goes into a later block");
    pool.markCommitted([first]);
    assert.equal(pool.size, 0);
    assert.equal(pool.add(first), false, "never proposed again once committed");
    for (let round = 0; round < EVIDENCE_POOL_MAX + 10; round++)
      pool.add(encodeEvidence(doubleVote(6n, round)));
    assert.equal(pool.size, EVIDENCE_POOL_MAX);
  });
});
