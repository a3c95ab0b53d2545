/**
 * The load generator of `npm run bench:network`, in a process of its own: bench/network.ts spawns
 * it with an IPC channel and drives it phase by phase. It reaches the nodes only over HTTP and
 * WebSocket on loopback, like any client.
 *
 * Per phase:
 *   1. Pre-sign every transaction of the phase (notary anchors with unique document hashes, from
 *      fresh senders, nonces in order per sender, each sender pinned to one node) and pre-build
 *      the batch bodies of POST /v1/transactions/batch, all before the clock starts: signing
 *      costs CPU on the same cores as the nodes.
 *   2. Tell the orchestrator it is ready, wait for "go".
 *   3. Send: open loop (a batch to each node every interval, whatever the replies) or closed
 *      loop (at most `outstandingBatchesMax` batches submitted and not yet committed). A
 *      warm-up comes first; only the window after it is measured (the orchestrator is told
 *      when the window starts and ends, to read the nodes' CPU times at those moments).
 *   4. Drain: wait, bounded in time, for the window's accepted transactions to commit.
 *
 * Submit-to-commit latency: from the moment the generator issues the HTTP request of a
 * transaction's batch to the moment it receives the WebSocket `blocks` notice (from whichever
 * node announces the height first) of the block that holds it. The notice carries no transaction
 * hashes, so the generator then fetches GET /v1/blocks/:height from that node to learn which
 * transactions the block holds; the fetch does not add to the latency (the notice time counts)
 * but it does add work to the node.
 *
 * Every loop is bounded by count (pre-signed transactions) and by time.
 * @module
 */
import { Agent, request as httpRequest } from "node:http";
import WebSocket from "ws";
import { bytesToHex, hexToBytes } from "../src/base/bytes.ts";
import { ed25519Suite } from "../src/crypto/index.ts";
import { decodeNonceValue, nonceKeyOf } from "../src/exec/index.ts";
import { keyIdOf } from "../src/ledger/index.ts";
import { freshSender, notaryRecordBody, signNotaryRecord } from "./notary-records.ts";
import { type LatencySummary, percentile, summarizeLatencies } from "./stats.ts";

const suite = ed25519Suite;
/** Transactions per batch request at most (the API's API_BATCH_TXS_MAX). */
export const BATCH_TXS_MAX = 500;
/** Open loop: aim for one batch per node about this often. */
const OPEN_LOOP_TICK_MS = 20;
/** A sender gets at most this many transactions per phase (the pool holds 64 per sender). */
const TXS_PER_SENDER_MAX = 16;
const SENDERS_MIN = 256;
/** One HTTP request (a batch, a block fetch) may take this long. */
const REQUEST_TIMEOUT_MS = 30_000;
/** Closed loop: a batch whose transactions have not all resolved by then frees its slot anyway. */
const CLOSED_LOOP_BATCH_TIMEOUT_MS = 15_000;
/** Connections to one node; more requests wait in the client's queue (and count as in flight). */
const CONNECTIONS_PER_NODE_MAX = 64;
const BLOCK_FETCHES_IN_FLIGHT_MAX = 2;
const BLOCK_FETCH_ATTEMPTS = 5;

export interface GeneratorNode {
  readonly name: string;
  readonly apiUrl: string;
}

export interface PhaseSpec {
  readonly name: string;
  readonly mode: "open" | "closed";
  /** Open loop: offered transactions per second, over all nodes. */
  readonly rateTxPerSecond: number;
  readonly warmupMs: number;
  readonly windowMs: number;
  /** Closed loop: how many transactions to pre-sign (the loop stops when they run out). */
  readonly txCount: number;
  /** Closed loop: batches submitted and not yet resolved, over all nodes. */
  readonly outstandingBatchesMax: number;
  /** Closed loop: transactions per batch. */
  readonly batchTxs: number;
  /** How long to wait after the window for its transactions to commit. */
  readonly drainMs: number;
}

