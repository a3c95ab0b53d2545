/**
 * `verifyStore`: walks a whole store and reports the first damaged height. For every block it
 * recomputes the block hash and compares it with the stored one, checks the certificate, the
 * chain links (previous block hash, previous commit hash), the transaction rows against the
 * header (count, positions, txRoot), and the header's log root and size twice: against a log
 * recomputed from the transactions, and against the stored log nodes. When a block's receipts are
 * stored, they must be one per transaction and their root must be the header's receiptRoot
 * (finding STORE_RECEIPTS_MISMATCH; blocks written before schema version 2 and a snapshot base
 * hold none, which is not damage). At the head it checks the
 * head metadata and walks the whole state tree under the head's state root, checking every node
 * against its hash.
 *
 * A store that joined from a state snapshot (snapshot_log_size present) holds blocks from the
 * snapshot height H on and, below H's log size, only the log's frontier. Its walk starts at H:
 * block H must carry the snapshot metadata's state root and log size, the stored frontier must
 * fold to H's log root, the recomputed log continues from that frontier, and blocks from H + 1
 * link to H as any block links to its parent. The certificates' signatures are not checked here
 * (this is a storage check; the node verified them when it took each block).
 * @module
 */
import { equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { HashFunction } from "../crypto/suite.ts";
import {
  type Block,
  commitCertificateHash,
  hashEncodedTransaction,
  type LogNodeStore,
  logFrontierPositions,
  MerkleLog,
} from "../ledger/index.ts";
import { prefetchLogNodes, StoreLogNodes, withPrefetchedNodes } from "./node-adapters.ts";
import { snapshotLogSizeOf } from "./persistent-ledger.ts";
import { walkStateEntries } from "./state-walk.ts";
import { type ChainHead, METADATA_KEYS, type Store } from "./store.ts";
import { blockOfRecord, decodeU64, receiptsOfRecord } from "./store-common.ts";

export type VerifyReport =
  | {
      readonly ok: true;
      readonly height: bigint;
      readonly transactions: number;
      readonly stateEntries: number;
      /** The first block the store holds: 1, or the snapshot height it joined from. */
      readonly firstHeight: bigint;
    }
  | {
      readonly ok: false;
      /** The first damaged height (0: the store's metadata). */
      readonly height: bigint;
      readonly reason: string;
      /**
       * The error code of the finding: STORE_CORRUPT for most damage, STORE_RECEIPTS_MISMATCH when
       * a block's stored receipts disagree with its header's receiptRoot (count or root).
       */
      readonly code: string;
    };

/** A log node store that keeps nothing: a MerkleLog over it still knows its current root. */
const FRONTIER_ONLY: LogNodeStore = { get: () => undefined, put: () => {} };

/**
 * A log node store that answers the frontier it was seeded with and keeps nothing else: a
 * MerkleLog opened over it (frontierSize) continues a log it never saw, knowing its current root.
 */
function seededFrontierOnly(nodes: ReadonlyArray<{ level: number; index: number; hash: Uint8Array }>) {
  const seeded = new Map(nodes.map((node) => [`${node.level}/${node.index}`, node.hash]));
  const store: LogNodeStore = { get: (level, index) => seeded.get(`${level}/${index}`), put: () => {} };
  return store;
}

class Damaged extends Error {
  constructor(
    readonly height: bigint,
    readonly reason: string,
    readonly code: string,
  ) {
    super(reason);
  }
}

export async function verifyStore(store: Store): Promise<VerifyReport> {
  try {
    return await walk(store);
  } catch (error) {
    if (error instanceof Damaged)
      return { ok: false, height: error.height, reason: error.reason, code: error.code };
    throw error;
  }
}

async function guarded<Value>(height: bigint, read: () => Promise<Value> | Value): Promise<Value> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CityLedgerError) throw new Damaged(height, error.message, error.code);
    throw error;
  }
}

/** Where a store's chain starts: height 1 with an empty log, or a snapshot base. */
interface ChainStart {
  readonly height: bigint;
  /** True when the chain starts at a snapshot base (Store.importSnapshotBase). */
  readonly snapshot: boolean;
  /** The log size below which only the frontier is held (0 for a full store). */
  readonly logSize: number;
  readonly stateRoot: Uint8Array | null;
}

