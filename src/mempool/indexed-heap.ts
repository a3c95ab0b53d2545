/**
 * A binary min-heap whose items know their position (an "indexed" heap): push, remove and
 * re-key any item in O(log n), peek in O(1), and walk the smallest k items in order without
 * changing the heap in O(k log k) (a frontier of candidate positions in a second, small heap).
 *
 * The order must be a strict total order over the items in the heap (ties broken by a unique
 * field such as an arrival sequence): the heap's results then depend only on the set of items
 * and never on the history of operations.
 * @module
 */
import { assert } from "../base/assert.ts";

/** Where an item keeps its position in one heap: -1 when it is not in that heap. */
export interface HeapPosition<Item> {
  get(item: Item): number;
  set(item: Item, index: number): void;
}

export class IndexedHeap<Item> {
  readonly #items: Item[] = [];
  readonly #less: (left: Item, right: Item) => boolean;
  readonly #position: HeapPosition<Item>;

  constructor(less: (left: Item, right: Item) => boolean, position: HeapPosition<Item>) {
    this.#less = less;
    this.#position = position;
  }

  get size(): number {
    return this.#items.length;
  }

  has(item: Item): boolean {
    const index = this.#position.get(item);
    if (index < 0) return false;
    assert(this.#items[index] === item, "an item's position points at it");
    return true;
  }

  peek(): Item | undefined {
    return this.#items[0];
  }

  push(item: Item): void {
    assert(this.#position.get(item) === -1, "an item is in a heap at most once");
    this.#items.push(item);
    this.#position.set(item, this.#items.length - 1);
    this.#up(this.#items.length - 1);
  }

  remove(item: Item): void {
    const index = this.#position.get(item);
    assert(index >= 0, "only items in the heap are removed");
    assert(this.#items[index] === item, "only items in the heap are removed");
    const last = this.#items.pop()!;
    this.#position.set(item, -1);
    if (index === this.#items.length) return;
    this.#items[index] = last;
    this.#position.set(last, index);
    this.#up(index);
    this.#down(this.#position.get(last));
  }

  /** Restores the order after the item's key changed. */
  update(item: Item): void {
    const index = this.#position.get(item);
    assert(index >= 0, "only items in the heap are updated");
    assert(this.#items[index] === item, "only items in the heap are updated");
    this.#up(index);
    this.#down(this.#position.get(item));
  }

  /** The items in increasing order, lazily; the heap must not change while this is iterated. */
  *ascending(): Generator<Item, void, undefined> {
    const items = this.#items;
    if (items.length === 0) return;
    const sizeAtStart = items.length;
    const less = this.#less;
    // The frontier: positions whose parents were already yielded, itself a min-heap of positions.
    const frontier: number[] = [0];
    const frontierLess = (left: number, right: number) => less(items[left]!, items[right]!);
    while (frontier.length > 0) {
      assert(items.length === sizeAtStart, "the heap does not change during an ascending walk");
      const index = frontier[0]!;
      const last = frontier.pop()!;
      if (frontier.length > 0) {
        frontier[0] = last;
        siftDown(frontier, 0, frontierLess);
      }
      yield items[index]!;
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child < items.length) {
          frontier.push(child);
          siftUp(frontier, frontier.length - 1, frontierLess);
        }
      }
    }
  }

  #swap(left: number, right: number): void {
    const items = this.#items;
    const item = items[left]!;
    items[left] = items[right]!;
    items[right] = item;
    this.#position.set(items[left]!, left);
    this.#position.set(items[right]!, right);
  }

  #up(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.#less(this.#items[index]!, this.#items[parent]!)) return;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #down(start: number): void {
    const items = this.#items;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && this.#less(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && this.#less(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }
}

function siftUp(heap: number[], start: number, less: (left: number, right: number) => boolean): void {
  let index = start;
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (!less(heap[index]!, heap[parent]!)) return;
    const value = heap[index]!;
    heap[index] = heap[parent]!;
    heap[parent] = value;
    index = parent;
  }
}

function siftDown(heap: number[], start: number, less: (left: number, right: number) => boolean): void {
  let index = start;
  for (;;) {
    const left = 2 * index + 1;
    const right = left + 1;
    let smallest = index;
    if (left < heap.length && less(heap[left]!, heap[smallest]!)) smallest = left;
    if (right < heap.length && less(heap[right]!, heap[smallest]!)) smallest = right;
    if (smallest === index) return;
    const value = heap[index]!;
    heap[index] = heap[smallest]!;
    heap[smallest] = value;
    index = smallest;
  }
}