export interface PhaseResult {
  readonly name: string;
  readonly mode: "open" | "closed";
  readonly signedCount: number;
  readonly signMs: number;
  readonly batchTxs: number;
  readonly windowMs: number;
  /** Transactions of the window sent (submitted in a request). */
  readonly sentInWindow: number;
  readonly acceptedInWindow: number;
  /** Refusals of the window's transactions, by code (HTTP_<status> when no code came back). */
  readonly refusedByCode: Record<string, number>;
  /** Most batch requests in flight to one node at once (beyond CONNECTIONS_PER_NODE_MAX they queue). */
  readonly requestsInFlightMax: number;
  /** Transactions committed (of any phase) in blocks first announced during the window. */
  readonly committedInWindow: number;
  readonly blocksInWindow: number;
  /** Latency of the window's accepted transactions that committed, in ms. */
  readonly latencyMs: LatencySummary | null;
  /** Accepted in the window but not seen committed by the end of the drain. */
  readonly notCommitted: number;
  /**
   * Accepted transactions of the whole phase not seen committed although their sender's previous
   * one was (or that are the sender's first): nothing of the generator's holds them back.
   */
  readonly notCommittedHeads: number;
  /** GET /v1/transactions/:hash of a few of those heads, as the node answered. */
  readonly notCommittedSamples: readonly string[];
  /** Refusals over the whole phase, warm-up included. */
  readonly refusedAllByCode: Record<string, number>;
  /** How late the open loop issued its requests (ms), p99 and max. */
  readonly sendLagMs: { readonly p99: number; readonly max: number };
  readonly ranOutOfTransactions: boolean;
  /** The generator's own CPU time during the window (ms). */
  readonly generatorCpuMs: number;
  readonly blockFetches: number;
  readonly blockFetchMs: { readonly p50: number; readonly max: number } | null;
}

export type ToGenerator =
  | { readonly type: "init"; readonly nodes: readonly GeneratorNode[] }
  | { readonly type: "phase"; readonly phase: PhaseSpec; readonly chainId: string }
  | { readonly type: "go" }
  | { readonly type: "stop" };

export type FromGenerator =
  | { readonly type: "connected" }
  | { readonly type: "ready"; readonly signedCount: number; readonly signMs: number }
  | { readonly type: "window"; readonly edge: "start" | "end" }
  | { readonly type: "result"; readonly result: PhaseResult }
  | { readonly type: "error"; readonly message: string };

interface Batch {
  readonly body: Buffer;
  /** Indexes of its transactions in the phase's arrays. */
  readonly first: number;
  readonly count: number;
}

/** The per-phase record of every transaction: hash, submit time, commit time. */
interface PhaseBook {
  readonly hashIndex: Map<string, number>;
  readonly submitMs: Float64Array;
  readonly commitMs: Float64Array;
  /** 0 not sent, 1 sent, 2 accepted, 3 refused. */
  readonly state: Uint8Array;
  /** Which node and which batch of that node's stream each transaction belongs to. */
  readonly nodeOf: Uint8Array;
  readonly batchOf: Int32Array;
  /** The same sender's previous transaction in this phase, or -1. */
  readonly previousOf: Int32Array;
  readonly hashes: string[];
  /** Per transaction: its sender (an index into nonceKeys) and its nonce. */
  readonly senderOf: Int32Array;
  readonly nonceOf: Int32Array;
  /** Per sender: the state key of its nonce, hex (GET /v1/state/:key). */
  readonly nonceKeys: string[];
}

function send(message: FromGenerator): void {
  process.send?.(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

interface HttpReply {
  readonly status: number;
  readonly text: string;
}

/**
 * One HTTP request on a kept-alive connection. A request that fails with ECONNRESET on a reused
 * socket (the server closed it as idle just as it was reused) was not received: sent again (at
 * most twice).
 */
function httpCall(
  url: string,
  method: "GET" | "POST",
  agent: Agent,
  body?: Buffer,
  attempt = 0,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method,
        agent,
        headers:
          body === undefined
            ? { accept: "application/json" }
            : { "content-type": "application/json", "content-length": body.length },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
        );
        response.on("error", reject);
      },
    );
    request.on("timeout", () => request.destroy(new Error("request timed out")));
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (attempt < 2 && request.reusedSocket && error.code === "ECONNRESET") {
        httpCall(url, method, agent, body, attempt + 1).then(resolve, reject);
        return;
      }
      reject(error);
    });
    request.end(body);
  });
}

