/**
 * The storage contract every back end implements (SQLite, PostgreSQL), checked by one
 * compliance suite (store.case.ts). All methods are asynchronous because PostgreSQL is; the
 * SQLite back end runs them on better-sqlite3's synchronous API.
 *
 * A block is written with everything that belongs to it in one atomic batch (`commitBlock`):
 * the block and its commit certificate, its transaction rows and their indexes (sender,
 * contract), its execution receipts, its events and their indexes (contract, type, key), the new
 * transparency-log nodes, the new state-tree nodes and the chain metadata. After a crash either
 * all of it is there or none of it.
 * @module
 */
import type { HashFunction } from "../crypto/suite.ts";
import type { Block, CommitCertificate } from "../ledger/index.ts";

/** The last committed block, as recorded in the chain metadata by `commitBlock`. */
export interface ChainHead {
  readonly height: bigint;
  readonly blockHash: Uint8Array;
  /** Transparency-log size after the head block (its header's logSize). */
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  readonly stateRoot: Uint8Array;
}

/** What the indexes need of one transaction; parallel to `block.transactions`. */
export interface TransactionIndexEntry {
  /** `hashEncodedTransaction(encoded)`, the transaction id and its log leaf data. */
  readonly hash: Uint8Array;
  /** `keyIdOf(suite, senderPublicKey)`. */
  readonly senderKeyId: Uint8Array;
  readonly contract: string;
}

/** An event emitted by a transaction of the block (execution fills these in). */
export interface BlockEvent {
  /** Position of the emitting transaction in the block. */
  readonly txIndex: number;
  /** Position of the event among its transaction's events. */
  readonly eventIndex: number;
  readonly contract: string;
  readonly type: string;
  /**
   * The event's indexed key (1..EVENT_KEY_BYTES_MAX bytes of UTF-8), or null: events are
   * queryable by it (`Store.events({ key })`). The node chooses it; the store only indexes it.
   */
  readonly key: string | null;
  readonly data: Uint8Array;
}

/** A transparency-log node: the hash of the perfect subtree at (level, index). */
export interface LogNodeEntry {
  readonly level: number;
  readonly index: number;
  readonly hash: Uint8Array;
}

/** A state-tree node: its hash and its encoding (src/state/node-store.ts). */
export type StateNodeEntry = readonly [hash: Uint8Array, encodedNode: Uint8Array];

export type MetadataEntry = readonly [key: string, value: Uint8Array];

/** Everything one block adds to the store, written atomically by `commitBlock`. */
export interface BlockBatch {
  readonly block: Block;
  /**
   * The certificate of the block below as the header's previousCommitHash names it (validators
   * collect different sets of precommits, so the stored one may differ): it replaces the stored
   * one in the same atomic write, and every node's chain below its head becomes identical.
   */
  readonly previousCertificate?: CommitCertificate;
  readonly transactions: readonly TransactionIndexEntry[];
  /**
   * The encoded execution receipts of the block (src/exec/receipt.ts), one per transaction, in
   * block order; opaque to the store, which hashes them (`receiptHashOfEncoded`) only to check
   * them against the header's receiptRoot on reads and in `verifyStore`.
   */
  readonly receipts: readonly Uint8Array[];
  readonly events: readonly BlockEvent[];
  readonly logNodes: readonly LogNodeEntry[];
  readonly stateNodes: readonly StateNodeEntry[];
  /** Extra metadata written with the block (the head keys are written by the store itself). */
  readonly metadata: readonly MetadataEntry[];
}

/**
 * The starting point of a node that joins from a state snapshot at height H instead of replaying
 * blocks 1..H (docs/adr/0005-snapshot-sync.md), written atomically by `importSnapshotBase` into an
 * empty store: block H becomes the head, and the store holds nothing below it.
 */
export interface SnapshotBaseBatch {
  /** Block H with a commit certificate the caller verified against H's validator set. */
  readonly block: Block;
  /** Index entries of block H's transactions (its events are not known: they are not stored). */
  readonly transactions: readonly TransactionIndexEntry[];
  /**
   * The transparency log's frontier at H's logSize: exactly one node per set bit of the size
   * (log-frontier.ts), folding to H's logRoot. The log continues from them (MerkleLog frontierSize).
   */
  readonly logNodes: readonly LogNodeEntry[];
  /** The nodes of the state tree under H's stateRoot, verified by the caller (SnapshotImport). */
  readonly stateNodes: readonly StateNodeEntry[];
  /** Extra metadata (chain id, genesis hash, the consensus checkpoint); head and snapshot keys are the store's. */
  readonly metadata: readonly MetadataEntry[];
}

