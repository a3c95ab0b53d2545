import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../base/bytes.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import { IndexedHeap } from "./indexed-heap.ts";
import { MEMPOOL_FULL_RETRY_AFTER_MS } from "./limits.ts";
import { Mempool, type MempoolOptions } from "./mempool.ts";

let hashCounter = 0;

interface FakeFields {
  readonly sender: number;
  readonly nonce: bigint;
  readonly sizeBytes?: number;
  readonly expiryHeight?: bigint;
  readonly hashNumber?: number;
}

/** A stand-in for a validated transaction: the pool reads only hash, sender, nonce, expiry and size. */
function fake(fields: FakeFields): ValidTransaction {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setFloat64(0, fields.hashNumber ?? ++hashCounter);
  return {
    transaction: {
      suiteCode: 1,
      chainId: "test-city-1",
      senderPublicKey: new Uint8Array(32).fill(fields.sender),
      nonce: fields.nonce,
      expiryHeight: fields.expiryHeight ?? 1_000n,
      contract: "notary",
      method: "anchor",
      args: null,
      privateReferences: [],
      signature: new Uint8Array(64),
    },
    encoded: new Uint8Array(fields.sizeBytes ?? 100),
    hash,
    senderKeyId: senderKeyId(fields.sender),
  };
}

function senderKeyId(sender: number): Uint8Array {
  return new Uint8Array(32).fill(sender);
}

function pool(options: Partial<MempoolOptions> = {}): Mempool {
  return new Mempool({ nonceNextOf: () => 0n, ...options });
}

function describeReap(reaped: readonly ValidTransaction[]): string[] {
  return reaped.map((valid) => `${valid.senderKeyId[0]}:${valid.transaction.nonce}`);
}

describe("mempool: admission", () => {
  it("adds, finds and counts transactions", () => {
    const mempool = pool();
    const first = fake({ sender: 1, nonce: 0n, sizeBytes: 120 });
    assert.deepEqual(mempool.add(first, 0), { ok: true, value: undefined });
    assert.equal(mempool.size, 1);
    assert.equal(mempool.sizeBytes, 120);
    assert.equal(mempool.senderCount, 1);
    assert.ok(mempool.has(first.hash));
    assert.equal(mempool.get(first.hash), first);
    assert.equal(mempool.get(new Uint8Array(32)), undefined);
  });

  it("refuses duplicates by hash and by sender and nonce; the first stays", () => {
    const mempool = pool();
    const first = fake({ sender: 1, nonce: 0n });
    mempool.add(first, 0);
    const again = mempool.add(first, 1);
    assert.ok(!again.ok);
    assert.equal(again.error.code, "MEMPOOL_DUPLICATE");
    assert.equal(again.error.details.duplicateOf, "hash");
    const replacement = mempool.add(fake({ sender: 1, nonce: 0n }), 2);
    assert.ok(!replacement.ok);
    assert.equal(replacement.error.code, "MEMPOOL_DUPLICATE");
    assert.equal(replacement.error.details.duplicateOf, "nonce");
    assert.equal(replacement.error.details.hashWaiting, bytesToHex(first.hash));
    assert.equal(mempool.size, 1);
    assert.equal(mempool.get(first.hash), first);
  });

  it("refuses a nonce below the chain's next nonce", () => {
    const mempool = pool({ nonceNextOf: (keyId) => (keyId[0] === 1 ? 5n : 0n) });
    const low = mempool.add(fake({ sender: 1, nonce: 4n }), 0);
    assert.ok(!low.ok);
    assert.equal(low.error.code, "MEMPOOL_NONCE_TOO_LOW");
    assert.equal(low.error.details.nonceNext, 5n);
    assert.ok(mempool.add(fake({ sender: 1, nonce: 5n }), 0).ok);
    assert.ok(mempool.add(fake({ sender: 2, nonce: 0n }), 0).ok);
  });

  it("bounds each sender", () => {
    const mempool = pool({ senderTxsMax: 3 });
    for (let nonce = 0n; nonce < 3n; nonce++) assert.ok(mempool.add(fake({ sender: 1, nonce }), 0).ok);
    const fourth = mempool.add(fake({ sender: 1, nonce: 3n }), 0);
    assert.ok(!fourth.ok);
    assert.equal(fourth.error.code, "MEMPOOL_SENDER_FULL");
    assert.ok(mempool.add(fake({ sender: 2, nonce: 0n }), 0).ok, "other senders still get in");
  });

  it("bounds the count and the bytes, with a retry hint, and evicts nothing to make room", () => {
    const byCount = pool({ txsMax: 2 });
    byCount.add(fake({ sender: 1, nonce: 0n }), 0);
    byCount.add(fake({ sender: 2, nonce: 0n }), 0);
    const full = byCount.add(fake({ sender: 3, nonce: 0n }), 0);
    assert.ok(!full.ok);
    assert.equal(full.error.code, "MEMPOOL_FULL");
    assert.equal(full.error.retryAfterMs, MEMPOOL_FULL_RETRY_AFTER_MS);
    assert.equal(full.error.details.retryAfterMs, MEMPOOL_FULL_RETRY_AFTER_MS);
    assert.equal(byCount.size, 2);

    const byBytes = pool({ sizeBytesMax: 1_000 });
    assert.ok(byBytes.add(fake({ sender: 1, nonce: 0n, sizeBytes: 900 }), 0).ok);
    const over = byBytes.add(fake({ sender: 2, nonce: 0n, sizeBytes: 101 }), 0);
    assert.ok(!over.ok);
    assert.equal(over.error.code, "MEMPOOL_FULL");
    assert.ok(byBytes.add(fake({ sender: 2, nonce: 0n, sizeBytes: 100 }), 0).ok, "exactly full fits");
    assert.equal(byBytes.sizeBytes, 1_000);
  });
});

