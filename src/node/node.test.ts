/**
 * One real node on a real SQLite data directory: transactions go through admission, the
 * pool, consensus (n = 1, the same state machine as a network), execution and the store; the
 * node restarts from its data directory and continues the same chain.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { equalBytes } from "../base/bytes.ts";
import { ed25519Suite, suiteByName } from "../crypto/index.ts";
import { encodeTransaction, signTransaction, verifyCommit, verifyInclusion } from "../ledger/index.ts";
import { verifyReceipt } from "../sdk/receipt.ts";
import { verifyStateProof } from "../state/state-proof.ts";
import { verifyStore } from "../storage/index.ts";
import { loadNodeConfig } from "./config.ts";
import { seedDemoData } from "./demo-data.ts";
import { loadGenesisFile } from "./genesis-file.ts";
import { writeNetworkLayout } from "./network-layout.ts";
import { CityLedgerNode } from "./node.ts";

const suite = ed25519Suite;

async function waitCommitted(node: CityLedgerNode, hash: Uint8Array, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await node.transactionStatus(hash);
    if (status.status === "committed") return status;
    assert.ok(Date.now() < deadline, "the transaction commits in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A notary anchor of a random document, signed by `privateKey`. */
function randomAnchor(privateKey: Uint8Array, chainId: string, nonce: bigint, title: string): Uint8Array {
  return encodeTransaction(
    signTransaction(suite, privateKey, {
      chainId,
      nonce,
      expiryHeight: 1_000n,
      contract: "notary",
      method: "anchor",
      args: { algorithm: "sha256", documentHash: suite.hash(randomBytes(16)), title, documentType: "report" },
    }),
  );
}

