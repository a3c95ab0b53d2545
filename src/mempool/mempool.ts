/**
 * The transaction pool: validated transactions waiting for a block, bounded by count, by bytes
 * and per sender, and reaped in an order that always makes a valid block.
 *
 * Pure: time comes in as `nowMs` arguments and the chain's nonces through `nonceNextOf`
 * (typically `(keyId) => readNonce(state, hash, keyId)` over the committed state); no clock,
 * no I/O. Deterministic: the same calls give the same results; ties are broken by an arrival
 * sequence number, never by a Map's iteration order.
 *
 * Admission (`add`), first failure wins:
 *   MEMPOOL_DUPLICATE      the same hash is waiting; or another transaction with the same
 *                          sender and nonce is (replacement policy: the first one stays, the
 *                          newcomer is refused; `details.duplicateOf` is "hash" or "nonce")
 *   MEMPOOL_NONCE_TOO_LOW  nonce < the sender's next nonce on chain
 *   MEMPOOL_SENDER_FULL    the sender has `senderTxsMax` transactions waiting
 *   MEMPOOL_FULL           `txsMax` transactions waiting, or `sizeBytesMax` bytes would be
 *                          exceeded; carries `retryAfterMs` (nothing is evicted to make room)
 *
 * Reaping (`reap(maxTxs, maxBytes)`) takes, per sender, only the run of nonces that starts at
 * the sender's next nonce and has no gap, in nonce order; across senders it goes round-robin:
 * first one transaction from every ready sender, ordered by the arrival of that transaction,
 * then a second from each sender that has one, in the same sender order, and so on. It stops at
 * the first transaction that would exceed `maxTxs` or `maxBytes` (it never skips one to fit a
 * smaller one behind it). Reaping removes nothing: the node removes what a block committed
 * (`removeCommitted`), then resets nonces from the new state (`recheck`), and before building a
 * block evicts what expired (`evictExpired(nowMs, height)`), so that a reaped set never holds
 * an expired transaction.
 *
 * Costs: `add`, `get`, `has` and each removal O(log n) (n transactions; per-sender queues are at
 * most MEMPOOL_SENDER_TXS_MAX long); `reap` O(k log k) for k transactions returned;
 * `recheck` O(senders checked + transactions dropped); `evictExpired` O(log n) per eviction.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import { TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import { MempoolError } from "./errors.ts";
import { IndexedHeap } from "./indexed-heap.ts";
import {
  MEMPOOL_FULL_RETRY_AFTER_MS,
  MEMPOOL_SENDER_TXS_MAX,
  MEMPOOL_SIZE_BYTES_MAX,
  MEMPOOL_TX_AGE_MS_MAX,
  MEMPOOL_TXS_MAX,
} from "./limits.ts";

const HASH_BYTES = 32;

export interface MempoolOptions {
  /** The chain's next nonce for a sender (0 for a new one); read when a sender first arrives. */
  readonly nonceNextOf: (senderKeyId: Uint8Array) => bigint;
  /** Default and upper bound: MEMPOOL_TXS_MAX. */
  readonly txsMax?: number;
  /** Default and upper bound: MEMPOOL_SIZE_BYTES_MAX. */
  readonly sizeBytesMax?: number;
  /** Default and upper bound: MEMPOOL_SENDER_TXS_MAX. */
  readonly senderTxsMax?: number;
  /** Default and upper bound: MEMPOOL_TX_AGE_MS_MAX. */
  readonly txAgeMsMax?: number;
}

interface SenderQueue {
  readonly keyId: Uint8Array;
  readonly key: string;
  /** The chain's next nonce for this sender, as last learned. */
  nonceNext: bigint;
  /** Waiting transactions, by increasing nonce, one per nonce. */
  readonly entries: PoolEntry[];
  /** Position in the heap of ready senders, -1 when not ready. */
  readyHeapIndex: number;
}