class Generator {
  readonly nodes: readonly GeneratorNode[];
  readonly agents: Agent[];
  readonly sockets: WebSocket[] = [];
  readonly inFlight: number[];
  /** When a node first announced each height (performance.now() of the notice). */
  readonly seenHeights = new Map<string, number>();
  highestSeen = 0n;
  book: PhaseBook | null = null;
  windowStartMs = Number.POSITIVE_INFINITY;
  windowEndMs = Number.POSITIVE_INFINITY;
  committedInWindow = 0;
  blocksInWindow = 0;
  readonly fetchQueue: Array<{ height: string; node: number; seenMs: number }> = [];
  fetchesInFlight = 0;
  blockFetches = 0;
  blockFetchTimes: number[] = [];
  /** Called when a transaction of the current phase commits (closed loop frees slots). */
  onCommitted: ((index: number) => void) | null = null;
  documentCounter = 0;

  constructor(nodes: readonly GeneratorNode[]) {
    this.nodes = nodes;
    this.agents = nodes.map(() => new Agent({ keepAlive: true, maxSockets: CONNECTIONS_PER_NODE_MAX }));
    this.inFlight = nodes.map(() => 0);
  }

  async connect(): Promise<void> {
    await Promise.all(
      this.nodes.map(
        (node, index) =>
          new Promise<void>((resolve, reject) => {
            const socket = new WebSocket(`${node.apiUrl.replace(/^http/, "ws")}/v1/ws`);
            this.sockets.push(socket);
            const timer = setTimeout(
              () => reject(new Error(`${node.name}: no WebSocket subscription`)),
              20_000,
            );
            socket.on("open", () => socket.send(JSON.stringify({ subscribe: "blocks", id: 1 })));
            socket.on("error", (error) => reject(error));
            socket.on("message", (data) => {
              const receivedMs = performance.now();
              let message: {
                type?: string;
                block?: { height: string; txCount: number };
              };
              try {
                message = JSON.parse(String(data));
              } catch {
                return;
              }
              if (message.type === "subscribed") {
                clearTimeout(timer);
                resolve();
              } else if (message.type === "block" && message.block !== undefined) {
                this.onBlockNotice(index, message.block.height, message.block.txCount, receivedMs);
              }
            });
            socket.on("close", (code, reason) => {
              if (!stopping)
                send({ type: "error", message: `${node.name}: WebSocket closed ${code} ${reason}` });
            });
          }),
      ),
    );
  }

  onBlockNotice(node: number, height: string, txCount: number, receivedMs: number): void {
    if (this.seenHeights.has(height)) return;
    this.seenHeights.set(height, receivedMs);
    const value = BigInt(height);
    if (value > this.highestSeen) this.highestSeen = value;
    if (this.seenHeights.size > 4096) {
      for (const key of this.seenHeights.keys()) {
        if (BigInt(key) + 2048n < this.highestSeen) this.seenHeights.delete(key);
      }
    }
    if (receivedMs >= this.windowStartMs && receivedMs < this.windowEndMs) {
      this.committedInWindow += txCount;
      this.blocksInWindow++;
    }
    if (txCount > 0 && this.book !== null) {
      this.fetchQueue.push({ height, node, seenMs: receivedMs });
      this.pumpFetches();
    }
  }

