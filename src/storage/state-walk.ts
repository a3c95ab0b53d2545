/**
 * Walks every (key, value) of the state tree under a root, in increasing key order, reading
 * nodes from a Store asynchronously in windows of STATE_WALK_FETCH_NODES_MAX nodes per round
 * trip. Every node is checked on the way: the store checks each node against its hash, and the
 * walk checks each leaf's value against its value hash, the key order, and the depth. So a walk
 * that completes has verified the whole tree against its root. A walk from a key (`fromKey`)
 * skips every subtree whose keys all lie below it, descending the key's path only: it serves one
 * snapshot chunk without reading the chunks before it.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, compareBytes, equalBytes } from "../base/bytes.ts";
import type { HashFunction } from "../crypto/suite.ts";
import {
  STATE_INTERNAL_PREFIX,
  STATE_LEAF_PREFIX,
  STATE_TREE_DEPTH_MAX,
  type StateEntry,
} from "../state/index.ts";
import { STATE_WALK_FETCH_NODES_MAX } from "./limits.ts";
import { corrupt } from "./store-common.ts";

type Item =
  | {
      readonly kind: "node";
      readonly hash: Uint8Array;
      readonly depth: number;
      /** The walk's `fromKey` when the node lies on its path (its left part may be skipped), else null. */
      readonly bound: Uint8Array | null;
    }
  | { readonly kind: "entry"; readonly entry: StateEntry };

const VALUE_PREFIX = 0x02;

/** Reads nodes by hash (checked against their hashes), undefined where absent. */
export type StateNodeSource = (hashes: readonly Uint8Array[]) => Promise<Array<Uint8Array | undefined>>;

/** The entries under `root` in key order; with `fromKey`, only those whose key is at least it. */
export async function* walkStateEntries(
  source: StateNodeSource,
  root: Uint8Array,
  hash: HashFunction,
  fromKey: Uint8Array | null = null,
): AsyncGenerator<StateEntry> {
  assert(fromKey === null || fromKey.length === 32, "a state key is 32 bytes");
  let frontier: Item[] = isEmpty(root) ? [] : [{ kind: "node", hash: root, depth: 0, bound: fromKey }];
  let keyPrevious: Uint8Array | null = null;
  while (frontier.length > 0) {
    let ready = 0;
    while (ready < frontier.length && frontier[ready]!.kind === "entry") ready++;
    for (let index = 0; index < ready; index++) {
      const { entry } = frontier[index] as { entry: StateEntry };
      if (keyPrevious !== null && compareBytes(keyPrevious, entry.key) >= 0) {
        throw corrupt("state leaves are out of key order", { key: bytesToHex(entry.key) });
      }
      keyPrevious = entry.key;
      yield entry;
    }
    frontier = frontier.slice(ready);
    if (frontier.length === 0) break;
    const window = frontier.slice(0, STATE_WALK_FETCH_NODES_MAX);
    const hashes = window
      .filter((item) => item.kind === "node")
      .map((item) => (item as { hash: Uint8Array }).hash);
    const nodes = await source(hashes);
    assert(nodes.length === hashes.length, "one answer per hash");
    const expanded: Item[] = [];
    let nodeIndex = 0;
    for (const item of window) {
      if (item.kind === "entry") {
        expanded.push(item);
        continue;
      }
      const encoded = nodes[nodeIndex++];
      if (encoded === undefined)
        throw corrupt("a state node under the root is missing", { hash: bytesToHex(item.hash) });
      expanded.push(...expand(item.hash, encoded, item.depth, hash, item.bound));
    }
    frontier = expanded.concat(frontier.slice(window.length));
  }
}

function expand(
  nodeHash: Uint8Array,
  encoded: Uint8Array,
  depth: number,
  hash: HashFunction,
  bound: Uint8Array | null,
): Item[] {
  if (depth > STATE_TREE_DEPTH_MAX)
    throw corrupt("the state tree is deeper than 256 levels", { hash: bytesToHex(nodeHash) });
  if (encoded[0] === STATE_LEAF_PREFIX) {
    const value = encoded.slice(65);
    const valueInput = new Uint8Array(1 + value.length);
    valueInput[0] = VALUE_PREFIX;
    valueInput.set(value, 1);
    if (!equalBytes(hash(valueInput), encoded.subarray(33, 65))) {
      throw corrupt("a state leaf's value does not match its hash", { hash: bytesToHex(nodeHash) });
    }
    const key = encoded.slice(1, 33);
    if (bound !== null && compareBytes(key, bound) < 0) return [];
    return [{ kind: "entry", entry: { key, value } }];
  }
  assert(encoded[0] === STATE_INTERNAL_PREFIX, "the store returns well-formed nodes only");
  const left = encoded.slice(1, 33);
  const right = encoded.slice(33, 65);
  if (isEmpty(left) && isEmpty(right))
    throw corrupt("a state node has two empty children", { hash: bytesToHex(nodeHash) });
  // On the bound's path: when its bit here is 1 every key on the left is below it (skipped) and
  // the right child is on its path; when 0 the left child is on its path and the right is above.
  const boundBit = bound === null ? null : (bound[depth >> 3]! >> (7 - (depth & 7))) & 1;
  const children: Item[] = [];
  if (!isEmpty(left) && boundBit !== 1) {
    children.push({ kind: "node", hash: left, depth: depth + 1, bound: boundBit === 0 ? bound : null });
  }
  if (!isEmpty(right)) {
    children.push({ kind: "node", hash: right, depth: depth + 1, bound: boundBit === 1 ? bound : null });
  }
  assert(children.length <= 2, "an internal node has two children at most");
  return children;
}

function isEmpty(hash: Uint8Array): boolean {
  for (let index = 0; index < hash.length; index++) if (hash[index] !== 0) return false;
  return true;
}