interface PoolEntry {
  readonly valid: ValidTransaction;
  readonly hashKey: string;
  readonly sender: SenderQueue;
  readonly nonce: bigint;
  readonly expiryHeight: bigint;
  readonly sizeBytes: number;
  /** Unique and increasing: the order of arrival, which breaks every tie. */
  readonly arrivalSequence: number;
  readonly arrivalMs: number;
  /** The doubly linked arrival list, oldest to newest. */
  older: PoolEntry | null;
  newer: PoolEntry | null;
  /** Position in the expiry heap. */
  expiryHeapIndex: number;
}

function optionWithin(value: number | undefined, max: number, name: string): number {
  const chosen = value ?? max;
  assert(Number.isSafeInteger(chosen), `${name} is an integer`);
  assert(chosen >= 1, `${name} is within 1..${max}`);
  assert(chosen <= max, `${name} is within 1..${max}`);
  return chosen;
}

/**
 * An exact Map key for bytes: one UTF-16 code unit (0..255) per byte, so distinct bytes give
 * distinct keys. Built natively in one call, about five times faster than hex (which matters:
 * every admission and removal looks up a hash and a sender).
 */
function mapKeyOf(bytes: Uint8Array): string {
  assert(bytes.length <= HASH_BYTES, "map keys are built from hashes and key ids");
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** Index of the first entry whose nonce is >= `nonce` (entries sorted by nonce). */
function lowerBound(entries: readonly PoolEntry[], nonce: bigint): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (entries[middle]!.nonce < nonce) low = middle + 1;
    else high = middle;
  }
  return low;
}

