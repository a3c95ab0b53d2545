/**
 * The transport's message limits against the limits of the layers whose messages it carries,
 * including the storage layer's snapshot limits, which src/net may not import (same layer).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { BLOCK_SIZE_BYTES_MAX, TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { VALUE_BYTES_MAX } from "../consensus/limits.ts";
import { SNAPSHOT_CHUNK_BYTES_MAX, SNAPSHOT_CHUNKS_MAX } from "../storage/limits.ts";
import { CHANNEL_MESSAGE_BYTES_MAX, Channel } from "./channels.ts";
import {
  NET_FRAME_BYTES_MAX,
  NET_FRAME_PAYLOAD_BYTES_MAX,
  NET_MESSAGE_BYTES_MAX,
  NET_SEND_QUEUE_BYTES_MAX,
  NET_SNAPSHOT_MESSAGE_BYTES_MAX,
} from "./limits.ts";

it("every channel's largest message fits what it carries, and the send queue", () => {
  assert.ok(
    CHANNEL_MESSAGE_BYTES_MAX[Channel.consensus]! >= VALUE_BYTES_MAX + 256,
    "a proposal with its block",
  );
  assert.ok(
    CHANNEL_MESSAGE_BYTES_MAX[Channel.blockSync]! > BLOCK_SIZE_BYTES_MAX,
    "a block with its certificate",
  );
  assert.ok(CHANNEL_MESSAGE_BYTES_MAX[Channel.transactions]! >= TX_SIZE_BYTES_MAX, "a largest transaction");
  const manifestBytesMax = 1 + 8 + 32 + 8 + 4 + 32 * SNAPSHOT_CHUNKS_MAX;
  assert.ok(NET_SNAPSHOT_MESSAGE_BYTES_MAX >= SNAPSHOT_CHUNK_BYTES_MAX + 1024, "a snapshot chunk");
  assert.ok(NET_SNAPSHOT_MESSAGE_BYTES_MAX >= manifestBytesMax + 1024, "a snapshot manifest");
  for (const sizeMax of CHANNEL_MESSAGE_BYTES_MAX) assert.ok(sizeMax <= NET_SEND_QUEUE_BYTES_MAX);
  assert.equal(Math.max(...CHANNEL_MESSAGE_BYTES_MAX), NET_MESSAGE_BYTES_MAX);
});

it("a full block travels in a bounded number of frames", () => {
  assert.equal(NET_FRAME_BYTES_MAX, 65_536);
  assert.equal(NET_FRAME_PAYLOAD_BYTES_MAX, 65_518);
  assert.ok(Math.ceil(NET_MESSAGE_BYTES_MAX / NET_FRAME_PAYLOAD_BYTES_MAX) < 600);
});
