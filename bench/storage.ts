/**
 * `npm run bench:storage`: the storage back ends on this machine, in one run, SQLite and
 * PostgreSQL (a throwaway cluster, as in the tests):
 * - txs ingested per second, in blocks of 1,000 transactions of about 300 bytes (block row,
 *   certificate, transaction rows with hash, sender and contract indexes, one event per
 *   transaction, the transparency-log nodes, the head metadata: one atomic commit per block);
 * - tx lookups by hash per second (random stored transactions, hash checked);
 * - bytes on disk per transaction;
 * - beside the wall-clock rates, the process's CPU time (user + system, `process.cpuUsage`) per
 *   ingested transaction and per lookup: less sensitive than wall time to this machine's other
 *   tenants, so A/B comparisons read it first;
 * at 10^4, 10^5 and 10^6 stored transactions (`--quick`: 10^4 and 10^5), each rate measured over
 * the blocks just before that size. Also: ingest with one state-tree write per transaction (a
 * new random key each, blocks 11..30), and a baseline in raw SQLite with the schema MEASURED.md
 * measured (32-byte blob keys indexed on the commit path) at 10^5, ratios printed.
 * `--only=sqlite` or `--only=postgres` runs one back end.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { utf8 } from "../src/base/bytes.ts";
import { sha256 } from "../src/crypto/index.ts";
import { encodeTransaction, type Transaction } from "../src/ledger/index.ts";
import type { StateUpdate } from "../src/state/index.ts";
import { TRANSACTION_INDEX_BATCH_ROWS } from "../src/storage/limits.ts";
import { PersistentLedger } from "../src/storage/persistent-ledger.ts";
import { openPostgresStore } from "../src/storage/postgres/postgres-store.ts";
import {
  type PostgresCluster,
  postgresBinDirectory,
  startPostgresCluster,
} from "../src/storage/postgres/test-cluster.ts";
import { openSqliteStore, type SqliteStore } from "../src/storage/sqlite/sqlite-store.ts";
import type { BlockEvent, Store } from "../src/storage/store.ts";
import { TestChain } from "../src/storage/testing/test-chain.ts";
import { formatRate, printTable } from "./harness.ts";

const quick = process.argv.includes("--quick");
const only = process.argv.find((argument) => argument.startsWith("--only="))?.slice("--only=".length);
const SIZES = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const TXS_PER_BLOCK = 1_000;
const SENDERS = 1_000;
const LOOKUPS = 20_000;
/**
 * The rate at each size is measured over the last blocks before it: at most half the size, and
 * at least one whole index batch where the size allows, so that the SQLite store's deferred
 * index build (one per TRANSACTION_INDEX_BATCH_ROWS transactions) is counted at its share.
 */
const WINDOW_TXS_MAX = Math.max(50_000, TRANSACTION_INDEX_BATCH_ROWS);
const CONTRACTS = ["permits", "registry", "notary"];

const rows: Record<string, string>[] = [];

/** ~300-byte transactions with well-formed fields; the store does not verify signatures. */
function makeTransactions(height: number): Uint8Array[] {
  const transactions: Uint8Array[] = [];
  for (let index = 0; index < TXS_PER_BLOCK; index++) {
    const global = (height - 1) * TXS_PER_BLOCK + index;
    const senderPublicKey = sha256(utf8(`sender ${global % SENDERS}`));
    const transaction: Transaction = {
      suiteCode: 1,
      chainId: "bench-city-1",
      senderPublicKey,
      nonce: BigInt(Math.floor(global / SENDERS)),
      expiryHeight: 1n << 40n,
      contract: CONTRACTS[global % CONTRACTS.length]!,
      method: "record",
      args: {
        case: BigInt(global),
        title: "Inspection report for permit, district 7",
        document: sha256(utf8(`d${global}`)),
        note: new Uint8Array(96).fill(1),
      },
      privateReferences: [],
      signature: new Uint8Array(64).fill(global & 0xff),
    };
    transactions.push(encodeTransaction(transaction));
  }
  return transactions;
}

interface Workload {
  readonly chain: TestChain;
  readonly ledger: PersistentLedger;
  readonly store: Store;
  readonly sampleHashes: Uint8Array[];
  height: number;
}

/** The timed part of one block: wall milliseconds and CPU microseconds (user + system). */
interface BlockTiming {
  readonly elapsedMs: number;
  readonly cpuUs: number;
}

function cpuUsOf(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system;
}

