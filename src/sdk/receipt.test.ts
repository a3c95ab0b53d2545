/**
 * verifyReceipt over receipts built from the real structures: signed transactions, a real RFC 9162
 * MerkleLog, real headers and Ed25519 commit certificates. A correct receipt verifies (directly
 * against its signing set, or through a header chain across a validator-set change); every kind
 * of tampering is refused with its code.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, utf8 } from "../base/bytes.ts";
import type { HeaderLink } from "../consensus/light-client.ts";
import { ed25519Suite, type KeyPair, sha256 } from "../crypto/index.ts";
import { encodeValue } from "../encoding/value.ts";
import { encodeReceipt as encodeExecutionReceipt, receiptHashOfEncoded } from "../exec/receipt.ts";
import {
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  canonicalValidatorSet,
  commitCertificateHash,
  encodeBlockHeader,
  encodeCommitCertificate,
  encodeTransaction,
  evidenceRoot,
  hashEncodedTransaction,
  keyIdOf,
  MerkleLog,
  signTransaction,
  transactionRoot,
  type ValidatorSet,
  VOTE_TYPE,
  validatorSetHash,
  voteSigningBytes,
} from "../ledger/index.ts";
import { merkleRoot } from "../ledger/merkle-proof.ts";
import {
  type ReceiptTrust,
  receiptFromJson,
  receiptToJson,
  type TransactionReceipt,
  verifyReceipt,
} from "./receipt.ts";

const suite = ed25519Suite;
const CHAIN_ID = "receipt-city-1";

function keysOf(label: string, count: number): KeyPair[] {
  return Array.from({ length: count }, (_, index) =>
    suite.keyPairFromSeed(sha256(utf8(`${label}/${index}`))),
  );
}

/** A set of equal powers and its keys in the set's canonical order. */
function setOf(keys: readonly KeyPair[]): { set: ValidatorSet; keys: KeyPair[] } {
  const set = canonicalValidatorSet(
    "ed25519",
    keys.map((key) => ({ publicKey: key.publicKey, power: 10n })),
  );
  const ordered = set.validators.map(
    (validator) =>
      keys.find((key) => key.publicKey.every((byte, index) => byte === validator.publicKey[index]))!,
  );
  return { set, keys: ordered };
}

function certify(
  header: BlockHeader,
  signers: readonly KeyPair[],
  indexes: readonly number[],
): CommitCertificate {
  const hashOfBlock = blockHash(header, suite.hash);
  const vote = voteSigningBytes({
    chainId: header.chainId,
    type: VOTE_TYPE.precommit,
    height: header.height,
    round: 0,
    blockHash: hashOfBlock,
  });
  return {
    height: header.height,
    round: 0,
    blockHash: hashOfBlock,
    signatures: indexes.map((validatorIndex) => ({
      validatorIndex,
      signature: suite.sign(signers[validatorIndex]!.privateKey, vote),
    })),
  };
}

/**
 * Two blocks: block 1 (2 transactions) is signed by set S0 and announces S1 as the next set;
 * block 2 (3 transactions) is signed by S1. Receipts for every transaction.
 */
