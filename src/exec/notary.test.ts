import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../base/bytes.ts";
import { fail, ok } from "../base/errors.ts";
import { encodeValue, type Value } from "../encoding/value.ts";
import type { ContractContext } from "./contract.ts";
import { ExecutionError } from "./errors.ts";
import { readNonce } from "./nonce.ts";
import {
  decodeNotaryRecord,
  encodeNotaryRecord,
  notaryContract,
  notaryRecordJson,
  notaryRecordKeyOf,
  notaryRecordValue,
  parseAnchorArgs,
  readNotaryRecord,
} from "./notary.ts";
import { anchorArgs, documentHashOf, signerOf, suite, TestChain, validTransaction } from "./test-fixtures.ts";

const alice = signerOf(1);
const bob = signerOf(2);

describe("notary: anchor, look up, revoke", () => {
  it("anchors a document with its signer, height, time and transaction hash", () => {
    const chain = new TestChain();
    const anchor = validTransaction(alice, {
      nonce: 0n,
      args: anchorArgs(7, { description: "Approved.\nTwo abstentions.", uri: "https://city.example/m/7" }),
    });
    const outcome = chain.execute([anchor]);
    assert.equal(outcome.receipts.length, 1);
    assert.equal(outcome.receipts[0]!.status, "ok");
    assert.equal(outcome.receipts[0]!.errorCode, null);
    assert.equal(outcome.errors[0], null);
    assert.equal(outcome.events.length, 1);
    assert.equal(outcome.events[0]!.type, "anchored");
    assert.equal(outcome.events[0]!.contract, "notary");
    assert.equal(outcome.updates.length, 2, "the nonce and the record");

    const record = readNotaryRecord(chain.tree, suite.hash, documentHashOf(7));
    assert.ok(record !== undefined);
    assert.deepEqual(record.anchor.signer, alice.keyId);
    assert.equal(record.anchor.height, 1n);
    assert.equal(record.anchor.timeMs, 1_767_225_601_000n);
    assert.deepEqual(record.anchor.txHash, anchor.hash);
    assert.equal(record.algorithm, "sha256");
    assert.equal(record.documentType, "minutes");
    assert.equal(record.description, "Approved.\nTwo abstentions.");
    assert.equal(record.uri, "https://city.example/m/7");
    assert.equal(record.revocation, null);
    assert.deepEqual(
      outcome.events[0]!.data,
      encodeValue({ ...notaryRecordValue(record), key: record.documentHash }),
      "the event carries the record, keyed by the document hash",
    );
    assert.equal(readNonce(chain.tree, suite.hash, alice.keyId), 1n);
    assert.equal(readNonce(chain.tree, suite.hash, bob.keyId), 0n);
  });

  it("looks up by document hash: a state read; an unknown hash is undefined", () => {
    const chain = new TestChain();
    chain.execute([validTransaction(alice, { nonce: 0n, args: anchorArgs(7) })]);
    assert.equal(readNotaryRecord(chain.tree, suite.hash, documentHashOf(8)), undefined);
    const raw = chain.tree.get(notaryRecordKeyOf(suite.hash, documentHashOf(7)));
    assert.ok(raw !== undefined);
    const json = notaryRecordJson(decodeNotaryRecord(raw));
    assert.equal(json.documentHash, bytesToHex(documentHashOf(7)));
    assert.equal(json.anchor.height, "1");
    assert.equal(json.description, null);
    assert.equal(json.revocation, null);
    assert.doesNotThrow(() => JSON.stringify(json));
  });

  it("revokes by the original signer and keeps the anchor", () => {
    const chain = new TestChain();
    chain.execute([validTransaction(alice, { nonce: 0n, args: anchorArgs(7) })]);
    const revoke = validTransaction(alice, {
      nonce: 1n,
      method: "revoke",
      args: { documentHash: documentHashOf(7), reason: "superseded by the minutes of 03-09" },
    });
    const outcome = chain.execute([revoke]);
    assert.equal(outcome.receipts[0]!.status, "ok");
    assert.equal(outcome.events[0]!.type, "revoked");
    const record = readNotaryRecord(chain.tree, suite.hash, documentHashOf(7));
    assert.ok(record?.revocation);
    assert.equal(record.anchor.height, 1n, "history kept");
    assert.equal(record.revocation.height, 2n);
    assert.deepEqual(record.revocation.signer, alice.keyId);
    assert.deepEqual(record.revocation.txHash, revoke.hash);
    assert.equal(record.revocation.reason, "superseded by the minutes of 03-09");
  });

  it("anchoring the same hash twice fails with NOTARY_ALREADY_ANCHORED; the nonce is consumed", () => {
    const chain = new TestChain();
    chain.execute([validTransaction(alice, { nonce: 0n, args: anchorArgs(7) })]);
    const rootBefore = chain.tree.root;
    const again = chain.execute([
      validTransaction(bob, { nonce: 0n, args: anchorArgs(7, { title: "A forgery" }) }),
      validTransaction(alice, { nonce: 1n, args: anchorArgs(7) }),
    ]);
    assert.deepEqual(
      again.receipts.map((receipt) => [receipt.status, receipt.errorCode]),
      [
        ["failed", "NOTARY_ALREADY_ANCHORED"],
        ["failed", "NOTARY_ALREADY_ANCHORED"],
      ],
    );
    assert.equal(again.errors[0]?.details.anchoredAtHeight, 1n);
    assert.equal(again.events.length, 0, "a failed transaction keeps no events");
    assert.equal(again.updates.length, 2, "only the two nonces");
    assert.notDeepEqual(chain.tree.root, rootBefore, "the nonces changed");
    assert.equal(readNotaryRecord(chain.tree, suite.hash, documentHashOf(7))?.title, anchorArgs(7).title);
    assert.equal(readNonce(chain.tree, suite.hash, bob.keyId), 1n);
    assert.equal(readNonce(chain.tree, suite.hash, alice.keyId), 2n);
  });

  it("a duplicate inside one block fails too: the second sees the first's write", () => {
    const chain = new TestChain();
    const outcome = chain.execute([
      validTransaction(alice, { nonce: 0n, args: anchorArgs(9) }),
      validTransaction(bob, { nonce: 0n, args: anchorArgs(9) }),
    ]);
    assert.deepEqual(
      outcome.receipts.map((receipt) => receipt.errorCode),
      [null, "NOTARY_ALREADY_ANCHORED"],
    );
    assert.deepEqual(readNotaryRecord(chain.tree, suite.hash, documentHashOf(9))?.anchor.signer, alice.keyId);
  });

  it("revoke refusals: not found, not the signer, already revoked, and a revoked hash stays anchored", () => {
    const chain = new TestChain();
    chain.execute([validTransaction(alice, { nonce: 0n, args: anchorArgs(7) })]);
    const revokeArgs = { documentHash: documentHashOf(7) };
    const outcome = chain.execute([
      validTransaction(bob, { nonce: 0n, method: "revoke", args: { documentHash: documentHashOf(8) } }),
      validTransaction(bob, { nonce: 1n, method: "revoke", args: revokeArgs }),
      validTransaction(alice, { nonce: 1n, method: "revoke", args: revokeArgs }),
      validTransaction(alice, { nonce: 2n, method: "revoke", args: revokeArgs }),
      validTransaction(alice, { nonce: 3n, args: anchorArgs(7) }),
    ]);
    assert.deepEqual(
      outcome.receipts.map((receipt) => receipt.errorCode),
      ["NOTARY_NOT_FOUND", "NOTARY_NOT_SIGNER", null, "NOTARY_ALREADY_REVOKED", "NOTARY_ALREADY_ANCHORED"],
    );
    const record = readNotaryRecord(chain.tree, suite.hash, documentHashOf(7));
    assert.equal(record?.revocation?.reason, null);
  });
});

