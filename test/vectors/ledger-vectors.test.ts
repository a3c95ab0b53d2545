import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { hexToBytes } from "../../src/base/bytes.ts";
import { suiteByName } from "../../src/crypto/index.ts";
import { portableSuiteByName } from "../../src/crypto/portable.ts";
import {
  decodeBlockHeader,
  decodeCommitCertificate,
  decodeTransaction,
  decodeValidatorSet,
  verifyCommit,
} from "../../src/ledger/index.ts";
import { verifyCommit as verifyCommitInBrowser } from "../../src/sdk/index.ts";
import { buildLedgerVectors } from "./ledger-vectors.ts";

const pinned = JSON.parse(readFileSync(new URL("./ledger.json", import.meta.url), "utf8"));

it("the checked-in vectors equal what the code produces, byte for byte", () => {
  assert.deepEqual(buildLedgerVectors(), pinned);
});

it("the vectors decode, and their signatures and certificates verify with both crypto implementations", () => {
  for (const vectors of pinned.suites) {
    const transaction = decodeTransaction(hexToBytes(vectors.transaction.encoded));
    for (const suite of [suiteByName(vectors.suite), portableSuiteByName(vectors.suite)]) {
      assert.ok(
        suite.verify(
          transaction.senderPublicKey,
          hexToBytes(vectors.transaction.signingBytes),
          transaction.signature,
        ),
      );
      const header = decodeBlockHeader(hexToBytes(vectors.blockHeader.encoded));
      const certificate = decodeCommitCertificate(hexToBytes(vectors.commitCertificate.encoded));
      const validatorSet = decodeValidatorSet(hexToBytes(vectors.validatorSet.encoded));
      assert.ok(verifyCommit(header, certificate, validatorSet, suite));
      assert.ok(verifyCommitInBrowser(header, certificate, validatorSet));
    }
  }
});