export interface StoredTransaction {
  readonly hash: Uint8Array;
  readonly height: bigint;
  readonly indexInBlock: number;
  /** Position in the transparency log (0-based): the order of all transactions ever. */
  readonly logIndex: number;
  readonly encoded: Uint8Array;
}

export interface StoredEvent {
  readonly height: bigint;
  readonly txIndex: number;
  readonly eventIndex: number;
  /** Log index of the emitting transaction. */
  readonly logIndex: number;
  readonly contract: string;
  readonly type: string;
  /** The indexed key, or null (events stored before schema version 2 have none). */
  readonly key: string | null;
  readonly data: Uint8Array;
}

/** A transaction's execution receipt, as stored (`Store.receiptOfTransaction`). */
export interface StoredReceipt {
  readonly height: bigint;
  readonly indexInBlock: number;
  /** The encoded receipt, as the block batch gave it. */
  readonly encoded: Uint8Array;
}

export interface PageOptions {
  /** At most this many rows (default and maximum: QUERY_RESULTS_MAX). */
  readonly limit?: number;
  /** Only rows after this log index (exclusive): pass the last row's logIndex to page on. */
  readonly afterLogIndex?: number;
}

/**
 * Filters of `Store.events`: each one is optional, those given are combined with AND. Results are
 * in (log index, event index) order, paged by `afterLogIndex` (exclusive): a page that ends inside
 * a transaction's events continues after that transaction.
 */
export interface EventQuery extends PageOptions {
  /** Only events of this contract. */
  readonly contract?: string;
  /** Only events of this type. */
  readonly type?: string;
  /** Only events with this indexed key. */
  readonly key?: string;
}

/** Rows of one stored block, unchecked: what `verifyStore` and the block readers check. */
export interface BlockRecord {
  readonly height: bigint;
  /** The block hash stored beside the header (recomputed and compared on every read). */
  readonly storedHash: Uint8Array;
  readonly header: Uint8Array;
  readonly evidence: readonly Uint8Array[];
  readonly certificate: Uint8Array | undefined;
  /** Log index of the block's first transaction. */
  readonly firstLogIndex: number;
  /** The transaction rows of the block's log range, in log order. */
  readonly transactions: ReadonlyArray<{
    readonly logIndex: number;
    readonly height: bigint;
    readonly indexInBlock: number;
    readonly encoded: Uint8Array;
  }>;
  /**
   * True when the block was committed with its receipts (false: written before schema version 2,
   * or a snapshot base).
   */
  readonly receiptsStored: boolean;
  /** The receipt rows of the block's log range, in log order. */
  readonly receipts: ReadonlyArray<{ readonly logIndex: number; readonly encoded: Uint8Array }>;
}

export interface StoreStatistics {
  readonly blocks: number;
  readonly transactions: number;
  readonly events: number;
  readonly receipts: number;
  readonly logNodes: number;
  readonly stateNodes: number;
  /** Bytes the store occupies on disk (database file and WAL, or the PostgreSQL database). */
  readonly sizeBytes: number;
}

/**
 * The consensus write-ahead log: records a validator must not forget across a crash (its own
 * votes and proposals) so that a restarted validator never signs conflicting messages.
 */
export interface ConsensusWal {
  /** Appends a record for `height`; durable (fsynced) when the promise resolves. */
  walAppend(height: bigint, record: Uint8Array): Promise<void>;
  /** The records of heights >= `fromHeight`, in append order. */
  walRead(fromHeight: bigint): Promise<Array<{ height: bigint; record: Uint8Array }>>;
  /** Removes the records of heights < `belowHeight`. */
  walPrune(belowHeight: bigint): Promise<void>;
}

/** Synchronous node reads, offered by back ends that have them (SQLite). */
export interface SyncNodeReader {
  logNode(level: number, index: number): Uint8Array | undefined;
  stateNode(hash: Uint8Array): Uint8Array | undefined;
}

export type StoreKind = "sqlite" | "postgres";

export interface Store extends ConsensusWal {
  readonly kind: StoreKind;
  /** The chain's hash, used to check blocks, transactions and state nodes on every read. */
  readonly hash: HashFunction;

  /** The last committed block, or null before the first one. */
  head(): Promise<ChainHead | null>;
  /** Writes one block and everything that belongs to it, atomically; durable when it resolves. */
  commitBlock(batch: BlockBatch): Promise<void>;