  pumpFetches(): void {
    while (this.fetchesInFlight < BLOCK_FETCHES_IN_FLIGHT_MAX && this.fetchQueue.length > 0) {
      const item = this.fetchQueue.shift()!;
      this.fetchesInFlight++;
      const startMs = performance.now();
      void this.fetchBlock(item.node, item.height)
        .then((hashes) => {
          this.blockFetches++;
          this.blockFetchTimes.push(performance.now() - startMs);
          const book = this.book;
          if (book === null) return;
          for (const hash of hashes) {
            const index = book.hashIndex.get(hash);
            if (index === undefined || !Number.isNaN(book.commitMs[index]!)) continue;
            book.commitMs[index] = item.seenMs;
            this.onCommitted?.(index);
          }
        })
        .catch((error: unknown) => {
          send({ type: "error", message: `block ${item.height}: ${(error as Error).message}` });
        })
        .finally(() => {
          this.fetchesInFlight--;
          this.pumpFetches();
        });
    }
  }

  /**
   * The block's transaction hashes: GET /v1/blocks/:height, from the node that announced it; a
   * failed fetch (a connection the node dropped, a 404 while it lags) is tried again on the next
   * node, up to BLOCK_FETCH_ATTEMPTS times (a missed block would leave its transactions
   * "not committed").
   */
  async fetchBlock(node: number, height: string): Promise<string[]> {
    let failure = "";
    for (let attempt = 0; attempt < BLOCK_FETCH_ATTEMPTS; attempt++) {
      const from = (node + attempt) % this.nodes.length;
      try {
        const reply = await httpCall(
          `${this.nodes[from]!.apiUrl}/v1/blocks/${height}`,
          "GET",
          this.agents[from]!,
        );
        if (reply.status === 200) {
          return (JSON.parse(reply.text) as { transactionHashes: string[] }).transactionHashes;
        }
        failure = `${this.nodes[from]!.name}: HTTP ${reply.status}: ${reply.text.slice(0, 200)}`;
      } catch (error) {
        failure = `${this.nodes[from]!.name}: ${(error as Error).message}`;
      }
      await sleep(250);
    }
    throw new Error(`${BLOCK_FETCH_ATTEMPTS} attempts failed, the last: ${failure}`);
  }