describe("notary: arguments", () => {
  const cases: ReadonlyArray<[string, Value, string, string | undefined]> = [
    ["a list", [1n], "EXEC_ARGS_NOT_A_MAP", undefined],
    ["null", null, "EXEC_ARGS_NOT_A_MAP", undefined],
    ["an extra field", anchorArgs(1, { owner: "x" }), "EXEC_ARGS_FIELD_UNKNOWN", "owner"],
    [
      "no hash",
      { algorithm: "sha256", title: "t", documentType: "permit" },
      "EXEC_ARGS_FIELD_MISSING",
      "documentHash",
    ],
    [
      "a text hash",
      anchorArgs(1, { documentHash: "ab".repeat(32) }),
      "EXEC_ARGS_FIELD_WRONG_TYPE",
      "documentHash",
    ],
    [
      "a short hash",
      anchorArgs(1, { documentHash: new Uint8Array(31) }),
      "EXEC_ARGS_FIELD_INVALID",
      "documentHash",
    ],
    ["md5", anchorArgs(1, { algorithm: "md5" }), "NOTARY_ALGORITHM_UNSUPPORTED", "algorithm"],
    ["an empty title", anchorArgs(1, { title: "" }), "EXEC_ARGS_FIELD_INVALID", "title"],
    ["a long title", anchorArgs(1, { title: "题".repeat(86) }), "EXEC_ARGS_FIELD_TOO_LONG", "title"],
    ["a title with a newline", anchorArgs(1, { title: "a\nb" }), "EXEC_ARGS_FIELD_INVALID", "title"],
    [
      "an upper-case type",
      anchorArgs(1, { documentType: "Permit" }),
      "EXEC_ARGS_FIELD_INVALID",
      "documentType",
    ],
    ["an integer type", anchorArgs(1, { documentType: 3n }), "EXEC_ARGS_FIELD_WRONG_TYPE", "documentType"],
    ["a null description", anchorArgs(1, { description: null }), "EXEC_ARGS_FIELD_WRONG_TYPE", "description"],
    [
      "a bell in the description",
      anchorArgs(1, { description: "\u0007" }),
      "EXEC_ARGS_FIELD_INVALID",
      "description",
    ],
    ["a URI without scheme", anchorArgs(1, { uri: "city.example/x" }), "EXEC_ARGS_FIELD_INVALID", "uri"],
    ["a URI with a space", anchorArgs(1, { uri: "https://a b" }), "EXEC_ARGS_FIELD_INVALID", "uri"],
    ["a long URI", anchorArgs(1, { uri: `https://${"a".repeat(1020)}` }), "EXEC_ARGS_FIELD_TOO_LONG", "uri"],
  ];

  for (const [name, args, code, field] of cases) {
    it(`anchor with ${name}: ${code}, and nothing but the nonce changes`, () => {
      const chain = new TestChain();
      const outcome = chain.execute([validTransaction(alice, { nonce: 0n, args })]);
      assert.equal(outcome.receipts[0]!.status, "failed");
      assert.equal(outcome.receipts[0]!.errorCode, code);
      const error = outcome.errors[0];
      assert.ok(error);
      assert.equal(error.name, "ExecutionError");
      assert.equal(error.details.field, field);
      assert.ok(error.message.length > 0);
      assert.equal(outcome.updates.length, 1, "only the nonce");
      assert.equal(outcome.events.length, 0);
    });
  }

  it("text that is not well-formed (a lone surrogate, never decoded from bytes) is refused", () => {
    const parsed = parseAnchorArgs(anchorArgs(1, { title: "a\ud800" }));
    assert.ok(!parsed.ok);
    assert.equal(parsed.error.code, "EXEC_ARGS_FIELD_INVALID");
    assert.equal(parsed.error.details.field, "title");
  });

  it("the longest allowed fields fit (a 256-byte title of three-byte characters)", () => {
    const chain = new TestChain();
    const outcome = chain.execute([
      validTransaction(alice, {
        nonce: 0n,
        args: anchorArgs(1, {
          title: "题".repeat(85),
          description: "d".repeat(2048),
          uri: `urn:${"u".repeat(1020)}`,
          documentType: `r${"e".repeat(31)}`,
          algorithm: "sm3",
        }),
      }),
      validTransaction(alice, {
        nonce: 1n,
        method: "revoke",
        args: { documentHash: documentHashOf(1), reason: "r".repeat(512) },
      }),
    ]);
    assert.deepEqual(
      outcome.receipts.map((receipt) => receipt.errorCode),
      [null, null],
    );
  });

  it("unknown contracts and methods fail with their codes", () => {
    const chain = new TestChain();
    const outcome = chain.execute([
      validTransaction(alice, { nonce: 0n, contract: "permits", args: anchorArgs(1) }),
      validTransaction(alice, { nonce: 1n, method: "Anchor", args: anchorArgs(1) }),
    ]);
    assert.deepEqual(
      outcome.receipts.map((receipt) => receipt.errorCode),
      ["EXEC_CONTRACT_UNKNOWN", "EXEC_METHOD_UNKNOWN"],
    );
  });
});

