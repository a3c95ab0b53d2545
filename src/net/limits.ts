/**
 * Limits and default durations of the peer transport (TigerBeetle style: `<noun>_<unit>_MAX`),
 * each documented in docs/LIMITS.md ("Network"). The frame and message limits are checked
 * against the core's block, transaction and consensus limits when this module loads;
 * src/net/limits.test.ts checks them against the storage layer's snapshot limits, which this
 * layer may not import.
 * @module
 */
import { assert } from "../base/assert.ts";
import {
  BLOCK_SIZE_BYTES_MAX,
  CHAIN_ID_BYTES_MAX,
  STATE_VALUE_BYTES_MAX,
  TX_SIZE_BYTES_MAX,
  VALIDATORS_MAX,
} from "../base/limits.ts";
import { VALUE_BYTES_MAX } from "../consensus/limits.ts";

const KIB = 1024;
const MIB = 1024 * 1024;

/** Poly1305 tag after every encrypted frame and handshake field. */
export const NET_TAG_BYTES = 16;
/** Length prefix of a transport frame: u32, big-endian. */
export const NET_FRAME_LENGTH_BYTES = 4;
/** Plaintext header of a frame: u8 channel ‖ u8 flags. */
export const NET_FRAME_HEADER_BYTES = 2;
/**
 * One encrypted frame: header, payload and tag (the length prefix excluded). Messages larger than
 * a frame travel as several frames, so a vote can overtake a block being sent (no head-of-line
 * blocking) and a receiver never buffers more than this before it can authenticate the bytes.
 */
export const NET_FRAME_BYTES_MAX = 64 * KIB;
/** The shortest frame: an empty payload still carries the header and the tag. */
export const NET_FRAME_BYTES_MIN = NET_FRAME_HEADER_BYTES + NET_TAG_BYTES;
/** Payload bytes one frame carries. */
export const NET_FRAME_PAYLOAD_BYTES_MAX = NET_FRAME_BYTES_MAX - NET_FRAME_HEADER_BYTES - NET_TAG_BYTES;
/**
 * Frames sent in one direction of one connection: the AEAD nonce is this counter and is never
 * reused. Unreachable in practice (2^53 frames); a connection that gets there is closed.
 */
export const NET_FRAME_NONCE_MAX = Number.MAX_SAFE_INTEGER;
/**
 * One message on the consensus or block-sync channel: a proposal carries a whole consensus value
 * (a block of up to BLOCK_SIZE_BYTES_MAX) and a block-sync reply a block with its certificate.
 */
export const NET_MESSAGE_BYTES_MAX = VALUE_BYTES_MAX + MIB;
/** One message on the transactions channel (a batch of gossiped transactions). */
export const NET_TRANSACTIONS_MESSAGE_BYTES_MAX = 4 * MIB;
/** One message on the snapshot-sync channel: a chunk (≤ 5 MiB + 64 KiB) or a manifest (≤ 2 MiB). */
export const NET_SNAPSHOT_MESSAGE_BYTES_MAX = 8 * MIB;
/** A ping or a pong: u8 kind ‖ u64 nonce. */
export const NET_PING_MESSAGE_BYTES = 9;
/** One handshake message on the wire (u16 length prefix); version 1 messages are 65 to 193 bytes. */
export const NET_HANDSHAKE_MESSAGE_BYTES_MAX = 1024;
/** Messages queued to one peer, all channels together. */
export const NET_SEND_QUEUE_MESSAGES_MAX = 4096;
/** Bytes queued to one peer: one largest message and room for the votes and gossip around it. */
export const NET_SEND_QUEUE_BYTES_MAX = 40 * MIB;
/**
 * Bytes handed to one socket and not yet taken by the kernel. Past this the sender waits for the
 * socket to drain, so a slow peer's backlog stays in its send queue, where the drop policy acts.
 */
