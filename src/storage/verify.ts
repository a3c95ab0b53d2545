/**
 * `verifyStore`: walks a whole store and reports the first damaged height. For every block it
 * recomputes the block hash and compares it with the stored one, checks the certificate, the
 * chain links (previous block hash, previous commit hash), the transaction rows against the
 * header (count, positions, txRoot), and the header's log root and size twice: against a log
 * recomputed from the transactions, and against the stored log nodes. At the head it checks the
 * head metadata and walks the whole state tree under the head's state root, checking every node
 * against its hash.
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
  MerkleLog,
} from "../ledger/index.ts";
import { prefetchLogNodes, StoreLogNodes, withPrefetchedNodes } from "./node-adapters.ts";
import { walkStateEntries } from "./state-walk.ts";
import { METADATA_KEYS, type Store } from "./store.ts";
import { blockOfRecord } from "./store-common.ts";

export type VerifyReport =
  | {
      readonly ok: true;
      readonly height: bigint;
      readonly transactions: number;
      readonly stateEntries: number;
    }
  | {
      readonly ok: false;
      /** The first damaged height (0: the store's metadata). */
      readonly height: bigint;
      readonly reason: string;
      readonly code: string;
    };

/** A log node store that keeps nothing: a MerkleLog over it still knows its current root. */
const FRONTIER_ONLY: LogNodeStore = { get: () => undefined, put: () => {} };

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

async function walk(store: Store): Promise<VerifyReport> {
  const head = await guarded(0n, () => store.head());
  const statistics = await store.statistics();
  if (head === null) {
    if (statistics.blocks > 0 || statistics.transactions > 0) {
      throw new Damaged(1n, "the store holds blocks but no head", "STORE_CORRUPT");
    }
    return { ok: true, height: 0n, transactions: 0, stateEntries: 0 };
  }
  const genesisHash = await store.readMetadata(METADATA_KEYS.genesisHash);
  const recomputed = new MerkleLog({ store: FRONTIER_ONLY, hash: store.hash });
  const storedNodes = new StoreLogNodes(store.syncNodeReader(), head.logSize);
  const openStored = () => new MerkleLog({ store: storedNodes, hash: store.hash });
  if (store.syncNodeReader() === null)
    await guarded(0n, () => prefetchLogNodes(store, storedNodes, () => {}));
  const stored = await guarded(head.height, () =>
    withPrefetchedNodes(store, { log: storedNodes }, openStored),
  );
  let previous: Block | undefined;
  for (let height = 1n; height <= head.height; height++) {
    const record = await guarded(height, () => store.blockRecord(height));
    if (record === undefined) throw new Damaged(height, "the block is missing", "STORE_CORRUPT");
    const block = await guarded(height, () => blockOfRecord(record, store.hash));
    checkLinks(block, previous, genesisHash, store.hash);
    for (const transaction of block.transactions)
      recomputed.append(hashEncodedTransaction(transaction, store.hash));
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
  checkHead(head, previous!, statistics.transactions, statistics.blocks);
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
  return { ok: true, height: head.height, transactions: head.logSize, stateEntries };
}

function checkLinks(
  block: Block,
  previous: Block | undefined,
  genesisHash: Uint8Array | undefined,
  hash: HashFunction,
): void {
  const { header } = block;
  if (previous === undefined) {
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
  head: {
    height: bigint;
    blockHash: Uint8Array;
    logSize: number;
    logRoot: Uint8Array;
    stateRoot: Uint8Array;
  },
  last: Block,
  transactionRows: number,
  blockRows: number,
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
  if (blockRows !== Number(head.height) || transactionRows !== head.logSize) {
    throw new Damaged(head.height + 1n, "rows exist above the head (a partial block)", "STORE_CORRUPT");
  }
}
