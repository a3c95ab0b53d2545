/**
 * CityLedger's peer handshake: Noise XX (noise.ts) with the chain id in the prologue and each
 * side's Ed25519 node key bound to the session by a signature over the handshake hash
 * (docs/PROTOCOL.md, "Peer transport"; why: docs/adr/0004-peer-transport.md).
 *
 *   prologue  = u8 28 ‖ "cityledger/peer-handshake/v1" ‖ u8 chainIdLength ‖ chainId
 *   message 1 = e ‖ u8 version (1) ‖ SHA-256(prologue)                         (payload in clear)
 *   message 2 = e ‖ enc(s) ‖ enc(identity of the responder)
 *   message 3 = enc(s) ‖ enc(identity of the initiator)
 *   identity  = u8 suite (1, Ed25519) ‖ bytes<32> nodeKey ‖ bytes<64> signature
 *   signature = Ed25519(nodeKey, u8 27 ‖ "cityledger/peer-identity/v1" ‖ u8 role ‖ h)
 * where h is the Noise handshake hash just before the identity is encrypted and role is 1 for
 * the initiator, 2 for the responder. Pure: keys come in, nothing reads a clock or a socket.
 * @module
 */
import { createHash } from "node:crypto";
import { assert } from "../base/assert.ts";
import { concatBytes, equalBytes, utf8 } from "../base/bytes.ts";
import { CHAIN_ID_BYTES_MAX } from "../base/limits.ts";
import { SUITE_CODES } from "../crypto/suite.ts";
import { CHAIN_ID_PATTERN } from "../ledger/validate-transaction.ts";
import { ByteQueue } from "./byte-queue.ts";
import { NetError, NetErrorCode } from "./errors.ts";
import {
  NODE_PUBLIC_KEY_BYTES,
  NODE_SIGNATURE_BYTES,
  type NodeIdentity,
  verifyNodeSignature,
} from "./identity.ts";
import { NET_HANDSHAKE_MESSAGE_BYTES_MAX, NET_TAG_BYTES } from "./limits.ts";
import { NOISE_DH_BYTES, NoiseXXHandshake, type X25519KeyPair } from "./noise.ts";

/** The transport's version, sent in message 1. */
export const NET_PROTOCOL_VERSION = 1;
export const PEER_HANDSHAKE_TAG = "cityledger/peer-handshake/v1";
export const PEER_IDENTITY_TAG = "cityledger/peer-identity/v1";
export const HANDSHAKE_ROLE_CODE = { initiator: 1, responder: 2 } as const;
export type HandshakeRole = keyof typeof HANDSHAKE_ROLE_CODE;

const CHAIN_BINDING_BYTES = 32;
const MESSAGE_1_PAYLOAD_BYTES = 1 + CHAIN_BINDING_BYTES;
export const IDENTITY_PAYLOAD_BYTES = 1 + NODE_PUBLIC_KEY_BYTES + NODE_SIGNATURE_BYTES;
/** Message sizes of version 1. */
export const HANDSHAKE_MESSAGE_BYTES = [
  NOISE_DH_BYTES + MESSAGE_1_PAYLOAD_BYTES,
  NOISE_DH_BYTES + NOISE_DH_BYTES + NET_TAG_BYTES + IDENTITY_PAYLOAD_BYTES + NET_TAG_BYTES,
  NOISE_DH_BYTES + NET_TAG_BYTES + IDENTITY_PAYLOAD_BYTES + NET_TAG_BYTES,
] as const;
/** The u16 length prefix of a handshake message on the wire. */
export const HANDSHAKE_LENGTH_BYTES = 2;

for (const size of HANDSHAKE_MESSAGE_BYTES) {
  assert(size <= NET_HANDSHAKE_MESSAGE_BYTES_MAX, "every handshake message fits the limit");
}

/** `u8 length ‖ ASCII tag ‖ body`: the domain separation of docs/PROTOCOL.md section 1.2. */
function domainSeparated(tag: string, body: Uint8Array): Uint8Array {
  assert(/^[a-z0-9/-]+$/.test(tag), "domain tags are lower-case ASCII");
  assert(tag.length < 256, "a domain tag fits a one-byte length");
  return concatBytes(Uint8Array.of(tag.length), utf8(tag), body);
}

export function isValidChainId(chainId: string): boolean {
  return CHAIN_ID_PATTERN.test(chainId) && chainId.length <= CHAIN_ID_BYTES_MAX;
}

/** The Noise prologue: both sides must agree on it, or message 2 fails authentication. */
export function handshakePrologue(chainId: string): Uint8Array {
  assert(isValidChainId(chainId), "a chain id is [a-z0-9][a-z0-9-]{0,63}");
  const chainIdBytes = utf8(chainId);
  return domainSeparated(PEER_HANDSHAKE_TAG, concatBytes(Uint8Array.of(chainIdBytes.length), chainIdBytes));
}

/** SHA-256 of the prologue, sent in message 1 so a node of another chain is refused at once. */
export function chainBinding(chainId: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(handshakePrologue(chainId)).digest());
}