async function chainStartOf(store: Store, head: ChainHead): Promise<ChainStart> {
  // snapshot_log_size marks a snapshot base; snapshot_height alone is a state imported without
  // blocks (importSnapshot), which does not change where the chain starts.
  if ((await store.readMetadata(METADATA_KEYS.snapshotLogSize)) === undefined) {
    return { height: 1n, snapshot: false, logSize: 0, stateRoot: null };
  }
  const logSize = await guarded(0n, () => snapshotLogSizeOf(store));
  const heightBytes = await store.readMetadata(METADATA_KEYS.snapshotHeight);
  if (heightBytes === undefined) {
    throw new Damaged(0n, "the snapshot log size is recorded without its height", "STORE_CORRUPT");
  }
  const height = await guarded(0n, () => decodeU64(heightBytes, METADATA_KEYS.snapshotHeight));
  if (height < 1n || height > head.height) {
    throw new Damaged(0n, "the snapshot height is outside the stored chain", "STORE_CORRUPT");
  }
  const stateRoot = (await store.readMetadata(METADATA_KEYS.snapshotStateRoot)) ?? null;
  return { height, snapshot: true, logSize, stateRoot };
}

async function walk(store: Store): Promise<VerifyReport> {
  const head = await guarded(0n, () => store.head());
  const statistics = await store.statistics();
  if (head === null) {
    if (statistics.blocks > 0 || statistics.transactions > 0) {
      throw new Damaged(1n, "the store holds blocks but no head", "STORE_CORRUPT");
    }
    return { ok: true, height: 0n, transactions: 0, stateEntries: 0, firstHeight: 0n };
  }
  const genesisHash = await store.readMetadata(METADATA_KEYS.genesisHash);
  const start = await chainStartOf(store, head);
  const recomputed = await guarded(start.height, async () => {
    if (!start.snapshot) return new MerkleLog({ store: FRONTIER_ONLY, hash: store.hash });
    const positions = logFrontierPositions(start.logSize);
    const hashes = await store.readLogNodes(positions);
    const nodes = positions.map((position, offset) => ({ ...position, hash: hashes[offset]! }));
    if (hashes.some((hash) => hash === undefined)) {
      throw new Damaged(start.height, "a node of the snapshot's log frontier is missing", "STORE_CORRUPT");
    }
    return new MerkleLog({ store: seededFrontierOnly(nodes), hash: store.hash, frontierSize: start.logSize });
  });
  const storedNodes = new StoreLogNodes(store.syncNodeReader(), head.logSize, start.logSize);
  const openStored = () => storedNodes.openLog(store.hash);
  if (store.syncNodeReader() === null)
    await guarded(0n, () => prefetchLogNodes(store, storedNodes, () => {}));
  const stored = await guarded(head.height, () =>
    withPrefetchedNodes(store, { log: storedNodes }, openStored),
  );
  let previous: Block | undefined;
  let firstLogIndex = 0;
  let receiptRows = 0;
  for (let height = start.height; height <= head.height; height++) {
    const record = await guarded(height, () => store.blockRecord(height));
    if (record === undefined) throw new Damaged(height, "the block is missing", "STORE_CORRUPT");
    const block = await guarded(height, () => blockOfRecord(record, store.hash));
    const receipts = await guarded(height, () => receiptsOfRecord(record, store.hash));
    receiptRows += receipts?.length ?? 0;
    if (height === start.height) {
      firstLogIndex = record.firstLogIndex;
      checkStart(block, start);
    }
    checkLinks(block, previous, genesisHash, store.hash);
    // The snapshot block's transactions are inside the frontier the log continues from.
    if (previous !== undefined || !start.snapshot) {
      for (const transaction of block.transactions)
        recomputed.append(hashEncodedTransaction(transaction, store.hash));
    }
    const { header } = block;
    if (BigInt(recomputed.size) !== header.logSize || !equalBytes(recomputed.root(), header.logRoot)) {
      throw new Damaged(
        height,
        "the header's log root is not the root of the chain's transactions",
        "STORE_CORRUPT",
      );
    }
    const size = recomputed.size;
    if (store.syncNodeReader() === null) {
      await guarded(height, () => prefetchLogNodes(store, storedNodes, (shadow) => shadow.root(size)));
    }
    const storedRoot = await guarded(height, () =>
      withPrefetchedNodes(store, { log: storedNodes }, () => stored.root(size)),
    );
    if (!equalBytes(storedRoot, header.logRoot)) {
      throw new Damaged(height, "the stored log nodes disagree with the header's log root", "STORE_CORRUPT");
    }
    previous = block;
  }
  checkHead(head, previous!, {
    transactionRows: statistics.transactions,
    receiptRows: statistics.receipts,
    receiptsExpected: receiptRows,
    blockRows: statistics.blocks,
    blocksExpected: Number(head.height - start.height + 1n),
    transactionsExpected: head.logSize - firstLogIndex,
  });
  let stateEntries = 0;
  await guarded(head.height, async () => {
    for await (const _entry of walkStateEntries(
      (hashes) => store.readStateNodes(hashes),
      head.stateRoot,
      store.hash,
    )) {
      stateEntries++;
    }
  });
  return {
    ok: true,
    height: head.height,
    transactions: head.logSize,
    stateEntries,
    firstHeight: start.height,
  };
}