function buildChain() {
  const s0 = setOf(keysOf("s0", 4));
  const s1 = setOf(keysOf("s1", 4));
  const sender = suite.keyPairFromSeed(sha256(utf8("sender")));
  const transactions = Array.from({ length: 5 }, (_, nonce) =>
    encodeTransaction(
      signTransaction(suite, sender.privateKey, {
        chainId: CHAIN_ID,
        nonce: BigInt(nonce),
        expiryHeight: 100n,
        contract: "notary",
        method: "record",
        args: { document: sha256(utf8(`document ${nonce}`)) },
      }),
    ),
  );
  const hashes = transactions.map((encoded) => hashEncodedTransaction(encoded, suite.hash));
  // What each transaction did: transaction 3 failed, the others anchored with an event.
  const executions = hashes.map((txHash, index) =>
    encodeExecutionReceipt(
      index === 3
        ? { txHash, status: "failed", errorCode: "NOTARY_ALREADY_ANCHORED", gasUsed: 1_900n, events: [] }
        : {
            txHash,
            status: "ok",
            errorCode: null,
            gasUsed: 2_000n + BigInt(index),
            events: [
              { contract: "notary", type: "anchored", data: encodeValue({ key: `document ${index}` }) },
            ],
          },
    ),
  );
  const log = new MerkleLog({ hash: suite.hash });
  const blocks: Array<{
    header: BlockHeader;
    certificate: CommitCertificate;
    set: ValidatorSet;
    first: number;
  }> = [];
  const plan = [
    { count: 2, signing: s0, next: s1 },
    { count: 3, signing: s1, next: s1 },
  ];
  let first = 0;
  for (const [position, step] of plan.entries()) {
    const body = transactions.slice(first, first + step.count);
    for (const hash of hashes.slice(first, first + step.count)) log.append(hash);
    const previous = blocks[blocks.length - 1];
    const header: BlockHeader = {
      chainId: CHAIN_ID,
      height: BigInt(position + 1),
      timeMs: 1_800_000_000_000n + BigInt(position),
      previousBlockHash:
        previous === undefined ? sha256(utf8("genesis")) : blockHash(previous.header, suite.hash),
      previousCommitHash:
        previous === undefined ? new Uint8Array(32) : commitCertificateHash(previous.certificate, suite.hash),
      txRoot: transactionRoot(body, suite.hash),
      txCount: body.length,
      logRoot: log.root(),
      logSize: BigInt(log.size),
      stateRoot: sha256(utf8(`state ${position}`)),
      receiptRoot: merkleRoot(
        executions
          .slice(first, first + step.count)
          .map((encoded) => receiptHashOfEncoded(encoded, suite.hash)),
        suite.hash,
      ),
      validatorSetHash: validatorSetHash(step.signing.set, suite),
      nextValidatorSetHash: validatorSetHash(step.next.set, suite),
      evidenceRoot: evidenceRoot([], suite.hash),
      proposer: keyIdOf(suite, step.signing.keys[0]!.publicKey),
    };
    blocks.push({
      header,
      certificate: certify(header, step.signing.keys, [0, 1, 2]),
      set: step.signing.set,
      first,
    });
    first += step.count;
  }
  const receiptOf = (logIndex: number): TransactionReceipt => {
    const block = blocks.find(
      (entry) => logIndex >= entry.first && logIndex < entry.first + entry.header.txCount,
    )!;
    const logSize = Number(block.header.logSize);
    const receiptLog = new MerkleLog({ hash: suite.hash });
    for (const encoded of executions.slice(block.first, block.first + block.header.txCount)) {
      receiptLog.append(receiptHashOfEncoded(encoded, suite.hash));
    }
    return {
      chainId: CHAIN_ID,
      transaction: transactions[logIndex]!,
      hash: hashes[logIndex]!,
      height: block.header.height,
      indexInBlock: logIndex - block.first,
      logIndex,
      logSize: block.header.logSize,
      inclusionProof: log.inclusionProof(logIndex, logSize),
      header: block.header,
      encodedHeader: encodeBlockHeader(block.header),
      certificate: block.certificate,
      encodedCertificate: encodeCommitCertificate(block.certificate),
      validatorSet: block.set,
      result:
        logIndex === 3
          ? // The human message is not committed to (only the code is), so the fixture has none.
            { ok: false, errorCode: "NOTARY_ALREADY_ANCHORED", errorMessage: null }
          : { ok: true, errorCode: null, errorMessage: null },
      execution: {
        receipt: executions[logIndex]!,
        proof: receiptLog.inclusionProof(logIndex - block.first, block.header.txCount),
      },
    };
  };
  const links: HeaderLink[] = blocks.map((block) => ({
    header: block.header,
    certificate: block.certificate,
    validatorSet: block.set,
  }));
  return { s0, s1, blocks, links, receiptOf, s1Keys: s1.keys };
}

const chain = buildChain();
const trustS0 = { chainId: CHAIN_ID, validatorSet: chain.s0.set };
const trustS1 = { chainId: CHAIN_ID, validatorSet: chain.s1.set };
/** The native suite for the many property runs; the default (portable) suite elsewhere. */
const fast = { suite: ed25519Suite };