/** The bytes a side signs to bind its node key to the session. */
export function identitySigningBytes(role: HandshakeRole, handshakeHash: Uint8Array): Uint8Array {
  assert(handshakeHash.length === 32, "a handshake hash is 32 bytes");
  return domainSeparated(
    PEER_IDENTITY_TAG,
    concatBytes(Uint8Array.of(HANDSHAKE_ROLE_CODE[role]), handshakeHash),
  );
}

function encodeIdentity(identity: NodeIdentity, role: HandshakeRole, handshakeHash: Uint8Array): Uint8Array {
  const signature = identity.sign(identitySigningBytes(role, handshakeHash));
  assert(signature.length === NODE_SIGNATURE_BYTES, "an Ed25519 signature is 64 bytes");
  const payload = concatBytes(Uint8Array.of(SUITE_CODES.ed25519), identity.publicKey, signature);
  assert(payload.length === IDENTITY_PAYLOAD_BYTES, "an identity payload has a fixed size");
  return payload;
}

/** The remote's node key, once its identity payload is well formed and its signature verifies. */
function decodeIdentity(payload: Uint8Array, role: HandshakeRole, handshakeHash: Uint8Array): Uint8Array {
  if (payload.length !== IDENTITY_PAYLOAD_BYTES || payload[0] !== SUITE_CODES.ed25519) {
    throw new NetError(NetErrorCode.HANDSHAKE_MALFORMED, "handshake identity is not an Ed25519 identity", {
      sizeBytes: payload.length,
    });
  }
  const publicKey = payload.slice(1, 1 + NODE_PUBLIC_KEY_BYTES);
  const signature = payload.subarray(1 + NODE_PUBLIC_KEY_BYTES);
  if (!verifyNodeSignature(publicKey, identitySigningBytes(role, handshakeHash), signature)) {
    throw new NetError(
      NetErrorCode.IDENTITY_INVALID,
      `the ${role}'s identity signature does not verify for the key it presented`,
    );
  }
  return publicKey;
}

export interface PeerHandshakeConfig {
  readonly role: HandshakeRole;
  readonly chainId: string;
  readonly identity: NodeIdentity;
  /** This node's Noise static key (per process; the node key is bound by signature instead). */
  readonly staticKeyPair: X25519KeyPair;
  /** A fresh key pair for this handshake only. */
  readonly ephemeralKeyPair: X25519KeyPair;
  /** Initiator: the node key the dialled address must present (null: any admitted key). */
  readonly expectedRemoteKey: Uint8Array | null;
  /** Admission, bans, capacity: a refusal code, or null to go on. Called once, with a verified key. */
  readonly checkRemoteKey: (publicKey: Uint8Array) => NetErrorCode | null;
}

export interface HandshakeResult {
  readonly remotePublicKey: Uint8Array;
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
  readonly handshakeHash: Uint8Array;
}

export interface HandshakeStep {
  /** A message to send (unframed), or null. */
  readonly send: Uint8Array | null;
  /** Set when the handshake is complete on this side. */
  readonly result: HandshakeResult | null;
}

/**
 * One side of one handshake. The initiator calls `start()` and sends its result; each side
 * then passes every message it receives to `receive`, sends what it returns, and stops at a
 * result. Any NetError thrown ends the handshake: the caller closes the connection.
 */
export class PeerHandshake {
  private readonly config: PeerHandshakeConfig;
  private readonly noise: NoiseXXHandshake;
  private remotePublicKey: Uint8Array | null = null;
  private verifiedKey: Uint8Array | null = null;
  private messagesSeen = 0;

  constructor(config: PeerHandshakeConfig) {
    assert(config.identity.publicKey.length === NODE_PUBLIC_KEY_BYTES, "a node key is 32 bytes");
    if (config.role === "responder") assert(config.expectedRemoteKey === null, "a responder expects anyone");
    this.config = config;
    this.noise = new NoiseXXHandshake(
      config.role === "initiator",
      handshakePrologue(config.chainId),
      config.staticKeyPair,
      config.ephemeralKeyPair,
    );
  }

  /** The remote's node key once its signature verified (even if it was then refused), else null. */
  get verifiedRemoteKey(): Uint8Array | null {
    return this.verifiedKey;
  }

  /** Message 1 (initiator only). */
  start(): Uint8Array {
    assert(this.config.role === "initiator", "only the initiator starts");
    assert(this.messagesSeen === 0, "start once");
    this.messagesSeen = 1;
    const payload = concatBytes(Uint8Array.of(NET_PROTOCOL_VERSION), chainBinding(this.config.chainId));
    return this.noise.writeMessage(() => payload);
  }

  receive(message: Uint8Array): HandshakeStep {
    assert(this.messagesSeen < 3, "a handshake has three messages");
    if (this.config.role === "responder" && this.messagesSeen === 0) return this.receiveMessage1(message);
    if (this.config.role === "initiator" && this.messagesSeen === 1) return this.receiveMessage2(message);
    assert(this.config.role === "responder" && this.messagesSeen === 2, "messages arrive in turn");
    return this.receiveMessage3(message);
  }