  /**
   * Signs `count` notary anchors for fresh senders and cuts them into batches per node: sender
   * s is pinned to node s mod n, and each node's stream goes round-robin over its senders, so
   * a sender's nonces arrive in order at one node.
   */
  presign(
    chainId: string,
    count: number,
    batchTxs: number,
  ): { book: PhaseBook; streams: Batch[][]; signMs: number } {
    const startMs = performance.now();
    const nodeCount = this.nodes.length;
    const senderCount = Math.max(SENDERS_MIN, Math.ceil(count / TXS_PER_SENDER_MAX));
    const perNode = Math.ceil(senderCount / nodeCount);
    const senders = Array.from({ length: perNode * nodeCount }, () => ({
      key: freshSender(),
      nonce: 0n,
      last: -1,
    }));
    const book: PhaseBook = {
      hashIndex: new Map(),
      submitMs: new Float64Array(count).fill(Number.NaN),
      commitMs: new Float64Array(count).fill(Number.NaN),
      state: new Uint8Array(count),
      nodeOf: new Uint8Array(count),
      batchOf: new Int32Array(count),
      previousOf: new Int32Array(count).fill(-1),
      hashes: [],
      senderOf: new Int32Array(count),
      nonceOf: new Int32Array(count),
      nonceKeys: senders.map((sender) =>
        bytesToHex(nonceKeyOf(suite.hash, keyIdOf(suite, sender.key.publicKey))),
      ),
    };
    const streams: Batch[][] = this.nodes.map(() => []);
    // Each node's share, transaction by transaction, round-robin over that node's senders.
    const shares = this.nodes.map(
      (_, node) => Math.floor(count / nodeCount) + (node < count % nodeCount ? 1 : 0),
    );
    let index = 0;
    for (let node = 0; node < nodeCount; node++) {
      const share = shares[node]!;
      let hexes: string[] = [];
      let first = index;
      for (let position = 0; position < share; position++) {
        const senderIndex = node + nodeCount * (position % perNode);
        const sender = senders[senderIndex]!;
        book.senderOf[index] = senderIndex;
        book.nonceOf[index] = Number(sender.nonce);
        const body = notaryRecordBody(
          chainId,
          sender.key.publicKey,
          sender.nonce,
          `${process.pid}/${this.documentCounter++}`,
        );
        sender.nonce += 1n;
        book.previousOf[index] = sender.last;
        sender.last = index;
        const { encoded, hashHex } = signNotaryRecord(body, sender.key);
        book.hashIndex.set(hashHex, index);
        book.hashes.push(hashHex);
        book.nodeOf[index] = node;
        book.batchOf[index] = streams[node]!.length;
        hexes.push(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength).toString("hex"));
        index++;
        if (hexes.length === batchTxs || position === share - 1) {
          streams[node]!.push({
            body: Buffer.from(`{"transactions":["${hexes.join('","')}"]}`),
            first,
            count: hexes.length,
          });
          hexes = [];
          first = index;
        }
      }
    }
    return { book, streams, signMs: performance.now() - startMs };
  }

  /** Sends one batch; resolves with the indexes of the transactions that were refused. */
  async submit(
    node: number,
    batch: Batch,
    book: PhaseBook,
    refused: Record<string, number>,
    refusedAll: Record<string, number>,
    counting: boolean,
  ): Promise<number> {
    const sentMs = performance.now();
    for (let offset = 0; offset < batch.count; offset++) {
      book.submitMs[batch.first + offset] = sentMs;
      book.state[batch.first + offset] = 1;
    }
    this.inFlight[node]!++;
    let refusedCount = 0;
    const refuseAll = (code: string) => {
      for (let offset = 0; offset < batch.count; offset++) book.state[batch.first + offset] = 3;
      refusedCount = batch.count;
      refusedAll[code] = (refusedAll[code] ?? 0) + batch.count;
      if (counting) refused[code] = (refused[code] ?? 0) + batch.count;
    };
    try {
      const reply = await httpCall(
        `${this.nodes[node]!.apiUrl}/v1/transactions/batch`,
        "POST",
        this.agents[node]!,
        batch.body,
      );
      if (reply.status !== 200) {
        let code = `HTTP_${reply.status}`;
        try {
          code = (JSON.parse(reply.text) as { code?: string }).code ?? code;
        } catch {
          // Not JSON: keep HTTP_<status>.
        }
        refuseAll(`${code} (${reply.status}, whole batch)`);
        return refusedCount;
      }
      const result = JSON.parse(reply.text) as {
        results: Array<{ accepted: boolean; code?: string; status: number | string }>;
      };
      for (let offset = 0; offset < batch.count; offset++) {
        const item = result.results[offset];
        const index = batch.first + offset;
        if (item?.accepted === true) {
          // A commit may have been seen before the reply (state stays "accepted" either way).
          book.state[index] = 2;
          continue;
        }
        book.state[index] = 3;
        refusedCount++;
        const code = `${item?.code ?? "NO_RESULT"} (${item?.status ?? "?"})`;
        refusedAll[code] = (refusedAll[code] ?? 0) + 1;
        if (counting) refused[code] = (refused[code] ?? 0) + 1;
      }
    } catch (error) {
      refuseAll(`NETWORK (${(error as Error).message})`);
    } finally {
      this.inFlight[node]!--;
    }
    return refusedCount;
  }

  async runPhase(spec: PhaseSpec, chainId: string, waitForGo: () => Promise<void>): Promise<PhaseResult> {
    const nodeCount = this.nodes.length;
    let batchTxs: number;
    let intervalMs = 0;
    let count: number;
    if (spec.mode === "open") {
      batchTxs = Math.min(
        BATCH_TXS_MAX,
        Math.max(1, Math.round((spec.rateTxPerSecond * OPEN_LOOP_TICK_MS) / 1000 / nodeCount)),
      );
      // One batch to each node per interval.
      intervalMs = (batchTxs * nodeCount * 1000) / spec.rateTxPerSecond;
      const rounds = Math.ceil((spec.warmupMs + spec.windowMs) / intervalMs);
      count = rounds * batchTxs * nodeCount;
    } else {
      batchTxs = Math.min(BATCH_TXS_MAX, spec.batchTxs);
      count = spec.txCount;
    }
    const { book, streams, signMs } = this.presign(chainId, count, batchTxs);
    // Signing held the event loop for seconds: kept-alive connections the nodes closed as idle
    // meanwhile were not noticed. Start the phase on fresh connections.
    this.renewConnections();
    send({ type: "ready", signedCount: count, signMs });
    await waitForGo();

    const refused: Record<string, number> = {};
    const refusedAll: Record<string, number> = {};
    const lags: number[] = [];
    let requestsInFlightMax = 0;
    let sentInWindow = 0;
    let ranOut = false;
    this.book = book;
    this.committedInWindow = 0;
    this.blocksInWindow = 0;
    this.blockFetches = 0;
    this.blockFetchTimes = [];
    const startMs = performance.now();
    this.windowStartMs = startMs + spec.warmupMs;
    this.windowEndMs = this.windowStartMs + spec.windowMs;
    let windowCpu: NodeJS.CpuUsage | null = null;
    let generatorCpuMs = 0;
    let windowStarted = false;
    let windowEnded = false;
    const inWindow = (ms: number) => ms >= this.windowStartMs && ms < this.windowEndMs;
    const markWindow = () => {
      const nowMs = performance.now();
      if (!windowStarted && nowMs >= this.windowStartMs) {
        windowStarted = true;
        windowCpu = process.cpuUsage();
        send({ type: "window", edge: "start" });
      }
      if (!windowEnded && nowMs >= this.windowEndMs) {
        windowEnded = true;
        const used = process.cpuUsage(windowCpu ?? undefined);
        generatorCpuMs = (used.user + used.system) / 1000;
        send({ type: "window", edge: "end" });
      }
    };
    const edgeTimer = setInterval(markWindow, 5);
    const pending: Promise<unknown>[] = [];

    if (spec.mode === "open") {
      const rounds = Math.max(...streams.map((stream) => stream.length));
      // Bounded: `rounds` iterations, each waiting until its due time.
      for (let round = 0; round < rounds; round++) {
        for (let node = 0; node < nodeCount; node++) {
          const dueMs = startMs + round * intervalMs + (node * intervalMs) / nodeCount;
          const waitMs = dueMs - performance.now();
          if (waitMs > 1) await sleep(waitMs);
          const batch = streams[node]![round];
          if (batch === undefined) continue;
          const nowMs = performance.now();
          lags.push(Math.max(0, nowMs - dueMs));
          // Open loop: sent whatever is still in flight (skipping would leave nonce gaps).
          const counting = inWindow(nowMs);
          if (counting) sentInWindow += batch.count;
          pending.push(this.submit(node, batch, book, refused, refusedAll, counting));
          requestsInFlightMax = Math.max(requestsInFlightMax, this.inFlight[node]!);
        }
        if (performance.now() >= this.windowEndMs) break;
      }
    } else {
      // Closed loop: each node's stream keeps at most its share of outstanding batches; a batch
      // is outstanding until each of its transactions is refused or seen committed.
      const perNodeMax = Math.max(1, Math.floor(spec.outstandingBatchesMax / nodeCount));
      const unresolved: number[][] = streams.map((stream) => stream.map((batch) => batch.count));
      const sentAt: number[][] = streams.map((stream) => stream.map(() => 0));
      const next = streams.map(() => 0);
      const open: Array<Set<number>> = streams.map(() => new Set());
      let wake: (() => void) | null = null;
      const resolveOne = (index: number) => {
        const node = book.nodeOf[index]!;
        const batchIndex = book.batchOf[index]!;
        const left = --unresolved[node]![batchIndex]!;
        if (left === 0 && open[node]!.delete(batchIndex)) wake?.();
      };
      this.onCommitted = (index) => {
        if (book.state[index] !== 3) resolveOne(index);
      };
      const deadlineMs = this.windowEndMs;
      // Bounded: every iteration sends a batch, or waits (at most 50 ms) for a slot, until the deadline.
      while (performance.now() < deadlineMs) {
        let sent = false;
        for (let node = 0; node < nodeCount; node++) {
          const nowMs = performance.now();
          for (const batchIndex of open[node]!) {
            if (nowMs - sentAt[node]![batchIndex]! > CLOSED_LOOP_BATCH_TIMEOUT_MS)
              open[node]!.delete(batchIndex);
          }
          if (open[node]!.size >= perNodeMax) continue;
          const batchIndex = next[node]!;
          const batch = streams[node]![batchIndex];
          if (batch === undefined) continue;
          next[node]!++;
          open[node]!.add(batchIndex);
          sentAt[node]![batchIndex] = nowMs;
          const counting = inWindow(nowMs);
          if (counting) sentInWindow += batch.count;
          sent = true;
          pending.push(
            this.submit(node, batch, book, refused, refusedAll, counting).then(() => {
              // Accepted ones resolve when seen committed (onCommitted), refused ones now.
              for (let offset = 0; offset < batch.count; offset++) {
                if (book.state[batch.first + offset] === 3) resolveOne(batch.first + offset);
              }
            }),
          );
        }
        if (streams.every((stream, node) => next[node]! >= stream.length)) {
          ranOut = true;
          break;
        }
        if (!sent) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 50);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = null;
        }
      }
      if (ranOut) {
        // The window ends early: what was pre-signed is all sent.
        this.windowEndMs = Math.max(this.windowStartMs, performance.now());
      }
    }
    await Promise.all(pending);
    // Wait for the window edges to have been reported.
    while (!windowEnded && performance.now() < this.windowEndMs + 1_000) {
      await sleep(Math.max(1, this.windowEndMs - performance.now()));
      markWindow();
    }
    if (!windowEnded) {
      windowEnded = true;
      const used = process.cpuUsage(windowCpu ?? undefined);
      generatorCpuMs = (used.user + used.system) / 1000;
      send({ type: "window", edge: "end" });
    }
    clearInterval(edgeTimer);

    // Drain: bounded by spec.drainMs.
    const windowIndexes: number[] = [];
    for (let index = 0; index < count; index++) {
      if (book.state[index] === 2 && inWindow(book.submitMs[index]!)) windowIndexes.push(index);
    }
    const drainUntilMs = performance.now() + spec.drainMs;
    while (performance.now() < drainUntilMs) {
      if (windowIndexes.every((index) => !Number.isNaN(book.commitMs[index]!))) break;
      await sleep(50);
    }
    // Let block fetches already queued finish (bounded by their timeouts), then stop tracking.
    const fetchDeadlineMs = performance.now() + 5_000;
    while ((this.fetchQueue.length > 0 || this.fetchesInFlight > 0) && performance.now() < fetchDeadlineMs) {
      await sleep(20);
    }
    this.book = null;
    this.onCommitted = null;
    this.fetchQueue.length = 0;

    const latencies: number[] = [];
    let notCommitted = 0;
    for (const index of windowIndexes) {
      const commitMs = book.commitMs[index]!;
      if (Number.isNaN(commitMs)) notCommitted++;
      else latencies.push(commitMs - book.submitMs[index]!);
    }
    // Accepted (in the whole phase) and not committed although the sender's previous one was.
    const heads: number[] = [];
    for (let index = 0; index < count; index++) {
      if (book.state[index] !== 2 || !Number.isNaN(book.commitMs[index]!)) continue;
      const previous = book.previousOf[index]!;
      if (previous === -1 || !Number.isNaN(book.commitMs[previous]!)) heads.push(index);
    }
    const notCommittedSamples = await this.describeStuck(book, heads.slice(0, 3));
    const sorted = latencies;
    const sortedLags = Float64Array.from(lags).sort();
    const sortedFetches = Float64Array.from(this.blockFetchTimes).sort();
    const windowMs = this.windowEndMs - this.windowStartMs;
    return {
      name: spec.name,
      mode: spec.mode,
      signedCount: count,
      signMs,
      batchTxs,
      windowMs,
      sentInWindow,
      acceptedInWindow: windowIndexes.length,
      refusedByCode: refused,
      requestsInFlightMax,
      committedInWindow: this.committedInWindow,
      blocksInWindow: this.blocksInWindow,
      latencyMs: summarizeLatencies(sorted),
      notCommitted,
      notCommittedHeads: heads.length,
      notCommittedSamples,
      refusedAllByCode: refusedAll,
      sendLagMs: { p99: percentile(sortedLags, 0.99) || 0, max: sortedLags[sortedLags.length - 1] ?? 0 },
      ranOutOfTransactions: ranOut,
      generatorCpuMs,
      blockFetches: this.blockFetches,
      blockFetchMs:
        sortedFetches.length === 0
          ? null
          : { p50: percentile(sortedFetches, 0.5), max: sortedFetches[sortedFetches.length - 1]! },
    };
  }

  /** What the nodes say about transactions that did not commit: status, and the sender's nonce. */
  async describeStuck(book: PhaseBook, indexes: readonly number[]): Promise<string[]> {
    const lines: string[] = [];
    const get = async (node: number, path: string) => {
      try {
        const reply = await httpCall(`${this.nodes[node]!.apiUrl}${path}`, "GET", this.agents[node]!);
        return reply.status === 200
          ? (JSON.parse(reply.text) as Record<string, unknown>)
          : { http: reply.status };
      } catch (error) {
        return { error: (error as Error).message };
      }
    };
    for (const index of indexes) {
      const origin = book.nodeOf[index]!;
      const statuses: string[] = [];
      for (let node = 0; node < this.nodes.length; node++) {
        const status = await get(node, `/v1/transactions/${book.hashes[index]}`);
        statuses.push(`${this.nodes[node]!.name} ${String(status.status ?? JSON.stringify(status))}`);
      }
      const state = await get(origin, `/v1/state/${book.nonceKeys[book.senderOf[index]!]}`);
      const value = typeof state.value === "string" ? decodeNonceValue(hexToBytes(state.value)) : 0n;
      lines.push(
        `tx nonce ${book.nonceOf[index]} sent to ${this.nodes[origin]!.name} ` +
          `(previous ${book.previousOf[index] === -1 ? "none" : "committed"}): ${statuses.join(", ")}; ` +
          `the sender's next nonce in ${this.nodes[origin]!.name}'s committed state: ${value} at height ${String(state.height)}`,
      );
    }
    return lines;
  }

  renewConnections(): void {
    for (let node = 0; node < this.agents.length; node++) {
      this.agents[node]!.destroy();
      this.agents[node] = new Agent({ keepAlive: true, maxSockets: CONNECTIONS_PER_NODE_MAX });
    }
  }

  close(): void {
    for (const socket of this.sockets) socket.close(1000, "done");
    for (const agent of this.agents) agent.destroy();
  }
}

let stopping = false;

function main(): void {
  if (process.send === undefined) {
    console.error("bench/load-generator.ts runs under bench/network.ts (it needs an IPC channel)");
    process.exit(2);
  }
  let generator: Generator | null = null;
  let go: (() => void) | null = null;
  let busy: Promise<void> = Promise.resolve();
  process.on("message", (message: ToGenerator) => {
    switch (message.type) {
      case "init":
        generator = new Generator(message.nodes);
        busy = generator.connect().then(
          () => send({ type: "connected" }),
          (error: unknown) => send({ type: "error", message: `connect: ${(error as Error).message}` }),
        );
        return;
      case "phase": {
        const current = generator;
        if (current === null) {
          send({ type: "error", message: "phase before init" });
          return;
        }
        busy = busy
          .then(() =>
            current.runPhase(
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
        stopping = true;
        (generator as Generator | null)?.close();
        process.disconnect?.();
        setTimeout(() => process.exit(0), 100).unref();
        return;
    }
  });
  process.on("disconnect", () => {
    stopping = true;
    setTimeout(() => process.exit(0), 100).unref();
  });
}

main();