describe("one-node chain", () => {
  let directory: string;
  let configFile: string;
  let node: CityLedgerNode;
  const sender = suite.keyPairFromSeed(randomBytes(32));

  function anchor(nonce: bigint, documentHash: Uint8Array, title = "Permit") {
    return encodeTransaction(
      signTransaction(suite, sender.privateKey, {
        chainId: "test-city",
        nonce,
        expiryHeight: 10_000n,
        contract: "notary",
        method: "anchor",
        args: { algorithm: "sha256", documentHash, title, documentType: "permit" },
      }),
    );
  }

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-node-"));
    const layout = writeNetworkLayout({
      out: directory,
      validators: 1,
      chainId: "test-city",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 0,
      apiPortBase: 0,
      genesisTimeMs: 1_700_000_000_000n,
      consensus: { emptyBlockIntervalMs: 200 },
    });
    configFile = layout.nodes[0]!.configFile;
    node = await CityLedgerNode.start({
      config: loadNodeConfig(configFile),
      logger: pino({ level: "silent" }),
    });
  });

  after(async () => {
    await node?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it("commits submitted transactions and serves a receipt that verifies offline", async () => {
    const documentHash = suite.hash(new TextEncoder().encode("permit 1"));
    const submitted = await node.submitTransaction(anchor(0n, documentHash));
    assert.equal(submitted.accepted, true);
    assert.ok(submitted.accepted);
    const status = await waitCommitted(node, submitted.hash);
    assert.ok(status.status === "committed" && status.result.ok);
    const receipt = await node.receipt(submitted.hash);
    assert.ok(receipt !== undefined);
    assert.ok(verifyCommit(receipt.header, receipt.certificate, receipt.validatorSet, suite));
    assert.ok(
      verifyInclusion(
        receipt.hash,
        receipt.logIndex,
        Number(receipt.logSize),
        receipt.inclusionProof,
        receipt.header.logRoot,
        suite.hash,
      ),
    );
    const notary = await node.notaryRecord(documentHash);
    assert.ok(notary.record !== undefined);
    assert.ok(notary.read.value !== undefined);
    assert.ok(
      verifyStateProof(
        notary.read.stateRoot,
        notary.read.key,
        notary.read.value,
        notary.read.proof,
        suite.hash,
      ),
    );
  });

  it("refuses bad input with typed codes and changes nothing", async () => {
    const before = node.status();
    const garbage = await node.submitTransaction(new Uint8Array([1, 2, 3]));
    assert.ok(!garbage.accepted && garbage.code === "TX_MALFORMED");
    const replay = await node.submitTransaction(anchor(0n, suite.hash(new TextEncoder().encode("permit 1"))));
    assert.ok(!replay.accepted && replay.code === "TX_NONCE_TOO_LOW");
    const tampered = anchor(1n, suite.hash(new TextEncoder().encode("permit 2")));
    tampered[tampered.length - 1]! ^= 1;
    const bad = await node.submitTransaction(tampered);
    assert.ok(!bad.accepted && bad.code === "TX_BAD_SIGNATURE");
    assert.equal(node.status().mempool.count, before.mempool.count);
  });

  it("admits a batch checked on the signature workers as single submits would, in order", async () => {
    const before = node.status();
    const batchSender = suite.keyPairFromSeed(randomBytes(32));
    const anchorOf = (nonce: bigint) => randomAnchor(batchSender.privateKey, "test-city", nonce, "batch");
    const tampered = anchorOf(3n);
    tampered[tampered.length - 1]! ^= 1;
    const batch = [
      anchorOf(0n),
      anchorOf(1n),
      new Uint8Array([1, 2, 3]),
      anchorOf(2n),
      tampered,
      anchorOf(0n), // Nonce 0 again, another document: the pool holds that nonce already.
      anchorOf(3n),
      anchor(0n, suite.hash(new TextEncoder().encode("permit 1"))), // A committed nonce.
    ];
    // prom-client's get() hands out its live value objects: read the numbers now.
    const checksOn = async (thread: string) =>
      (await node.metrics.signatureChecks.get()).values.find((value) => value.labels.thread === thread)
        ?.value ?? 0;
    const workerBefore = await checksOn("worker");
    const mainBefore = await checksOn("main");
    const results = await node.submitTransactions(batch);
    assert.deepEqual(
      results.map((result) => (result.accepted ? "accepted" : result.code)),
      [
        "accepted",
        "accepted",
        "TX_MALFORMED",
        "accepted",
        "TX_BAD_SIGNATURE",
        "MEMPOOL_DUPLICATE",
        "accepted",
        "TX_NONCE_TOO_LOW",
      ],
    );
    // Six signatures verify on the workers; the tampered one is checked again on the main thread
    // and counted there only; the malformed bytes never reach a signature check.
    assert.equal((await checksOn("worker")) - workerBefore, 6, "verified on the workers");
    assert.equal((await checksOn("main")) - mainBefore, 1, "checked on the main thread");
    for (const index of [0, 1, 3, 6]) {
      const result = results[index]!;
      assert.ok(result.accepted);
      await waitCommitted(node, result.hash);
    }
    assert.ok(node.status().mempool.count <= before.mempool.count);
  });

  it("admits a batch too small for the workers after a larger batch that arrived first", async () => {
    const sender = suite.keyPairFromSeed(randomBytes(32));
    const anchorOf = (nonce: bigint) => randomAnchor(sender.privateKey, "test-city", nonce, "order");
    // Within the nonce window (TX_NONCE_AHEAD_MAX = 64): the small batch's nonces follow the large one's.
    const large = Array.from({ length: 40 }, (_, index) => anchorOf(BigInt(index)));
    const small = [anchorOf(40n), anchorOf(41n)];
    const admittedInOrder: string[] = [];
    const largeAdmitted = node.submitTransactions(large).then((results) => {
      admittedInOrder.push("large");
      return results;
    });
    const smallAdmitted = node.submitTransactions(small).then((results) => {
      admittedInOrder.push("small");
      return results;
    });
    const [largeResults, smallResults] = await Promise.all([largeAdmitted, smallAdmitted]);
    assert.deepEqual(admittedInOrder, ["large", "small"]);
    assert.ok([...largeResults, ...smallResults].every((result) => result.accepted));
    const last = smallResults[1]!;
    assert.ok(last.accepted);
    await waitCommitted(node, last.hash);
  });

  it("records a duplicate anchor as included but failed, with its code", async () => {
    const documentHash = suite.hash(new TextEncoder().encode("permit 1"));
    const submitted = await node.submitTransaction(anchor(1n, documentHash, "again"));
    assert.ok(submitted.accepted);
    const status = await waitCommitted(node, submitted.hash);
    assert.ok(status.status === "committed");
    assert.equal(status.result.ok, false);
    assert.equal(status.result.errorCode, "NOTARY_ALREADY_ANCHORED");
  });

  it("seeds the demo data through consensus", async () => {
    const seeded = await seedDemoData(node, suite, "test-city");
    assert.equal(seeded.committed, seeded.submitted);
    assert.ok(seeded.submitted >= 5);
  });

  it("pages events by whole transactions, in log order, without loss or repeats", async () => {
    const all = await node.events({ type: "anchored", contract: "notary", limit: 1000 });
    assert.ok(all.length >= 6);
    const paged: typeof all = [];
    let after: number | undefined;
    for (let page = 0; page < 100; page++) {
      const events = await node.events({
        type: "anchored",
        contract: "notary",
        limit: 2,
        ...(after === undefined ? {} : { afterLogIndex: after }),
      });
      if (events.length === 0) break;
      paged.push(...events);
      after = events.at(-1)!.logIndex;
    }
    assert.deepEqual(
      paged.map((event) => `${event.logIndex}/${event.eventIndex}`),
      all.map((event) => `${event.logIndex}/${event.eventIndex}`),
    );
  });

  it("restarts from its data directory and continues the same chain", async () => {
    const heightBefore = node.status().height;
    const headBefore = node.status().headHash!;
    await node.stop();
    node = await CityLedgerNode.start({
      config: loadNodeConfig(configFile),
      logger: pino({ level: "silent" }),
    });
    assert.ok(node.status().height >= heightBefore);
    const block = await node.blockByHeight(heightBefore);
    assert.ok(block !== undefined && equalBytes(block.hash, headBefore));
    const documentHash = suite.hash(new TextEncoder().encode("after restart"));
    const submitted = await node.submitTransaction(anchor(2n, documentHash));
    assert.ok(submitted.accepted);
    await waitCommitted(node, submitted.hash);
    const report = await verifyStore(node.store);
    assert.equal(report.ok, true);
  });
});

