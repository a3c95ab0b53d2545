/**
 * Signature checks on worker threads (DESIGN.md section 3: verify each transaction once per node,
 * at admission, spread over worker threads). The main thread runs consensus, execution and the
 * store; an Ed25519 check costs it 60–100 µs per transaction, so batches of submitted and
 * gossiped transactions are verified here, on the other cores, and admitted on the main thread
 * with the answer. The pool only ever says "verified": a transaction it could not verify (a bad
 * signature, bytes that do not decode, a worker that failed) is validated in full on the main
 * thread, which gives the refusal its code, so admission decides exactly as without the pool.
 * @module
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { assert } from "../base/assert.ts";
import type { SuiteName } from "../crypto/suite.ts";

/** Worker threads at most, whatever the machine (each holds a V8 isolate, ≈ 10 MB). */
export const SIGNATURE_WORKERS_MAX = 8;
/** Batches smaller than this are verified on the main thread: a round trip costs ≈ 50–100 µs. */
export const SIGNATURE_POOL_BATCH_TXS_MIN = 4;
/** Transactions sent to a worker in one message (a large batch is split among the workers). */
const SIGNATURE_POOL_CHUNK_TXS_MAX = 256;
/**
 * Transactions waiting in the pool at most. Beyond it a batch is answered "not verified" at once
 * and checked on the main thread: the pool never queues without bound behind slow workers.
 */
export const SIGNATURE_POOL_PENDING_TXS_MAX = 50_000;
/**
 * How long a worker may take to answer one chunk (256 Ed25519 checks take ≈ 25 ms; a worker's
 * first chunk also waits for its start, ≈ 0.5–2 s). A worker past it is given up: its chunks are
 * answered "not verified" and checked on the main thread, so admission never waits on a stuck
 * thread.
 */
export const SIGNATURE_POOL_REPLY_TIMEOUT_MS = 15_000;
/** `close()` waits at most this long for the threads to end, so a node's stop never hangs on one. */
export const SIGNATURE_POOL_CLOSE_TIMEOUT_MS = 5_000;

/** The default number of workers: one core is left to the main thread. */
export function signatureWorkersDefault(): number {
  return Math.min(SIGNATURE_WORKERS_MAX, Math.max(0, availableParallelism() - 1));
}

/** Main thread → worker: transactions packed in one buffer; transaction i is [offsets[i], offsets[i+1]). */
export interface SignatureBatchRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly offsets: Uint32Array;
}

/** Worker → main thread: one byte per transaction, 1 when its signature verified. */
export interface SignatureBatchReply {
  readonly id: number;
  readonly verified: Uint8Array;
}

interface PendingChunk {
  readonly worker: WorkerSlot;
  readonly count: number;
  readonly resolve: (verified: Uint8Array) => void;
  readonly deadline: NodeJS.Timeout;
}

interface WorkerSlot {
  readonly worker: Worker;
  alive: boolean;
  /** Transactions sent to this worker and not yet answered. */
  pendingTxs: number;
}

export interface SignaturePoolEvents {
  /** A worker failed, exited or stopped answering; its pending batches fall back to the main thread. */
  readonly onWorkerLost?: (reason: string) => void;
}

export interface SignaturePoolOptions extends SignaturePoolEvents {
  /** Overrides `SIGNATURE_POOL_REPLY_TIMEOUT_MS` (tests). */
  readonly replyTimeoutMs?: number;
}

export class SignaturePool {
  readonly #slots: WorkerSlot[] = [];
  readonly #pending = new Map<number, PendingChunk>();
  #nextId = 1;
  #pendingTxs = 0;
  #closed = false;
  readonly #events: SignaturePoolEvents;
  readonly #replyTimeoutMs: number;

