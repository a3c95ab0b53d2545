/**
 * Walks every (key, value) of the state tree under a root, in increasing key order, reading
 * nodes from a Store asynchronously in windows of STATE_WALK_FETCH_NODES_MAX nodes per round
 * trip. Every node is checked on the way: the store checks each node against its hash, and the
 * walk checks each leaf's value against its value hash, the key order, and the depth. So a walk
 * that completes has verified the whole tree against its root.
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
  | { readonly kind: "node"; readonly hash: Uint8Array; readonly depth: number }
  | { readonly kind: "entry"; readonly entry: StateEntry };

const VALUE_PREFIX = 0x02;

/** Reads nodes by hash (checked against their hashes), undefined where absent. */
export type StateNodeSource = (hashes: readonly Uint8Array[]) => Promise<Array<Uint8Array | undefined>>;

export async function* walkStateEntries(
  source: StateNodeSource,
  root: Uint8Array,
  hash: HashFunction,
): AsyncGenerator<StateEntry> {
  let frontier: Item[] = isEmpty(root) ? [] : [{ kind: "node", hash: root, depth: 0 }];
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
      expanded.push(...expand(item.hash, encoded, item.depth, hash));
    }
    frontier = expanded.concat(frontier.slice(window.length));
  }
}

function expand(nodeHash: Uint8Array, encoded: Uint8Array, depth: number, hash: HashFunction): Item[] {
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
    return [{ kind: "entry", entry: { key: encoded.slice(1, 33), value } }];
  }
  assert(encoded[0] === STATE_INTERNAL_PREFIX, "the store returns well-formed nodes only");
  const children: Item[] = [];
  const left = encoded.slice(1, 33);
  const right = encoded.slice(33, 65);
  if (!isEmpty(left)) children.push({ kind: "node", hash: left, depth: depth + 1 });
  if (!isEmpty(right)) children.push({ kind: "node", hash: right, depth: depth + 1 });
  if (children.length === 0)
    throw corrupt("a state node has two empty children", { hash: bytesToHex(nodeHash) });
  return children;
}

function isEmpty(hash: Uint8Array): boolean {
  for (let index = 0; index < hash.length; index++) if (hash[index] !== 0) return false;
  return true;
}
