/**
 * One TCP connection to a peer: the handshake over the socket (with its timeout), then frames
 * in both directions. Decisions that concern more than this connection (admission, bans, one
 * connection per peer, the send queue) belong to its host, the PeerManager.
 *
 * Life: connecting (outbound only) → handshaking → [confirming] → established → closed.
 * The responder, once it accepts, sends a ping as its first frame; the initiator counts the
 * connection established only when that first frame authenticates, so a refused initiator
 * never reports a peer that was never there. Every path ends in `close(code)`, exactly once.
 * @module
 */
import type { Socket } from "node:net";
import { assert } from "../base/assert.ts";
import { type ApplicationChannelId, Channel, type ChannelId } from "./channels.ts";
import { NetError, NetErrorCode } from "./errors.ts";
import { type Frame, FrameDecoder, FrameEncoder, MessageAssembler } from "./frame.ts";
import {
  frameHandshakeMessage,
  HandshakeMessageReader,
  type HandshakeResult,
  PeerHandshake,
} from "./handshake.ts";
import { type NodeIdentity, type PeerKeyHex, peerKeyHex } from "./identity.ts";
import {
  NET_FRAME_PAYLOAD_BYTES_MAX,
  NET_PING_MESSAGE_BYTES,
  NET_SOCKET_WRITE_BUFFER_BYTES_MAX,
} from "./limits.ts";
import type { PeerDirection } from "./metrics.ts";
import { type X25519KeyPair, x25519KeyPairFromSecret } from "./noise.ts";
import type { SendQueue } from "./send-queue.ts";

export interface Clock {
  /** Milliseconds on a clock that never goes back (performance.now() in the node). */
  nowMs(): number;
}

export type ConnectionState = "connecting" | "handshaking" | "confirming" | "established" | "closed";

export interface ConnectionSettings {
  readonly chainId: string;
  readonly identity: NodeIdentity;
  readonly staticKeyPair: X25519KeyPair;
  readonly handshakeTimeoutMs: number;
  readonly randomBytes: (length: number) => Uint8Array;
  readonly clock: Clock;
}

/** What a connection asks of its owner. */
export interface ConnectionHost {
  /** During the handshake, for a verified key: a refusal code, or null. */
  checkRemoteKey(connection: Connection, publicKey: Uint8Array): NetErrorCode | null;
  /** After the handshake: a refusal code, or null having attached a send queue. */
  accept(connection: Connection): NetErrorCode | null;
  established(connection: Connection): void;
  message(connection: Connection, channel: ApplicationChannelId, bytes: Uint8Array): void;
  frameSent(channel: ChannelId, payloadBytes: number, final: boolean): void;
  frameReceived(channel: ChannelId, payloadBytes: number): void;
  closed(connection: Connection, code: NetErrorCode, detail: string, wasEstablished: boolean): void;
}

const PING_KIND = { ping: 1, pong: 2 } as const;

function pingMessage(kind: number, nonce: bigint): Uint8Array {
  const message = new Uint8Array(NET_PING_MESSAGE_BYTES);
  message[0] = kind;
  new DataView(message.buffer).setBigUint64(1, nonce, false);
  return message;
}

export class Connection {
  readonly sequence: number;
  readonly direction: PeerDirection;
  readonly host: string;
  readonly port: number;
  /** Outbound: the node key the dialled address must present. */
  readonly expectedRemoteKey: Uint8Array | null;
  state: ConnectionState;
  remotePublicKey: Uint8Array | null = null;
  remoteKeyHex: PeerKeyHex | null = null;
  bytesReceived = 0;
  bytesSent = 0;
  establishedAtMs = 0;
  lastReceivedAtMs = 0;
  lastPingSentAtMs = 0;
  rttMs: number | null = null;

  private readonly socket: Socket;
  private readonly settings: ConnectionSettings;
  private readonly connectionHost: ConnectionHost;
  private handshake: PeerHandshake | null = null;
  private readonly handshakeReader = new HandshakeMessageReader();
  private encoder: FrameEncoder | null = null;
  private decoder: FrameDecoder | null = null;
  private readonly assembler = new MessageAssembler();
  private queue: SendQueue | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private pumpScheduled = false;
  private waitingForDrain = false;
  private pingNonce = 0n;
  private outstandingPing: { nonce: bigint; sentAtMs: number } | null = null;
  private socketErrorCode = "";

