/**
 * Transparency-log nodes of the SQLite back end, stored in tiles (schema version 3): the nodes of
 * one level are grouped LOG_TILE_NODES at a time, and a tile row `(level, tile)` holds the 32-byte
 * hashes of nodes `tile * LOG_TILE_NODES + first_offset …` concatenated, as RFC 9162 / Trillian tile
 * logs do. A block of 1,000 transactions then writes about 15 tile rows instead of about 2,000 node
 * rows; the partial tile at the right edge of each level is rewritten as it fills
 * (docs/adr/0002-storage.md, "Log nodes in tiles").
 *
 * `first_offset` is 0 except where a level starts inside a tile: a store joined from a snapshot
 * holds only the log's frontier below its snapshot size, so each level starts at its frontier
 * node (or at its first node after the snapshot). Inside a tile the nodes are contiguous.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { StoreError } from "../errors.ts";
import type { LogNodeEntry } from "../store.ts";
import { corrupt } from "../store-common.ts";

/** Nodes per tile. Part of the stored layout: changing it needs a migration. */
export const LOG_TILE_NODES = 256;
export const LOG_NODE_BYTES = 32;

/** One stored tile: hashes of the nodes `firstOffset …` of the tile, concatenated. */
export interface LogTile {
  readonly firstOffset: number;
  readonly hashes: Uint8Array;
}

/** A tile row to write: the whole new content of tile `tile` of `level`. */
export interface LogTileWrite extends LogTile {
  readonly level: number;
  readonly tile: number;
}

export function tileOf(index: number): number {
  return Math.floor(index / LOG_TILE_NODES);
}

/** Checks a stored tile's shape (STORE_CORRUPT naming it otherwise). */
export function checkTile(level: number, tile: number, stored: LogTile): LogTile {
  const count = stored.hashes.length / LOG_NODE_BYTES;
  if (
    !Number.isInteger(stored.firstOffset) ||
    stored.firstOffset < 0 ||
    !Number.isInteger(count) ||
    count < 1 ||
    stored.firstOffset + count > LOG_TILE_NODES
  ) {
    throw corrupt("a transparency-log tile is malformed", { level, tile });
  }
  return stored;
}

/** The hash of node `index` in its (checked) tile, copied; undefined when the tile does not hold it. */
export function nodeOfTile(tile: LogTile, index: number): Uint8Array | undefined {
  const position = (index % LOG_TILE_NODES) - tile.firstOffset;
  if (position < 0 || (position + 1) * LOG_NODE_BYTES > tile.hashes.length) return undefined;
  // A copy: a view would keep the whole tile alive in the callers' node caches.
  return tile.hashes.slice(position * LOG_NODE_BYTES, (position + 1) * LOG_NODE_BYTES);
}

interface TileGroup {
  readonly level: number;
  readonly tile: number;
  readonly firstOffset: number;
  readonly stored: Uint8Array | undefined;
  readonly added: Uint8Array[];
  count: number;
}

/**
 * The tile rows that a block's new log nodes produce: each touched tile's stored nodes followed
 * by the new ones. `stored(level, tile)` reads a tile as committed (inside the block's
 * transaction). Every node must be the next one of its tile (MerkleLog writes each level in index
 * order): a repeated or skipped node is refused with STORE_WRITE_FAILED, as the old per-node
 * primary key refused a repeated node.
 */
export function tileWritesOf(
  nodes: readonly LogNodeEntry[],
  stored: (level: number, tile: number) => LogTile | undefined,
): LogTileWrite[] {
  const groups = new Map<string, TileGroup>();
  let current: TileGroup | undefined;
  for (const node of nodes) {
    const tile = tileOf(node.index);
    const offset = node.index - tile * LOG_TILE_NODES;
    if (current === undefined || current.level !== node.level || current.tile !== tile) {
      const key = `${node.level}/${tile}`;
      current = groups.get(key);
      if (current === undefined) {
        const row = stored(node.level, tile);
        current = {
          level: node.level,
          tile,
          firstOffset: row?.firstOffset ?? offset,
          stored: row?.hashes,
          added: [],
          count: row === undefined ? 0 : row.hashes.length / LOG_NODE_BYTES,
        };
        groups.set(key, current);
      }
    }
    if (offset !== current.firstOffset + current.count) {
      throw new StoreError("STORE_WRITE_FAILED", "a log node is not the next node of its level", {
        level: node.level,
        index: node.index,
      });
    }
    assert(node.hash.length === LOG_NODE_BYTES, "log nodes are 32-byte hashes");
    current.added.push(node.hash);
    current.count++;
  }
  const writes: LogTileWrite[] = [];
  for (const group of groups.values()) {
    const hashes = new Uint8Array(group.count * LOG_NODE_BYTES);
    let position = 0;
    if (group.stored !== undefined) {
      hashes.set(group.stored, 0);
      position = group.stored.length;
    }
    for (const hash of group.added) {
      hashes.set(hash, position);
      position += LOG_NODE_BYTES;
    }
    assert(position === hashes.length, "a tile is filled exactly");
    assert(group.firstOffset + group.count <= LOG_TILE_NODES, "a tile holds at most LOG_TILE_NODES nodes");
    writes.push({ level: group.level, tile: group.tile, firstOffset: group.firstOffset, hashes });
  }
  return writes;
}

/**
 * Recently read tiles, at most `entriesMax` (two generations of half each: O(1) per operation).
 * Only committed tiles go in; a tile written by a commit is dropped from it after the commit, and
 * a node past a cached partial tile's end is read again from the store (another connection may
 * have appended), so a cached tile never answers a node wrongly.
 */
export class LogTileCache {
  readonly #generationEntriesMax: number;
  #young = new Map<string, LogTile>();
  #old = new Map<string, LogTile>();

  constructor(entriesMax: number) {
    assert(Number.isInteger(entriesMax) && entriesMax >= 2, "a tile cache holds at least two tiles");
    this.#generationEntriesMax = Math.floor(entriesMax / 2);
  }

  get(level: number, tile: number): LogTile | undefined {
    const key = `${level}/${tile}`;
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(level, tile, old);
    return old;
  }

  set(level: number, tile: number, value: LogTile): void {
    const key = `${level}/${tile}`;
    if (!this.#young.has(key) && this.#young.size >= this.#generationEntriesMax) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }

  delete(level: number, tile: number): void {
    const key = `${level}/${tile}`;
    this.#young.delete(key);
    this.#old.delete(key);
  }
}
