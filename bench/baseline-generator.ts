/**
 * The load generator of the baselines in `npm run bench`, in a process of its own (like
 * bench/load-generator.ts for CityLedger, and driven the same way over IPC: init, then per phase
 * "ready" → "go" → window edges → "result"). It writes the very records CityLedger gets (signed
 * notary anchors, bench/notary-records.ts) to:
 *   - postgres: the client decodes each record and verifies its Ed25519 signature (what a plain
 *     database needs to keep signed records honest), then one multi-row INSERT per batch into a
 *     table keyed by hash with an index by (sender, nonce), synchronous_commit on: a batch is
 *     committed when the INSERT returns;
 *   - etcd: one transaction of puts per batch (key = the record's hash, value = its bytes)
 *     through the `etcd3` client: committed by the cluster's Raft when the call returns. No
 *     signatures are checked: "a replicated log without signatures or BFT".
 * Same phases as CityLedger's: open loop (a batch every 20 ms at the offered rate) and closed
 * loop (at most `outstandingBatchesMax` batches of `batchTxs` in flight). Latency is from issuing
 * a batch to its commit acknowledgement. Bounded by the pre-signed count and by time.
 * @module
 */
import { Etcd3 } from "etcd3";
import pg from "pg";
import { decodeTransaction, signingBytesOfEncoded } from "../src/ledger/index.ts";
import type { FromGenerator, PhaseResult, PhaseSpec } from "./load-generator.ts";
import { freshSender, notaryRecordBody, RECORD_SUITE, signNotaryRecord } from "./notary-records.ts";
import { percentile, summarizeLatencies } from "./stats.ts";

/** Aim for one batch about this often in open loop (as bench/load-generator.ts). */
const OPEN_LOOP_TICK_MS = 20;
const BATCH_TXS_MAX = 500;
const TXS_PER_SENDER_MAX = 16;
/** Connections to PostgreSQL: enough for every outstanding batch of the closed loop. */
const POSTGRES_POOL_SIZE = 16;
const REQUEST_TIMEOUT_MS = 30_000;

export type BaselineTarget =
  | { readonly kind: "postgres"; readonly url: string }
  | { readonly kind: "etcd"; readonly endpoints: readonly string[] };

export type ToBaselineGenerator =
  | { readonly type: "init"; readonly target: BaselineTarget }
  | { readonly type: "phase"; readonly phase: PhaseSpec; readonly chainId: string }
  | { readonly type: "go" }
  | { readonly type: "stop" };

interface StoredRecord {
  readonly encoded: Uint8Array;
  readonly hash: Buffer;
}