  constructor(
    socket: Socket,
    direction: PeerDirection,
    address: { host: string; port: number; expectedRemoteKey: Uint8Array | null },
    settings: ConnectionSettings,
    connectionHost: ConnectionHost,
    sequence: number,
  ) {
    if (direction === "inbound")
      assert(address.expectedRemoteKey === null, "inbound peers are not known in advance");
    else assert(address.expectedRemoteKey !== null, "a dialled address names its node key");
    this.socket = socket;
    this.direction = direction;
    this.host = address.host;
    this.port = address.port;
    this.expectedRemoteKey = address.expectedRemoteKey;
    this.settings = settings;
    this.connectionHost = connectionHost;
    this.sequence = sequence;
    this.state = direction === "outbound" ? "connecting" : "handshaking";
  }

  /** Wires the socket and starts the handshake (outbound: once TCP connects). */
  begin(): void {
    assert(this.handshake === null, "begin once");
    this.handshake = new PeerHandshake({
      role: this.direction === "outbound" ? "initiator" : "responder",
      chainId: this.settings.chainId,
      identity: this.settings.identity,
      staticKeyPair: this.settings.staticKeyPair,
      ephemeralKeyPair: x25519KeyPairFromSecret(this.settings.randomBytes(32)),
      expectedRemoteKey: this.expectedRemoteKey,
      checkRemoteKey: (publicKey) => this.connectionHost.checkRemoteKey(this, publicKey),
    });
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("drain", () => {
      this.waitingForDrain = false;
      this.pump();
    });
    this.socket.on("error", (error: NodeJS.ErrnoException) => {
      this.socketErrorCode = error.code ?? "socket error";
    });
    this.socket.on("close", () => this.onSocketClosed());
    this.handshakeTimer = setTimeout(() => {
      this.close(
        NetErrorCode.HANDSHAKE_TIMEOUT,
        `no handshake within ${this.settings.handshakeTimeoutMs} ms`,
      );
    }, this.settings.handshakeTimeoutMs);
    if (this.direction === "outbound") this.socket.once("connect", () => this.onConnected());
  }

  private onConnected(): void {
    if (this.state !== "connecting") return;
    assert(this.handshake !== null, "the handshake exists once begun");
    this.state = "handshaking";
    this.socket.write(frameHandshakeMessage(this.handshake.start()));
  }

  attachQueue(queue: SendQueue): void {
    assert(this.queue === null, "a connection serves one queue");
    assert(this.state === "handshaking" || this.state === "confirming", "a queue is attached on acceptance");
    this.queue = queue;
  }

  /** Queues a ping now (the upkeep tick calls this every ping interval). */
  sendPing(nowMs: number): void {
    assert(this.state === "established", "pings go over established connections");
    assert(this.queue !== null, "an established connection has a queue");
    this.pingNonce++;
    this.outstandingPing = { nonce: this.pingNonce, sentAtMs: nowMs };
    this.lastPingSentAtMs = nowMs;
    this.queue.enqueue(Channel.ping, pingMessage(PING_KIND.ping, this.pingNonce));
    this.schedulePump();
  }