/** Any canonical value, shallow enough to be quick, biased toward near-valid notary args. */
const valueArbitrary: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom(
        "algorithm",
        "documentHash",
        "title",
        "documentType",
        "description",
        "uri",
        "reason",
        "x",
      ),
      fc.oneof(
        tie("value"),
        fc.constantFrom<Value>("sha256", "sm3", "permit", "https://a.example/", new Uint8Array(32)),
      ),
      { maxKeys: 7 },
    ),
  ),
})).value;

function recordingContext(): ContractContext & { writes: number; emits: number } {
  const tables = new Map<string, Uint8Array>();
  const context = {
    chainId: "test-city-1",
    height: 5n,
    timeMs: 1_000n,
    txHash: new Uint8Array(32).fill(3),
    txIndex: 0,
    senderKeyId: new Uint8Array(32).fill(4),
    writes: 0,
    emits: 0,
    state: {
      get: (table: string, id: Uint8Array) => tables.get(table + bytesToHex(id)),
      set: (table: string, id: Uint8Array, value: Uint8Array) => {
        context.writes += 1;
        tables.set(table + bytesToHex(id), value);
      },
      delete: (table: string, id: Uint8Array) => {
        context.writes += 1;
        tables.delete(table + bytesToHex(id));
      },
    },
    emit: () => {
      context.emits += 1;
    },
    caller: { keyId: new Uint8Array(32).fill(4), contract: null, member: null },
    readOnly: false,
    gasRemaining: 1_000_000n,
    chargeGas: () => true,
    call: () => fail(new ExecutionError("EXEC_CONTRACT_UNKNOWN", "no calls in this test")),
    require: () => ok(undefined),
  };
  return context;
}