/** A baseline store: `write` resolves when the batch is durably committed. */
interface Sink {
  write(records: readonly StoredRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The baseline server is not set up as the comparison requires. */
export class BaselineSetupError extends Error {
  override readonly name = "BaselineSetupError";
}

/** Thrown when the client's signature check rejects a record (never expected here). */
export class RecordRejectedError extends Error {
  override readonly name = "RecordRejectedError";
}

async function postgresSink(url: string): Promise<Sink> {
  const pool = new pg.Pool({ connectionString: url, max: POSTGRES_POOL_SIZE });
  await pool.query(
    "CREATE TABLE IF NOT EXISTS records (hash bytea PRIMARY KEY, sender bytea NOT NULL, nonce bigint NOT NULL, body bytea NOT NULL)",
  );
  await pool.query("CREATE INDEX IF NOT EXISTS records_by_sender ON records (sender, nonce)");
  // The comparison is with durable commits: refuse a server that acknowledges before its WAL flush.
  const { rows } = await pool.query<{ synchronous_commit: string }>("SHOW synchronous_commit");
  if (rows[0]?.synchronous_commit !== "on")
    throw new BaselineSetupError(`synchronous_commit is ${rows[0]?.synchronous_commit}, not on`);
  return {
    async write(records) {
      const hashes: Buffer[] = [];
      const senders: Buffer[] = [];
      const nonces: string[] = [];
      const bodies: Buffer[] = [];
      for (const record of records) {
        // What trust costs a plain database: the client checks every signature itself.
        const transaction = decodeTransaction(record.encoded);
        const signingBytes = signingBytesOfEncoded(record.encoded, transaction.signature.length);
        if (!RECORD_SUITE.verify(transaction.senderPublicKey, signingBytes, transaction.signature))
          throw new RecordRejectedError("a record's signature does not verify");
        hashes.push(record.hash);
        senders.push(Buffer.from(transaction.senderPublicKey));
        nonces.push(transaction.nonce.toString());
        bodies.push(Buffer.from(record.encoded));
      }
      await pool.query(
        "INSERT INTO records (hash, sender, nonce, body) SELECT * FROM unnest($1::bytea[], $2::bytea[], $3::bigint[], $4::bytea[])",
        [hashes, senders, nonces, bodies],
      );
    },
    close: () => pool.end(),
  };
}

async function etcdSink(endpoints: readonly string[]): Promise<Sink> {
  const client = new Etcd3({ hosts: [...endpoints], dialTimeout: 10_000 });
  await client.put("bench/ready").value("1");
  return {
    async write(records) {
      await client.kv.txn({
        success: records.map((record) => ({
          request_put: { key: record.hash, value: Buffer.from(record.encoded) },
        })),
      });
    },
    async close() {
      client.close();
    },
  };
}

function send(message: FromGenerator): void {
  process.send?.(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function withTimeout<Type>(promise: Promise<Type>, timeoutMs: number): Promise<Type> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no commit after ${timeoutMs} ms`)), timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Signs `count` records from fresh senders (at most 16 each), cut into batches of `batchTxs`. */
function presign(chainId: string, count: number, batchTxs: number, phaseSerial: number): StoredRecord[][] {
  const batches: StoredRecord[][] = [];
  let batch: StoredRecord[] = [];
  let sender = freshSender();
  let nonce = 0n;
  for (let index = 0; index < count; index++) {
    if (nonce >= TXS_PER_SENDER_MAX) {
      sender = freshSender();
      nonce = 0n;
    }
    const body = notaryRecordBody(chainId, sender.publicKey, nonce, `${process.pid}/${phaseSerial}/${index}`);
    nonce++;
    const signed = signNotaryRecord(body, sender);
    batch.push({ encoded: signed.encoded, hash: Buffer.from(signed.hashHex, "hex") });
    if (batch.length === batchTxs) {
      batches.push(batch);
      batch = [];
    }
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

let phaseSerial = 0;

async function runPhase(
  sink: Sink,
  spec: PhaseSpec,
  chainId: string,
  waitForGo: () => Promise<void>,
): Promise<PhaseResult> {
  let batchTxs: number;
  let intervalMs = 0;
  let count: number;
  if (spec.mode === "open") {
    batchTxs = Math.min(
      BATCH_TXS_MAX,
      Math.max(1, Math.round((spec.rateTxPerSecond * OPEN_LOOP_TICK_MS) / 1000)),
    );
    intervalMs = (batchTxs * 1000) / spec.rateTxPerSecond;
    count = Math.ceil((spec.warmupMs + spec.windowMs) / intervalMs) * batchTxs;
  } else {
    batchTxs = Math.min(BATCH_TXS_MAX, spec.batchTxs);
    count = spec.txCount;
  }
  const signStartMs = performance.now();
  const batches = presign(chainId, count, batchTxs, phaseSerial++);
  const signMs = performance.now() - signStartMs;
  send({ type: "ready", signedCount: count, signMs });
  await waitForGo();

  const startMs = performance.now();
  const windowStartMs = startMs + spec.warmupMs;
  let windowEndMs = windowStartMs + spec.windowMs;
  const inWindow = (ms: number) => ms >= windowStartMs && ms < windowEndMs;
  const latencies: number[] = [];
  const lags: number[] = [];
  const refused: { [code: string]: number } = {};
  const refusedAll: { [code: string]: number } = {};
  let sentInWindow = 0;
  let acceptedInWindow = 0;
  let committedInWindow = 0;
  let batchesInWindow = 0;
  let inFlight = 0;
  let inFlightMax = 0;
  let windowCpu: NodeJS.CpuUsage | null = null;
  let generatorCpuMs = 0;
  let windowStarted = false;
  let windowEnded = false;
  const markWindow = () => {
    const nowMs = performance.now();
    if (!windowStarted && nowMs >= windowStartMs) {
      windowStarted = true;
      windowCpu = process.cpuUsage();
      send({ type: "window", edge: "start" });
    }
    if (!windowEnded && nowMs >= windowEndMs) {
      windowEnded = true;
      const used = process.cpuUsage(windowCpu ?? undefined);
      generatorCpuMs = (used.user + used.system) / 1000;
      send({ type: "window", edge: "end" });
    }
  };
  const edgeTimer = setInterval(markWindow, 5);

  const submit = async (batch: readonly StoredRecord[]): Promise<void> => {
    const sentMs = performance.now();
    const counting = inWindow(sentMs);
    if (counting) sentInWindow += batch.length;
    inFlight++;
    inFlightMax = Math.max(inFlightMax, inFlight);
    try {
      await withTimeout(sink.write(batch), REQUEST_TIMEOUT_MS);
      const doneMs = performance.now();
      if (counting) {
        acceptedInWindow += batch.length;
        for (let index = 0; index < batch.length; index++) latencies.push(doneMs - sentMs);
      }
      if (inWindow(doneMs)) {
        committedInWindow += batch.length;
        batchesInWindow++;
      }
    } catch (error) {
      const code = (error as Error).name === "RecordRejectedError" ? "REJECTED" : "ERROR";
      refusedAll[code] = (refusedAll[code] ?? 0) + batch.length;
      if (counting) refused[code] = (refused[code] ?? 0) + batch.length;
      send({ type: "error", message: `baseline write: ${(error as Error).message}` });
    } finally {
      inFlight--;
    }
  };

  const pending: Promise<void>[] = [];
  let ranOut = false;
  if (spec.mode === "open") {
    // Bounded: one iteration per pre-signed batch, each waiting until its due time.
    for (let round = 0; round < batches.length; round++) {
      const dueMs = startMs + round * intervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await sleep(waitMs);
      lags.push(Math.max(0, performance.now() - dueMs));
      pending.push(submit(batches[round]!));
      if (performance.now() >= windowEndMs) break;
    }
  } else {
    let next = 0;
    const worker = async () => {
      // Bounded: each iteration consumes a pre-signed batch, until they run out or the window ends.
      while (performance.now() < windowEndMs) {
        const batch = batches[next++];
        if (batch === undefined) {
          ranOut = true;
          return;
        }
        await submit(batch);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, spec.outstandingBatchesMax) }, worker));
    if (ranOut) windowEndMs = Math.max(windowStartMs, Math.min(windowEndMs, performance.now()));
  }
  await Promise.all(pending);
  while (!windowEnded && performance.now() < windowEndMs + 1_000) {
    await sleep(Math.max(1, windowEndMs - performance.now()));
    markWindow();
  }
  if (!windowEnded) {
    windowEnded = true;
    const used = process.cpuUsage(windowCpu ?? undefined);
    generatorCpuMs = (used.user + used.system) / 1000;
    send({ type: "window", edge: "end" });
  }
  clearInterval(edgeTimer);
  const sortedLags = Float64Array.from(lags).sort();
  return {
    name: spec.name,
    mode: spec.mode,
    signedCount: count,
    signMs,
    batchTxs,
    windowMs: windowEndMs - windowStartMs,
    sentInWindow,
    acceptedInWindow,
    refusedByCode: refused,
    requestsInFlightMax: inFlightMax,
    committedInWindow,
    blocksInWindow: batchesInWindow,
    latencyMs: summarizeLatencies(latencies),
    // A write either commits before its call returns or fails (counted as refused).
    notCommitted: 0,
    notCommittedHeads: 0,
    notCommittedSamples: [],
    refusedAllByCode: refusedAll,
    sendLagMs: { p99: percentile(sortedLags, 0.99) || 0, max: sortedLags[sortedLags.length - 1] ?? 0 },
    ranOutOfTransactions: ranOut,
    generatorCpuMs,
    blockFetches: 0,
    blockFetchMs: null,
  };
}

function main(): void {
  if (process.send === undefined) {
    console.error("bench/baseline-generator.ts runs under bench/bench.ts (it needs an IPC channel)");
    process.exit(2);
  }
  let sink: Promise<Sink> | null = null;
  let go: (() => void) | null = null;
  let busy: Promise<void> = Promise.resolve();
  const exit = () => {
    void (sink ?? Promise.resolve(null))
      .then((opened) => opened?.close())
      .catch(() => undefined)
      .finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on("message", (message: ToBaselineGenerator) => {
    switch (message.type) {
      case "init": {
        const opening =
          message.target.kind === "postgres"
            ? postgresSink(message.target.url)
            : etcdSink(message.target.endpoints);
        sink = opening;
        busy = opening.then(
          () => send({ type: "connected" }),
          (error: unknown) => send({ type: "error", message: `connect: ${(error as Error).message}` }),
        );
        return;
      }
      case "phase": {
        const opening = sink;
        if (opening === null) {
          send({ type: "error", message: "phase before init" });
          return;
        }
        busy = busy
          .then(async () =>
            runPhase(
              await opening,
              message.phase,
              message.chainId,
              () =>
                new Promise<void>((resolve) => {
                  go = resolve;
                }),
            ),
          )
          .then(
            (result) => send({ type: "result", result }),
            (error: unknown) =>
              send({ type: "error", message: `phase ${message.phase.name}: ${(error as Error).stack}` }),
          );
        return;
      }
      case "go":
        go?.();
        go = null;
        return;
      case "stop":
        exit();
        return;
    }
  });
  process.on("disconnect", exit);
}

main();
