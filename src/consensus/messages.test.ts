import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex, utf8 } from "../base/bytes.ts";
import { DecodeError } from "../encoding/errors.ts";
import { VOTE_TYPE } from "../ledger/commit.ts";
import { decodeConsensusMessage, encodeConsensusMessage, proposalSigningBytes } from "./messages.ts";
import { makeSet, makeValue, signProposal, signVote } from "./test-fixtures.ts";

const ascii = (text: string) => bytesToHex(utf8(text));

describe("proposal signing bytes", () => {
  it("pin every byte (docs/spec/consensus.md, Proposal)", () => {
    const hash = new Uint8Array(32).fill(0xab);
    const withPol = proposalSigningBytes("test-city-1", {
      height: 7n,
      round: 2,
      polRound: 1,
      valueHash: hash,
    });
    assert.equal(
      bytesToHex(withPol),
      `16${ascii("cityledger/proposal/v1")}` + // domain tag: u8 length, ASCII
        "01" + // version
        `0000000b${ascii("test-city-1")}` + // chain id
        "0000000000000007" + // height
        "00000002" + // round
        "01" + // has a POL round
        "00000001" + // POL round
        "ab".repeat(32), // value hash
    );
    const withoutPol = proposalSigningBytes("test-city-1", {
      height: 7n,
      round: 2,
      polRound: -1,
      valueHash: hash,
    });
    assert.equal(
      bytesToHex(withoutPol),
      bytesToHex(withPol).replace(`0100000001${"ab".repeat(32)}`, `00${"ab".repeat(32)}`),
    );
  });
});

describe("wire encoding", () => {
  const { keys } = makeSet([1n, 1n]);
  const value = makeValue("block");

  it("round-trips proposals and votes, and re-encodes to the same bytes", () => {
    const messages = [
      { kind: "proposal", proposal: signProposal(keys[0]!, 3n, 1, 0, value) },
      { kind: "proposal", proposal: signProposal(keys[0]!, 3n, 0, -1, value) },
      { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.precommit, 3n, 1, value.hash) },
      { kind: "vote", vote: signVote(keys[1]!, 1, VOTE_TYPE.prevote, 3n, 1, null) },
    ] as const;
    for (const message of messages) {
      const encoded = encodeConsensusMessage(message);
      const decoded = decodeConsensusMessage(encoded);
      assert.deepEqual(decoded, message);
      assert.equal(bytesToHex(encodeConsensusMessage(decoded)), bytesToHex(encoded));
    }
  });

  it("refuses malformed messages", () => {
    const vote = encodeConsensusMessage({
      kind: "vote",
      vote: signVote(keys[1]!, 1, VOTE_TYPE.prevote, 3n, 1, null),
    });
    const proposal = encodeConsensusMessage({
      kind: "proposal",
      proposal: signProposal(keys[0]!, 3n, 1, 0, value),
    });
    const cases = [
      Uint8Array.from([...vote, 0]), // trailing byte
      Uint8Array.from([3, ...vote.subarray(1)]), // unknown kind
      Uint8Array.from([2, 2, ...vote.subarray(2)]), // unknown vote version
      Uint8Array.from([2, 1, 9, ...vote.subarray(3)]), // unknown vote type
      // polRound (1) not below round (0): swap round 1 -> 0 in the proposal
      Uint8Array.from([...proposal.subarray(0, 10), 0, 0, 0, 0, ...proposal.subarray(14)]),
      vote.subarray(0, 12), // truncated
    ];
    for (const bytes of cases) assert.throws(() => decodeConsensusMessage(bytes), DecodeError);
  });
});
