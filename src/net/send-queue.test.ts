import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { Channel, type ChannelId } from "./channels.ts";
import { type DropReason, type OutgoingFrame, SendQueue } from "./send-queue.ts";

function queueWithLog(messagesMax: number, bytesMax: number) {
  const drops: { channel: ChannelId; sizeBytes: number; reason: DropReason }[] = [];
  const queue = new SendQueue({ messagesMax, bytesMax }, (channel, sizeBytes, reason) =>
    drops.push({ channel, sizeBytes, reason }),
  );
  return { queue, drops };
}

function drain(queue: SendQueue, payloadBytesMax: number, framesMax = 100_000): OutgoingFrame[] {
  const frames: OutgoingFrame[] = [];
  for (
    let frame = queue.nextFrame(payloadBytesMax);
    frame !== null;
    frame = queue.nextFrame(payloadBytesMax)
  ) {
    frames.push(frame);
    assert.ok(frames.length <= framesMax, "draining is bounded");
  }
  return frames;
}

describe("send queue", () => {
  it("sends ping, then consensus, then the bulk channels in turn, frame by frame", () => {
    const { queue } = queueWithLog(100, 10_000);
    queue.enqueue(Channel.transactions, Uint8Array.of(1, 1, 1));
    queue.enqueue(Channel.blockSync, Uint8Array.of(2, 2, 2));
    queue.enqueue(Channel.consensus, Uint8Array.of(3));
    queue.enqueue(Channel.ping, Uint8Array.of(4));
    const order = drain(queue, 2).map((frame) => [frame.channel, frame.final]);
    assert.deepEqual(order, [
      [Channel.ping, true],
      [Channel.consensus, true],
      [Channel.transactions, false],
      [Channel.blockSync, false],
      [Channel.transactions, true],
      [Channel.blockSync, true],
    ]);
    assert.equal(queue.messageCount, 0);
    assert.equal(queue.byteCount, 0);
  });

  it("a vote overtakes a large message already being sent", () => {
    const { queue } = queueWithLog(100, 10_000);
    queue.enqueue(Channel.blockSync, new Uint8Array(1000));
    assert.equal(queue.nextFrame(100)!.channel, Channel.blockSync);
    queue.enqueue(Channel.consensus, Uint8Array.of(9));
    assert.equal(queue.nextFrame(100)!.channel, Channel.consensus);
  });

  it("when full, gives up gossip before consensus, oldest first, and never a more important channel", () => {
    const { queue, drops } = queueWithLog(4, 1000);
    queue.enqueue(Channel.transactions, Uint8Array.of(1));
    queue.enqueue(Channel.transactions, Uint8Array.of(2));
    queue.enqueue(Channel.consensus, Uint8Array.of(3));
    queue.enqueue(Channel.consensus, Uint8Array.of(4));
    // A transaction may evict only older transactions.
    assert.equal(queue.enqueue(Channel.transactions, Uint8Array.of(5)), true);
    assert.deepEqual(drops, [{ channel: Channel.transactions, sizeBytes: 1, reason: "queue_full" }]);
    // A consensus message evicts the remaining transactions first, then the oldest vote.
    assert.equal(queue.enqueue(Channel.consensus, Uint8Array.of(6)), true);
    assert.equal(queue.enqueue(Channel.consensus, Uint8Array.of(7)), true);
    assert.equal(queue.enqueue(Channel.consensus, Uint8Array.of(8)), true);
    const sent = drain(queue, 10).map((frame) => [frame.channel, frame.payload[0]]);
    assert.deepEqual(sent, [
      [Channel.consensus, 4],
      [Channel.consensus, 6],
      [Channel.consensus, 7],
      [Channel.consensus, 8],
    ]);
    // With only consensus queued, a transaction finds no room and is itself dropped.
    for (const byte of [1, 2, 3, 4]) queue.enqueue(Channel.consensus, Uint8Array.of(byte));
    assert.equal(queue.enqueue(Channel.transactions, Uint8Array.of(9)), false);
    assert.deepEqual(drops.at(-1), { channel: Channel.transactions, sizeBytes: 1, reason: "queue_full" });
  });

  it("never gives up a message already partly sent", () => {
    const { queue } = queueWithLog(2, 100);
    queue.enqueue(Channel.transactions, new Uint8Array(60));
    assert.equal(queue.nextFrame(10)!.final, false);
    assert.equal(
      queue.enqueue(Channel.consensus, new Uint8Array(50)),
      false,
      "no room without the partial message",
    );
    assert.equal(queue.enqueue(Channel.consensus, new Uint8Array(40)), true);
    const frames = drain(queue, 10);
    assert.equal(frames.filter((frame) => frame.channel === Channel.transactions).length, 5);
  });

  it("restarts a partly sent message from its first byte", () => {
    const { queue } = queueWithLog(10, 100);
    queue.enqueue(Channel.blockSync, Uint8Array.of(1, 2, 3, 4));
    queue.nextFrame(2);
    queue.restartInProgress();
    assert.deepEqual(
      drain(queue, 2).map((frame) => [...frame.payload]),
      [
        [1, 2],
        [3, 4],
      ],
    );
  });

  it("clear reports every message, in flight or waiting", () => {
    const { queue, drops } = queueWithLog(10, 100);
    queue.enqueue(Channel.blockSync, new Uint8Array(10));
    queue.enqueue(Channel.consensus, new Uint8Array(3));
    queue.enqueue(Channel.transactions, new Uint8Array(5));
    assert.equal(queue.nextFrame(4)!.channel, Channel.consensus, "sent whole");
    assert.equal(queue.nextFrame(4)!.channel, Channel.transactions, "now in flight");
    queue.clear("disconnected");
    assert.deepEqual(
      drops.map((drop) => drop.channel),
      [Channel.transactions, Channel.blockSync],
    );
    assert.ok(drops.every((drop) => drop.reason === "disconnected"));
    assert.equal(queue.messageCount, 0);
    assert.equal(queue.nextFrame(4), null);
  });

  it("under any flood, counts and bytes stay within bounds and every message is sent or dropped", () => {
    const operation = fc.oneof(
      fc.record({
        kind: fc.constant("send" as const),
        channel: fc.constantFrom<ChannelId>(0, 1, 2, 3, 4),
        size: fc.nat({ max: 200 }),
      }),
      fc.record({ kind: fc.constant("frame" as const), payloadBytesMax: fc.integer({ min: 1, max: 64 }) }),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 300 }), (operations) => {
        const { queue, drops } = queueWithLog(16, 1000);
        let queued = 0;
        let completed = 0;
        for (const step of operations) {
          if (step.kind === "send") {
            queued++;
            queue.enqueue(step.channel, new Uint8Array(step.size));
          } else {
            const frame = queue.nextFrame(step.payloadBytesMax);
            if (frame?.final) completed++;
          }
          assert.ok(queue.messageCount <= 16, "message bound");
          assert.ok(queue.byteCount <= 1000, "byte bound");
        }
        completed += drain(queue, 64).filter((frame) => frame.final).length;
        assert.equal(completed + drops.length, queued, "every message is sent or dropped, once");
      }),
      { numRuns: 200 },
    );
  });
});
