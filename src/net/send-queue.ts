/**
 * The send queue of one peer: bounded in messages and bytes, never blocking the caller.
 *
 * Schedule: ping first, then consensus, then the bulk channels (transactions, block sync,
 * snapshot sync) in turn, one frame each, so a large block-sync reply cannot starve gossip and
 * a vote waits behind at most one frame of anything else.
 *
 * Drop policy when a message does not fit: queued messages are given up from the most
 * expendable channel first (CHANNELS_BY_DROP_ORDER: transactions, snapshot sync, block sync,
 * consensus), oldest first, but only from channels no more important than the new message's
 * own; a message already partly sent is never given up. If there is still no room, the new
 * message is dropped. Every drop is reported to the listener. Pure: no sockets, no clock.
 * @module
 */
import { assert } from "../base/assert.ts";
import { BULK_CHANNELS, CHANNEL_COUNT, CHANNELS_BY_DROP_ORDER, Channel, type ChannelId } from "./channels.ts";

export type DropReason = "queue_full" | "disconnected";
export const DROP_REASONS: readonly DropReason[] = ["queue_full", "disconnected"];
export type DropListener = (channel: ChannelId, sizeBytes: number, reason: DropReason) => void;

export interface SendQueueLimits {
  readonly messagesMax: number;
  readonly bytesMax: number;
}

export interface OutgoingFrame {
  readonly channel: ChannelId;
  readonly final: boolean;
  readonly payload: Uint8Array;
}

/** A first-in first-out ring of items (amortised O(1) at both ends). */
class Deque<Item> {
  private items: (Item | undefined)[] = new Array(8);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: Item): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  shift(): Item | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  private grow(): void {
    const items = new Array<Item | undefined>(this.items.length * 2);
    for (let index = 0; index < this.count; index++)
      items[index] = this.items[(this.head + index) % this.items.length];
    this.items = items;
    this.head = 0;
  }
}

interface InProgress {
  readonly bytes: Uint8Array;
  offset: number;
}

const DROP_RANK: readonly number[] = (() => {
  const ranks = new Array<number>(CHANNEL_COUNT).fill(-1);
  CHANNELS_BY_DROP_ORDER.forEach((channel, rank) => {
    ranks[channel] = rank;
  });
  assert(!ranks.includes(-1), "every channel has a drop rank");
  return ranks;
})();

export class SendQueue {
  private readonly limits: SendQueueLimits;
  private readonly onDrop: DropListener;
  private readonly waiting: Deque<Uint8Array>[] = Array.from({ length: CHANNEL_COUNT }, () => new Deque());
  private readonly inProgress: (InProgress | null)[] = new Array(CHANNEL_COUNT).fill(null);
  private bulkCursor = 0;
  private messages = 0;
  private bytes = 0;

  constructor(limits: SendQueueLimits, onDrop: DropListener) {
    assert(Number.isInteger(limits.messagesMax) && limits.messagesMax >= 1, "a queue holds a message");
    assert(Number.isInteger(limits.bytesMax) && limits.bytesMax >= 1, "a queue holds bytes");
    this.limits = limits;
    this.onDrop = onDrop;
  }

  get messageCount(): number {
    return this.messages;
  }

  get byteCount(): number {
    return this.bytes;
  }

  get empty(): boolean {
    return this.messages === 0;
  }

  /** Queues the message (held by reference: do not change it afterwards); false when dropped. */
  enqueue(channel: ChannelId, bytes: Uint8Array): boolean {
    assert(bytes.length <= this.limits.bytesMax, "a message larger than the whole queue is a bug");
    for (let rank = 0; rank <= DROP_RANK[channel]! && !this.fits(bytes.length); rank++) {
      const victimChannel = CHANNELS_BY_DROP_ORDER[rank]!;
      const victims = this.waiting[victimChannel]!;
      while (!this.fits(bytes.length) && victims.length > 0) {
        const victim = victims.shift()!;
        this.remove(victim.length);
        this.onDrop(victimChannel, victim.length, "queue_full");
      }
    }
    if (!this.fits(bytes.length)) {
      this.onDrop(channel, bytes.length, "queue_full");
      return false;
    }
    this.waiting[channel]!.push(bytes);
    this.messages++;
    this.bytes += bytes.length;
    assert(this.messages <= this.limits.messagesMax, "the message bound holds");
    assert(this.bytes <= this.limits.bytesMax, "the byte bound holds");
    return true;
  }

  /** The next frame to send, at most `payloadBytesMax` of payload, or null when nothing waits. */
  nextFrame(payloadBytesMax: number): OutgoingFrame | null {
    assert(payloadBytesMax >= 1, "a frame carries payload");
    const channel = this.pickChannel();
    if (channel === null) return null;
    let current = this.inProgress[channel] ?? null;
    if (current === null) {
      current = { bytes: this.waiting[channel]!.shift()!, offset: 0 };
      this.inProgress[channel] = current;
    }
    const end = Math.min(current.offset + payloadBytesMax, current.bytes.length);
    const payload = current.bytes.subarray(current.offset, end);
    current.offset = end;
    const final = end === current.bytes.length;
    if (final) {
      this.inProgress[channel] = null;
      this.remove(current.bytes.length);
    }
    return { channel, final, payload };
  }

  /** Partly sent messages start over (their frames went to a connection that is gone). */
  restartInProgress(): void {
    for (const current of this.inProgress) if (current !== null) current.offset = 0;
  }

  /** Drops everything, reporting each message. */
  clear(reason: DropReason): void {
    for (const channel of CHANNELS_BY_DROP_ORDER) {
      const current = this.inProgress[channel];
      if (current) this.onDrop(channel, current.bytes.length, reason);
      this.inProgress[channel] = null;
      const waiting = this.waiting[channel]!;
      for (let bytes = waiting.shift(); bytes !== undefined; bytes = waiting.shift()) {
        this.onDrop(channel, bytes.length, reason);
      }
    }
    this.messages = 0;
    this.bytes = 0;
  }

  private fits(sizeBytes: number): boolean {
    return this.messages + 1 <= this.limits.messagesMax && this.bytes + sizeBytes <= this.limits.bytesMax;
  }

  private remove(sizeBytes: number): void {
    this.messages--;
    this.bytes -= sizeBytes;
    assert(this.messages >= 0, "never fewer than zero messages");
    assert(this.bytes >= 0, "never fewer than zero bytes");
  }

  private pending(channel: ChannelId): boolean {
    return this.inProgress[channel] !== null || this.waiting[channel]!.length > 0;
  }

  private pickChannel(): ChannelId | null {
    if (this.pending(Channel.ping)) return Channel.ping;
    if (this.pending(Channel.consensus)) return Channel.consensus;
    for (let step = 0; step < BULK_CHANNELS.length; step++) {
      const index = (this.bulkCursor + step) % BULK_CHANNELS.length;
      const channel = BULK_CHANNELS[index]!;
      if (this.pending(channel)) {
        this.bulkCursor = (index + 1) % BULK_CHANNELS.length;
        return channel;
      }
    }
    return null;
  }
}
