/** Reads the explorer pages share: pages of blocks by height, bounded however long the chain. */
import { client } from "./api.ts";
import type { BlockJson, BlockNoticeJson } from "./sdk.ts";

/** Blocks on one page of the block list. */
export const BLOCKS_PAGE_SIZE = 20;
/** Transactions on one page of the transaction list. */
export const TRANSACTIONS_PAGE_SIZE = 25;
/** Blocks one transaction page looks through (empty blocks are common on a quiet chain). */
export const TRANSACTIONS_PAGE_BLOCKS_MAX = 60;

export interface BlockRow {
  readonly height: bigint;
  readonly hash: string;
  readonly timeMs: number;
  readonly txCount: number;
  readonly sizeBytes: number;
  readonly proposer: string;
}

export function blockRowOf(block: BlockJson | BlockNoticeJson): BlockRow {
  return {
    height: BigInt(block.height),
    hash: block.hash,
    timeMs: Number(block.header.timeMs),
    txCount: block.header.txCount,
    sizeBytes: block.sizeBytes,
    proposer: block.header.proposer,
  };
}

/**
 * Blocks `top`, `top - 1`, … (at most `count`, not below height 1), fetched by height: each page
 * costs `count` indexed lookups whether the chain holds ten blocks or ten million.
 */
export async function blocksDownFrom(top: bigint, count: number): Promise<BlockJson[]> {
  const heights: bigint[] = [];
  for (let height = top; height >= 1n && heights.length < count; height--) heights.push(height);
  return Promise.all(heights.map((height) => client.block(height)));
}

export interface TransactionRow {
  readonly hash: string;
  readonly height: bigint;
  readonly indexInBlock: number;
  readonly timeMs: number;
}

export interface TransactionPage {
  readonly rows: readonly TransactionRow[];
  /** The height to continue below, or null at the chain's start. */
  readonly nextBelow: bigint | null;
  readonly scannedFrom: bigint;
  readonly scannedTo: bigint;
}

/** The newest transactions at or below `top`, walking down at most TRANSACTIONS_PAGE_BLOCKS_MAX blocks. */
export async function transactionsDownFrom(top: bigint): Promise<TransactionPage> {
  const rows: TransactionRow[] = [];
  let height = top;
  const batch = 10;
  while (
    height >= 1n &&
    rows.length < TRANSACTIONS_PAGE_SIZE &&
    top - height < BigInt(TRANSACTIONS_PAGE_BLOCKS_MAX)
  ) {
    const blocks = await blocksDownFrom(height, batch);
    for (const block of blocks) {
      const blockHeight = BigInt(block.height);
      for (const [indexInBlock, hash] of block.transactionHashes.entries()) {
        rows.push({ hash, height: blockHeight, indexInBlock, timeMs: Number(block.header.timeMs) });
      }
      height = blockHeight - 1n;
      if (rows.length >= TRANSACTIONS_PAGE_SIZE) break;
    }
  }
  return { rows, nextBelow: height >= 1n ? height : null, scannedFrom: top, scannedTo: height + 1n };
}

/** Transactions a second over the blocks given (newest first), by their header times. */
export function transactionsPerSecond(blocks: readonly BlockRow[]): number | null {
  if (blocks.length < 2) return null;
  const newest = blocks[0]!;
  const oldest = blocks[blocks.length - 1]!;
  const spanMs = newest.timeMs - oldest.timeMs;
  if (spanMs <= 0) return null;
  // The oldest block's transactions arrived before the span began.
  let transactions = 0;
  for (const block of blocks.slice(0, -1)) transactions += block.txCount;
  return (transactions * 1000) / spanMs;
}
