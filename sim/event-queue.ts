/**
 * Virtual time: a binary min-heap of events ordered by (time, insertion sequence), so events
 * at the same millisecond run in the order they were scheduled: deterministic.
 */
import { assert } from "../src/base/assert.ts";

interface Entry<Event> {
  readonly atMs: number;
  readonly sequence: number;
  readonly event: Event;
}

export class EventQueue<Event> {
  private readonly heap: Entry<Event>[] = [];
  private sequence = 0;

  get size(): number {
    return this.heap.length;
  }

  push(atMs: number, event: Event): void {
    assert(Number.isSafeInteger(atMs) && atMs >= 0, "event times are whole milliseconds");
    this.heap.push({ atMs, sequence: this.sequence++, event });
    let index = this.heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  peekTimeMs(): number | null {
    return this.heap.length === 0 ? null : this.heap[0]!.atMs;
  }

  pop(): { atMs: number; event: Event } | null {
    if (this.heap.length === 0) return null;
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < this.heap.length && this.less(left, smallest)) smallest = left;
        if (right < this.heap.length && this.less(right, smallest)) smallest = right;
        if (smallest === index) break;
        this.swap(index, smallest);
        index = smallest;
      }
    }
    return { atMs: top.atMs, event: top.event };
  }

  private less(left: number, right: number): boolean {
    const a = this.heap[left]!;
    const b = this.heap[right]!;
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.sequence < b.sequence);
  }

  private swap(left: number, right: number): void {
    const temporary = this.heap[left]!;
    this.heap[left] = this.heap[right]!;
    this.heap[right] = temporary;
  }
}
