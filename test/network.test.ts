/**
 * Four validators as separate processes on loopback, talking over the authenticated peer
 * transport: 1,000 transactions submitted across nodes end in identical chains; a killed
 * validator does not stop the chain and catches up after a restart; with two of four stopped
 * the chain halts safely and resumes without losing what was accepted; a fifth node that
 * validates nothing joins later from the validators' state snapshots (every 4 blocks), then
 * follows the chain by block sync, verifying certificates; every store verifies at the end.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, TESTNET_CONSENSUS } from "../src/cli/node-commands.ts";
import { ed25519Suite } from "../src/crypto/index.ts";
import { encodeTransaction, signTransaction } from "../src/ledger/index.ts";
import { CHECKPOINT_METADATA_KEY, decodeCheckpointMetadata } from "../src/node/chain.ts";
import { loadGenesisFile } from "../src/node/genesis-file.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import { proposerPrioritiesAt } from "../src/node/proposer-priorities.ts";
import { CityLedgerClient } from "../src/sdk/client.ts";
import { METADATA_KEYS, openStore, verifyStore } from "../src/storage/index.ts";
import { eventually, getJson, heightOf, NodeProcess, type StatusJson } from "./helpers/node-process.ts";

const VALIDATORS = 4;
/** Every node exports a state snapshot at each multiple of this height (the default is 1,000). */
const SNAPSHOT_INTERVAL_HEIGHTS = 4;
const SENDERS = 20;
const TRANSACTIONS_PER_SENDER = 50;
const suite = ed25519Suite;

interface BlockJson {
  readonly hash: string;
  readonly header: { readonly stateRoot: string; readonly logRoot: string };
}

