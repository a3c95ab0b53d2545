import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ed25519Suite } from "../crypto/ed25519.ts";
import {
  type Block,
  type BlockHeader,
  blockHash,
  checkBlockBody,
  decodeBlock,
  encodeBlock,
  evidenceRoot,
  transactionRoot,
} from "./block.ts";
import { type CommitCertificate, VOTE_TYPE, verifyCommit, voteSigningBytes } from "./commit.ts";
import { LedgerError } from "./errors.ts";
import { keyIdOf } from "./key-id.ts";
import { encodeTransaction, signTransaction } from "./transaction.ts";
import {
  canonicalValidatorSet,
  checkValidatorSet,
  type ValidatorSet,
  validatorSetHash,
} from "./validator-set.ts";

const suite = ed25519Suite;
const keys = [1, 2, 3, 4].map((seed) => suite.keyPairFromSeed(new Uint8Array(32).fill(seed)));

function makeSet(powers: bigint[]): { set: ValidatorSet; privateKeys: Uint8Array[] } {
  const set = canonicalValidatorSet(
    "ed25519",
    keys.slice(0, powers.length).map((key, index) => ({ publicKey: key.publicKey, power: powers[index]! })),
  );
  const privateKeys = set.validators.map(
    (validator) => keys.find((key) => Buffer.compare(key.publicKey, validator.publicKey) === 0)!.privateKey,
  );
  return { set, privateKeys };
}

function makeHeader(set: ValidatorSet, transactions: Uint8Array[] = []): BlockHeader {
  return {
    chainId: "test-city-1",
    height: 7n,
    timeMs: 1_790_000_000_000n,
    previousBlockHash: new Uint8Array(32).fill(1),
    previousCommitHash: new Uint8Array(32).fill(2),
    txRoot: transactionRoot(transactions, suite.hash),
    txCount: transactions.length,
    logRoot: new Uint8Array(32).fill(3),
    logSize: 12n,
    stateRoot: new Uint8Array(32).fill(4),
    receiptRoot: new Uint8Array(32).fill(9),
    validatorSetHash: validatorSetHash(set, suite),
    nextValidatorSetHash: validatorSetHash(set, suite),
    evidenceRoot: evidenceRoot([], suite.hash),
    proposer: keyIdOf(suite, set.validators[0]!.publicKey),
  };
}

function certify(
  header: BlockHeader,
  privateKeys: Uint8Array[],
  signers: number[],
  round = 0,
): CommitCertificate {
  const hash = blockHash(header, suite.hash);
  const message = voteSigningBytes({
    chainId: header.chainId,
    type: VOTE_TYPE.precommit,
    height: header.height,
    round,
    blockHash: hash,
  });
  return {
    height: header.height,
    round,
    blockHash: hash,
    signatures: signers.map((validatorIndex) => ({
      validatorIndex,
      signature: suite.sign(privateKeys[validatorIndex]!, message),
    })),
  };
}