/** The snapshot block carries the state root and log size the snapshot metadata recorded. */
function checkStart(block: Block, start: ChainStart): void {
  if (!start.snapshot) return;
  const { header } = block;
  if (header.logSize !== BigInt(start.logSize)) {
    throw new Damaged(
      header.height,
      "the snapshot block's log size is not the recorded one",
      "STORE_CORRUPT",
    );
  }
  if (start.stateRoot === null || !equalBytes(start.stateRoot, header.stateRoot)) {
    throw new Damaged(
      header.height,
      "the snapshot block's state root is not the recorded one",
      "STORE_CORRUPT",
    );
  }
}

function checkLinks(
  block: Block,
  previous: Block | undefined,
  genesisHash: Uint8Array | undefined,
  hash: HashFunction,
): void {
  const { header } = block;
  if (previous === undefined) {
    // A snapshot base's first block links to blocks this store never held (checkStart covers it).
    if (header.height !== 1n) return;
    if (genesisHash !== undefined && !equalBytes(header.previousBlockHash, genesisHash)) {
      throw new Damaged(header.height, "the first block does not follow the genesis hash", "STORE_CORRUPT");
    }
    return;
  }
  if (!equalBytes(header.previousBlockHash, previous.certificate.blockHash)) {
    throw new Damaged(
      header.height,
      "the previous block hash does not link to the block below",
      "STORE_CORRUPT",
    );
  }
  const previousCommit = commitCertificateHash(previous.certificate, hash);
  if (!equalBytes(header.previousCommitHash, previousCommit)) {
    throw new Damaged(
      header.height,
      "the previous commit hash does not match the certificate below",
      "STORE_CORRUPT",
    );
  }
}

function checkHead(
  head: ChainHead,
  last: Block,
  rows: {
    readonly transactionRows: number;
    readonly receiptRows: number;
    readonly receiptsExpected: number;
    readonly blockRows: number;
    readonly blocksExpected: number;
    readonly transactionsExpected: number;
  },
): void {
  const { header } = last;
  if (
    !equalBytes(head.blockHash, last.certificate.blockHash) ||
    !equalBytes(head.stateRoot, header.stateRoot)
  ) {
    throw new Damaged(head.height, "the head metadata disagrees with the head block", "STORE_CORRUPT");
  }
  if (!equalBytes(head.logRoot, header.logRoot) || BigInt(head.logSize) !== header.logSize) {
    throw new Damaged(head.height, "the head metadata's log disagrees with the head block", "STORE_CORRUPT");
  }
  if (
    rows.blockRows !== rows.blocksExpected ||
    rows.transactionRows !== rows.transactionsExpected ||
    rows.receiptRows !== rows.receiptsExpected
  ) {
    throw new Damaged(head.height + 1n, "rows exist above the head (a partial block)", "STORE_CORRUPT");
  }
}