describe("notary: any arguments", () => {
  it("never throws out of execute; a failure writes and emits nothing", () => {
    fc.assert(
      fc.property(fc.constantFrom("anchor", "revoke", "other"), valueArbitrary, (method, args) => {
        const context = recordingContext();
        const outcome = notaryContract.execute(context, method, args);
        if (!outcome.ok) {
          assert.equal(outcome.error.name, "ExecutionError");
          assert.match(outcome.error.code, /^(EXEC|NOTARY)_[A-Z_]+$/);
          assert.equal(context.writes, 0);
          assert.equal(context.emits, 0);
        } else {
          assert.equal(context.writes, 1);
          assert.equal(context.emits, 1);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("a record decodes to itself after encoding", () => {
    const record = decodeNotaryRecord(
      encodeNotaryRecord({
        algorithm: "sm3",
        documentHash: documentHashOf(5),
        title: "Permit 2026-17",
        documentType: "permit",
        description: null,
        uri: "urn:lanhai:permit:2026-17",
        anchor: { signer: alice.keyId, height: 3n, timeMs: 9n, txHash: documentHashOf(6) },
        revocation: { signer: alice.keyId, height: 4n, timeMs: 10n, txHash: documentHashOf(8), reason: null },
      }),
    );
    assert.equal(record.uri, "urn:lanhai:permit:2026-17");
    assert.equal(record.revocation?.height, 4n);
  });
});
