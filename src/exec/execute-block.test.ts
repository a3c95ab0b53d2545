import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ok } from "../base/errors.ts";
import { BLOCK_TXS_MAX } from "../base/limits.ts";
import { sm2Sm3Suite } from "../crypto/sm2-sm3.ts";
import { BLOCK_EVENTS_MAX, EVENT_DATA_BYTES_MAX, EVENT_TYPE_BYTES_MAX } from "../storage/limits.ts";
import { createContractRegistry, type SystemContract } from "./contract.ts";
import { executeBlock } from "./execute-block.ts";
import {
  EVENT_TYPE_BYTES_MAX as EXEC_EVENT_TYPE_BYTES_MAX,
  TX_EVENTS_DATA_BYTES_MAX,
  TX_EVENTS_MAX,
  TX_STATE_WRITE_BYTES_MAX,
} from "./limits.ts";
import { readNonce } from "./nonce.ts";
import { encodeReceipt } from "./receipt.ts";
import { StateOverlay } from "./state-view.ts";
import {
  anchorArgs,
  blockContext,
  documentHashOf,
  signerOf,
  suite,
  TestChain,
  validTransaction,
} from "./test-fixtures.ts";

const alice = signerOf(1);
const bob = signerOf(2);
const carol = signerOf(3);

describe("executeBlock: block rules", () => {
  it("a nonce out of sequence makes the block invalid and names the transaction", () => {
    const chain = new TestChain();
    const cases = [
      { name: "a gap", nonces: [0n, 2n], index: 1 },
      { name: "a replay inside the block", nonces: [0n, 0n], index: 1 },
      { name: "a first nonce that is not 0", nonces: [1n], index: 0 },
    ];
    for (const { name, nonces, index } of cases) {
      const outcome = chain.tryExecute(
        nonces.map((nonce, position) => validTransaction(alice, { nonce, args: anchorArgs(position + 1) })),
      );
      assert.ok(!outcome.ok, name);
      assert.equal(outcome.error.name, "BlockInvalidError");
      assert.equal(outcome.error.code, "BLOCK_NONCE_MISMATCH", name);
      assert.equal(outcome.error.transactionIndex, index, name);
      assert.equal(chain.height, 0n, "nothing applied");
    }
    chain.execute([validTransaction(alice, { nonce: 0n, args: anchorArgs(1) })]);
    const replay = chain.tryExecute([validTransaction(alice, { nonce: 0n, args: anchorArgs(2) })]);
    assert.ok(!replay.ok);
    assert.equal(replay.error.details.nonceExpected, 1n);
  });

  it("another chain's, another suite's and expired transactions make the block invalid", () => {
    const state = new TestChain().tree;
    const wrongChain = executeBlock(
      blockContext(5n),
      [validTransaction(alice, { nonce: 0n, chainId: "other-city" })],
      state,
    );
    assert.ok(!wrongChain.ok);
    assert.equal(wrongChain.error.code, "BLOCK_TX_WRONG_CHAIN");
    const sm2Signer = signerOf(4, sm2Sm3Suite);
    const wrongSuite = executeBlock(blockContext(5n), [validTransaction(sm2Signer, { nonce: 0n })], state);
    assert.ok(!wrongSuite.ok);
    assert.equal(wrongSuite.error.code, "BLOCK_TX_WRONG_SUITE");
    const expired = executeBlock(
      blockContext(5n),
      [
        validTransaction(alice, { nonce: 0n, expiryHeight: 5n }),
        validTransaction(bob, { nonce: 0n, expiryHeight: 4n }),
      ],
      state,
    );
    assert.ok(!expired.ok);
    assert.equal(expired.error.code, "BLOCK_TX_EXPIRED");
    assert.equal(expired.error.transactionIndex, 1, "expiry height = block height is still valid");
  });

  it("more than BLOCK_TXS_MAX transactions make the block invalid before anything runs", () => {
    const one = validTransaction(alice, { nonce: 0n });
    const outcome = executeBlock(
      blockContext(1n),
      new Array(BLOCK_TXS_MAX + 1).fill(one),
      new TestChain().tree,
    );
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.code, "BLOCK_TOO_MANY_TXS");
    assert.equal(outcome.error.transactionIndex, BLOCK_TXS_MAX);
  });

  it("an empty block changes nothing", () => {
    const outcome = executeBlock(blockContext(1n), [], new TestChain().tree);
    assert.ok(outcome.ok);
    assert.deepEqual(outcome.value.updates, []);
    assert.deepEqual(outcome.value.receipts, []);
  });
});

