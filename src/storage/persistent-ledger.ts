/**
 * The transparency log and the state tree of a node, persisted through a Store: the Merkle
 * structures write their new nodes into pending batches (node-adapters.ts), and `commit` writes
 * those nodes in the same atomic batch as the block whose header commits to their roots.
 * Reopened over the same store, both continue exactly where the last committed block left them.
 *
 * @example
 * const ledger = await PersistentLedger.open(store);
 * for (const entry of entries) ledger.log.append(entry.hash);
 * const stateRoot = await ledger.applyState(updates);
 * // the header carries the log, state and receipt roots; one encoded receipt per transaction
 * await ledger.commit(block, { transactions: entries, receipts, events });
 * @module
 */
import { assert } from "../base/assert.ts";
import { equalBytes } from "../base/bytes.ts";
import type { Block, CommitCertificate, MerkleLog } from "../ledger/index.ts";
import { SparseMerkleTree, type StateProof, type StateUpdate } from "../state/index.ts";
import { StoreError } from "./errors.ts";
import {
  prefetchLogNodes,
  prefetchStatePaths,
  StoreLogNodes,
  StoreStateNodes,
  withPrefetchedNodes,
} from "./node-adapters.ts";
import {
  type BlockEvent,
  type ChainHead,
  METADATA_KEYS,
  type MetadataEntry,
  type Store,
  type TransactionIndexEntry,
} from "./store.ts";
import { corrupt, decodeU64 } from "./store-common.ts";
import { transactionIndexEntriesOf } from "./transaction-index.ts";

export interface CommitOptions {
  /** Index entries of the block's transactions; computed from the encodings when absent. */
  readonly transactions?: readonly TransactionIndexEntry[];
  /** The block's encoded receipts, one per transaction in block order (BlockBatch.receipts). */
  readonly receipts: readonly Uint8Array[];
  readonly events?: readonly BlockEvent[];
  readonly metadata?: readonly MetadataEntry[];
  /** The canonical certificate of the block below (BlockBatch.previousCertificate). */
  readonly previousCertificate?: CommitCertificate;
}

export class PersistentLedger {
  readonly store: Store;
  readonly log: MerkleLog;
  readonly tree: SparseMerkleTree;
  readonly logNodes: StoreLogNodes;
  readonly stateNodes: StoreStateNodes;
  #head: ChainHead | null;
  #stale = false;

  private constructor(
    store: Store,
    head: ChainHead | null,
    parts: { log: MerkleLog; tree: SparseMerkleTree; logNodes: StoreLogNodes; stateNodes: StoreStateNodes },
  ) {
    this.store = store;
    this.#head = head;
    this.log = parts.log;
    this.tree = parts.tree;
    this.logNodes = parts.logNodes;
    this.stateNodes = parts.stateNodes;
  }

  /**
   * Opens the log and the tree at the store's head, checking both against the head's roots. A
   * store that joined from a snapshot (snapshot_log_size) holds only the log's frontier below
   * that size: the log continues from it (MerkleLog frontierSize).
   */
  static async open(store: Store): Promise<PersistentLedger> {
    const head = await store.head();
    const reader = store.syncNodeReader();
    const logSize = head?.logSize ?? 0;
    const frontierSize = head === null ? 0 : await snapshotLogSizeOf(store);
    if (frontierSize > logSize) throw corrupt("the snapshot log size is above the head's", { logSize });
    const logNodes = new StoreLogNodes(reader, logSize, frontierSize);
    const hash = store.hash;
    const openLog = () => logNodes.openLog(hash);
    if (reader === null) await prefetchLogNodes(store, logNodes, () => {});
    const log = await withPrefetchedNodes(store, { log: logNodes }, openLog);
    if (log.size !== logSize) throw corrupt("the log node store's size differs from the head's", { logSize });
    if (head !== null && !equalBytes(log.root(), head.logRoot)) {
      throw corrupt("the log node store's root differs from the head's log root", { height: head.height });
    }
    const stateNodes = new StoreStateNodes(reader);
    const tree = new SparseMerkleTree({
      store: stateNodes,
      hash,
      ...(head === null ? {} : { root: head.stateRoot }),
    });
    if (head !== null && !isEmpty(head.stateRoot)) {
      const rootNode = await withPrefetchedNodes(store, { state: stateNodes }, () =>
        stateNodes.get(head.stateRoot),
      );
      if (rootNode === undefined)
        throw corrupt("the head's state root is not in the store", { height: head.height });
    }
    return new PersistentLedger(store, head, { log, tree, logNodes, stateNodes });
  }

  /** The last committed block (null before the first). */
  get head(): ChainHead | null {
    return this.#head;
  }