async function commitBlock(workload: Workload, stateWrites: boolean): Promise<BlockTiming> {
  const height = workload.height + 1;
  const transactions = makeTransactions(height);
  const { transactionIndexEntriesOf } = await import("../src/storage/transaction-index.ts");
  const entries = transactionIndexEntriesOf(transactions, workload.store.hash);
  const events: BlockEvent[] = entries.map((entry, index) => ({
    txIndex: index,
    eventIndex: 0,
    contract: entry.contract,
    type: `${entry.contract}.recorded`,
    data: utf8(`${height}/${index}`),
    key: null,
  }));
  const updates: StateUpdate[] = stateWrites
    ? entries.map((entry) => ({ key: entry.hash, value: utf8(`v${height}`) }))
    : [];
  // Timed: the storage path (log appends and root, state batch, the atomic commit). Not timed:
  // building the block (transactions, their index entries, the txRoot, the certificate), which
  // the node does before it stores anything.
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (const entry of entries) workload.ledger.log.append(entry.hash);
  const logRoot = workload.ledger.log.root();
  const stateRoot = await workload.ledger.applyState(updates);
  const storagePartMs = performance.now() - started;
  const storagePartCpuUs = cpuUsOf(process.cpuUsage(cpuStarted));
  const head = workload.ledger.head;
  const previous =
    head === null
      ? null
      : { blockHash: head.blockHash, certificate: (await workload.store.certificateByHeight(head.height))! };
  const block = workload.chain.seal(
    BigInt(height),
    transactions,
    { logRoot, logSize: workload.ledger.log.size, stateRoot },
    previous,
  );
  const commitStarted = performance.now();
  const commitCpuStarted = process.cpuUsage();
  await workload.ledger.commit(block, {
    transactions: entries,
    events,
    receipts: workload.chain.receiptsOf(BigInt(height), transactions),
  });
  const elapsedMs = storagePartMs + (performance.now() - commitStarted);
  const cpuUs = storagePartCpuUs + cpuUsOf(process.cpuUsage(commitCpuStarted));
  workload.height = height;
  for (let index = 0; index < entries.length; index += 97) workload.sampleHashes.push(entries[index]!.hash);
  return { elapsedMs, cpuUs };
}

/** Lookups per second (wall clock) and CPU microseconds per lookup. */
async function measureLookups(workload: Workload): Promise<{ perSecond: number; cpuUs: number }> {
  const hashes = workload.sampleHashes;
  let seed = 12345;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  for (let index = 0; index < LOOKUPS; index++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const found = await workload.store.transactionByHash(hashes[seed % hashes.length]!);
    if (found === undefined) throw new Error("a stored transaction was not found");
  }
  const cpuUs = cpuUsOf(process.cpuUsage(cpuStarted)) / LOOKUPS;
  return { perSecond: (LOOKUPS * 1000) / (performance.now() - started), cpuUs };
}

async function runBackend(
  name: string,
  open: () => Promise<Store>,
  sizeBytesOf: (store: Store) => Promise<number>,
): Promise<Map<number, number>> {
  const ingestBySize = new Map<number, number>();
  const store = await open();
  const chain = new TestChain({ seed: 9, txsPerBlock: 0 });
  const workload: Workload = {
    chain,
    ledger: await PersistentLedger.open(store),
    store,
    sampleHashes: [],
    height: 0,
  };
  for (const size of SIZES) {
    let windowMs = 0;
    let windowCpuUs = 0;
    let windowTxs = 0;
    while (workload.height * TXS_PER_BLOCK < size) {
      const timing = await commitBlock(workload, false);
      const remainingTxs = size - workload.height * TXS_PER_BLOCK;
      if (remainingTxs < Math.min(WINDOW_TXS_MAX, size / 2)) {
        windowMs += timing.elapsedMs;
        windowCpuUs += timing.cpuUs;
        windowTxs += TXS_PER_BLOCK;
      }
    }
    const ingest = (windowTxs * 1000) / windowMs;
    ingestBySize.set(size, ingest);
    const lookups = await measureLookups(workload);
    const sizeBytes = await sizeBytesOf(store);
    rows.push({
      "back end": name,
      "stored txs": size.toLocaleString("en-US"),
      "ingest tx/s": formatRate(ingest),
      "ingest target": name === "sqlite" ? check(ingest, 20_000) : check(ingest, 10_000),
      "CPU µs/tx": (windowCpuUs / windowTxs).toFixed(1),
      "lookups/s": formatRate(lookups.perSecond),
      "lookup target": name === "sqlite" ? check(lookups.perSecond, 50_000) : "",
      "CPU µs/lookup": lookups.cpuUs.toFixed(1),
      "bytes/tx": Math.round(sizeBytes / size).toLocaleString("en-US"),
    });
    console.error(`${name}: ${size} txs done`);
  }
  await store.close();
  return ingestBySize;
}

