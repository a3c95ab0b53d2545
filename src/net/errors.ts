/**
 * Typed errors of the peer transport. Each code says what happened to a connection (a refused
 * handshake, a frame that failed authentication, a timeout); the same codes are the reasons
 * given to `onPeerDisconnected` and `onConnectionRefused` listeners and the labels of the
 * handshake-failure metric. Messages name sizes and codes, never keys' secrets or raw bytes.
 * Broken invariants of this code are assertions (src/base/assert.ts), not NetErrors.
 * @module
 */
import { CityLedgerError } from "../base/errors.ts";

export const NetErrorCode = {
  /** The handshake (including the TCP connect) did not finish in time. */
  HANDSHAKE_TIMEOUT: "NET_HANDSHAKE_TIMEOUT",
  /** A handshake message has the wrong length or layout, or a public key of small order. */
  HANDSHAKE_MALFORMED: "NET_HANDSHAKE_MALFORMED",
  /** A handshake message failed decryption: tampered bytes or a different prologue. */
  HANDSHAKE_AUTHENTICATION_FAILED: "NET_HANDSHAKE_AUTHENTICATION_FAILED",
  /** The remote closed the connection before the handshake finished (often: it refused us). */
  HANDSHAKE_CLOSED: "NET_HANDSHAKE_CLOSED",
  /** The remote speaks a transport version this node does not. */
  VERSION_UNSUPPORTED: "NET_VERSION_UNSUPPORTED",
  /** The remote belongs to another chain (its prologue names another chain id). */
  CHAIN_MISMATCH: "NET_CHAIN_MISMATCH",
  /** The remote's identity signature does not verify, or its key is not an Ed25519 key. */
  IDENTITY_INVALID: "NET_IDENTITY_INVALID",
  /** The remote's node key is not in the admitted node set. */
  PEER_NOT_ADMITTED: "NET_PEER_NOT_ADMITTED",
  /** The dialled address answered with another node key than the one configured for it. */
  PEER_KEY_MISMATCH: "NET_PEER_KEY_MISMATCH",
  /** The remote's node key is banned (its score crossed the threshold). */
  PEER_BANNED: "NET_PEER_BANNED",
  /** The remote is this node itself. */
  PEER_SELF: "NET_PEER_SELF",
  /** This node already has NET_PEERS_MAX (or the configured number of) peers. */
  PEERS_FULL: "NET_PEERS_FULL",
  /** Too many inbound connections are still in their handshake. */
  HANDSHAKES_PENDING_FULL: "NET_HANDSHAKES_PENDING_FULL",
  /** Another connection to the same peer was kept (one connection per pair). */
  DUPLICATE_CONNECTION: "NET_DUPLICATE_CONNECTION",
  /** A frame length above NET_FRAME_BYTES_MAX. */
  FRAME_OVERSIZED: "NET_FRAME_OVERSIZED",
  /** A frame shorter than its header and tag, an unknown channel, or reserved flag bits set. */
  FRAME_MALFORMED: "NET_FRAME_MALFORMED",
  /** A frame failed decryption (bad tag): tampered, reordered or garbage bytes. */
  FRAME_AUTHENTICATION_FAILED: "NET_FRAME_AUTHENTICATION_FAILED",
  /** The frames of one message add up to more than its channel's limit. */
  MESSAGE_OVERSIZED: "NET_MESSAGE_OVERSIZED",
  /** A connection used every nonce of a direction (2^53 frames). */
  NONCE_EXHAUSTED: "NET_NONCE_EXHAUSTED",
  /** The remote closed an established connection, or the socket failed. */
  CONNECTION_CLOSED: "NET_CONNECTION_CLOSED",
  /** Nothing was received for the idle timeout. */
  IDLE_TIMEOUT: "NET_IDLE_TIMEOUT",
  /** The TCP connection to a dialled address could not be opened. */
  DIAL_FAILED: "NET_DIAL_FAILED",
  /** The listening socket could not be opened. */
  LISTEN_FAILED: "NET_LISTEN_FAILED",
  /** The peer manager stopped. */
  STOPPED: "NET_STOPPED",
  /** The application asked to disconnect the peer. */
  DISCONNECT_REQUESTED: "NET_DISCONNECT_REQUESTED",
} as const;

export type NetErrorCode = (typeof NetErrorCode)[keyof typeof NetErrorCode];

export class NetError extends CityLedgerError<NetErrorCode> {
  override name = "NetError";
}

/**
 * Why a peer was penalised: a closed set, so it can label a metric. The transport penalises
 * frame errors itself; the application penalises what it finds in messages.
 */
export type PenaltyReason =
  | "frame_oversized"
  | "frame_malformed"
  | "frame_authentication_failed"
  | "message_oversized"
  /** A message that does not decode. */
  | "message_malformed"
  /** A message that decodes but is invalid (a bad signature, a block that fails checks). */
  | "message_invalid"
  /** A reply nobody asked for, or a message sent on the wrong channel. */
  | "message_unrequested"
  /** More messages than the application allows a peer. */
  | "rate_exceeded";

export const PENALTY_REASONS: readonly PenaltyReason[] = [
  "frame_oversized",
  "frame_malformed",
  "frame_authentication_failed",
  "message_oversized",
  "message_malformed",
  "message_invalid",
  "message_unrequested",
  "rate_exceeded",
];

/** The penalty a transport error earns an authenticated peer, or null when it earns none. */
export function penaltyReasonOf(code: NetErrorCode): PenaltyReason | null {
  switch (code) {
    case NetErrorCode.FRAME_OVERSIZED:
      return "frame_oversized";
    case NetErrorCode.FRAME_MALFORMED:
      return "frame_malformed";
    case NetErrorCode.FRAME_AUTHENTICATION_FAILED:
      return "frame_authentication_failed";
    case NetErrorCode.MESSAGE_OVERSIZED:
      return "message_oversized";
    default:
      return null;
  }
}