describe("one-node chain on the national suite (SM2/SM3)", () => {
  it("commits a notary anchor signed with SM2 and serves a receipt that verifies offline", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cityledger-node-sm2-"));
    const nationalSuite = suiteByName("sm2-sm3");
    const layout = writeNetworkLayout({
      out: directory,
      validators: 1,
      chainId: "sm-city",
      suite: "sm2-sm3",
      host: "127.0.0.1",
      p2pPortBase: 0,
      apiPortBase: 0,
      genesisTimeMs: 1_700_000_000_000n,
      consensus: { emptyBlockIntervalMs: 200 },
    });
    const node = await CityLedgerNode.start({
      config: loadNodeConfig(layout.nodes[0]!.configFile),
      logger: pino({ level: "silent" }),
    });
    try {
      const clerk = nationalSuite.keyPairFromSeed(randomBytes(32));
      const documentHash = nationalSuite.hash(new TextEncoder().encode("minutes"));
      const encoded = encodeTransaction(
        signTransaction(nationalSuite, clerk.privateKey, {
          chainId: "sm-city",
          nonce: 0n,
          expiryHeight: 1_000n,
          contract: "notary",
          method: "anchor",
          args: { algorithm: "sm3", documentHash, title: "Minutes", documentType: "minutes" },
        }),
      );
      const submitted = await node.submitTransaction(encoded);
      assert.ok(submitted.accepted, JSON.stringify(submitted));
      const status = await waitCommitted(node, submitted.hash);
      assert.ok(status.status === "committed" && status.result.ok);
      const receipt = await node.receipt(submitted.hash);
      assert.ok(receipt !== undefined);
      const { genesis } = loadGenesisFile(join(directory, "genesis.json"));
      // The browser-safe verifier with the portable SM2/SM3 suite.
      assert.deepEqual(verifyReceipt(receipt, { chainId: "sm-city", validatorSet: genesis.validatorSet }), {
        ok: true,
      });
    } finally {
      await node.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("load shedding", () => {
  it("refuses before any signature check once the pool holds mempool.txsMax transactions", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cityledger-node-shed-"));
    const layout = writeNetworkLayout({
      out: directory,
      validators: 1,
      chainId: "shed-city",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 0,
      apiPortBase: 0,
      genesisTimeMs: 1_700_000_000_000n,
    });
    const node = await CityLedgerNode.start({
      config: {
        ...loadNodeConfig(layout.nodes[0]!.configFile),
        mempool: { txsMax: 1, signatureWorkers: null },
      },
      logger: pino({ level: "silent" }),
    });
    try {
      const sender = suite.keyPairFromSeed(randomBytes(32));
      const anchorWith = (nonce: bigint) => randomAnchor(sender.privateKey, "shed-city", nonce, "shed");
      // Both in one tick: no block can commit in between.
      const [accepted, refused] = await Promise.all([
        node.submitTransaction(anchorWith(0n)),
        node.submitTransaction(anchorWith(1n)),
      ]);
      assert.ok(accepted.accepted, JSON.stringify(accepted));
      assert.ok(!refused.accepted && refused.code === "MEMPOOL_FULL");
      assert.ok(refused.retryAfterMs !== undefined && refused.retryAfterMs > 0);
      assert.equal(refused.hash, null, "refused before the transaction was decoded or verified");
      await waitCommitted(node, accepted.hash);
      const retried = await node.submitTransaction(anchorWith(1n));
      assert.ok(retried.accepted, "once the pool drains, the retry is admitted");
    } finally {
      await node.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
