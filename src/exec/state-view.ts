/**
 * What execution reads and writes. The executor reads the state before the block through a
 * synchronous `StateReader` (the state tree itself, or a prefetched view of it) and writes into
 * overlays: one for the block, and one per transaction on top of it, kept when the transaction
 * succeeds and dropped when it fails. The block's writes leave as `StateUpdate`s sorted by key,
 * one per key (the last write wins), ready for `SparseMerkleTree.applyBatch`.
 *
 * Overlays are keyed by the key's bytes as a string (`mapKeyOf32`) for lookup only;
 * nothing depends on the iteration order of a Map: the updates are sorted by key bytes before
 * they leave.
 * @module
 */
import { assert } from "../base/assert.ts";
import { compareBytes, mapKeyOf32 } from "../base/bytes.ts";
import { STATE_VALUE_BYTES_MAX } from "../base/limits.ts";
import type { StateUpdate } from "../state/sparse-merkle-tree.ts";
import { STATE_KEY_BYTES } from "./state-keys.ts";

/** A synchronous read of the state; `SparseMerkleTree` satisfies it. */
export interface StateReader {
  /** The value of a 32-byte key, or undefined when absent. */
  get(key: Uint8Array): Uint8Array | undefined;
}

// Overlays key their Maps with `mapKeyOf32`, which takes (and asserts) 32 bytes.
assert(STATE_KEY_BYTES === 32, "state keys are 32 bytes");

interface OverlayWrite {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

/** Writes on top of a reader: reads see the latest write, then the base. */
export class StateOverlay implements StateReader {
  readonly #base: StateReader;
  readonly #writes = new Map<string, OverlayWrite>();
  /** Merged into another overlay: its writes belong to that one now. */
  #merged = false;

  constructor(base: StateReader) {
    this.#base = base;
  }

  get writeCount(): number {
    return this.#writes.size;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    return this.#lookUp(key, mapKeyOf32(key));
  }

  /** `get` with the key's Map key made once for every overlay below (a call's, its transaction's, the block's). */
  #lookUp(key: Uint8Array, mapKey: string): Uint8Array | undefined {
    assert(!this.#merged, "a merged overlay is not read");
    const write = this.#writes.get(mapKey);
    if (write === undefined) {
      const base = this.#base;
      return base instanceof StateOverlay ? base.#lookUp(key, mapKey) : base.get(key);
    }
    return write.value === null ? undefined : write.value.slice();
  }

  /** Sets a value (1 byte to STATE_VALUE_BYTES_MAX), or deletes the key with null. */
  set(key: Uint8Array, value: Uint8Array | null): void {
    assert(!this.#merged, "a merged overlay is not written");
    if (value !== null) {
      assert(value.length > 0, "state values are never empty (null deletes)");
      assert(value.length <= STATE_VALUE_BYTES_MAX, "state values are bounded");
    }
    this.#writes.set(mapKeyOf32(key), { key: key.slice(), value: value === null ? null : value.slice() });
  }

  /**
   * Moves every write of this overlay into another (a transaction's into its block's, a call's
   * into its caller's): the overlay is done with, so its copies change hands as they are.
   */
  mergeInto(target: StateOverlay): void {
    assert(target !== this, "an overlay does not merge into itself");
    assert(!this.#merged, "an overlay merges once");
    this.#merged = true;
    for (const [mapKey, write] of this.#writes) target.#writes.set(mapKey, write);
  }

  /** One update per written key, sorted by key bytes. */
  updates(): StateUpdate[] {
    const updates: StateUpdate[] = [];
    for (const write of this.#writes.values()) updates.push({ key: write.key, value: write.value });
    updates.sort((left, right) => compareBytes(left.key, right.key));
    for (let index = 1; index < updates.length; index++) {
      assert(compareBytes(updates[index - 1]!.key, updates[index]!.key) < 0, "one update per key");
    }
    return updates;
  }
}