  private constructor(options: SignaturePoolOptions) {
    this.#events = options;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? SIGNATURE_POOL_REPLY_TIMEOUT_MS;
    assert(
      Number.isInteger(this.#replyTimeoutMs) && this.#replyTimeoutMs > 0,
      "reply timeout is a positive number of milliseconds",
    );
  }

  /** Starts `workers` threads verifying with the named suite (0 workers: an empty pool). */
  static start(suite: SuiteName, workers: number, options: SignaturePoolOptions = {}): SignaturePool {
    assert(
      Number.isInteger(workers) && workers >= 0 && workers <= SIGNATURE_WORKERS_MAX,
      "worker count in bounds",
    );
    const pool = new SignaturePool(options);
    for (let index = 0; index < workers; index++) pool.#spawn(suite);
    return pool;
  }

  /** Workers able to take work. */
  get workers(): number {
    return this.#slots.filter((slot) => slot.alive).length;
  }

  /** Transactions sent to the workers and not yet answered. */
  get pendingTxs(): number {
    return this.#pendingTxs;
  }

  /** Whether a batch of this size goes to the workers (otherwise verify on the main thread). */
  accepts(batchTxs: number): boolean {
    return (
      !this.#closed &&
      batchTxs >= SIGNATURE_POOL_BATCH_TXS_MIN &&
      this.#pendingTxs + batchTxs <= SIGNATURE_POOL_PENDING_TXS_MAX &&
      this.#slots.some((slot) => slot.alive)
    );
  }

  /**
   * One byte per transaction, in order: 1 when it decodes and its signature verifies under the
   * pool's suite, 0 when the main thread must check it (never rejects).
   */
  async verify(transactions: readonly Uint8Array[]): Promise<Uint8Array> {
    const verified = new Uint8Array(transactions.length);
    if (!this.accepts(transactions.length)) return verified;
    const alive = this.#slots.filter((slot) => slot.alive);
    // Even chunks over the workers, each at most SIGNATURE_POOL_CHUNK_TXS_MAX.
    const chunks = Math.max(alive.length, Math.ceil(transactions.length / SIGNATURE_POOL_CHUNK_TXS_MAX));
    const chunkTxs = Math.ceil(transactions.length / chunks);
    const answers: Array<Promise<void>> = [];
    for (let start = 0; start < transactions.length; start += chunkTxs) {
      const end = Math.min(transactions.length, start + chunkTxs);
      const slot = alive.reduce((least, candidate) =>
        candidate.pendingTxs < least.pendingTxs ? candidate : least,
      );
      answers.push(
        this.#send(slot, transactions.slice(start, end)).then((chunk) => {
          assert(chunk.length === end - start, "one answer per transaction");
          verified.set(chunk, start);
        }),
      );
    }
    await Promise.all(answers);
    return verified;
  }

  /**
   * Stops the workers; batches in flight are answered "not verified". Waits for the threads to
   * end, at most `SIGNATURE_POOL_CLOSE_TIMEOUT_MS` (they are unreferenced, so a thread that does
   * not end in time cannot keep the process alive).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) this.#lose(slot, null);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SIGNATURE_POOL_CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    const terminated = Promise.all(slots.map((slot) => slot.worker.terminate().catch(() => 0)));
    await Promise.race([terminated, bound]);
    clearTimeout(timer);
  }

  #spawn(suite: SuiteName): void {
    // The workers run this package's TypeScript through tsx, as the main thread does; the loader
    // is registered in the worker itself (a thread does not inherit `register()` from its parent).
    const tsxApi = import.meta.resolve("tsx/esm/api");
    const body = new URL("./signature-worker.ts", import.meta.url).href;
    const bootstrap =
      `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); ` +
      `return import(${JSON.stringify(body)}); });`;
    const worker = new Worker(bootstrap, { eval: true, workerData: { suite } });
    worker.unref();
    const slot: WorkerSlot = { worker, alive: true, pendingTxs: 0 };
    worker.on("message", (reply: SignatureBatchReply) => this.#answer(reply));
    worker.on("error", (error: Error) => this.#lose(slot, `signature worker failed: ${error.message}`));
    worker.on("exit", (code: number) => this.#lose(slot, `signature worker exited with code ${code}`));
    this.#slots.push(slot);
  }

  #send(slot: WorkerSlot, transactions: readonly Uint8Array[]): Promise<Uint8Array> {
    let totalBytes = 0;
    for (const transaction of transactions) totalBytes += transaction.length;
    const buffer = new ArrayBuffer(totalBytes);
    const bytes = new Uint8Array(buffer);
    const offsets = new Uint32Array(transactions.length + 1);
    let offset = 0;
    for (let index = 0; index < transactions.length; index++) {
      bytes.set(transactions[index]!, offset);
      offset += transactions[index]!.length;
      offsets[index + 1] = offset;
    }
    const id = this.#nextId++;
    const count = transactions.length;
    return new Promise<Uint8Array>((resolve) => {
      const deadline = setTimeout(() => this.#giveUp(slot, id), this.#replyTimeoutMs);
      deadline.unref();
      this.#pending.set(id, { worker: slot, count, resolve, deadline });
      slot.pendingTxs += count;
      this.#pendingTxs += count;
      const request: SignatureBatchRequest = { id, buffer, offsets };
      slot.worker.postMessage(request, [buffer]);
    });
  }

  #answer(reply: SignatureBatchReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return; // Answered "not verified" already (its worker was lost).
    this.#pending.delete(reply.id);
    this.#settle(pending);
    // A reply of the wrong length is a bug in the worker: fall back rather than trust it.
    pending.resolve(reply.verified.length === pending.count ? reply.verified : new Uint8Array(pending.count));
  }

  /** A chunk went unanswered past the deadline: the worker is stuck or starved; stop using it. */
  #giveUp(slot: WorkerSlot, id: number): void {
    if (!this.#pending.has(id)) return;
    this.#lose(slot, `signature worker did not answer within ${this.#replyTimeoutMs} ms`);
    void slot.worker.terminate().catch(() => 0);
  }

  #settle(pending: PendingChunk): void {
    clearTimeout(pending.deadline);
    pending.worker.pendingTxs -= pending.count;
    this.#pendingTxs -= pending.count;
    assert(pending.worker.pendingTxs >= 0 && this.#pendingTxs >= 0, "pending counts stay non-negative");
  }

  #lose(slot: WorkerSlot, reason: string | null): void {
    if (!slot.alive) return;
    slot.alive = false;
    for (const [id, pending] of this.#pending) {
      if (pending.worker !== slot) continue;
      this.#pending.delete(id);
      this.#settle(pending);
      pending.resolve(new Uint8Array(pending.count));
    }
    if (reason !== null && !this.#closed) this.#events.onWorkerLost?.(reason);
  }
}