function check(value: number, target: number): string {
  return `>= ${formatRate(target)} ${value >= target ? "ok" : "MISSED"}`;
}

/** Ingest rate with one state write per transaction (a new random key each), over blocks 11..30. */
async function runWithState(name: string, open: () => Promise<Store>): Promise<number> {
  const store = await open();
  const chain = new TestChain({ seed: 9, txsPerBlock: 0 });
  const workload: Workload = {
    chain,
    ledger: await PersistentLedger.open(store),
    store,
    sampleHashes: [],
    height: 0,
  };
  let windowMs = 0;
  for (let block = 1; block <= 30; block++) {
    const timing = await commitBlock(workload, true);
    if (block > 10) windowMs += timing.elapsedMs;
  }
  await store.close();
  const rate = (20 * TXS_PER_BLOCK * 1000) / windowMs;
  rows.push({
    "back end": `${name}, 1 state write/tx`,
    "stored txs": "30,000",
    "ingest tx/s": formatRate(rate),
  });
  return rate;
}

/** Baseline: the same rows with 32-byte blob keys for hash and sender indexes, raw better-sqlite3. */
function runBlobBaseline(directory: string): number {
  const database = new Database(join(directory, "baseline.sqlite"));
  database.pragma("journal_mode = WAL");
  database.pragma("synchronous = FULL");
  database.exec(`CREATE TABLE transactions (log_index INTEGER PRIMARY KEY, height INTEGER, idx INTEGER,
    hash BLOB NOT NULL UNIQUE, sender BLOB NOT NULL, contract TEXT NOT NULL, encoded BLOB NOT NULL);
    CREATE INDEX by_sender ON transactions (sender); CREATE INDEX by_contract ON transactions (contract)`);
  const insert = database.prepare("INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?)");
  let windowMs = 0;
  for (let height = 1; height <= 100; height++) {
    const transactions = makeTransactions(height);
    const hashes = transactions.map((encoded) => sha256(encoded));
    const senders = transactions.map((_, index) =>
      sha256(utf8(`key ${((height - 1) * TXS_PER_BLOCK + index) % SENDERS}`)),
    );
    const started = performance.now();
    database.transaction(() => {
      transactions.forEach((encoded, index) => {
        insert.run(
          (height - 1) * TXS_PER_BLOCK + index,
          height,
          index,
          hashes[index],
          senders[index],
          CONTRACTS[index % 3],
          encoded,
        );
      });
    })();
    if (height > 50) windowMs += performance.now() - started;
  }
  database.close();
  const rate = (50 * TXS_PER_BLOCK * 1000) / windowMs;
  rows.push({
    "back end": "baseline: raw SQLite, blob hash/sender keys",
    "stored txs": "100,000",
    "ingest tx/s": formatRate(rate),
  });
  return rate;
}

const directory = mkdtempSync(join(tmpdir(), "cityledger-bench-storage-"));
let cluster: PostgresCluster | undefined;
try {
  if (only === undefined || only === "sqlite") {
    let index = 0;
    const openSqlite = () => openSqliteStore(join(directory, `bench-${index++}.sqlite`));
    const ingest = await runBackend("sqlite", openSqlite, async (store) => {
      (store as SqliteStore).checkpoint();
      return (await store.statistics()).sizeBytes;
    });
    const withState = await runWithState("sqlite", openSqlite);
    const baseline = runBlobBaseline(directory);
    const ours = ingest.get(100_000)!;
    rows.push({
      "back end": "ratios: store / blob-key baseline (10^5); with state (3*10^4) / without (10^5)",
      "ingest tx/s": `${(ours / baseline).toFixed(2)}x; ${(withState / ours).toFixed(2)}x`,
    });
  }
  if ((only === undefined || only === "postgres") && (await postgresBinDirectory()) !== null) {
    cluster = await startPostgresCluster();
    const server = cluster;
    let index = 0;
    const openPostgres = async () => openPostgresStore(await server.createDatabase(`bench_${index++}`));
    const ingest = await runBackend(
      "postgres",
      openPostgres,
      async (store) => (await store.statistics()).sizeBytes,
    );
    const withState = await runWithState("postgres", openPostgres);
    rows.push({
      "back end": "ratio: postgres with state (3*10^4) / without (10^5)",
      "ingest tx/s": `${(withState / ingest.get(100_000)!).toFixed(2)}x`,
    });
  }
} finally {
  await cluster?.stop();
  rmSync(directory, { recursive: true, force: true });
}
printTable(rows);
