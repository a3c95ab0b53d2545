import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../base/bytes.ts";
import { DecodeError } from "../encoding/errors.ts";
import {
  type BlockHeader,
  decodeBlock,
  decodeProposedBlock,
  encodeBlock,
  encodeProposedBlock,
  type ProposedBlock,
} from "./block.ts";
import type { CommitCertificate } from "./commit.ts";

const hash = (byte: number) => new Uint8Array(32).fill(byte);
const header: BlockHeader = {
  chainId: "block-test",
  height: 7n,
  timeMs: 1_700_000_000_000n,
  previousBlockHash: hash(1),
  previousCommitHash: hash(2),
  txRoot: hash(3),
  txCount: 2,
  logRoot: hash(4),
  logSize: 40n,
  stateRoot: hash(5),
  receiptRoot: hash(9),
  validatorSetHash: hash(6),
  nextValidatorSetHash: hash(6),
  evidenceRoot: hash(7),
  proposer: hash(8),
};
const certificate: CommitCertificate = {
  height: 6n,
  round: 1,
  blockHash: hash(1),
  signatures: [{ validatorIndex: 0, signature: new Uint8Array(64).fill(9) }],
};

describe("proposed blocks", () => {
  it("round-trip with and without the previous certificate, and share the block's body layout", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 5 }),
        fc.boolean(),
        (transactions, withPrevious) => {
          const proposed: ProposedBlock = {
            header: { ...header, txCount: transactions.length },
            transactions,
            evidence: [],
            previousCertificate: withPrevious ? certificate : null,
          };
          const encoded = encodeProposedBlock(proposed);
          const decoded = decodeProposedBlock(encoded);
          assert.equal(bytesToHex(encodeProposedBlock(decoded)), bytesToHex(encoded));
          assert.equal(decoded.previousCertificate === null, !withPrevious);
          const block = { ...proposed, certificate: { ...certificate, height: 7n } };
          const blockEncoded = encodeBlock(block);
          // Same body after the version byte: the proposal without a previous certificate, less its flag.
          const bodyLength = encodeProposedBlock({ ...proposed, previousCertificate: null }).length - 1;
          assert.equal(
            bytesToHex(blockEncoded.subarray(1, bodyLength)),
            bytesToHex(encoded.subarray(1, bodyLength)),
          );
          assert.equal(decodeBlock(blockEncoded).transactions.length, transactions.length);
        },
      ),
    );
  });

  it("refuses a previous-certificate flag other than 0 or 1, trailing bytes and unknown versions", () => {
    const encoded = encodeProposedBlock({
      header,
      transactions: [],
      evidence: [],
      previousCertificate: null,
    });
    const flagTwo = encoded.slice();
    flagTwo[flagTwo.length - 1] = 2;
    assert.throws(() => decodeProposedBlock(flagTwo), DecodeError);
    assert.throws(() => decodeProposedBlock(new Uint8Array([...encoded, 0])), DecodeError);
    const version = encoded.slice();
    version[0] = 9;
    assert.throws(() => decodeProposedBlock(version), DecodeError);
  });
});