  /** Writes queued frames soon (once per turn of the event loop, however many sends came). */
  schedulePump(): void {
    if (this.pumpScheduled || this.state !== "established") return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  close(code: NetErrorCode, detail = ""): void {
    if (this.state === "closed") return;
    const wasEstablished = this.state === "established";
    this.state = "closed";
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.queue = null;
    this.socket.destroy();
    this.connectionHost.closed(this, code, detail, wasEstablished);
  }

  private onSocketClosed(): void {
    const detail = this.socketErrorCode;
    if (this.state === "connecting") this.close(NetErrorCode.DIAL_FAILED, detail);
    else if (this.state === "established") this.close(NetErrorCode.CONNECTION_CLOSED, detail);
    else this.close(NetErrorCode.HANDSHAKE_CLOSED, detail);
  }

  private onData(chunk: Uint8Array): void {
    if (this.state === "closed") return;
    this.bytesReceived += chunk.length;
    if (this.state === "handshaking") this.readHandshake(chunk);
    else if (this.decoder !== null) this.decoder.push(chunk);
    if (this.state === "confirming" || this.state === "established") this.readFrames();
  }

  private readHandshake(chunk: Uint8Array): void {
    assert(this.handshake !== null, "handshaking connections have a handshake");
    this.handshakeReader.push(chunk);
    try {
      for (
        let message = this.handshakeReader.next();
        message !== null;
        message = this.handshakeReader.next()
      ) {
        const step = this.handshake.receive(message);
        if (step.send !== null) this.socket.write(frameHandshakeMessage(step.send));
        if (step.result !== null) {
          this.onHandshakeResult(step.result);
          return;
        }
      }
    } catch (error) {
      if (!(error instanceof NetError)) throw error;
      // A refused but authentic remote is named in the refusal (never one whose signature failed).
      const verified = this.handshake.verifiedRemoteKey;
      if (verified !== null) this.remoteKeyHex = peerKeyHex(verified);
      this.close(error.code, error.message);
    }
  }

  private onHandshakeResult(result: HandshakeResult): void {
    this.remotePublicKey = result.remotePublicKey;
    this.remoteKeyHex = peerKeyHex(result.remotePublicKey);
    this.encoder = new FrameEncoder(result.sendKey);
    this.decoder = new FrameDecoder(result.receiveKey);
    this.handshake = null;
    // Bytes after the last handshake message are already frames.
    if (this.handshakeReader.buffered.length > 0) this.decoder.push(this.handshakeReader.buffered.readAll());
    if (this.direction === "outbound") this.state = "confirming";
    else this.establish();
  }

  /** Asks the host to keep this connection; true when it did. */
  private establish(): boolean {
    const refusal = this.connectionHost.accept(this);
    if (refusal !== null) {
      this.close(refusal, `connection refused locally (${refusal})`);
      return false;
    }
    assert(this.queue !== null, "an accepted connection has a send queue");
    assert(
      this.state === "handshaking" || this.state === "confirming",
      "only a new connection is established",
    );
    const nowMs = this.settings.clock.nowMs();
    this.state = "established";
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    this.establishedAtMs = nowMs;
    this.lastReceivedAtMs = nowMs;
    this.lastPingSentAtMs = nowMs;
    if (this.direction === "inbound") this.sendPing(nowMs);
    this.connectionHost.established(this);
    this.schedulePump();
    return true;
  }

  private readFrames(): void {
    assert(this.decoder !== null, "frames follow the handshake");
    while (this.state === "confirming" || this.state === "established") {
      let frame: Frame | null;
      try {
        frame = this.decoder.next();
      } catch (error) {
        if (!(error instanceof NetError)) throw error;
        this.close(error.code, error.message);
        return;
      }
      if (frame === null) return;
      if (this.state === "confirming" && !this.establish()) return;
      this.onFrame(frame);
    }
  }

  private onFrame(frame: Frame): void {
    this.lastReceivedAtMs = this.settings.clock.nowMs();
    this.connectionHost.frameReceived(frame.channel, frame.payload.length);
    let message: Uint8Array | null;
    try {
      message = this.assembler.push(frame);
    } catch (error) {
      if (!(error instanceof NetError)) throw error;
      this.close(error.code, error.message);
      return;
    }
    if (message === null) return;
    if (frame.channel === Channel.ping) this.onPing(message);
    else this.connectionHost.message(this, frame.channel, message);
  }

  private onPing(message: Uint8Array): void {
    const kind = message[0];
    if (message.length !== NET_PING_MESSAGE_BYTES || (kind !== PING_KIND.ping && kind !== PING_KIND.pong)) {
      this.close(NetErrorCode.FRAME_MALFORMED, "a ping message is u8 kind (1 or 2) ‖ u64 nonce");
      return;
    }
    const nonce = new DataView(message.buffer, message.byteOffset, message.length).getBigUint64(1, false);
    if (kind === PING_KIND.ping) {
      assert(this.queue !== null, "an established connection has a queue");
      this.queue.enqueue(Channel.ping, pingMessage(PING_KIND.pong, nonce));
      this.schedulePump();
    } else if (this.outstandingPing !== null && this.outstandingPing.nonce === nonce) {
      this.rttMs = this.lastReceivedAtMs - this.outstandingPing.sentAtMs;
      this.outstandingPing = null;
    }
  }

  private pump(): void {
    if (this.state !== "established" || this.queue === null || this.waitingForDrain) return;
    assert(this.encoder !== null, "an established connection has an encoder");
    this.socket.cork();
    try {
      while (this.socket.writableLength < NET_SOCKET_WRITE_BUFFER_BYTES_MAX) {
        const frame = this.queue.nextFrame(NET_FRAME_PAYLOAD_BYTES_MAX);
        if (frame === null) break;
        const wire = this.encoder.encode(frame.channel, frame.final, frame.payload);
        this.socket.write(wire);
        this.bytesSent += wire.length;
        this.connectionHost.frameSent(frame.channel, frame.payload.length, frame.final);
      }
    } catch (error) {
      if (!(error instanceof NetError)) throw error;
      this.close(error.code, error.message);
      return;
    } finally {
      this.socket.uncork();
    }
    // Past the write buffer bound the rest waits in the queue until the kernel takes some.
    if (this.queue !== null && !this.queue.empty) this.waitingForDrain = true;
  }
}
