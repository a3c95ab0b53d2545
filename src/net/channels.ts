/**
 * Channels of the peer transport. Every frame names its channel in one byte, chosen by the
 * sender; each channel has its own largest message, its place in the send schedule and its place
 * in the drop order of a full send queue (docs/PROTOCOL.md, "Peer transport").
 * @module
 */
import {
  NET_MESSAGE_BYTES_MAX,
  NET_PING_MESSAGE_BYTES,
  NET_SNAPSHOT_MESSAGE_BYTES_MAX,
  NET_TRANSACTIONS_MESSAGE_BYTES_MAX,
} from "./limits.ts";

export const Channel = {
  /** Keepalive, owned by the transport: never delivered to listeners. */
  ping: 0,
  /** Proposals and votes. */
  consensus: 1,
  /** Gossiped transactions. */
  transactions: 2,
  /** Blocks with their certificates, for nodes catching up. */
  blockSync: 3,
  /** State snapshot manifests and chunks, for nodes joining. */
  snapshotSync: 4,
} as const;

export type ChannelName = keyof typeof Channel;
export type ChannelId = (typeof Channel)[ChannelName];
/** Channels an application sends on; ping belongs to the transport. */
export type ApplicationChannelId = Exclude<ChannelId, typeof Channel.ping>;

export const CHANNEL_COUNT = 5;
/** Every channel id, in id order. */
export const CHANNEL_IDS: readonly ChannelId[] = [0, 1, 2, 3, 4];
/** Metric label of each channel, by id (closed set, snake case). */
export const CHANNEL_LABELS = ["ping", "consensus", "transactions", "block_sync", "snapshot_sync"] as const;
export type ChannelLabel = (typeof CHANNEL_LABELS)[number];

/** The largest message of each channel, by id; a longer one is a protocol violation. */
export const CHANNEL_MESSAGE_BYTES_MAX: readonly number[] = [
  NET_PING_MESSAGE_BYTES,
  NET_MESSAGE_BYTES_MAX,
  NET_TRANSACTIONS_MESSAGE_BYTES_MAX,
  NET_MESSAGE_BYTES_MAX,
  NET_SNAPSHOT_MESSAGE_BYTES_MAX,
];

/**
 * Order in which a full send queue gives up queued messages, most expendable first. Gossip is
 * re-announced, sync requests are retried, consensus messages are re-sent by their driver while
 * a height is stuck; pings are tiny and keep the connection alive.
 */
export const CHANNELS_BY_DROP_ORDER: readonly ChannelId[] = [
  Channel.transactions,
  Channel.snapshotSync,
  Channel.blockSync,
  Channel.consensus,
  Channel.ping,
];

/** Channels sent in turn, one frame each, after ping and consensus (which always go first). */
export const BULK_CHANNELS: readonly ChannelId[] = [
  Channel.transactions,
  Channel.blockSync,
  Channel.snapshotSync,
];

export function isChannelId(value: number): value is ChannelId {
  return Number.isInteger(value) && value >= 0 && value < CHANNEL_COUNT;
}

export function isApplicationChannel(value: number): value is ApplicationChannelId {
  return isChannelId(value) && value !== Channel.ping;
}

export function channelLabel(channel: ChannelId): ChannelLabel {
  return CHANNEL_LABELS[channel];
}

export function channelMessageBytesMax(channel: ChannelId): number {
  return CHANNEL_MESSAGE_BYTES_MAX[channel]!;
}