describe("mempool: reap", () => {
  it("takes each sender's gap-free run from its next nonce, in nonce order", () => {
    const mempool = pool();
    for (const nonce of [2n, 0n, 1n, 4n]) mempool.add(fake({ sender: 1, nonce }), 0);
    mempool.add(fake({ sender: 2, nonce: 1n }), 0);
    assert.deepEqual(describeReap(mempool.reap(100, 1_000_000)), ["1:0", "1:1", "1:2"]);
    assert.equal(mempool.pendingNonceNextOf(senderKeyId(1)), 3n);
    assert.equal(mempool.pendingNonceNextOf(senderKeyId(2)), 0n);
    assert.equal(mempool.pendingNonceNextOf(senderKeyId(9)), 0n);
    assert.equal(mempool.size, 5, "reaping removes nothing");
  });

  it("goes round-robin across senders, ordered by the arrival of their first transaction", () => {
    const mempool = pool();
    mempool.add(fake({ sender: 2, nonce: 1n }), 0);
    mempool.add(fake({ sender: 1, nonce: 0n }), 0);
    mempool.add(fake({ sender: 1, nonce: 1n }), 0);
    mempool.add(fake({ sender: 1, nonce: 2n }), 0);
    mempool.add(fake({ sender: 3, nonce: 0n }), 0);
    mempool.add(fake({ sender: 2, nonce: 0n }), 0);
    assert.deepEqual(describeReap(mempool.reap(100, 1_000_000)), ["1:0", "3:0", "2:0", "1:1", "2:1", "1:2"]);
    assert.deepEqual(describeReap(mempool.reap(4, 1_000_000)), ["1:0", "3:0", "2:0", "1:1"]);
    assert.deepEqual(mempool.reap(0, 1_000_000), []);
  });

  it("stops at the first transaction that does not fit the bytes", () => {
    const mempool = pool();
    mempool.add(fake({ sender: 1, nonce: 0n, sizeBytes: 400 }), 0);
    mempool.add(fake({ sender: 2, nonce: 0n, sizeBytes: 700 }), 0);
    mempool.add(fake({ sender: 3, nonce: 0n, sizeBytes: 100 }), 0);
    assert.deepEqual(describeReap(mempool.reap(10, 1_000)), ["1:0"]);
    assert.deepEqual(describeReap(mempool.reap(10, 1_100)), ["1:0", "2:0"]);
  });
});