  private receiveMessage1(message: Uint8Array): HandshakeStep {
    const { payload } = this.noise.readMessage(message);
    if (payload.length >= 1 && payload[0] !== NET_PROTOCOL_VERSION) {
      throw new NetError(
        NetErrorCode.VERSION_UNSUPPORTED,
        `the remote speaks transport version ${payload[0]}; this node speaks ${NET_PROTOCOL_VERSION}`,
        { version: payload[0]! },
      );
    }
    if (message.length !== HANDSHAKE_MESSAGE_BYTES[0]) throw sizeError(1, message.length);
    if (!equalBytes(payload.subarray(1), chainBinding(this.config.chainId))) {
      throw new NetError(
        NetErrorCode.CHAIN_MISMATCH,
        "the remote belongs to another chain (chain id differs)",
      );
    }
    this.messagesSeen = 2;
    const send = this.noise.writeMessage((hash) => encodeIdentity(this.config.identity, "responder", hash));
    assert(send.length === HANDSHAKE_MESSAGE_BYTES[1], "message 2 has its version 1 size");
    return { send, result: null };
  }

  private receiveMessage2(message: Uint8Array): HandshakeStep {
    if (message.length !== HANDSHAKE_MESSAGE_BYTES[1]) throw sizeError(2, message.length);
    const read = this.noise.readMessage(message);
    const remoteKey = decodeIdentity(read.payload, "responder", read.handshakeHashBeforePayload);
    const expected = this.config.expectedRemoteKey;
    if (expected !== null && !equalBytes(expected, remoteKey)) {
      throw new NetError(
        NetErrorCode.PEER_KEY_MISMATCH,
        "the dialled address presented another node key than the one configured for it",
      );
    }
    this.admit(remoteKey);
    this.messagesSeen = 3;
    const send = this.noise.writeMessage((hash) => encodeIdentity(this.config.identity, "initiator", hash));
    assert(send.length === HANDSHAKE_MESSAGE_BYTES[2], "message 3 has its version 1 size");
    return { send, result: this.finish() };
  }

  private receiveMessage3(message: Uint8Array): HandshakeStep {
    if (message.length !== HANDSHAKE_MESSAGE_BYTES[2]) throw sizeError(3, message.length);
    const read = this.noise.readMessage(message);
    const remoteKey = decodeIdentity(read.payload, "initiator", read.handshakeHashBeforePayload);
    this.admit(remoteKey);
    this.messagesSeen = 3;
    return { send: null, result: this.finish() };
  }

  private admit(remoteKey: Uint8Array): void {
    this.verifiedKey = remoteKey;
    if (equalBytes(remoteKey, this.config.identity.publicKey)) {
      throw new NetError(NetErrorCode.PEER_SELF, "the remote is this node itself");
    }
    const refusal = this.config.checkRemoteKey(remoteKey);
    if (refusal !== null) throw new NetError(refusal, `the remote's node key is refused (${refusal})`);
    this.remotePublicKey = remoteKey;
  }

  private finish(): HandshakeResult {
    assert(this.remotePublicKey !== null, "a finished handshake knows the remote's key");
    const keys = this.noise.split();
    assert(!equalBytes(keys.sendKey, keys.receiveKey), "each direction has its own key");
    return { remotePublicKey: this.remotePublicKey, ...keys };
  }
}

function sizeError(messageNumber: number, sizeBytes: number): NetError {
  return new NetError(
    NetErrorCode.HANDSHAKE_MALFORMED,
    `handshake message ${messageNumber} is ${sizeBytes} bytes; version 1 requires ${HANDSHAKE_MESSAGE_BYTES[messageNumber - 1]}`,
    { messageNumber, sizeBytes },
  );
}

/** A handshake message on the wire: u16 big-endian length ‖ message. */
export function frameHandshakeMessage(message: Uint8Array): Uint8Array {
  assert(message.length > 0, "a handshake message is not empty");
  assert(message.length <= NET_HANDSHAKE_MESSAGE_BYTES_MAX, "a handshake message fits its limit");
  const out = new Uint8Array(HANDSHAKE_LENGTH_BYTES + message.length);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, HANDSHAKE_LENGTH_BYTES);
  return out;
}

/** Splits received bytes into handshake messages; what follows the last one stays buffered. */
export class HandshakeMessageReader {
  readonly buffered = new ByteQueue();

  push(chunk: Uint8Array): void {
    this.buffered.push(chunk);
  }

  /** The next complete message, or null when more bytes are needed. */
  next(): Uint8Array | null {
    if (this.buffered.length < HANDSHAKE_LENGTH_BYTES) return null;
    const length = (this.buffered.byteAt(0) << 8) | this.buffered.byteAt(1);
    if (length === 0 || length > NET_HANDSHAKE_MESSAGE_BYTES_MAX) {
      throw new NetError(
        NetErrorCode.HANDSHAKE_MALFORMED,
        `handshake message length ${length} is outside 1..${NET_HANDSHAKE_MESSAGE_BYTES_MAX}`,
        { sizeBytes: length },
      );
    }
    if (this.buffered.length < HANDSHAKE_LENGTH_BYTES + length) return null;
    this.buffered.read(HANDSHAKE_LENGTH_BYTES);
    return this.buffered.read(length).slice();
  }
}