  /** The block at `height` with its certificate, checked against its hash and header roots. */
  blockByHeight(height: bigint): Promise<Block | undefined>;
  blockByHash(blockHash: Uint8Array): Promise<Block | undefined>;
  certificateByHeight(height: bigint): Promise<CommitCertificate | undefined>;
  certificateByBlockHash(blockHash: Uint8Array): Promise<CommitCertificate | undefined>;
  /** The unchecked rows of one block (for `verifyStore`). */
  blockRecord(height: bigint): Promise<BlockRecord | undefined>;

  transactionByHash(hash: Uint8Array): Promise<StoredTransaction | undefined>;
  transactionsBySender(senderKeyId: Uint8Array, page?: PageOptions): Promise<StoredTransaction[]>;
  transactionsByContract(contract: string, page?: PageOptions): Promise<StoredTransaction[]>;
  /** Events matching every filter given (none: all events), in log order, page by page. */
  events(query: EventQuery): Promise<StoredEvent[]>;

  /**
   * The encoded receipts of the block at `height`, in block order, checked against the header
   * (count, and their root is its receiptRoot: STORE_RECEIPTS_MISMATCH otherwise); undefined when
   * the store holds no such block or not its receipts (written before schema version 2, or below
   * or at a snapshot base).
   */
  receiptsByHeight(height: bigint): Promise<Uint8Array[] | undefined>;
  /**
   * The receipt of one transaction, by the transaction's hash; undefined when the transaction or
   * its receipt is not stored. A point read, not checked against the header: a proof of it is
   * built from `receiptsByHeight` (which checks the block's receipts against the receiptRoot).
   */
  receiptOfTransaction(hash: Uint8Array): Promise<StoredReceipt | undefined>;

  readMetadata(key: string): Promise<Uint8Array | undefined>;
  /** Writes metadata outside a block (chain id, genesis hash); the head keys are refused. */
  writeMetadata(entries: readonly MetadataEntry[]): Promise<void>;

  /** Log nodes by position; undefined where none is stored. */
  readLogNodes(
    positions: ReadonlyArray<{ level: number; index: number }>,
  ): Promise<Array<Uint8Array | undefined>>;
  /** State nodes by hash (each checked against its hash); undefined where none is stored. */
  readStateNodes(hashes: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>>;
  /** Synchronous reads when the back end has them (SQLite), else null (PostgreSQL). */
  syncNodeReader(): SyncNodeReader | null;
  /**
   * Writes state nodes and metadata in one transaction (snapshot import: the nodes of a verified
   * state). Content-addressed nodes are invisible until a root refers to them.
   */
  importState(nodes: readonly StateNodeEntry[], metadata: readonly MetadataEntry[]): Promise<void>;
  /**
   * Writes a snapshot base into a store that holds no block (STORE_NOT_EMPTY otherwise), in one
   * transaction: block H and its certificate and transaction rows, the log frontier, the state
   * nodes, the head metadata for H and the snapshot metadata (snapshot_height, snapshot_state_root,
   * snapshot_log_size). Checked first: the certificate names the block, the body matches the
   * header, the log nodes are exactly the frontier of H's logSize and fold to H's logRoot, and
   * the root node of H's stateRoot is among the state nodes (STORE_BATCH_INVALID otherwise).
   */
  importSnapshotBase(batch: SnapshotBaseBatch): Promise<void>;

  statistics(): Promise<StoreStatistics>;
  close(): Promise<void>;
}

/** Keys of the chain metadata. The head keys are written only by `commitBlock`. */
export const METADATA_KEYS = {
  chainId: "chain_id",
  genesisHash: "genesis_hash",
  suite: "suite",
  headHeight: "head_height",
  headHash: "head_hash",
  logSize: "log_size",
  logRoot: "log_root",
  stateRoot: "state_root",
  snapshotHeight: "snapshot_height",
  snapshotStateRoot: "snapshot_state_root",
  /**
   * Written only by `importSnapshotBase`: the log size of the snapshot height, below which the log
   * holds only its frontier (its presence marks a store whose chain starts at snapshot_height).
   */
  snapshotLogSize: "snapshot_log_size",
} as const;

export const HEAD_METADATA_KEYS: ReadonlySet<string> = new Set([
  METADATA_KEYS.headHeight,
  METADATA_KEYS.headHash,
  METADATA_KEYS.logSize,
  METADATA_KEYS.logRoot,
  METADATA_KEYS.stateRoot,
]);