describe("mempool: after a block", () => {
  it("removeCommitted removes and advances the sender; later nonces become ready", () => {
    const mempool = pool();
    const zero = fake({ sender: 1, nonce: 0n });
    const one = fake({ sender: 1, nonce: 1n });
    mempool.add(zero, 0);
    mempool.add(one, 0);
    mempool.add(fake({ sender: 1, nonce: 3n }), 0);
    assert.equal(mempool.removeCommitted([zero.hash, new Uint8Array(32)]), 1);
    assert.deepEqual(describeReap(mempool.reap(10, 100_000)), ["1:1"]);
    mempool.removeCommitted([one.hash]);
    assert.deepEqual(mempool.reap(10, 100_000), [], "nonce 2 is missing");
    assert.ok(mempool.add(fake({ sender: 1, nonce: 2n }), 0).ok, "the gap is filled");
    assert.deepEqual(describeReap(mempool.reap(10, 100_000)), ["1:2", "1:3"]);
  });

  it("recheck drops nonces used on chain by other transactions, for all or named senders", () => {
    const chainNonces = new Map<number, bigint>();
    const nonceNextOf = (keyId: Uint8Array) => chainNonces.get(keyId[0]!) ?? 0n;
    const mempool = pool({ nonceNextOf });
    for (const sender of [1, 2]) for (const nonce of [0n, 1n, 2n]) mempool.add(fake({ sender, nonce }), 0);
    chainNonces.set(1, 2n);
    chainNonces.set(2, 1n);
    const named = mempool.recheck(nonceNextOf, [senderKeyId(1), senderKeyId(1)]);
    assert.deepEqual(describeReap(named), ["1:0", "1:1"]);
    assert.deepEqual(describeReap(mempool.reap(10, 100_000)), ["1:2", "2:0", "2:1", "2:2"]);
    const all = mempool.recheck(nonceNextOf);
    assert.deepEqual(describeReap(all), ["2:0"]);
    chainNonces.set(1, 3n);
    mempool.recheck(nonceNextOf);
    assert.equal(mempool.senderCount, 1, "an emptied sender is forgotten");
  });

  it("evicts by age (the clock never goes backwards) and by expiry height", () => {
    const mempool = pool({ txAgeMsMax: 1_000 });
    mempool.add(fake({ sender: 1, nonce: 0n }), 5_000);
    mempool.add(fake({ sender: 2, nonce: 0n }), 4_000);
    mempool.add(fake({ sender: 3, nonce: 0n, expiryHeight: 7n }), 5_500);
    mempool.add(fake({ sender: 4, nonce: 0n, expiryHeight: 8n }), 5_500);
    assert.deepEqual(mempool.evictExpired(5_999, 7n), []);
    assert.deepEqual(describeReap(mempool.evictExpired(6_000, 7n)), ["1:0", "2:0"], "4,000 counts as 5,000");
    assert.deepEqual(describeReap(mempool.evictExpired(6_000, 8n)), ["3:0"]);
    assert.equal(mempool.size, 1);
    assert.deepEqual(describeReap(mempool.evictExpired(6_500, 8n)), ["4:0"]);
    assert.equal(mempool.size, 0);
    assert.equal(mempool.sizeBytes, 0);
    assert.equal(mempool.senderCount, 0);
  });
});