function codeOf(receipt: TransactionReceipt, trust: ReceiptTrust = trustS1, options = fast): string {
  const verdict = verifyReceipt(receipt, trust, options);
  return verdict.ok ? "OK" : verdict.code;
}

function flipped(bytes: Uint8Array, position: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[position % copy.length]! ^= 1 << (position % 8);
  return copy;
}

describe("verifyReceipt accepts correct receipts", () => {
  it("every transaction of a block signed by the trusted set (portable suite)", () => {
    for (const logIndex of [0, 1])
      assert.deepEqual(verifyReceipt(chain.receiptOf(logIndex), trustS0), { ok: true });
    for (const logIndex of [2, 3, 4])
      assert.deepEqual(verifyReceipt(chain.receiptOf(logIndex), trustS1), { ok: true });
  });

  it("without its execution receipt, inclusion alone", () => {
    assert.deepEqual(verifyReceipt({ ...chain.receiptOf(4), execution: null }, trustS1), { ok: true });
  });

  it("after a JSON round trip", () => {
    const json = JSON.parse(JSON.stringify(receiptToJson(chain.receiptOf(3))));
    assert.equal(json.height, "2");
    assert.deepEqual(verifyReceipt(receiptFromJson(json), trustS1), { ok: true });
  });

  it("through a header chain from an earlier trusted set, to the block or the one below it", () => {
    const receipt = chain.receiptOf(3);
    assert.equal(codeOf(receipt, trustS0), "RECEIPT_VALIDATOR_SET_UNTRUSTED");
    assert.equal(codeOf(receipt, { ...trustS0, headerChain: chain.links.slice(0, 1) }), "OK");
    assert.equal(codeOf(receipt, { ...trustS0, headerChain: chain.links }), "OK");
  });
});