describe("verifyCommit", () => {
  const { set, privateKeys } = makeSet([1n, 1n, 1n, 1n]);
  const header = makeHeader(set);

  it("accepts > 2/3 of the power and refuses exactly 2/3 or less", () => {
    assert.ok(verifyCommit(header, certify(header, privateKeys, [0, 1, 2]), set, suite));
    assert.ok(verifyCommit(header, certify(header, privateKeys, [0, 1, 2, 3]), set, suite));
    assert.ok(!verifyCommit(header, certify(header, privateKeys, [0, 1]), set, suite));
    const weighted = makeSet([3n, 1n, 1n, 1n]);
    const weightedHeader = makeHeader(weighted.set);
    // 4 of 6 is exactly 2/3: not enough. 5 of 6 is.
    const heavy = weighted.set.validators.findIndex((validator) => validator.power === 3n);
    const light = [0, 1, 2, 3].filter((index) => index !== heavy);
    assert.ok(
      !verifyCommit(
        weightedHeader,
        certify(weightedHeader, weighted.privateKeys, [heavy, light[0]!].sort()),
        weighted.set,
        suite,
      ),
    );
    assert.ok(
      verifyCommit(
        weightedHeader,
        certify(weightedHeader, weighted.privateKeys, [heavy, light[0]!, light[1]!].sort()),
        weighted.set,
        suite,
      ),
    );
  });

  it("refuses duplicates, unknown validators, bad signatures and other headers", () => {
    const good = certify(header, privateKeys, [0, 1, 2]);
    const duplicate = {
      ...good,
      signatures: [good.signatures[0]!, good.signatures[0]!, good.signatures[1]!],
    };
    assert.ok(!verifyCommit(header, duplicate, set, suite));
    const unknown = {
      ...good,
      signatures: [...good.signatures, { validatorIndex: 9, signature: good.signatures[0]!.signature }],
    };
    assert.ok(!verifyCommit(header, unknown, set, suite));
    const bad = {
      ...good,
      signatures: good.signatures.map((entry, index) =>
        index === 1 ? { ...entry, signature: new Uint8Array(64) } : entry,
      ),
    };
    assert.ok(!verifyCommit(header, bad, set, suite));
    assert.ok(!verifyCommit({ ...header, logSize: 13n }, good, set, suite));
    assert.ok(!verifyCommit(header, { ...good, round: 1 }, set, suite));
    assert.ok(!verifyCommit(header, { ...good, height: 8n }, set, suite));
    const otherSet = makeSet([1n, 1n, 1n]).set;
    assert.ok(!verifyCommit(header, good, otherSet, suite));
    // A prevote is not a precommit.
    const hash = blockHash(header, suite.hash);
    const prevote = voteSigningBytes({
      chainId: header.chainId,
      type: VOTE_TYPE.prevote,
      height: 7n,
      round: 0,
      blockHash: hash,
    });
    const prevotes = {
      ...good,
      signatures: [0, 1, 2].map((validatorIndex) => ({
        validatorIndex,
        signature: suite.sign(privateKeys[validatorIndex]!, prevote),
      })),
    };
    assert.ok(!verifyCommit(header, prevotes, set, suite));
  });

  it("validator sets must be canonical", () => {
    assert.equal(checkValidatorSet(set, suite), 4n);
    const reversed: ValidatorSet = { suite: "ed25519", validators: [...set.validators].reverse() };
    assert.throws(() => checkValidatorSet(reversed, suite), LedgerError);
    assert.throws(() => checkValidatorSet({ suite: "ed25519", validators: [] }, suite), LedgerError);
    assert.throws(
      () =>
        checkValidatorSet({ suite: "ed25519", validators: [{ ...set.validators[0]!, power: 0n }] }, suite),
      LedgerError,
    );
  });
});

describe("blocks", () => {
  const { set, privateKeys } = makeSet([1n, 1n, 1n, 1n]);
  const sender = suite.keyPairFromSeed(new Uint8Array(32).fill(9));
  const transactions = [0n, 1n, 2n].map((nonce) =>
    encodeTransaction(
      signTransaction(suite, sender.privateKey, {
        chainId: "test-city-1",
        nonce,
        expiryHeight: 10n,
        contract: "notary",
        method: "anchor",
        args: null,
      }),
    ),
  );
  const header = makeHeader(set, transactions);
  const block: Block = {
    header,
    transactions,
    evidence: [],
    certificate: certify(header, privateKeys, [0, 1, 2]),
  };

  it("round-trips and checks its body against the header", () => {
    const decoded = decodeBlock(encodeBlock(block));
    assert.deepEqual(encodeBlock(decoded), encodeBlock(block));
    checkBlockBody(decoded, suite.hash);
    assert.ok(verifyCommit(decoded.header, decoded.certificate, set, suite));
  });

  it("detects a body that does not match its header", () => {
    const swapped = { ...block, transactions: [transactions[1]!, transactions[0]!, transactions[2]!] };
    assert.throws(
      () => checkBlockBody(swapped, suite.hash),
      (error: unknown) => error instanceof LedgerError && error.code === "BLOCK_TX_ROOT_MISMATCH",
    );
    const fewer = { ...block, transactions: transactions.slice(0, 2) };
    assert.throws(
      () => checkBlockBody(fewer, suite.hash),
      (error: unknown) => error instanceof LedgerError && error.code === "BLOCK_TX_COUNT_MISMATCH",
    );
    const withEvidence = { ...block, evidence: [new Uint8Array([1])] };
    assert.throws(
      () => checkBlockBody(withEvidence, suite.hash),
      (error: unknown) => error instanceof LedgerError && error.code === "BLOCK_EVIDENCE_ROOT_MISMATCH",
    );
  });
});