describe("indexed heap", () => {
  it("keeps its order through pushes, removals and re-keying; ascending walks in order", () => {
    interface Item {
      key: number;
      id: number;
      index: number;
    }
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("push", "remove", "update"), fc.nat(50), fc.nat()), {
          maxLength: 80,
        }),
        fc.nat(40),
        (operations, walk) => {
          const heap = new IndexedHeap<Item>(
            (left, right) => left.key < right.key || (left.key === right.key && left.id < right.id),
            {
              get: (item) => item.index,
              set: (item, index) => {
                item.index = index;
              },
            },
          );
          const items: Item[] = [];
          let id = 0;
          for (const [operation, key, pick] of operations) {
            if (operation === "push" || items.length === 0) {
              const item = { key, id: id++, index: -1 };
              heap.push(item);
              items.push(item);
            } else if (operation === "remove") {
              const [item] = items.splice(pick % items.length, 1);
              heap.remove(item!);
              assert.equal(item!.index, -1);
            } else {
              const item = items[pick % items.length]!;
              item.key = key;
              heap.update(item);
            }
          }
          const sorted = [...items].sort((left, right) => left.key - right.key || left.id - right.id);
          assert.equal(heap.size, items.length);
          assert.equal(heap.peek(), sorted[0]);
          const walked: Item[] = [];
          for (const item of heap.ascending()) {
            if (walked.length === walk) break;
            walked.push(item);
          }
          assert.deepEqual(walked, sorted.slice(0, walk));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ---- Model test --------------------------------------------------------------------------------

interface ModelEntry {
  readonly valid: ValidTransaction;
  readonly sender: number;
  readonly nonce: bigint;
  readonly sizeBytes: number;
  readonly expiryHeight: bigint;
  readonly sequence: number;
  readonly arrivalMs: number;
}

type Command =
  | {
      kind: "add";
      sender: number;
      nonceOffset: number;
      sizeBytes: number;
      expiryOffset: number;
      resend: boolean;
    }
  | { kind: "reap"; maxTxs: number; maxBytes: number }
  | { kind: "commit"; maxTxs: number }
  | { kind: "foreignCommit"; sender: number }
  | { kind: "evict"; advanceMs: number; advanceHeight: number };

const commandArbitrary: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      sender: fc.integer({ min: 1, max: 5 }),
      /** Most often the sender's next free nonce (runs grow), sometimes a gap, a reuse or a stale one. */
      nonceOffset: fc.oneof(
        { arbitrary: fc.constant(0), weight: 6 },
        { arbitrary: fc.integer({ min: -2, max: 3 }), weight: 2 },
      ),
      sizeBytes: fc.integer({ min: 1, max: 400 }),
      expiryOffset: fc.integer({ min: 0, max: 6 }),
      resend: fc.integer({ min: 0, max: 7 }).map((draw) => draw === 0),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("reap" as const),
      maxTxs: fc.integer({ min: 0, max: 12 }),
      maxBytes: fc.integer({ min: 0, max: 3_000 }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("commit" as const), maxTxs: fc.integer({ min: 0, max: 6 }) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("foreignCommit" as const),
      sender: fc.integer({ min: 1, max: 5 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("evict" as const),
      advanceMs: fc.integer({ min: 0, max: 600 }),
      advanceHeight: fc.integer({ min: 0, max: 2 }),
    }),
    weight: 1,
  },
);

const LIMITS = { txsMax: 12, sizeBytesMax: 2_500, senderTxsMax: 4, txAgeMsMax: 1_500 };

/** The naive reference: the documented reap order, computed by sorting and scanning. */
function modelReap(
  entries: readonly ModelEntry[],
  chainNonces: ReadonlyMap<number, bigint>,
  maxTxs: number,
  maxBytes: number,
): ValidTransaction[] {
  const runs = new Map<number, ModelEntry[]>();
  for (const entry of [...entries].sort((left, right) => (left.nonce < right.nonce ? -1 : 1))) {
    const run = runs.get(entry.sender) ?? [];
    const expected = (chainNonces.get(entry.sender) ?? 0n) + BigInt(run.length);
    if (entry.nonce === expected) run.push(entry);
    runs.set(entry.sender, run);
  }
  const senders = [...runs.entries()]
    .filter(([, run]) => run.length > 0)
    .sort(([, left], [, right]) => left[0]!.sequence - right[0]!.sequence);
  const reaped: ValidTransaction[] = [];
  let sizeBytes = 0;
  for (let depth = 0; ; depth++) {
    const row = senders.filter(([, run]) => run.length > depth);
    if (row.length === 0) return reaped;
    for (const [, run] of row) {
      const entry = run[depth]!;
      if (reaped.length >= maxTxs || sizeBytes + entry.sizeBytes > maxBytes) return reaped;
      reaped.push(entry.valid);
      sizeBytes += entry.sizeBytes;
    }
  }
}

describe("mempool: model", () => {
  it("random add/reap/commit/evict sequences match a naive model and never break bounds or nonce order", () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { minLength: 10, maxLength: 80, size: "max" }), (commands) => {
        const chainNonces = new Map<number, bigint>();
        const nonceNextOf = (keyId: Uint8Array) => chainNonces.get(keyId[0]!) ?? 0n;
        const mempool = new Mempool({ nonceNextOf, ...LIMITS });
        let model: ModelEntry[] = [];
        let nowMs = 0;
        let arrivalMsLast = 0;
        let height = 1n;
        let sequence = 0;
        let lastAdded: ValidTransaction | null = null;
        const remove = (hashes: readonly Uint8Array[]) => {
          const keys = new Set(hashes.map(bytesToHex));
          model = model.filter((entry) => !keys.has(bytesToHex(entry.valid.hash)));
        };
        const dropStale = () => {
          model = model.filter((entry) => entry.nonce >= (chainNonces.get(entry.sender) ?? 0n));
        };

        for (const command of commands) {
          nowMs += 10;
          switch (command.kind) {
            case "add": {
              const pendingNonce = mempool.pendingNonceNextOf(senderKeyId(command.sender));
              const nonceChosen = pendingNonce + BigInt(command.nonceOffset);
              const valid: ValidTransaction =
                command.resend && lastAdded !== null
                  ? lastAdded
                  : fake({
                      sender: command.sender,
                      nonce: nonceChosen < 0n ? 0n : nonceChosen,
                      sizeBytes: command.sizeBytes,
                      expiryHeight: height + BigInt(command.expiryOffset),
                    });
              const sender = valid.senderKeyId[0]!;
              const nonce = valid.transaction.nonce;
              const ofSender = model.filter((entry) => entry.sender === sender);
              const bytes = model.reduce((total, entry) => total + entry.sizeBytes, 0);
              let expected: string | null = null;
              if (model.some((entry) => bytesToHex(entry.valid.hash) === bytesToHex(valid.hash)))
                expected = "MEMPOOL_DUPLICATE";
              else if (nonce < (chainNonces.get(sender) ?? 0n)) expected = "MEMPOOL_NONCE_TOO_LOW";
              else if (ofSender.some((entry) => entry.nonce === nonce)) expected = "MEMPOOL_DUPLICATE";
              else if (ofSender.length >= LIMITS.senderTxsMax) expected = "MEMPOOL_SENDER_FULL";
              else if (model.length >= LIMITS.txsMax || bytes + valid.encoded.length > LIMITS.sizeBytesMax)
                expected = "MEMPOOL_FULL";
              const result = mempool.add(valid, nowMs);
              assert.equal(result.ok ? null : result.error.code, expected);
              if (result.ok) {
                arrivalMsLast = Math.max(arrivalMsLast, nowMs);
                model.push({
                  valid,
                  sender,
                  nonce,
                  sizeBytes: valid.encoded.length,
                  expiryHeight: valid.transaction.expiryHeight,
                  sequence: sequence++,
                  arrivalMs: arrivalMsLast,
                });
              }
              lastAdded = valid;
              break;
            }
            case "reap":
            case "commit": {
              const maxBytes = command.kind === "reap" ? command.maxBytes : 1_000_000;
              const reaped = mempool.reap(command.maxTxs, maxBytes);
              assert.deepEqual(
                reaped.map((valid) => bytesToHex(valid.hash)),
                modelReap(model, chainNonces, command.maxTxs, maxBytes).map((valid) =>
                  bytesToHex(valid.hash),
                ),
              );
              assert.ok(reaped.length <= command.maxTxs);
              assert.ok(reaped.reduce((total, valid) => total + valid.encoded.length, 0) <= maxBytes);
              const next = new Map(chainNonces);
              for (const valid of reaped) {
                const sender = valid.senderKeyId[0]!;
                assert.equal(
                  valid.transaction.nonce,
                  next.get(sender) ?? 0n,
                  "each sender's nonces run from its next",
                );
                next.set(sender, valid.transaction.nonce + 1n);
              }
              if (command.kind === "commit") {
                for (const [sender, nonce] of next) chainNonces.set(sender, nonce);
                mempool.removeCommitted(reaped.map((valid) => valid.hash));
                remove(reaped.map((valid) => valid.hash));
                mempool.recheck(
                  nonceNextOf,
                  reaped.map((valid) => valid.senderKeyId),
                );
                dropStale();
                height += 1n;
              }
              break;
            }
            case "foreignCommit": {
              chainNonces.set(command.sender, (chainNonces.get(command.sender) ?? 0n) + 1n);
              mempool.recheck(nonceNextOf);
              dropStale();
              height += 1n;
              break;
            }
            case "evict": {
              nowMs += command.advanceMs;
              height += BigInt(command.advanceHeight);
              mempool.evictExpired(nowMs, height);
              model = model.filter(
                (entry) => nowMs - entry.arrivalMs < LIMITS.txAgeMsMax && entry.expiryHeight >= height,
              );
              break;
            }
          }
          assert.equal(mempool.size, model.length);
          assert.equal(
            mempool.sizeBytes,
            model.reduce((total, entry) => total + entry.sizeBytes, 0),
          );
          assert.ok(mempool.size <= LIMITS.txsMax);
          assert.ok(mempool.sizeBytes <= LIMITS.sizeBytesMax);
          for (const entry of model) assert.ok(mempool.has(entry.valid.hash));
        }
      }),
      { numRuns: 400 },
    );
  });
});