describe("verifyReceipt refuses tampering", () => {
  const receipt = chain.receiptOf(3);

  it("names each kind of damage with its code", () => {
    const header = receipt.header;
    const cases: Array<[string, TransactionReceipt, string]> = [
      ["hash", { ...receipt, hash: flipped(receipt.hash, 5) }, "RECEIPT_TX_HASH_MISMATCH"],
      [
        "signature of the tx",
        { ...receipt, transaction: flipped(receipt.transaction, receipt.transaction.length - 3) },
        "RECEIPT_TX_HASH_MISMATCH",
      ],
      [
        "other transaction",
        { ...receipt, transaction: chain.receiptOf(2).transaction },
        "RECEIPT_TX_HASH_MISMATCH",
      ],
      [
        "truncated transaction",
        { ...receipt, transaction: receipt.transaction.subarray(0, 10) },
        "RECEIPT_MALFORMED",
      ],
      ["log index", { ...receipt, logIndex: 2, indexInBlock: 0 }, "RECEIPT_INCLUSION_INVALID"],
      ["index in block", { ...receipt, indexInBlock: 0 }, "RECEIPT_INCLUSION_INVALID"],
      ["log index of another block", { ...receipt, logIndex: 0 }, "RECEIPT_INCLUSION_INVALID"],
      [
        "proof hash",
        {
          ...receipt,
          inclusionProof: [flipped(receipt.inclusionProof[0]!, 1), ...receipt.inclusionProof.slice(1)],
        },
        "RECEIPT_INCLUSION_INVALID",
      ],
      [
        "proof shortened",
        { ...receipt, inclusionProof: receipt.inclusionProof.slice(1) },
        "RECEIPT_INCLUSION_INVALID",
      ],
      [
        "proof lengthened",
        { ...receipt, inclusionProof: [...receipt.inclusionProof, receipt.hash] },
        "RECEIPT_INCLUSION_INVALID",
      ],
      [
        "result claimed ok while the execution receipt says failed",
        { ...receipt, result: { ok: true, errorCode: null, errorMessage: null } },
        "RECEIPT_EXECUTION_INVALID",
      ],
      [
        "another transaction's execution receipt",
        { ...receipt, execution: { ...receipt.execution!, receipt: chain.receiptOf(2).execution!.receipt } },
        "RECEIPT_EXECUTION_INVALID",
      ],
      [
        "execution receipt with a byte flipped (gas, code or events)",
        {
          ...receipt,
          execution: {
            ...receipt.execution!,
            receipt: flipped(receipt.execution!.receipt, receipt.execution!.receipt.length - 2),
          },
        },
        "RECEIPT_EXECUTION_INVALID",
      ],
      [
        "execution proof shortened",
        { ...receipt, execution: { ...receipt.execution!, proof: receipt.execution!.proof.slice(1) } },
        "RECEIPT_EXECUTION_INVALID",
      ],
      ["height", { ...receipt, height: 1n }, "RECEIPT_HEADER_MISMATCH"],
      ["log size", { ...receipt, logSize: 4n }, "RECEIPT_HEADER_MISMATCH"],
      [
        "header without its encoding",
        { ...receipt, header: { ...header, logRoot: flipped(header.logRoot, 0) } },
        "RECEIPT_HEADER_MISMATCH",
      ],
      [
        "encodedCertificate",
        { ...receipt, encodedCertificate: flipped(receipt.encodedCertificate, 20) },
        "RECEIPT_HEADER_MISMATCH",
      ],
      ["wrong chain in the receipt", { ...receipt, chainId: "other-city-1" }, "RECEIPT_WRONG_CHAIN"],
      ["validator set of the receipt", { ...receipt, validatorSet: chain.s0.set }, "RECEIPT_HEADER_MISMATCH"],
    ];
    for (const [what, damaged, code] of cases) assert.equal(codeOf(damaged), code, what);
  });

  it("a header changed together with its encoding no longer matches the certificate", () => {
    const header = { ...receipt.header, stateRoot: flipped(receipt.header.stateRoot, 3) };
    const damaged = { ...receipt, header, encodedHeader: encodeBlockHeader(header) };
    assert.equal(codeOf(damaged), "RECEIPT_BLOCK_HASH_MISMATCH");
    const logRoot = { ...receipt.header, logRoot: flipped(receipt.header.logRoot, 3) };
    assert.equal(
      codeOf({ ...receipt, header: logRoot, encodedHeader: encodeBlockHeader(logRoot) }),
      "RECEIPT_BLOCK_HASH_MISMATCH",
    );
  });

  it("a certificate with a bad signature, too few signers, or re-signed for another header", () => {
    const { certificate } = receipt;
    const badSignature = {
      ...certificate,
      signatures: certificate.signatures.map((entry, index) =>
        index === 1 ? { ...entry, signature: flipped(entry.signature, 9) } : entry,
      ),
    };
    const twoOfFour = { ...certificate, signatures: certificate.signatures.slice(0, 2) };
    for (const damaged of [badSignature, twoOfFour]) {
      assert.equal(
        codeOf({ ...receipt, certificate: damaged, encodedCertificate: encodeCommitCertificate(damaged) }),
        "RECEIPT_CERTIFICATE_INVALID",
      );
    }
    // Signed by keys that are not the set's: a forged block with a forged certificate.
    const forgedHeader = { ...receipt.header, timeMs: receipt.header.timeMs + 1n };
    const forged = certify(forgedHeader, keysOf("mallory", 4), [0, 1, 2]);
    const forgedReceipt = {
      ...receipt,
      header: forgedHeader,
      encodedHeader: encodeBlockHeader(forgedHeader),
      certificate: forged,
      encodedCertificate: encodeCommitCertificate(forged),
    };
    assert.equal(codeOf(forgedReceipt), "RECEIPT_CERTIFICATE_INVALID");
  });

  it("trust in another chain, another set, or a broken header chain", () => {
    assert.equal(codeOf(receipt, { ...trustS1, chainId: "other-city-1" }), "RECEIPT_WRONG_CHAIN");
    assert.equal(codeOf(receipt, trustS0), "RECEIPT_VALIDATOR_SET_UNTRUSTED");
    const [first] = chain.links;
    const brokenLink = {
      ...first!,
      certificate: { ...first!.certificate, signatures: first!.certificate.signatures.slice(0, 1) },
    };
    assert.equal(codeOf(receipt, { ...trustS0, headerChain: [brokenLink] }), "RECEIPT_HEADER_CHAIN_INVALID");
    assert.equal(codeOf(receipt, { ...trustS1, headerChain: chain.links }), "RECEIPT_HEADER_CHAIN_INVALID");
    assert.equal(codeOf(receipt, { ...trustS0, headerChain: [] }), "RECEIPT_TRUST_INVALID");
    const otherBlock2 = { ...chain.links[1]!, header: { ...chain.links[1]!.header, timeMs: 5n } };
    assert.equal(
      codeOf(receipt, { ...trustS0, headerChain: [chain.links[0]!, otherBlock2] }),
      "RECEIPT_HEADER_CHAIN_INVALID",
    );
  });

  it("malformed input, never a throw", () => {
    const malformed: unknown[] = [
      null,
      {},
      { ...receipt, hash: "00" },
      { ...receipt, inclusionProof: null },
      { ...receipt, header: 5 },
    ];
    for (const value of malformed) assert.equal(codeOf(value as TransactionReceipt), "RECEIPT_MALFORMED");
    assert.equal(codeOf(receipt, null as never), "RECEIPT_TRUST_INVALID");
    assert.equal(
      codeOf(receipt, { chainId: CHAIN_ID, validatorSet: { suite: "rot13", validators: [] } } as never),
      "RECEIPT_TRUST_INVALID",
    );
  });

  it("any byte flipped anywhere in the receipt's JSON is refused or refused as unreadable (property)", () => {
    const json = receiptToJson(receipt);
    const text = JSON.stringify(json);
    // Positions inside hex strings and decimal strings: where a flip still parses as JSON.
    const positions: number[] = [];
    for (let index = 0; index < text.length; index++)
      if (/[0-9a-f]/.test(text[index]!)) positions.push(index);
    fc.assert(
      fc.property(
        fc.constantFrom(...positions),
        fc.constantFrom(..."0123456789abcdef"),
        (position, replacement) => {
          if (text[position] === replacement) return;
          const damagedText = `${text.slice(0, position)}${replacement}${text.slice(position + 1)}`;
          let damaged: TransactionReceipt;
          try {
            damaged = receiptFromJson(JSON.parse(damagedText));
          } catch {
            return; // Refused as unreadable: as good as refused.
          }
          const verdict = verifyReceipt(damaged, trustS1, fast);
          // The execution result is not committed to by the header: only its text may change freely.
          if (verdict.ok)
            assert.fail(`a flip at ${position} (${text.slice(position - 20, position + 5)}) verified`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("structural mutations are refused (property)", () => {
    const mutation = fc.oneof(
      fc.nat().map((position) => ({ ...receipt, hash: flipped(receipt.hash, position) })),
      fc.nat().map((position) => ({ ...receipt, transaction: flipped(receipt.transaction, position) })),
      fc
        .integer({ min: 0, max: 40 })
        .filter((index) => index !== 3)
        .map((logIndex) => ({ ...receipt, logIndex })),
      fc.tuple(fc.nat(receipt.inclusionProof.length - 1), fc.nat()).map(([which, position]) => ({
        ...receipt,
        inclusionProof: receipt.inclusionProof.map((hash, index) =>
          index === which ? flipped(hash, position) : hash,
        ),
      })),
      fc.nat().map((position) => {
        const header = { ...receipt.header, logRoot: flipped(receipt.header.logRoot, position) };
        return { ...receipt, header, encodedHeader: encodeBlockHeader(header) };
      }),
      fc.tuple(fc.nat(2), fc.nat()).map(([which, position]) => {
        const certificate = {
          ...receipt.certificate,
          signatures: receipt.certificate.signatures.map((entry, index) =>
            index === which ? { ...entry, signature: flipped(entry.signature, position) } : entry,
          ),
        };
        return { ...receipt, certificate, encodedCertificate: encodeCommitCertificate(certificate) };
      }),
      fc
        .bigInt({ min: 0n, max: 1n << 40n })
        .filter((height) => height !== 2n)
        .map((height) => ({ ...receipt, height })),
    );
    fc.assert(
      fc.property(mutation, (damaged) => {
        const verdict = verifyReceipt(damaged, trustS1, fast);
        assert.equal(verdict.ok, false, `verified: ${bytesToHex(damaged.hash).slice(0, 8)}`);
      }),
      { numRuns: 200 },
    );
  });
});