describe("executeBlock: determinism", () => {
  function run(): { updates: string; receipts: string } {
    const chain = new TestChain();
    const block = [
      validTransaction(carol, { nonce: 0n, args: anchorArgs(3) }),
      validTransaction(alice, { nonce: 0n, args: anchorArgs(1) }),
      validTransaction(bob, { nonce: 0n, args: anchorArgs(1) }),
      validTransaction(alice, { nonce: 1n, method: "revoke", args: { documentHash: documentHashOf(1) } }),
      validTransaction(bob, { nonce: 1n, args: [] }),
    ];
    const outcome = chain.execute(block);
    return {
      updates: JSON.stringify(
        outcome.updates.map((update) => [Buffer.from(update.key).toString("hex"), update.value?.length]),
      ),
      receipts: outcome.receipts
        .map((receipt) => Buffer.from(encodeReceipt(receipt)).toString("hex"))
        .join(","),
    };
  }

  it("the same block on the same state gives the same updates and receipt bytes", () => {
    const first = run();
    const second = run();
    assert.equal(first.updates, second.updates);
    assert.equal(first.receipts, second.receipts);
  });

  it("updates are sorted by key, one per key, the last write winning", () => {
    const chain = new TestChain();
    const outcome = chain.execute([
      validTransaction(alice, { nonce: 0n, args: anchorArgs(1) }),
      validTransaction(alice, { nonce: 1n, method: "revoke", args: { documentHash: documentHashOf(1) } }),
    ]);
    assert.equal(outcome.updates.length, 2, "alice's nonce and one record, each written twice");
    assert.ok(Buffer.compare(outcome.updates[0]!.key, outcome.updates[1]!.key) < 0);
    assert.equal(readNonce(chain.tree, suite.hash, alice.keyId), 2n);
  });

  it("overlays: reads see the latest write; deletes hide the base; updates sort by bytes", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.option(fc.integer({ min: 1, max: 255 }))), {
          maxLength: 30,
        }),
        (writes) => {
          const base = new Map<number, Uint8Array>([[0, new Uint8Array([9])]]);
          const keyOf = (index: number) => new Uint8Array(32).fill(255 - index * 40);
          const overlay = new StateOverlay({
            get: (key) => {
              for (const [index, value] of base) if (Buffer.compare(keyOf(index), key) === 0) return value;
              return undefined;
            },
          });
          const model = new Map(base);
          for (const [index, byte] of writes) {
            overlay.set(keyOf(index), byte === null ? null : new Uint8Array([byte]));
            if (byte === null) model.delete(index);
            else model.set(index, new Uint8Array([byte]));
          }
          for (let index = 0; index <= 5; index++)
            assert.deepEqual(overlay.get(keyOf(index)), model.get(index));
          const updates = overlay.updates();
          for (let index = 1; index < updates.length; index++) {
            assert.ok(Buffer.compare(updates[index - 1]!.key, updates[index]!.key) < 0);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("executeBlock: limits around contracts", () => {
  function chainWith(contract: SystemContract) {
    return (transactionsArgs: number) => {
      const transactions = Array.from({ length: transactionsArgs }, (_, index) =>
        validTransaction(alice, { nonce: BigInt(index), contract: contract.name, method: "run" }),
      );
      return executeBlock(
        { ...blockContext(1n), contracts: createContractRegistry([contract]) },
        transactions,
        new TestChain().tree,
      );
    };
  }

  const greedy = (name: string, body: SystemContract["execute"]): SystemContract => ({ name, execute: body });

  it("too many writes, too many bytes, too many events, bad event types: failed, nothing kept", () => {
    const cases: ReadonlyArray<[SystemContract, string]> = [
      [
        greedy("writer", (context) => {
          for (let index = 0; index < 65; index++)
            context.state.set("t", new Uint8Array([index]), new Uint8Array(1));
          return ok(null);
        }),
        "EXEC_STATE_WRITES_TOO_MANY",
      ],
      [
        greedy("bulky", (context) => {
          context.state.set("t", new Uint8Array(1), new Uint8Array(TX_STATE_WRITE_BYTES_MAX + 1));
          return ok(null);
        }),
        "EXEC_STATE_WRITES_TOO_LARGE",
      ],
      [
        greedy("chatty", (context) => {
          for (let index = 0; index <= TX_EVENTS_MAX; index++) context.emit("said", { index: BigInt(index) });
          return ok(null);
        }),
        "EXEC_EVENTS_TOO_MANY",
      ],
      [
        greedy("loud", (context) => {
          context.emit("said", { blob: new Uint8Array(TX_EVENTS_DATA_BYTES_MAX) });
          return ok(null);
        }),
        "EXEC_EVENTS_TOO_LARGE",
      ],
      [
        greedy("shouty", (context) => {
          context.emit("Said", {});
          return ok(null);
        }),
        "EXEC_EVENT_INVALID",
      ],
    ];
    for (const [contract, code] of cases) {
      const outcome = chainWith(contract)(1);
      assert.ok(outcome.ok);
      assert.equal(outcome.value.receipts[0]!.errorCode, code, contract.name);
      assert.equal(outcome.value.updates.length, 1, `${contract.name}: only the nonce`);
      assert.equal(outcome.value.events.length, 0);
    }
  });

  it("contracts reach only their own tables; a successful run keeps writes and events in order", () => {
    const counter = greedy("counter", (context) => {
      const current = context.state.get("count", new Uint8Array(0));
      const next = (current?.[0] ?? 0) + 1;
      context.state.set("count", new Uint8Array(0), new Uint8Array([next]));
      context.emit("counted", { next: BigInt(next) });
      context.emit("again", {});
      return ok(null);
    });
    const outcome = chainWith(counter)(3);
    assert.ok(outcome.ok);
    assert.deepEqual(
      outcome.value.events.map((event) => [event.txIndex, event.eventIndex, event.type]),
      [
        [0, 0, "counted"],
        [0, 1, "again"],
        [1, 0, "counted"],
        [1, 1, "again"],
        [2, 0, "counted"],
        [2, 1, "again"],
      ],
    );
    assert.equal(outcome.value.updates.length, 2, "alice's nonce and the counter");
  });

  it("execution limits fit the store's event limits", () => {
    assert.ok(BLOCK_TXS_MAX * TX_EVENTS_MAX <= BLOCK_EVENTS_MAX);
    assert.ok(TX_EVENTS_DATA_BYTES_MAX <= EVENT_DATA_BYTES_MAX);
    assert.ok(EXEC_EVENT_TYPE_BYTES_MAX <= EVENT_TYPE_BYTES_MAX);
  });
});

describe("executeBlock: any arguments", () => {
  it("random arguments to notary never throw and never make a block invalid", () => {
    const argsArbitrary = fc.oneof(
      fc.constant(null),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.string({ unit: "grapheme", maxLength: 30 }),
      fc.dictionary(
        fc.constantFrom("algorithm", "documentHash", "title", "documentType", "uri", "reason"),
        fc.oneof(
          fc.string({ maxLength: 10 }),
          fc.uint8Array({ minLength: 31, maxLength: 33 }),
          fc.constant("sm3"),
        ),
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("anchor", "revoke"), argsArbitrary), { maxLength: 6 }),
        (calls) => {
          const chain = new TestChain();
          const outcome = chain.tryExecute(
            calls.map(([method, args], index) =>
              validTransaction(alice, { nonce: BigInt(index), method, args }),
            ),
          );
          assert.ok(outcome.ok);
          assert.equal(outcome.value.receipts.length, calls.length);
          assert.equal(readNonce(chain.tree, suite.hash, alice.keyId), BigInt(calls.length));
        },
      ),
      { numRuns: 100 },
    );
  });
});
