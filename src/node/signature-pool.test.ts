/**
 * The signature pool on real worker threads: what it verifies, what it leaves to the main
 * thread (bad signatures, undecodable bytes, another suite), both suites, and that a lost or
 * closed pool answers "not verified" rather than hanging or refusing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ed25519Suite, type SignatureSuite, sm2Sm3Suite } from "../crypto/index.ts";
import { encodeTransaction, signTransaction } from "../ledger/index.ts";
import { SIGNATURE_POOL_BATCH_TXS_MIN, SignaturePool } from "./signature-pool.ts";

function transactions(suite: SignatureSuite, count: number, seedByte: number): Uint8Array[] {
  const seed = new Uint8Array(32).fill(seedByte);
  const sender = suite.keyPairFromSeed(seed);
  return Array.from({ length: count }, (_, index) =>
    encodeTransaction(
      signTransaction(suite, sender.privateKey, {
        chainId: "pool-test",
        nonce: BigInt(index),
        expiryHeight: 100n,
        contract: "notary",
        method: "anchor",
        args: { algorithm: "sha256", documentHash: suite.hash(new Uint8Array([index])), title: `t${index}` },
      }),
    ),
  );
}

describe("signature pool", () => {
  let pool: SignaturePool;

  before(() => {
    pool = SignaturePool.start("ed25519", 2);
  });

  after(async () => {
    await pool.close();
  });

  it("verifies a batch split over the workers, in order", async () => {
    const batch = transactions(ed25519Suite, 600, 1);
    const verified = await pool.verify(batch);
    assert.equal(verified.length, 600);
    assert.ok(verified.every((flag) => flag === 1));
    assert.equal(pool.pendingTxs, 0);
  });

  it("leaves bad signatures, garbage and another suite's transactions to the main thread", async () => {
    const batch = transactions(ed25519Suite, 8, 2);
    const tampered = batch[2]!.slice();
    tampered[tampered.length - 1]! ^= 0x01; // The signature's last byte.
    const body = batch[5]!.slice();
    body[20]! ^= 0x01; // A byte of the signed body.
    const mixed = [
      batch[0]!,
      new Uint8Array([1, 2, 3]),
      tampered,
      batch[3]!,
      transactions(sm2Sm3Suite, 1, 3)[0]!,
      body,
      new Uint8Array(0),
      batch[7]!,
    ];
    const verified = await pool.verify(mixed);
    assert.deepEqual([...verified], [1, 0, 0, 1, 0, 0, 0, 1]);
  });

  it("verifies SM2 signatures in an SM2-SM3 pool", async () => {
    const sm2Pool = SignaturePool.start("sm2-sm3", 1);
    try {
      const batch = transactions(sm2Sm3Suite, SIGNATURE_POOL_BATCH_TXS_MIN, 4);
      assert.deepEqual([...(await sm2Pool.verify(batch))], [1, 1, 1, 1]);
      assert.deepEqual([...(await sm2Pool.verify(transactions(ed25519Suite, 4, 5)))], [0, 0, 0, 0]);
    } finally {
      await sm2Pool.close();
    }
  });

  it("takes no batch below its minimum, none when empty, none after close", async () => {
    assert.equal(pool.accepts(SIGNATURE_POOL_BATCH_TXS_MIN - 1), false);
    assert.equal(pool.accepts(SIGNATURE_POOL_BATCH_TXS_MIN), true);
    const empty = SignaturePool.start("ed25519", 0);
    assert.equal(empty.accepts(100), false);
    assert.deepEqual([...(await empty.verify(transactions(ed25519Suite, 4, 6)))], [0, 0, 0, 0]);
    await empty.close();
    const closing = SignaturePool.start("ed25519", 1);
    await closing.close();
    assert.equal(closing.workers, 0);
    assert.deepEqual([...(await closing.verify(transactions(ed25519Suite, 4, 7)))], [0, 0, 0, 0]);
  });

  it("answers batches in flight 'not verified' when the pool closes under them", async () => {
    const closing = SignaturePool.start("ed25519", 1);
    const inFlight = closing.verify(transactions(ed25519Suite, 2_000, 8));
    await closing.close();
    const verified = await inFlight;
    assert.equal(verified.length, 2_000);
    assert.equal(closing.pendingTxs, 0);
  });

  it("gives up on a worker that does not answer in time, and checks its batch on the main thread", async () => {
    const lost: string[] = [];
    // A 1 ms deadline: no worker answers 2,000 checks that fast, so each is given up on.
    const slow = SignaturePool.start("ed25519", 1, {
      replyTimeoutMs: 1,
      onWorkerLost: (reason) => lost.push(reason),
    });
    try {
      const verified = await slow.verify(transactions(ed25519Suite, 2_000, 10));
      assert.equal(verified.length, 2_000);
      assert.ok(verified.every((flag) => flag === 0));
      assert.equal(slow.pendingTxs, 0);
      assert.equal(slow.workers, 0);
      assert.equal(slow.accepts(8), false);
      assert.deepEqual(lost, ["signature worker did not answer within 1 ms"]);
    } finally {
      await slow.close();
    }
  });

  it("reports a lost worker and goes on with the others", async () => {
    const lost: string[] = [];
    const fragile = SignaturePool.start("ed25519", 2, { onWorkerLost: (reason) => lost.push(reason) });
    try {
      // A worker that cannot start (its suite is unknown) exits; the pool keeps the other.
      assert.equal(
        (await fragile.verify(transactions(ed25519Suite, 8, 9))).every((flag) => flag === 1),
        true,
      );
      const broken = SignaturePool.start("no-such-suite" as "ed25519", 1, {
        onWorkerLost: (reason) => lost.push(reason),
      });
      const deadline = Date.now() + 20_000;
      while (broken.workers > 0 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 20));
      assert.equal(broken.workers, 0);
      assert.equal(broken.accepts(8), false);
      assert.ok(lost.some((reason) => reason.startsWith("signature worker")));
      await broken.close();
    } finally {
      await fragile.close();
    }
  });
});
