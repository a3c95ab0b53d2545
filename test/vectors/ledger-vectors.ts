/**
 * Builds the ledger's known-answer vectors from fixed inputs. `npm run vectors` writes them to
 * test/vectors/ledger.json (checked in); test/vectors/ledger-vectors.test.ts rebuilds them and
 * compares every byte, so any change to an encoding, a domain tag or a hash fails the build.
 * Another implementation can check itself against the JSON alone.
 */
import { bytesToHex } from "../../src/base/bytes.ts";
import { type SignatureSuite, suiteByName } from "../../src/crypto/index.ts";
import { encodeValue, type Value } from "../../src/encoding/index.ts";
import {
  type BlockHeader,
  blockHash,
  type CommitCertificate,
  canonicalValidatorSet,
  commitCertificateHash,
  encodeBlockHeader,
  encodeCommitCertificate,
  encodeTransaction,
  encodeValidatorSet,
  evidenceRoot,
  keyIdOf,
  signTransaction,
  transactionHash,
  transactionRoot,
  transactionSigningBytes,
  VOTE_TYPE,
  validatorSetHash,
  voteSigningBytes,
} from "../../src/ledger/index.ts";

function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export const SAMPLE_VALUE: Value = {
  title: "Permit 2026-0042: street vendor licence",
  documentHash: new Uint8Array(32).fill(0xab),
  pages: 3n,
  public: true,
  tags: ["permits", "district-7"],
};

function suiteVectors(suite: SignatureSuite) {
  const sender = suite.keyPairFromSeed(seed(0x11));
  const unsigned = {
    chainId: "example-city-1",
    nonce: 7n,
    expiryHeight: 1000n,
    contract: "notary",
    method: "anchor",
    args: SAMPLE_VALUE,
    privateReferences: [new Uint8Array(32).fill(0xcd)],
  };
  const transaction = signTransaction(suite, sender.privateKey, unsigned);
  const encodedTransaction = encodeTransaction(transaction);

  const validatorKeys = [0x21, 0x22, 0x23, 0x24].map((byte) => suite.keyPairFromSeed(seed(byte)));
  const validatorSet = canonicalValidatorSet(
    suite.name,
    validatorKeys.map((key, index) => ({ publicKey: key.publicKey, power: BigInt(10 * (index + 1)) })),
  );
  const setHash = validatorSetHash(validatorSet, suite);
  const header: BlockHeader = {
    chainId: "example-city-1",
    height: 42n,
    timeMs: 1_795_000_000_000n,
    previousBlockHash: new Uint8Array(32).fill(0x01),
    previousCommitHash: new Uint8Array(32).fill(0x02),
    txRoot: transactionRoot([encodedTransaction], suite.hash),
    txCount: 1,
    logRoot: new Uint8Array(32).fill(0x03),
    logSize: 1234n,
    stateRoot: new Uint8Array(32).fill(0x04),
    receiptRoot: new Uint8Array(32).fill(0x09),
    validatorSetHash: setHash,
    nextValidatorSetHash: setHash,
    evidenceRoot: evidenceRoot([], suite.hash),
    proposer: keyIdOf(suite, validatorSet.validators[0]!.publicKey),
  };
  const hashOfBlock = blockHash(header, suite.hash);
  const precommit = voteSigningBytes({
    chainId: header.chainId,
    type: VOTE_TYPE.precommit,
    height: header.height,
    round: 2,
    blockHash: hashOfBlock,
  });
  const privateKeyOf = (publicKey: Uint8Array) =>
    validatorKeys.find((key) => bytesToHex(key.publicKey) === bytesToHex(publicKey))!.privateKey;
  const certificate: CommitCertificate = {
    height: header.height,
    round: 2,
    blockHash: hashOfBlock,
    // Everyone but the weakest validator (power 10 of 100) signs: 90 > 2/3 of 100.
    signatures: [0, 1, 2, 3]
      .filter((validatorIndex) => validatorSet.validators[validatorIndex]!.power !== 10n)
      .map((validatorIndex) => ({
        validatorIndex,
        signature: suite.sign(privateKeyOf(validatorSet.validators[validatorIndex]!.publicKey), precommit),
      })),
  };
  return {
    suite: suite.name,
    sender: {
      seed: bytesToHex(seed(0x11)),
      publicKey: bytesToHex(sender.publicKey),
      keyId: bytesToHex(keyIdOf(suite, sender.publicKey)),
    },
    transaction: {
      fields: {
        chainId: unsigned.chainId,
        nonce: unsigned.nonce.toString(),
        expiryHeight: unsigned.expiryHeight.toString(),
        contract: unsigned.contract,
        method: unsigned.method,
        args: bytesToHex(encodeValue(unsigned.args)),
        privateReferences: unsigned.privateReferences.map(bytesToHex),
      },
      signingBytes: bytesToHex(transactionSigningBytes(transaction)),
      signature: bytesToHex(transaction.signature),
      encoded: bytesToHex(encodedTransaction),
      hash: bytesToHex(transactionHash(transaction, suite.hash)),
    },
    validatorSet: {
      validatorSeeds: [0x21, 0x22, 0x23, 0x24].map((byte) => bytesToHex(seed(byte))),
      powers: ["10", "20", "30", "40"],
      encoded: bytesToHex(encodeValidatorSet(validatorSet)),
      hash: bytesToHex(setHash),
    },
    blockHeader: {
      encoded: bytesToHex(encodeBlockHeader(header)),
      hash: bytesToHex(hashOfBlock),
    },
    precommitSigningBytes: bytesToHex(precommit),
    commitCertificate: {
      encoded: bytesToHex(encodeCommitCertificate(certificate)),
      hash: bytesToHex(commitCertificateHash(certificate, suite.hash)),
    },
  };
}

export function buildLedgerVectors() {
  return {
    description:
      "CityLedger ledger known-answer vectors; see docs/PROTOCOL.md. Seeds are 32 bytes of the given value.",
    canonicalValue: { encoded: bytesToHex(encodeValue(SAMPLE_VALUE)) },
    suites: [suiteVectors(suiteByName("ed25519")), suiteVectors(suiteByName("sm2-sm3"))],
  };
}
