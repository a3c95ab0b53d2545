/**
 * Shared by the transport's tests: fixed identities, the handshake test vector of
 * docs/PROTOCOL.md ("Peer transport"), a raw client that completes a real handshake and then
 * writes whatever bytes a test wants (a misbehaving peer), and bounded waiting.
 * @module
 */
import { connect, type Socket } from "node:net";
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { Channel } from "./channels.ts";
import { FrameEncoder } from "./frame.ts";
import {
  frameHandshakeMessage,
  HandshakeMessageReader,
  type HandshakeResult,
  handshakePrologue,
  PeerHandshake,
} from "./handshake.ts";
import { type NodeIdentity, nodeIdentityFromSeed } from "./identity.ts";
import { x25519KeyPairFromSecret } from "./noise.ts";

export const TEST_CHAIN_ID = "city-of-example-1";

export function filledBytes(byte: number, length = 32): Uint8Array {
  return new Uint8Array(length).fill(byte);
}

/** Identity number `index` (1, 2, 3, …): Ed25519 seed = 32 bytes of `index`. */
export function testIdentity(index: number): NodeIdentity {
  assert(index >= 1 && index <= 255, "test identities are numbered 1..255");
  return nodeIdentityFromSeed(filledBytes(index));
}

/** The handshake vector: every input fixed, so every byte of the three messages is too. */
export function buildHandshakeVector(): Record<string, string> {
  const initiatorIdentity = nodeIdentityFromSeed(filledBytes(0x11));
  const responderIdentity = nodeIdentityFromSeed(filledBytes(0x22));
  const initiator = new PeerHandshake({
    role: "initiator",
    chainId: TEST_CHAIN_ID,
    identity: initiatorIdentity,
    staticKeyPair: x25519KeyPairFromSecret(filledBytes(0x33)),
    ephemeralKeyPair: x25519KeyPairFromSecret(filledBytes(0x44)),
    expectedRemoteKey: responderIdentity.publicKey,
    checkRemoteKey: () => null,
  });
  const responder = new PeerHandshake({
    role: "responder",
    chainId: TEST_CHAIN_ID,
    identity: responderIdentity,
    staticKeyPair: x25519KeyPairFromSecret(filledBytes(0x55)),
    ephemeralKeyPair: x25519KeyPairFromSecret(filledBytes(0x66)),
    expectedRemoteKey: null,
    checkRemoteKey: () => null,
  });
  const message1 = initiator.start();
  const message2 = responder.receive(message1).send!;
  const step = initiator.receive(message2);
  const message3 = step.send!;
  const responderResult = responder.receive(message3).result!;
  const initiatorResult = step.result!;
  assert(bytesToHex(initiatorResult.handshakeHash) === bytesToHex(responderResult.handshakeHash));
  // The responder's first frame: a ping with nonce 1 (u8 kind 1 ‖ u64 1).
  const ping = Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 1);
  const firstFrame = new FrameEncoder(responderResult.sendKey).encode(Channel.ping, true, ping);
  return {
    chainId: TEST_CHAIN_ID,
    initiatorNodeKey: bytesToHex(initiatorIdentity.publicKey),
    responderNodeKey: bytesToHex(responderIdentity.publicKey),
    prologue: bytesToHex(handshakePrologue(TEST_CHAIN_ID)),
    message1: bytesToHex(message1),
    message2: bytesToHex(message2),
    message3: bytesToHex(message3),
    handshakeHash: bytesToHex(initiatorResult.handshakeHash),
    initiatorSendKey: bytesToHex(initiatorResult.sendKey),
    responderSendKey: bytesToHex(responderResult.sendKey),
    responderFirstFrame: bytesToHex(firstFrame),
  };
}

/** Resolves when `condition()` holds; rejects after `timeoutMs` (every wait in the tests is bounded). */
export async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** A client that does a real handshake as `identity`, then writes raw bytes: a peer gone bad. */
export interface RawPeer {
  readonly socket: Socket;
  readonly result: HandshakeResult;
  readonly encoder: FrameEncoder;
  /** Resolves when the remote closes the connection. */
  readonly closed: Promise<void>;
}

export async function connectRawPeer(
  port: number,
  identity: NodeIdentity,
  remoteKey: Uint8Array,
  chainId = TEST_CHAIN_ID,
): Promise<RawPeer> {
  const socket = connect({ host: "127.0.0.1", port });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("close", () => reject(new Error("raw peer: connection closed before connect")));
  });
  const handshake = new PeerHandshake({
    role: "initiator",
    chainId,
    identity,
    staticKeyPair: x25519KeyPairFromSecret(filledBytes(0x77)),
    ephemeralKeyPair: x25519KeyPairFromSecret(crypto.getRandomValues(new Uint8Array(32))),
    expectedRemoteKey: remoteKey,
    checkRemoteKey: () => null,
  });
  const reader = new HandshakeMessageReader();
  socket.write(frameHandshakeMessage(handshake.start()));
  const result = await new Promise<HandshakeResult>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      reader.push(chunk);
      const message = reader.next();
      if (message === null) return;
      const step = handshake.receive(message);
      socket.write(frameHandshakeMessage(step.send!));
      resolve(step.result!);
    });
    socket.once("close", () => reject(new Error("raw peer: closed during the handshake")));
  });
  socket.removeAllListeners("data");
  return { socket, result, encoder: new FrameEncoder(result.sendKey), closed };
}