describe("four validators in four processes", { timeout: 300_000 }, () => {
  let directory: string;
  let nodes: NodeProcess[] = [];
  let observer: NodeProcess;
  let chainId: string;
  const senders = Array.from({ length: SENDERS }, () => ({
    key: suite.keyPairFromSeed(randomBytes(32)),
    nonce: 0n,
  }));

  function anchorFrom(sender: (typeof senders)[number], label: string): Uint8Array {
    const transaction = signTransaction(suite, sender.key.privateKey, {
      chainId,
      nonce: sender.nonce,
      expiryHeight: 1_000_000n,
      contract: "notary",
      method: "anchor",
      args: {
        algorithm: "sha256",
        documentHash: suite.hash(new TextEncoder().encode(`${label}/${randomBytes(8).toString("hex")}`)),
        title: label,
        documentType: "report",
      },
    });
    sender.nonce += 1n;
    return encodeTransaction(transaction);
  }

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-network-"));
    const ports = await freePorts((VALIDATORS + 1) * 2);
    const layout = writeNetworkLayout({
      out: directory,
      validators: VALIDATORS,
      observers: 1,
      chainId: "network-test",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 1,
      apiPortBase: 1,
      p2pPorts: ports.slice(0, VALIDATORS + 1),
      apiPorts: ports.slice(VALIDATORS + 1),
      genesisTimeMs: BigInt(Date.now()),
      consensus: TESTNET_CONSENSUS,
      sync: { snapshotIntervalHeights: SNAPSHOT_INTERVAL_HEIGHTS, observersJoinFromSnapshot: true },
    });
    chainId = layout.genesis.chainId;
    const processes = layout.nodes.map((node) => new NodeProcess(node.name, node.directory, node.apiUrl));
    nodes = processes.slice(0, VALIDATORS);
    observer = processes[VALIDATORS]!;
    await Promise.all(nodes.map((node) => node.start()));
  });

  after(async () => {
    await Promise.all([...nodes, observer].map((node) => node?.kill("SIGKILL")));
    // KEEP_TEST_DIRECTORIES=1 keeps the nodes' folders (logs, data) for a look after a failure.
    if (process.env.KEEP_TEST_DIRECTORIES === undefined) rmSync(directory, { recursive: true, force: true });
    else console.log(`# kept ${directory}`);
  });

  it("commits 1,000 transactions submitted across nodes; every node ends with the same blocks and state", async () => {
    const clients = nodes.map((node) => new CityLedgerClient({ baseUrl: node.apiUrl, webSocket: null }));
    const lastHashes: string[] = [];
    // Each sender sends its transactions in order to one node, in batches of 25.
    await Promise.all(
      senders.map(async (sender, index) => {
        const client = clients[index % VALIDATORS]!;
        for (let start = 0; start < TRANSACTIONS_PER_SENDER; start += 25) {
          const batch = Array.from({ length: 25 }, (_, offset) =>
            anchorFrom(sender, `doc ${index}/${start + offset}`),
          );
          const result = await client.submitBatch(batch);
          assert.equal(
            result.acceptedCount,
            batch.length,
            JSON.stringify(result.results.find((item) => !("hash" in item) || item.status !== "pending")),
          );
          const last = result.results.at(-1)!;
          assert.ok("hash" in last);
          if (start + 25 >= TRANSACTIONS_PER_SENDER) lastHashes.push(last.hash as string);
        }
      }),
    );
    for (const hash of lastHashes) {
      const committed = await clients[0]!.waitForCommit(hash, { timeoutMs: 90_000, pollIntervalMs: 100 });
      assert.equal(committed.status, "committed");
    }
    const statuses = await Promise.all(nodes.map((node) => getJson<StatusJson>(`${node.apiUrl}/v1/status`)));
    const common = statuses.reduce(
      (low, status) => (BigInt(status.height) < low ? BigInt(status.height) : low),
      BigInt(statuses[0]!.height),
    );
    let transactions = 0;
    for (let height = 1n; height <= common; height++) {
      const blocks = await Promise.all(
        nodes.map((node) =>
          getJson<BlockJson & { transactionHashes: string[] }>(`${node.apiUrl}/v1/blocks/${height}`),
        ),
      );
      for (const block of blocks) {
        assert.equal(block.hash, blocks[0]!.hash, `block ${height} differs between nodes`);
        assert.equal(block.header.stateRoot, blocks[0]!.header.stateRoot, `state root at ${height} differs`);
      }
      transactions += blocks[0]!.transactionHashes.length;
    }
    assert.equal(transactions, SENDERS * TRANSACTIONS_PER_SENDER, "every transaction is in the chain, once");
  });

  it("keeps committing with one validator killed (-9); the restarted one catches up", async () => {
    const victim = nodes[3]!;
    await victim.kill("SIGKILL");
    const start = await heightOf(nodes[0]!);
    await eventually(
      "three validators keep committing",
      30_000,
      async () => (await heightOf(nodes[0]!)) >= start + 3n,
    );
    await victim.start();
    const target = await heightOf(nodes[0]!);
    await eventually(
      "the restarted validator catches up",
      30_000,
      async () => (await heightOf(victim)) >= target,
    );
    const [ahead, caughtUp] = await Promise.all([
      getJson<BlockJson>(`${nodes[0]!.apiUrl}/v1/blocks/${target}`),
      getJson<BlockJson>(`${victim.apiUrl}/v1/blocks/${target}`),
    ]);
    assert.equal(caughtUp.hash, ahead.hash);
  });

  it("halts safely with two of four stopped, keeps what it accepted, and resumes when they return", async () => {
    await Promise.all([nodes[2]!.kill("SIGKILL"), nodes[3]!.kill("SIGKILL")]);
    // Let anything in flight settle, then watch the height stand still.
    await new Promise((done) => setTimeout(done, 1_500));
    const halted = await heightOf(nodes[0]!);
    const client = new CityLedgerClient({ baseUrl: nodes[0]!.apiUrl, webSocket: null });
    const accepted = await client.submit(anchorFrom(senders[0]!, "accepted during the halt"));
    await new Promise((done) => setTimeout(done, 4_000));
    assert.equal(await heightOf(nodes[0]!), halted, "no block without more than 2/3 of the voting power");
    assert.equal(await heightOf(nodes[1]!), halted);
    assert.equal((await client.transactionStatus(accepted.hash)).status, "pending");
    await Promise.all([nodes[2]!.start(), nodes[3]!.start()]);
    const committed = await client.waitForCommit(accepted.hash, { timeoutMs: 60_000, pollIntervalMs: 100 });
    assert.equal(committed.status, "committed");
    assert.ok(BigInt(committed.height) > halted);
  });

  it("a fifth node joins by snapshot + block sync and verifies everything", async () => {
    // Past two snapshot heights, so the newest snapshot is not genesis and block sync has work too.
    await eventually(
      "the chain passes two snapshot heights",
      30_000,
      async () => (await heightOf(nodes[0]!)) > BigInt(2 * SNAPSHOT_INTERVAL_HEIGHTS),
    );
    await observer.start();
    const target = await heightOf(nodes[0]!);
    await eventually(
      "the new node reaches the head",
      60_000,
      async () => (await heightOf(observer)) >= target,
    );
    const [theirs, ours] = await Promise.all([
      getJson<BlockJson>(`${nodes[0]!.apiUrl}/v1/blocks/${target}`),
      getJson<BlockJson>(`${observer.apiUrl}/v1/blocks/${target}`),
    ]);
    assert.equal(ours.hash, theirs.hash);
    assert.equal(ours.header.stateRoot, theirs.header.stateRoot);
    const log = readFileSync(join(observer.directory, "node.log"), "utf8");
    const joined = log.split("\n").find((line) => line.includes('"msg":"joined from a snapshot"'));
    assert.ok(joined !== undefined, "the observer logged its snapshot join");
    const snapshotHeight = BigInt((JSON.parse(joined) as { height: string }).height);
    assert.ok(
      snapshotHeight >= BigInt(SNAPSHOT_INTERVAL_HEIGHTS),
      "it joined at a snapshot height, not genesis",
    );
    assert.equal(snapshotHeight % BigInt(SNAPSHOT_INTERVAL_HEIGHTS), 0n);
    // It never replayed the blocks below its snapshot: it does not hold them.
    assert.equal((await fetch(`${observer.apiUrl}/v1/blocks/1`)).status, 404);
    const atSnapshot = await Promise.all(
      [nodes[0]!, observer].map((node) => getJson<BlockJson>(`${node.apiUrl}/v1/blocks/${snapshotHeight}`)),
    );
    assert.equal(atSnapshot[1]!.hash, atSnapshot[0]!.hash);
  });

  it("every node's store verifies after a graceful stop", async () => {
    await Promise.all([...nodes, observer].map((node) => node.kill("SIGTERM")));
    const { genesis } = loadGenesisFile(join(directory, "genesis.json"));
    for (const node of [...nodes, observer]) {
      const store = await openStore(join(node.directory, "data"), { create: false });
      try {
        const report = await verifyStore(store);
        assert.equal(
          report.ok,
          true,
          `${node.name}: ${JSON.stringify(report, (_key, value) => (typeof value === "bigint" ? value.toString() : value))}`,
        );
        const snapshotHeight = await store.readMetadata(METADATA_KEYS.snapshotHeight);
        if (node === observer) {
          assert.ok(snapshotHeight !== undefined, "the observer's store starts at a snapshot");
          const height = new DataView(snapshotHeight.buffer, snapshotHeight.byteOffset).getBigUint64(0);
          assert.ok(
            report.ok && height > 0n && report.firstHeight === height,
            "it verifies from its snapshot",
          );
        } else {
          assert.equal(snapshotHeight, undefined, `${node.name} replayed from genesis`);
          assert.ok(report.ok && report.firstHeight === 1n);
        }
        // The proposer priorities a joining node recomputes are the ones the chain really has.
        const checkpoint = decodeCheckpointMetadata((await store.readMetadata(CHECKPOINT_METADATA_KEY))!);
        assert.deepEqual(
          checkpoint.priorities,
          proposerPrioritiesAt(genesis.validatorSet, checkpoint.height),
          `${node.name}: priorities at ${checkpoint.height}`,
        );
      } finally {
        await store.close();
      }
    }
  });
});
