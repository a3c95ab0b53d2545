/**
 * The peer transport: authenticated, encrypted connections between admitted nodes (Noise XX
 * with Ed25519 node keys bound by signature), length-prefixed encrypted frames on five
 * channels, a peer manager with bounded queues, keepalive, reconnects, scores and bans.
 * Wire format: docs/PROTOCOL.md, "Peer transport"; limits: docs/LIMITS.md, "Network";
 * decision: docs/adr/0004-peer-transport.md.
 * @module
 */
export {
  type ApplicationChannelId,
  CHANNEL_IDS,
  CHANNEL_LABELS,
  CHANNEL_MESSAGE_BYTES_MAX,
  Channel,
  type ChannelId,
  type ChannelLabel,
  type ChannelName,
  channelLabel,
  channelMessageBytesMax,
  isApplicationChannel,
  isChannelId,
} from "./channels.ts";
export type { Clock } from "./connection.ts";
export { NetError, NetErrorCode, PENALTY_REASONS, type PenaltyReason } from "./errors.ts";
export { type Frame, FrameDecoder, FrameEncoder, MessageAssembler } from "./frame.ts";
export {
  chainBinding,
  frameHandshakeMessage,
  HANDSHAKE_MESSAGE_BYTES,
  HandshakeMessageReader,
  type HandshakeResult,
  type HandshakeRole,
  type HandshakeStep,
  handshakePrologue,
  identitySigningBytes,
  NET_PROTOCOL_VERSION,
  PeerHandshake,
  type PeerHandshakeConfig,
} from "./handshake.ts";
export {
  isPeerKeyHex,
  type NodeIdentity,
  nodeIdentityFromSecretKey,
  nodeIdentityFromSeed,
  type PeerKeyHex,
  peerKeyHex,
} from "./identity.ts";
export * from "./limits.ts";
export {
  type Counter,
  createNetMetrics,
  type Gauge,
  type MetricsRegister,
  type NetLogger,
  type NetMetrics,
  type PeerDirection,
  silentLogger,
} from "./metrics.ts";
export { NOISE_PROTOCOL_NAME, type X25519KeyPair, x25519KeyPairFromSecret } from "./noise.ts";
export {
  type ConnectionRefusedListener,
  type MessageListener,
  type PeerAddress,
  type PeerConnectedListener,
  type PeerDisconnectedListener,
  type PeerInfo,
  PeerManager,
  type PeerManagerComponents,
  type PeerManagerOptions,
  type RefusedConnection,
} from "./peer-manager.ts";
export { PeerScores, reconnectDelayMs } from "./peer-score.ts";
export { type DropReason, SendQueue } from "./send-queue.ts";
