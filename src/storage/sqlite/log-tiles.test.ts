import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LogNodeEntry } from "../store.ts";
import { decodeBlockReceipts, encodeBlockReceipts, endsWindowOf, receiptBoundsOf } from "./block-receipts.ts";
import { LOG_TILE_NODES, type LogTile, LogTileCache, nodeOfTile, tileWritesOf } from "./log-tiles.ts";

function hashOf(level: number, index: number): Uint8Array {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, level);
  new DataView(hash.buffer).setUint32(4, index);
  return hash;
}

function nodes(level: number, from: number, count: number): LogNodeEntry[] {
  return Array.from({ length: count }, (_, offset) => ({
    level,
    index: from + offset,
    hash: hashOf(level, from + offset),
  }));
}

/** Applies writes to a map of tiles, as the store's upsert does. */
function applyWrites(tiles: Map<string, LogTile>, writes: ReturnType<typeof tileWritesOf>): void {
  for (const write of writes) {
    tiles.set(`${write.level}/${write.tile}`, { firstOffset: write.firstOffset, hashes: write.hashes });
  }
}

describe("log tiles", () => {
  it("groups a level's nodes into tiles, extends the stored partial tile, and reads every node back", () => {
    const tiles = new Map<string, LogTile>();
    const read = (level: number, tile: number) => tiles.get(`${level}/${tile}`);
    applyWrites(tiles, tileWritesOf([...nodes(0, 0, 300), ...nodes(1, 0, 150)], read));
    assert.deepEqual([...tiles.keys()].sort(), ["0/0", "0/1", "1/0"]);
    const second = tileWritesOf([...nodes(0, 300, 400), ...nodes(1, 150, 200)], read);
    // Level 0: tile 1 extended (it held 44), tile 2 full; level 1: tile 0 completed, tile 1 begun.
    assert.deepEqual(
      second.map((write) => `${write.level}/${write.tile}:${write.hashes.length / 32}`),
      ["0/1:256", "0/2:188", "1/0:256", "1/1:94"],
    );
    applyWrites(tiles, second);
    for (const [level, size] of [
      [0, 700],
      [1, 350],
    ] as const) {
      for (let index = 0; index < size + 5; index++) {
        const tile = read(level, Math.floor(index / LOG_TILE_NODES));
        const hash = tile === undefined ? undefined : nodeOfTile(tile, index);
        assert.deepEqual(hash, index < size ? hashOf(level, index) : undefined, `${level}/${index}`);
      }
    }
  });

  it("starts a level inside a tile (a snapshot's frontier), and refuses a repeated or skipped node", () => {
    const tiles = new Map<string, LogTile>();
    const read = (level: number, tile: number) => tiles.get(`${level}/${tile}`);
    applyWrites(tiles, tileWritesOf(nodes(2, 300, 1), read));
    const tile = read(2, 1)!;
    assert.equal(tile.firstOffset, 300 - LOG_TILE_NODES);
    assert.equal(nodeOfTile(tile, 299), undefined);
    assert.deepEqual(nodeOfTile(tile, 300), hashOf(2, 300));
    applyWrites(tiles, tileWritesOf(nodes(2, 301, 3), read));
    assert.equal(read(2, 1)!.hashes.length, 4 * 32);
    for (const bad of [nodes(2, 303, 1), nodes(2, 305, 1), [...nodes(2, 304, 2), ...nodes(2, 304, 1)]]) {
      assert.throws(
        () => tileWritesOf(bad, read),
        (error: Error & { code?: string }) => error.code === "STORE_WRITE_FAILED",
      );
    }
  });

  it("keeps at most its limit of tiles", () => {
    const cache = new LogTileCache(4);
    const tile: LogTile = { firstOffset: 0, hashes: new Uint8Array(32) };
    for (let index = 0; index < 10; index++) cache.set(0, index, tile);
    const held = Array.from({ length: 10 }, (_, index) => cache.get(0, index) !== undefined);
    assert.ok(held.filter(Boolean).length <= 4);
    assert.ok(held[9]);
    cache.delete(0, 9);
    assert.equal(cache.get(0, 9), undefined);
  });
});

describe("a block's receipts in one row", () => {
  it("slices each receipt back, whole and one by one, including empty ones", () => {
    const receipts = [
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      new Uint8Array([4]),
      new Uint8Array(300).fill(9),
    ];
    const { ends, encoded } = encodeBlockReceipts(receipts);
    assert.deepEqual(decodeBlockReceipts(ends, encoded, 1n), receipts);
    for (let index = 0; index < receipts.length; index++) {
      const window = endsWindowOf(index);
      const bytes = ends.subarray(window.from - 1, window.from - 1 + window.length);
      const { start, end } = receiptBoundsOf(bytes, index, 1n);
      assert.deepEqual(encoded.subarray(start, end), receipts[index]);
    }
    assert.deepEqual(
      decodeBlockReceipts(...(Object.values(encodeBlockReceipts([])) as [Uint8Array, Uint8Array]), 1n),
      [],
    );
  });

  it("reports damaged offsets as a receipts mismatch of the block", () => {
    const { ends, encoded } = encodeBlockReceipts([new Uint8Array([1, 2]), new Uint8Array([3])]);
    for (const [badEnds, badEncoded] of [
      [ends.subarray(0, 6), encoded],
      [ends, encoded.subarray(0, 2)],
      [ends, new Uint8Array([...encoded, 0])],
    ] as const) {
      assert.throws(
        () => decodeBlockReceipts(badEnds, badEncoded, 7n),
        (error: Error & { code?: string; details?: { height: bigint } }) =>
          error.code === "STORE_RECEIPTS_MISMATCH" && error.details?.height === 7n,
      );
    }
    assert.throws(
      () => receiptBoundsOf(new Uint8Array(4), 1, 7n),
      (error: Error & { code?: string }) => error.code === "STORE_RECEIPTS_MISMATCH",
    );
  });
});