export class Mempool {
  readonly #txsMax: number;
  readonly #sizeBytesMax: number;
  readonly #senderTxsMax: number;
  readonly #txAgeMsMax: number;
  #nonceNextOf: (senderKeyId: Uint8Array) => bigint;
  readonly #entries = new Map<string, PoolEntry>();
  readonly #senders = new Map<string, SenderQueue>();
  /** Senders whose first waiting nonce is their next nonce, by that transaction's arrival. */
  readonly #ready = new IndexedHeap<SenderQueue>(
    (left, right) => left.entries[0]!.arrivalSequence < right.entries[0]!.arrivalSequence,
    { get: (sender) => sender.readyHeapIndex, set: (sender, index) => (sender.readyHeapIndex = index) },
  );
  /** Every entry by (expiryHeight, arrival). */
  readonly #expiry = new IndexedHeap<PoolEntry>(
    (left, right) =>
      left.expiryHeight < right.expiryHeight ||
      (left.expiryHeight === right.expiryHeight && left.arrivalSequence < right.arrivalSequence),
    { get: (entry) => entry.expiryHeapIndex, set: (entry, index) => (entry.expiryHeapIndex = index) },
  );
  #oldest: PoolEntry | null = null;
  #newest: PoolEntry | null = null;
  #sizeBytes = 0;
  #arrivalSequenceNext = 0;
  #arrivalMsLast = 0;

  constructor(options: MempoolOptions) {
    this.#nonceNextOf = options.nonceNextOf;
    this.#txsMax = optionWithin(options.txsMax, MEMPOOL_TXS_MAX, "txsMax");
    this.#sizeBytesMax = optionWithin(options.sizeBytesMax, MEMPOOL_SIZE_BYTES_MAX, "sizeBytesMax");
    this.#senderTxsMax = optionWithin(options.senderTxsMax, MEMPOOL_SENDER_TXS_MAX, "senderTxsMax");
    this.#txAgeMsMax = optionWithin(options.txAgeMsMax, MEMPOOL_TX_AGE_MS_MAX, "txAgeMsMax");
  }

  /** Transactions waiting. */
  get size(): number {
    return this.#entries.size;
  }

  /** Encoded bytes of the transactions waiting. */
  get sizeBytes(): number {
    return this.#sizeBytes;
  }

  /** Senders with at least one transaction waiting. */
  get senderCount(): number {
    return this.#senders.size;
  }

  has(hash: Uint8Array): boolean {
    return this.#entries.has(mapKeyOf(hash));
  }

  get(hash: Uint8Array): ValidTransaction | undefined {
    return this.#entries.get(mapKeyOf(hash))?.valid;
  }

  /**
   * The nonce a sender's next transaction should carry: the chain's next nonce plus the run of
   * waiting transactions that continues it without a gap.
   */
  pendingNonceNextOf(senderKeyId: Uint8Array): bigint {
    const sender = this.#senders.get(mapKeyOf(senderKeyId));
    if (sender === undefined) return this.#nonceNextOf(senderKeyId);
    let nonce = sender.nonceNext;
    for (const entry of sender.entries) {
      if (entry.nonce !== nonce) break;
      nonce += 1n;
    }
    return nonce;
  }

  add(valid: ValidTransaction, nowMs: number): Result<void, MempoolError> {
    assert(Number.isSafeInteger(nowMs), "nowMs is a non-negative integer");
    assert(nowMs >= 0, "nowMs is a non-negative integer");
    assert(valid.hash.length === HASH_BYTES, "validated transactions carry their hash");
    assert(valid.senderKeyId.length === HASH_BYTES, "validated transactions carry their sender");
    assert(valid.encoded.length > 0, "validated sizes");
    assert(valid.encoded.length <= TX_SIZE_BYTES_MAX, "validated sizes");
    const hashKey = mapKeyOf(valid.hash);
    if (this.#entries.has(hashKey)) {
      return fail(
        new MempoolError("MEMPOOL_DUPLICATE", "this transaction is already waiting", { duplicateOf: "hash" }),
      );
    }
    const senderKey = mapKeyOf(valid.senderKeyId);
    const existing = this.#senders.get(senderKey);
    const nonceNext = existing?.nonceNext ?? this.#nonceNextOf(valid.senderKeyId);
    const nonce = valid.transaction.nonce;
    if (nonce < nonceNext) {
      return fail(
        new MempoolError("MEMPOOL_NONCE_TOO_LOW", "the nonce was already used on chain", {
          nonce,
          nonceNext,
        }),
      );
    }
    const position = existing === undefined ? 0 : lowerBound(existing.entries, nonce);
    const occupant = existing?.entries[position];
    if (occupant !== undefined && occupant.nonce === nonce) {
      return fail(
        new MempoolError(
          "MEMPOOL_DUPLICATE",
          "another transaction of this sender with this nonce is waiting",
          {
            duplicateOf: "nonce",
            nonce,
            hashWaiting: bytesToHex(occupant.valid.hash),
          },
        ),
      );
    }
    if (existing !== undefined && existing.entries.length >= this.#senderTxsMax) {
      return fail(
        new MempoolError("MEMPOOL_SENDER_FULL", "this sender has as many transactions waiting as allowed", {
          senderTxsMax: this.#senderTxsMax,
        }),
      );
    }
    if (this.#entries.size >= this.#txsMax || this.#sizeBytes + valid.encoded.length > this.#sizeBytesMax) {
      return fail(
        new MempoolError(
          "MEMPOOL_FULL",
          "the transaction pool is full; try again shortly",
          { txsMax: this.#txsMax, sizeBytesMax: this.#sizeBytesMax },
          MEMPOOL_FULL_RETRY_AFTER_MS,
        ),
      );
    }
    const sender = existing ?? this.#createSender(valid.senderKeyId, senderKey, nonceNext);
    this.#insert(sender, position, valid, hashKey, nowMs);
    return ok(undefined);
  }

  #createSender(keyId: Uint8Array, key: string, nonceNext: bigint): SenderQueue {
    assert(!this.#senders.has(key), "one queue per sender");
    const sender: SenderQueue = { keyId: keyId.slice(), key, nonceNext, entries: [], readyHeapIndex: -1 };
    this.#senders.set(key, sender);
    return sender;
  }

  #insert(
    sender: SenderQueue,
    position: number,
    valid: ValidTransaction,
    hashKey: string,
    nowMs: number,
  ): void {
    // Arrival times never go backwards, so the arrival list is also ordered by time.
    this.#arrivalMsLast = Math.max(this.#arrivalMsLast, nowMs);
    const entry: PoolEntry = {
      valid,
      hashKey,
      sender,
      nonce: valid.transaction.nonce,
      expiryHeight: valid.transaction.expiryHeight,
      sizeBytes: valid.encoded.length,
      arrivalSequence: this.#arrivalSequenceNext++,
      arrivalMs: this.#arrivalMsLast,
      older: this.#newest,
      newer: null,
      expiryHeapIndex: -1,
    };
    if (this.#newest === null) this.#oldest = entry;
    else this.#newest.newer = entry;
    this.#newest = entry;
    sender.entries.splice(position, 0, entry);
    this.#entries.set(hashKey, entry);
    this.#sizeBytes += entry.sizeBytes;
    this.#expiry.push(entry);
    this.#refreshSender(sender);
    assert(this.#entries.size <= this.#txsMax, "the count bound holds");
    assert(this.#sizeBytes <= this.#sizeBytesMax, "the byte bound holds");
    assert(sender.entries.length <= this.#senderTxsMax, "the sender bound holds");
  }

  /** Removes an entry everywhere but leaves its sender's queue to `#refreshSender`. */
  #detach(entry: PoolEntry): void {
    const entries = entry.sender.entries;
    const position = lowerBound(entries, entry.nonce);
    assert(entries[position] === entry, "an entry sits in its sender's queue");
    entries.splice(position, 1);
    if (entry.older === null) this.#oldest = entry.newer;
    else entry.older.newer = entry.newer;
    if (entry.newer === null) this.#newest = entry.older;
    else entry.newer.older = entry.older;
    entry.older = null;
    entry.newer = null;
    this.#expiry.remove(entry);
    const deleted = this.#entries.delete(entry.hashKey);
    assert(deleted, "a detached entry was in the pool");
    this.#sizeBytes -= entry.sizeBytes;
    assert(this.#sizeBytes >= 0);
  }

  /** Keeps the ready heap and the sender map in step with the sender's queue. */
  #refreshSender(sender: SenderQueue): void {
    const first = sender.entries[0];
    if (first !== undefined) assert(first.nonce >= sender.nonceNext, "queues hold no stale nonce");
    const ready = first !== undefined && first.nonce === sender.nonceNext;
    if (ready) {
      if (this.#ready.has(sender)) this.#ready.update(sender);
      else this.#ready.push(sender);
    } else if (this.#ready.has(sender)) {
      this.#ready.remove(sender);
    }
    if (first === undefined) {
      assert(this.#senders.get(sender.key) === sender, "an emptied queue is still registered");
      this.#senders.delete(sender.key);
    }
  }

  /** Detaches the sender's entries below its next nonce. */
  #dropStale(sender: SenderQueue, dropped: ValidTransaction[]): void {
    while (sender.entries.length > 0 && sender.entries[0]!.nonce < sender.nonceNext) {
      const entry = sender.entries[0]!;
      this.#detach(entry);
      dropped.push(entry.valid);
    }
  }

  /**
   * Transactions for the next block: at most `maxTxs` and `maxBytes` of encoded bytes, each
   * sender's in nonce order from its next nonce without gaps, round-robin across senders.
   */
  reap(maxTxs: number, maxBytes: number): ValidTransaction[] {
    assert(Number.isSafeInteger(maxTxs), "maxTxs is a count");
    assert(maxTxs >= 0, "maxTxs is a count");
    assert(Number.isSafeInteger(maxBytes), "maxBytes is a size");
    assert(maxBytes >= 0, "maxBytes is a size");
    const reaped: ValidTransaction[] = [];
    let sizeBytes = 0;
    const take = (entry: PoolEntry): boolean => {
      if (reaped.length >= maxTxs || sizeBytes + entry.sizeBytes > maxBytes) return false;
      reaped.push(entry.valid);
      sizeBytes += entry.sizeBytes;
      return true;
    };
    const continues = (sender: SenderQueue, depth: number): boolean => {
      const next = sender.entries[depth + 1];
      return next !== undefined && next.nonce === sender.entries[depth]!.nonce + 1n;
    };
    let round: SenderQueue[] = [];
    for (const sender of this.#ready.ascending()) {
      const entry = sender.entries[0]!;
      assert(entry.nonce === sender.nonceNext, "ready senders start at their next nonce");
      if (!take(entry)) return reaped;
      if (continues(sender, 0)) round.push(sender);
    }
    for (let depth = 1; round.length > 0; depth++) {
      assert(depth < this.#senderTxsMax, "a sender's run is at most its queue");
      const next: SenderQueue[] = [];
      for (const sender of round) {
        if (!take(sender.entries[depth]!)) return reaped;
        if (continues(sender, depth)) next.push(sender);
      }
      round = next;
    }
    assert(reaped.length <= maxTxs, "reap stays within its bounds");
    assert(sizeBytes <= maxBytes, "reap stays within its bounds");
    return reaped;
  }

  /**
   * Removes the transactions a block committed (hashes not waiting are ignored), advances their
   * senders' next nonces past them and drops those senders' transactions now below it. Returns
   * how many transactions left the pool.
   */
  removeCommitted(hashes: Iterable<Uint8Array>): number {
    let removed = 0;
    const dropped: ValidTransaction[] = [];
    for (const hash of hashes) {
      const entry = this.#entries.get(mapKeyOf(hash));
      if (entry === undefined) continue;
      const sender = entry.sender;
      this.#detach(entry);
      removed += 1;
      if (entry.nonce >= sender.nonceNext) sender.nonceNext = entry.nonce + 1n;
      this.#dropStale(sender, dropped);
      this.#refreshSender(sender);
    }
    return removed + dropped.length;
  }

  /**
   * After a block: learns each sender's next nonce from the new state and drops what is now
   * too low (a transaction of another node's pool used the nonce). All senders by default, or
   * only those named (the senders of the block's transactions). Returns the dropped ones.
   */
  recheck(
    nonceNextOf: (senderKeyId: Uint8Array) => bigint,
    senderKeyIds?: Iterable<Uint8Array>,
  ): ValidTransaction[] {
    this.#nonceNextOf = nonceNextOf;
    const keys = new Set<string>();
    if (senderKeyIds === undefined) for (const key of this.#senders.keys()) keys.add(key);
    else for (const keyId of senderKeyIds) keys.add(mapKeyOf(keyId));
    const dropped: ValidTransaction[] = [];
    for (const key of keys) {
      const sender = this.#senders.get(key);
      if (sender === undefined) continue;
      sender.nonceNext = nonceNextOf(sender.keyId);
      assert(sender.nonceNext >= 0n, "nonces are natural numbers");
      this.#dropStale(sender, dropped);
      this.#refreshSender(sender);
    }
    return dropped;
  }

  /**
   * Evicts transactions that waited `txAgeMsMax` or longer at `nowMs`, and those that can no
   * longer be included at `height` (the height of the next block: expiryHeight < height).
   * Returns the evicted ones, oldest first for age, then by expiry height.
   */
  evictExpired(nowMs: number, height: bigint): ValidTransaction[] {
    assert(Number.isSafeInteger(nowMs), "nowMs is a non-negative integer");
    assert(nowMs >= 0, "nowMs is a non-negative integer");
    assert(height >= 0n, "heights are natural numbers");
    const evicted: ValidTransaction[] = [];
    const evict = (entry: PoolEntry) => {
      const sender = entry.sender;
      this.#detach(entry);
      this.#refreshSender(sender);
      evicted.push(entry.valid);
    };
    while (this.#oldest !== null && nowMs - this.#oldest.arrivalMs >= this.#txAgeMsMax) evict(this.#oldest);
    for (let entry = this.#expiry.peek(); entry !== undefined && entry.expiryHeight < height; ) {
      evict(entry);
      entry = this.#expiry.peek();
    }
    return evicted;
  }
}