export const NET_SOCKET_WRITE_BUFFER_BYTES_MAX = 256 * KIB;
/** Authenticated peers at once: a full mesh of the largest validator set, plus 32 other nodes. */
export const NET_PEERS_MAX = VALIDATORS_MAX + 32;
/** Inbound connections still in their handshake (unauthenticated): bounds what strangers cost. */
export const NET_HANDSHAKES_PENDING_MAX = 32;
/** Seed addresses one peer manager dials. */
export const NET_SEEDS_MAX = 1024;
/** Peers whose score (and ban) is remembered after they disconnect; least recently used go first. */
export const NET_PEER_RECORDS_MAX = 1024;
/** A peer whose score reaches this is disconnected and banned. */
export const NET_SCORE_BAN_THRESHOLD = 100;
/** Points one penalty may add. */
export const NET_PENALTY_POINTS_MAX = 1000;
/** Message listeners (and each kind of peer listener) one peer manager keeps. */
export const NET_LISTENERS_MAX = 16;

/** Defaults of the durations a PeerManager may override (within NET_DURATION_MS_MAX). */
export const NET_HANDSHAKE_TIMEOUT_MS = 5_000;
export const NET_PING_INTERVAL_MS = 5_000;
/** No frame received for this long closes the connection (four missed pings). */
export const NET_IDLE_TIMEOUT_MS = 20_000;
export const NET_RECONNECT_DELAY_MS_MIN = 250;
export const NET_RECONNECT_DELAY_MS_MAX = 30_000;
export const NET_BAN_DURATION_MS = 10 * 60_000;
/** A peer's score halves every this long, so an old mistake does not lead to a ban later. */
export const NET_SCORE_HALF_LIFE_MS = 10 * 60_000;
/** Any configured duration: one day. */
export const NET_DURATION_MS_MAX = 24 * 60 * 60_000;
/** Periodic upkeep (pings, idle checks, admission checks) runs this often at most. */
export const NET_TICK_INTERVAL_MS_MAX = 1_000;

assert(NET_FRAME_PAYLOAD_BYTES_MAX > 0, "a frame carries payload");
assert(NET_FRAME_BYTES_MAX <= 0xffff_ffff, "a frame length fits its u32 prefix");
assert(NET_HANDSHAKE_MESSAGE_BYTES_MAX <= 0xffff, "a handshake message length fits its u16 prefix");
assert(CHAIN_ID_BYTES_MAX < 256, "the chain id fits the prologue's u8 length");
// A consensus message is its value plus at most 256 bytes (decodeConsensusMessage).
assert(NET_MESSAGE_BYTES_MAX >= VALUE_BYTES_MAX + 256, "a proposal with a full value fits a message");
assert(NET_MESSAGE_BYTES_MAX > BLOCK_SIZE_BYTES_MAX + 64 * KIB, "a full block and its certificate fit");
assert(NET_TRANSACTIONS_MESSAGE_BYTES_MAX >= 64 * TX_SIZE_BYTES_MAX, "64 largest transactions fit a batch");
// The storage layer's chunk bound is 4 MiB + one value + 64 KiB (SNAPSHOT_CHUNK_BYTES_MAX).
assert(
  NET_SNAPSHOT_MESSAGE_BYTES_MAX >= 4 * MIB + STATE_VALUE_BYTES_MAX + 64 * KIB + KIB,
  "a snapshot chunk and its envelope fit a message",
);
assert(NET_MESSAGE_BYTES_MAX <= NET_SEND_QUEUE_BYTES_MAX, "one largest message fits a send queue");
assert(
  NET_MESSAGE_BYTES_MAX + NET_TRANSACTIONS_MESSAGE_BYTES_MAX <= NET_SEND_QUEUE_BYTES_MAX,
  "a queued block leaves room for votes and gossip",
);
assert(NET_SEND_QUEUE_MESSAGES_MAX >= 4 * VALIDATORS_MAX, "a round's votes of every validator fit a queue");
assert(NET_PEERS_MAX >= VALIDATORS_MAX - 1, "a node can connect to every other validator");
assert(NET_IDLE_TIMEOUT_MS >= 2 * NET_PING_INTERVAL_MS, "a live peer is never idle: pings come first");
assert(NET_RECONNECT_DELAY_MS_MIN < NET_RECONNECT_DELAY_MS_MAX, "backoff has room to grow");
assert(NET_SCORE_BAN_THRESHOLD <= NET_PENALTY_POINTS_MAX, "one penalty can ban");