  #checkFresh(): void {
    if (this.#stale) {
      throw new StoreError("STORE_STRUCTURES_STALE", "a commit failed: reopen the ledger from the store");
    }
  }

  /** Applies a block's state updates (prefetching their paths on asynchronous back ends). */
  async applyState(updates: readonly StateUpdate[]): Promise<Uint8Array> {
    this.#checkFresh();
    if (this.store.syncNodeReader() === null && updates.length > 0) {
      const keys = updates.map((update) => update.key);
      const deletes = updates.some((update) => update.value === null);
      await prefetchStatePaths(this.store, this.stateNodes, this.tree.root, keys, deletes);
    }
    return withPrefetchedNodes(this.store, { state: this.stateNodes }, () => this.tree.applyBatch(updates));
  }

  /** The value of `key` at `root` (default: the current root). */
  async readState(key: Uint8Array, root: Uint8Array = this.tree.root): Promise<Uint8Array | undefined> {
    if (this.store.syncNodeReader() === null)
      await prefetchStatePaths(this.store, this.stateNodes, root, [key], false);
    return withPrefetchedNodes(this.store, { state: this.stateNodes }, () => this.tree.getAt(root, key));
  }

  async proveState(key: Uint8Array, root: Uint8Array = this.tree.root): Promise<StateProof> {
    if (this.store.syncNodeReader() === null)
      await prefetchStatePaths(this.store, this.stateNodes, root, [key], false);
    return withPrefetchedNodes(this.store, { state: this.stateNodes }, () => this.tree.prove(key, root));
  }

  /** The RFC 9162 inclusion proof of log entry `index` in the log of `size` entries. */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    if (this.store.syncNodeReader() === null) {
      await prefetchLogNodes(this.store, this.logNodes, (shadow) => shadow.inclusionProof(index, size));
    }
    return withPrefetchedNodes(this.store, { log: this.logNodes }, () =>
      this.log.inclusionProof(index, size),
    );
  }

  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    if (this.store.syncNodeReader() === null) {
      await prefetchLogNodes(this.store, this.logNodes, (shadow) => shadow.consistencyProof(size1, size2));
    }
    return withPrefetchedNodes(this.store, { log: this.logNodes }, () =>
      this.log.consistencyProof(size1, size2),
    );
  }

  /**
   * Writes the block with the log and state nodes added since the last commit, atomically. The
   * header must carry the current log root and size and the current state root. After a failed
   * commit this ledger is stale: reopen it from the store.
   */
  async commit(block: Block, options: CommitOptions): Promise<void> {
    this.#checkFresh();
    const { header } = block;
    if (header.logSize !== BigInt(this.log.size) || !equalBytes(header.logRoot, this.log.root())) {
      throw new StoreError("STORE_BATCH_INVALID", "the header's log root and size are not the log's", {
        height: header.height,
      });
    }
    if (!equalBytes(header.stateRoot, this.tree.root)) {
      throw new StoreError("STORE_BATCH_INVALID", "the header's state root is not the tree's", {
        height: header.height,
      });
    }
    const transactions =
      options.transactions ?? transactionIndexEntriesOf(block.transactions, this.store.hash);
    try {
      await this.store.commitBlock({
        block,
        transactions,
        receipts: options.receipts,
        events: options.events ?? [],
        logNodes: this.logNodes.pendingEntries(),
        stateNodes: this.stateNodes.pendingEntries(),
        metadata: options.metadata ?? [],
        ...(options.previousCertificate === undefined
          ? {}
          : { previousCertificate: options.previousCertificate }),
      });
    } catch (error) {
      this.#stale = true;
      this.logNodes.discardPending();
      this.stateNodes.discardPending();
      throw error;
    }
    this.logNodes.markCommitted(this.log.size);
    this.stateNodes.markCommitted();
    this.#head = {
      height: header.height,
      blockHash: block.certificate.blockHash,
      logSize: this.log.size,
      logRoot: header.logRoot,
      stateRoot: header.stateRoot,
    };
    assert(this.logNodes.committedSize === this.log.size, "the committed log size is the log's");
  }
}

/** The log size below which a store holds only the log's frontier (0: a full log). */
export async function snapshotLogSizeOf(store: Store): Promise<number> {
  const bytes = await store.readMetadata(METADATA_KEYS.snapshotLogSize);
  if (bytes === undefined) return 0;
  const size = decodeU64(bytes, METADATA_KEYS.snapshotLogSize);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt("the snapshot log size is out of range");
  return Number(size);
}

function isEmpty(hash: Uint8Array): boolean {
  for (const byte of hash) if (byte !== 0) return false;
  return true;
}
