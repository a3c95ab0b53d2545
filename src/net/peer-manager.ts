/**
 * The peer manager: listens, dials the seed addresses, keeps one authenticated connection per
 * peer, queues and sends messages by channel, keeps connections alive, scores and bans peers.
 *
 * Rules (docs/adr/0004-peer-transport.md):
 * - Admission: a peer's node key must pass `isAdmitted` during the handshake, and is checked
 *   again every tick, so a governance change takes effect on live connections too.
 * - One connection per pair: when two exist (both sides dialled, or a peer redialled), both
 *   sides keep the one whose initiator has the lower node key (bytewise); between two with the
 *   same initiator, the newer. The survivor inherits the peer's send queue; no connect or
 *   disconnect event fires for the swap.
 * - Delivery is at most once, in order per channel while a connection lasts. A message queued
 *   when the connection fails is dropped (counted); the application's protocols retry.
 * - Seeds are redialled after a failure or a disconnect, with exponential backoff and jitter
 *   (bounded by reconnectDelayMsMax), and not while banned.
 * - Frame errors (bad tag, oversized or malformed frame, oversized message) close the
 *   connection and ban the peer at once; `penalize` adds points and bans at the threshold.
 * - send never blocks: a full queue drops per the policy in send-queue.ts and counts it; a
 *   message over its channel's limit is refused and counted (the receiver would ban us).
 * Listeners run synchronously on the socket's event; they must not throw (decode errors are
 * the listener's to handle, typically with `penalize`).
 * @module
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import sodium from "sodium-native";
import { assert } from "../base/assert.ts";
import { compareBytes, equalBytes } from "../base/bytes.ts";
import {
  type ApplicationChannelId,
  type ChannelId,
  channelLabel,
  channelMessageBytesMax,
  isApplicationChannel,
} from "./channels.ts";
import { type Clock, Connection, type ConnectionHost, type ConnectionSettings } from "./connection.ts";
import { NetError, NetErrorCode, PENALTY_REASONS, type PenaltyReason, penaltyReasonOf } from "./errors.ts";
import { isValidChainId } from "./handshake.ts";
import {
  isPeerKeyHex,
  NODE_PUBLIC_KEY_BYTES,
  type NodeIdentity,
  type PeerKeyHex,
  peerKeyHex,
} from "./identity.ts";
import {
  NET_BAN_DURATION_MS,
  NET_DURATION_MS_MAX,
  NET_HANDSHAKE_TIMEOUT_MS,
  NET_HANDSHAKES_PENDING_MAX,
  NET_IDLE_TIMEOUT_MS,
  NET_LISTENERS_MAX,
  NET_PEER_RECORDS_MAX,
  NET_PEERS_MAX,
  NET_PENALTY_POINTS_MAX,
  NET_PING_INTERVAL_MS,
  NET_RECONNECT_DELAY_MS_MAX,
  NET_RECONNECT_DELAY_MS_MIN,
  NET_SCORE_BAN_THRESHOLD,
  NET_SCORE_HALF_LIFE_MS,
  NET_SEEDS_MAX,
  NET_SEND_QUEUE_BYTES_MAX,
  NET_SEND_QUEUE_MESSAGES_MAX,
  NET_TICK_INTERVAL_MS_MAX,
} from "./limits.ts";
import { type NetLogger, type NetMetrics, type PeerDirection, silentLogger } from "./metrics.ts";
import { type X25519KeyPair, x25519KeyPairFromSecret } from "./noise.ts";
import { PeerScores, reconnectDelayMs } from "./peer-score.ts";
import { SendQueue } from "./send-queue.ts";

export interface PeerAddress {
  /** The node key the address must present (32 bytes). */
  readonly publicKey: Uint8Array;
  readonly host: string;
  readonly port: number;
}

export interface PeerManagerOptions {
  readonly chainId: string;
  readonly listenHost: string;
  /** 0 picks a free port (see `address()` after `start()`). */
  readonly listenPort: number;
  readonly seeds?: readonly PeerAddress[];
  readonly peersMax?: number;
  readonly sendQueueMessagesMax?: number;
  readonly sendQueueBytesMax?: number;
  readonly handshakeTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly idleTimeoutMs?: number;
  readonly reconnectDelayMsMin?: number;
  readonly reconnectDelayMsMax?: number;
  readonly banDurationMs?: number;
  readonly scoreHalfLifeMs?: number;
}

export interface PeerManagerComponents {
  readonly identity: NodeIdentity;
  /** Whether a node key may connect now (governance decides; called often, keep it cheap). */
  readonly isAdmitted: (publicKey: Uint8Array) => boolean;
  readonly metrics?: NetMetrics | null;
  readonly logger?: NetLogger | null;
  readonly clock?: Clock;
  /** Secret randomness (Noise keys, jitter); libsodium's by default. */
  readonly randomBytes?: (length: number) => Uint8Array;
}

export interface PeerInfo {
  readonly publicKeyHex: PeerKeyHex;
  /** The remote end of the connection. */
  readonly host: string;
  readonly port: number;
  readonly direction: PeerDirection;
  readonly connectedAtMs: number;
  /** Bytes on the wire over the current connection. */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly score: number;
  /** Round trip of the last answered ping, or null before one is answered. */
  readonly rttMs: number | null;
  readonly sendQueueMessages: number;
  readonly sendQueueBytes: number;
  /** Messages to this peer dropped since it connected. */
  readonly messagesDropped: number;
}

export interface RefusedConnection {
  readonly code: NetErrorCode;
  readonly direction: PeerDirection;
  readonly host: string;
  readonly port: number;
  /** The remote's node key when the handshake got far enough to verify it. */
  readonly peer: PeerKeyHex | null;
}

export type MessageListener = (peer: PeerKeyHex, channel: ApplicationChannelId, bytes: Uint8Array) => void;
export type PeerConnectedListener = (peer: PeerInfo) => void;
export type PeerDisconnectedListener = (peer: PeerKeyHex, code: NetErrorCode) => void;
export type ConnectionRefusedListener = (refused: RefusedConnection) => void;

interface PeerManagerSettings {
  readonly peersMax: number;
  readonly sendQueueMessagesMax: number;
  readonly sendQueueBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly idleTimeoutMs: number;
  readonly reconnectDelayMsMin: number;
  readonly reconnectDelayMsMax: number;
  readonly banDurationMs: number;
  readonly scoreHalfLifeMs: number;
}

function assertDurationMs(value: number, name: string): void {
  assert(Number.isInteger(value), `${name} is a whole number of milliseconds`);
  assert(value > 0 && value <= NET_DURATION_MS_MAX, `${name} is in 1..${NET_DURATION_MS_MAX} ms`);
}

function resolveSettings(options: PeerManagerOptions): PeerManagerSettings {
  const settings: PeerManagerSettings = {
    peersMax: options.peersMax ?? NET_PEERS_MAX,
    sendQueueMessagesMax: options.sendQueueMessagesMax ?? NET_SEND_QUEUE_MESSAGES_MAX,
    sendQueueBytesMax: options.sendQueueBytesMax ?? NET_SEND_QUEUE_BYTES_MAX,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? NET_HANDSHAKE_TIMEOUT_MS,
    pingIntervalMs: options.pingIntervalMs ?? NET_PING_INTERVAL_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? NET_IDLE_TIMEOUT_MS,
    reconnectDelayMsMin: options.reconnectDelayMsMin ?? NET_RECONNECT_DELAY_MS_MIN,
    reconnectDelayMsMax: options.reconnectDelayMsMax ?? NET_RECONNECT_DELAY_MS_MAX,
    banDurationMs: options.banDurationMs ?? NET_BAN_DURATION_MS,
    scoreHalfLifeMs: options.scoreHalfLifeMs ?? NET_SCORE_HALF_LIFE_MS,
  };
  assert(isValidChainId(options.chainId), "chainId is [a-z0-9][a-z0-9-]{0,63}");
  assert(options.listenHost.length > 0, "listenHost names an interface");
  assert(Number.isInteger(options.listenPort), "listenPort is an integer");
  assert(options.listenPort >= 0 && options.listenPort <= 0xffff, "listenPort is in 0..65535");
  assert(settings.peersMax >= 1 && settings.peersMax <= NET_PEERS_MAX, `peersMax is in 1..${NET_PEERS_MAX}`);
  assert(settings.sendQueueMessagesMax >= 2, "a send queue holds a message and a ping");
  assert(
    settings.sendQueueMessagesMax <= NET_SEND_QUEUE_MESSAGES_MAX,
    "sendQueueMessagesMax within its limit",
  );
  assert(settings.sendQueueBytesMax >= 1024, "a send queue holds at least 1 KiB");
  assert(settings.sendQueueBytesMax <= NET_SEND_QUEUE_BYTES_MAX, "sendQueueBytesMax within its limit");
  assertDurationMs(settings.handshakeTimeoutMs, "handshakeTimeoutMs");
  assertDurationMs(settings.pingIntervalMs, "pingIntervalMs");
  assertDurationMs(settings.idleTimeoutMs, "idleTimeoutMs");
  assertDurationMs(settings.reconnectDelayMsMin, "reconnectDelayMsMin");
  assertDurationMs(settings.reconnectDelayMsMax, "reconnectDelayMsMax");
  assertDurationMs(settings.banDurationMs, "banDurationMs");
  assertDurationMs(settings.scoreHalfLifeMs, "scoreHalfLifeMs");
  assert(
    settings.idleTimeoutMs >= 2 * settings.pingIntervalMs,
    "idleTimeoutMs is at least two ping intervals",
  );
  assert(settings.reconnectDelayMsMin <= settings.reconnectDelayMsMax, "reconnect delays are ordered");
  return settings;
}

interface PeerState {
  readonly keyHex: PeerKeyHex;
  readonly publicKey: Uint8Array;
  connection: Connection;
  readonly queue: SendQueue;
  messagesDropped: number;
  announced: boolean;
}

interface DialTarget {
  readonly address: PeerAddress;
  readonly keyHex: PeerKeyHex;
  /** Consecutive failed attempts (drives the backoff). */
  attempts: number;
  timer: NodeJS.Timeout | null;
  connection: Connection | null;
}

function defaultRandomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  sodium.randombytes_buf(bytes as Buffer);
  return bytes;
}

const monotonicClock: Clock = { nowMs: () => performance.now() };

export class PeerManager {
  private readonly options: PeerManagerOptions;
  private readonly settings: PeerManagerSettings;
  private readonly identity: NodeIdentity;
  private readonly isAdmitted: (publicKey: Uint8Array) => boolean;
  private readonly metrics: NetMetrics | null;
  private readonly logger: NetLogger;
  private readonly clock: Clock;
  private readonly randomBytes: (length: number) => Uint8Array;
  private readonly staticKeyPair: X25519KeyPair;
  private readonly scores: PeerScores;
  private readonly peerStates = new Map<PeerKeyHex, PeerState>();
  private readonly targets = new Map<PeerKeyHex, DialTarget>();
  private readonly connections = new Set<Connection>();
  private readonly messageListeners: MessageListener[] = [];
  private readonly connectedListeners: PeerConnectedListener[] = [];
  private readonly disconnectedListeners: PeerDisconnectedListener[] = [];
  private readonly refusedListeners: ConnectionRefusedListener[] = [];
  private readonly connectionSettings: ConnectionSettings;
  private readonly connectionHost: ConnectionHost;
  private server: Server | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private connectionSequence = 0;
  private inboundHandshakes = 0;

  constructor(options: PeerManagerOptions, components: PeerManagerComponents) {
    this.settings = resolveSettings(options);
    assert(components.identity.publicKey.length === NODE_PUBLIC_KEY_BYTES, "a node key is 32 bytes");
    this.options = options;
    this.identity = components.identity;
    this.isAdmitted = components.isAdmitted;
    this.metrics = components.metrics ?? null;
    this.logger = components.logger ?? silentLogger;
    this.clock = components.clock ?? monotonicClock;
    this.randomBytes = components.randomBytes ?? defaultRandomBytes;
    this.staticKeyPair = x25519KeyPairFromSecret(this.randomBytes(32));
    this.scores = new PeerScores({
      banThreshold: NET_SCORE_BAN_THRESHOLD,
      banDurationMs: this.settings.banDurationMs,
      halfLifeMs: this.settings.scoreHalfLifeMs,
      recordsMax: NET_PEER_RECORDS_MAX,
    });
    this.addSeeds(options.seeds ?? []);
    this.connectionSettings = {
      chainId: options.chainId,
      identity: this.identity,
      staticKeyPair: this.staticKeyPair,
      handshakeTimeoutMs: this.settings.handshakeTimeoutMs,
      randomBytes: this.randomBytes,
      clock: this.clock,
    };
    this.connectionHost = this.createConnectionHost();
  }

  private addSeeds(seeds: readonly PeerAddress[]): void {
    for (const seed of seeds) this.addSeed(seed);
  }

  /**
   * Dials this address from now on (and again after every failure or disconnect), expecting
   * its node key. A seed naming this node itself is ignored, so one list can serve every node.
   */
  addSeed(seed: PeerAddress): void {
    assert(seed.publicKey.length === NODE_PUBLIC_KEY_BYTES, "a seed names a 32-byte node key");
    assert(Number.isInteger(seed.port) && seed.port > 0 && seed.port <= 0xffff, "a seed port is in 1..65535");
    assert(seed.host.length > 0, "a seed names a host");
    const keyHex = peerKeyHex(seed.publicKey);
    assert(!this.targets.has(keyHex), "each seed names another node");
    assert(this.targets.size < NET_SEEDS_MAX, `at most ${NET_SEEDS_MAX} seeds`);
    if (equalBytes(seed.publicKey, this.identity.publicKey)) return;
    const target: DialTarget = { address: seed, keyHex, attempts: 0, timer: null, connection: null };
    this.targets.set(keyHex, target);
    if (this.started) this.scheduleDial(target, 0);
  }

  /** Stops dialling the seed; a connection to it stays until it closes. */
  removeSeed(peer: PeerKeyHex): void {
    const target = this.targets.get(peer);
    if (target === undefined) return;
    if (target.timer !== null) clearTimeout(target.timer);
    this.targets.delete(peer);
  }

  /** Listens, then dials every seed. Rejects with NetError(NET_LISTEN_FAILED). */
  async start(): Promise<{ host: string; port: number }> {
    assert(!this.started, "start once");
    this.started = true;
    const server = createServer((socket) => this.onInbound(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error: NodeJS.ErrnoException) => {
        reject(
          new NetError(
            NetErrorCode.LISTEN_FAILED,
            `cannot listen on ${this.options.listenHost}:${this.options.listenPort}: ${error.code ?? error.message}`,
            { host: this.options.listenHost, port: this.options.listenPort },
          ),
        );
      });
      server.listen(this.options.listenPort, this.options.listenHost, () => resolve());
    });
    server.on("error", (error: NodeJS.ErrnoException) => {
      this.logger.warn("listening socket error", { code: error.code ?? "unknown" });
    });
    const tickIntervalMs = Math.max(
      10,
      Math.min(NET_TICK_INTERVAL_MS_MAX, Math.floor(this.settings.pingIntervalMs / 4)),
    );
    this.tickTimer = setInterval(() => this.tick(), tickIntervalMs);
    for (const target of this.targets.values()) this.scheduleDial(target, 0);
    const address = this.address();
    assert(address !== null, "a started manager listens");
    this.logger.info("peer transport listening", { host: address.host, port: address.port });
    return address;
  }

  /** Closes every connection and the listening socket; idempotent. */
  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    for (const target of this.targets.values()) {
      if (target.timer !== null) clearTimeout(target.timer);
      target.timer = null;
    }
    for (const connection of [...this.connections]) connection.close(NetErrorCode.STOPPED);
    assert(this.peerStates.size === 0, "no peer outlives its connection");
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The listening address, or null before start. */
  address(): { host: string; port: number } | null {
    const address = this.server?.address();
    if (address === null || address === undefined || typeof address === "string") return null;
    return { host: address.address, port: address.port };
  }

  get publicKeyHex(): PeerKeyHex {
    return peerKeyHex(this.identity.publicKey);
  }

  /**
   * Queues a message to one peer. Returns false when the peer is not connected, the message is
   * over its channel's limit (CHANNEL_MESSAGE_BYTES_MAX: the receiver would ban us for it) or
   * the queue dropped it; every refusal is counted, and none blocks. The bytes are held by
   * reference until sent.
   */
  send(peer: PeerKeyHex, channel: ApplicationChannelId, bytes: Uint8Array): boolean {
    if (!this.checkSendable(channel, bytes)) return false;
    return this.enqueue(peer, channel, bytes);
  }

  /** Queues the message to every connected peer but one; returns how many queued it. */
  broadcast(channel: ApplicationChannelId, bytes: Uint8Array, exceptPeer?: PeerKeyHex): number {
    if (!this.checkSendable(channel, bytes)) return 0;
    let queued = 0;
    for (const peer of this.peerStates.keys()) {
      if (peer !== exceptPeer && this.enqueue(peer, channel, bytes)) queued++;
    }
    return queued;
  }

  /**
   * An oversized message is the caller's bug, but its size can depend on what users submit, so
   * it is refused and reported rather than allowed to crash the node.
   */
  private checkSendable(channel: ApplicationChannelId, bytes: Uint8Array): boolean {
    assert(isApplicationChannel(channel), "applications send on consensus, transactions or sync channels");
    const sizeBytesMax = channelMessageBytesMax(channel);
    if (bytes.length <= sizeBytesMax) return true;
    this.metrics?.droppedMessages.inc({ channel: channelLabel(channel), reason: "oversized" });
    this.logger.warn("message over its channel's limit not sent", {
      channel: channelLabel(channel),
      sizeBytes: bytes.length,
      sizeBytesMax,
    });
    return false;
  }

  private enqueue(peer: PeerKeyHex, channel: ApplicationChannelId, bytes: Uint8Array): boolean {
    assert(bytes.length <= channelMessageBytesMax(channel), "checked by checkSendable");
    const state = this.peerStates.get(peer);
    if (state === undefined) {
      this.metrics?.droppedMessages.inc({ channel: channelLabel(channel), reason: "not_connected" });
      return false;
    }
    if (bytes.length > this.settings.sendQueueBytesMax) {
      state.messagesDropped++;
      this.metrics?.droppedMessages.inc({ channel: channelLabel(channel), reason: "queue_full" });
      return false;
    }
    const queued = state.queue.enqueue(channel, bytes);
    if (queued) state.connection.schedulePump();
    return queued;
  }

  /** Adds `points` to the peer's score; at NET_SCORE_BAN_THRESHOLD it is disconnected and banned. */
  penalize(peer: PeerKeyHex, reason: PenaltyReason, points: number): void {
    assert(isPeerKeyHex(peer), "peers are named by the lower-case hex of their node key");
    assert(PENALTY_REASONS.includes(reason), "a penalty names a known reason");
    assert(Number.isFinite(points) && points > 0, "a penalty adds a positive number of points");
    assert(points <= NET_PENALTY_POINTS_MAX, `a penalty adds at most ${NET_PENALTY_POINTS_MAX} points`);
    const nowMs = this.clock.nowMs();
    const outcome = this.scores.penalize(peer, points, nowMs);
    this.metrics?.penalties.inc({ reason });
    this.logger.debug("peer penalised", { peer, reason, points, score: outcome.score });
    if (!outcome.bannedNow) return;
    this.metrics?.bans.inc({});
    this.logger.warn("peer banned", { peer, reason, banDurationMs: this.settings.banDurationMs });
    this.peerStates.get(peer)?.connection.close(NetErrorCode.PEER_BANNED, `banned (${reason})`);
  }

  isBanned(peer: PeerKeyHex): boolean {
    return this.scores.isBanned(peer, this.clock.nowMs());
  }

  /** Closes the connection to the peer (a seed is dialled again after the backoff). */
  disconnect(peer: PeerKeyHex): void {
    this.peerStates.get(peer)?.connection.close(NetErrorCode.DISCONNECT_REQUESTED);
  }

  /** Connected peers, ordered by key. */
  peers(): PeerInfo[] {
    return [...this.peerStates.values()]
      .sort((left, right) => compareBytes(left.publicKey, right.publicKey))
      .map((state) => this.infoOf(state));
  }

  onMessage(listener: MessageListener): () => void {
    return addListener(this.messageListeners, listener);
  }

  onPeerConnected(listener: PeerConnectedListener): () => void {
    return addListener(this.connectedListeners, listener);
  }

  onPeerDisconnected(listener: PeerDisconnectedListener): () => void {
    return addListener(this.disconnectedListeners, listener);
  }

  /** Handshakes that failed or were refused (not duplicates, not stops). */
  onConnectionRefused(listener: ConnectionRefusedListener): () => void {
    return addListener(this.refusedListeners, listener);
  }

  private infoOf(state: PeerState): PeerInfo {
    const connection = state.connection;
    return {
      publicKeyHex: state.keyHex,
      host: connection.host,
      port: connection.port,
      direction: connection.direction,
      connectedAtMs: connection.establishedAtMs,
      bytesSent: connection.bytesSent,
      bytesReceived: connection.bytesReceived,
      score: this.scores.score(state.keyHex, this.clock.nowMs()),
      rttMs: connection.rttMs,
      sendQueueMessages: state.queue.messageCount,
      sendQueueBytes: state.queue.byteCount,
      messagesDropped: state.messagesDropped,
    };
  }

  private onInbound(socket: Socket): void {
    if (this.stopped || this.inboundHandshakes >= NET_HANDSHAKES_PENDING_MAX) {
      if (!this.stopped) this.metrics?.handshakeFailures.inc({ code: NetErrorCode.HANDSHAKES_PENDING_FULL });
      socket.on("error", () => {});
      socket.destroy();
      return;
    }
    this.inboundHandshakes++;
    const address = {
      host: socket.remoteAddress ?? "",
      port: socket.remotePort ?? 0,
      expectedRemoteKey: null,
    };
    const connection = new Connection(
      socket,
      "inbound",
      address,
      this.connectionSettings,
      this.connectionHost,
      ++this.connectionSequence,
    );
    this.connections.add(connection);
    connection.begin();
  }

  private scheduleDial(target: DialTarget, delayMs: number): void {
    if (this.stopped || target.timer !== null) return;
    target.timer = setTimeout(() => {
      target.timer = null;
      this.dial(target);
    }, delayMs);
  }

  private scheduleRedial(target: DialTarget): void {
    const fraction = new DataView(this.randomBytes(4).buffer).getUint32(0) / 0x1_0000_0000;
    const { reconnectDelayMsMin, reconnectDelayMsMax } = this.settings;
    this.scheduleDial(
      target,
      reconnectDelayMs(target.attempts, fraction, reconnectDelayMsMin, reconnectDelayMsMax),
    );
  }

  private dial(target: DialTarget): void {
    if (this.stopped || this.peerStates.has(target.keyHex) || target.connection !== null) return;
    const bannedUntilMs = this.scores.bannedUntilMs(target.keyHex, this.clock.nowMs());
    if (bannedUntilMs !== null) {
      this.scheduleDial(target, Math.ceil(bannedUntilMs - this.clock.nowMs()) + 1);
      return;
    }
    if (!this.isAdmitted(target.address.publicKey)) {
      target.attempts++;
      this.scheduleRedial(target);
      return;
    }
    const { host, port, publicKey } = target.address;
    const socket = netConnect({ host, port });
    const connection = new Connection(
      socket,
      "outbound",
      { host, port, expectedRemoteKey: publicKey },
      this.connectionSettings,
      this.connectionHost,
      ++this.connectionSequence,
    );
    target.connection = connection;
    this.connections.add(connection);
    connection.begin();
  }

  /** Of two connections to one peer, the one both sides keep. */
  private preferred(left: Connection, right: Connection): Connection {
    const initiatorOf = (connection: Connection): Uint8Array =>
      connection.direction === "outbound" ? this.identity.publicKey : connection.remotePublicKey!;
    const order = compareBytes(initiatorOf(left), initiatorOf(right));
    if (order !== 0) return order < 0 ? left : right;
    return left.sequence > right.sequence ? left : right;
  }

  private refusalOf(publicKey: Uint8Array): NetErrorCode | null {
    if (this.stopped) return NetErrorCode.STOPPED;
    if (this.scores.isBanned(peerKeyHex(publicKey), this.clock.nowMs())) return NetErrorCode.PEER_BANNED;
    if (!this.isAdmitted(publicKey)) return NetErrorCode.PEER_NOT_ADMITTED;
    return null;
  }

  private accept(connection: Connection): NetErrorCode | null {
    assert(connection.remotePublicKey !== null, "an accepted connection knows its peer");
    const refusal = this.refusalOf(connection.remotePublicKey);
    if (refusal !== null) return refusal;
    const keyHex = connection.remoteKeyHex!;
    const existing = this.peerStates.get(keyHex);
    if (existing !== undefined) {
      const old = existing.connection;
      if (this.preferred(old, connection) === old) return NetErrorCode.DUPLICATE_CONNECTION;
      existing.connection = connection;
      existing.queue.restartInProgress();
      connection.attachQueue(existing.queue);
      old.close(NetErrorCode.DUPLICATE_CONNECTION, "replaced by the preferred connection");
      return null;
    }
    if (this.peerStates.size >= this.settings.peersMax) return NetErrorCode.PEERS_FULL;
    const state: PeerState = {
      keyHex,
      publicKey: connection.remotePublicKey,
      connection,
      queue: new SendQueue(
        { messagesMax: this.settings.sendQueueMessagesMax, bytesMax: this.settings.sendQueueBytesMax },
        (channel, _sizeBytes, reason) => {
          state.messagesDropped++;
          this.metrics?.droppedMessages.inc({ channel: channelLabel(channel), reason });
        },
      ),
      messagesDropped: 0,
      announced: false,
    };
    this.peerStates.set(keyHex, state);
    connection.attachQueue(state.queue);
    return null;
  }

  private established(connection: Connection): void {
    const state = this.peerStates.get(connection.remoteKeyHex!);
    assert(state !== undefined && state.connection === connection, "an established connection is its peer's");
    if (connection.direction === "inbound") this.inboundHandshakes--;
    const target = this.targets.get(state.keyHex);
    if (target !== undefined) target.attempts = 0;
    this.metrics?.connections.inc({ direction: connection.direction });
    if (state.announced) {
      this.logger.debug("peer connection replaced", { peer: state.keyHex, direction: connection.direction });
      return;
    }
    state.announced = true;
    this.logger.info("peer connected", { peer: state.keyHex, direction: connection.direction });
    const info = this.infoOf(state);
    for (const listener of this.connectedListeners) listener(info);
  }

  private closed(connection: Connection, code: NetErrorCode, detail: string, wasEstablished: boolean): void {
    assert(this.connections.has(connection), "every connection is tracked until it closes");
    this.connections.delete(connection);
    if (connection.direction === "inbound" && !wasEstablished) this.inboundHandshakes--;
    assert(this.inboundHandshakes >= 0, "handshake count stays natural");
    const keyHex = connection.remoteKeyHex;
    const state = keyHex === null ? undefined : this.peerStates.get(keyHex);
    if (state !== undefined && state.connection === connection) this.onPeerLost(state, code, detail);
    else if (!wasEstablished) this.onHandshakeFailed(connection, code, detail);
    this.afterClose(connection, wasEstablished);
  }

  private onPeerLost(state: PeerState, code: NetErrorCode, detail: string): void {
    this.peerStates.delete(state.keyHex);
    state.queue.clear("disconnected");
    this.metrics?.disconnections.inc({ code });
    const penalty = penaltyReasonOf(code);
    if (penalty !== null) this.penalize(state.keyHex, penalty, NET_SCORE_BAN_THRESHOLD);
    this.logger.info("peer disconnected", { peer: state.keyHex, code, detail });
    if (!state.announced) return;
    for (const listener of this.disconnectedListeners) listener(state.keyHex, code);
  }

  private onHandshakeFailed(connection: Connection, code: NetErrorCode, detail: string): void {
    if (code === NetErrorCode.DUPLICATE_CONNECTION || code === NetErrorCode.STOPPED) return;
    this.metrics?.handshakeFailures.inc({ code });
    this.logger.debug("connection refused", { code, detail, direction: connection.direction });
    const refused: RefusedConnection = {
      code,
      direction: connection.direction,
      host: connection.host,
      port: connection.port,
      peer: connection.remoteKeyHex,
    };
    for (const listener of this.refusedListeners) listener(refused);
  }

  private afterClose(connection: Connection, wasEstablished: boolean): void {
    if (this.stopped) return;
    // A dial belongs to the seed it dialled, whoever answered; an inbound peer to its own key.
    const key =
      connection.direction === "outbound"
        ? peerKeyHex(connection.expectedRemoteKey!)
        : connection.remoteKeyHex;
    const target = key === null ? undefined : this.targets.get(key);
    if (target === undefined) return;
    if (target.connection === connection) target.connection = null;
    if (this.peerStates.has(target.keyHex) || target.connection !== null) return;
    if (wasEstablished) target.attempts = 0;
    else target.attempts++;
    this.scheduleRedial(target);
  }

  /** Upkeep: admission re-checks, idle timeouts, pings, gauges. */
  private tick(): void {
    const nowMs = this.clock.nowMs();
    for (const state of [...this.peerStates.values()]) {
      const connection = state.connection;
      if (!this.isAdmitted(state.publicKey)) {
        connection.close(NetErrorCode.PEER_NOT_ADMITTED, "no longer admitted");
      } else if (nowMs - connection.lastReceivedAtMs >= this.settings.idleTimeoutMs) {
        connection.close(NetErrorCode.IDLE_TIMEOUT, `nothing received for ${this.settings.idleTimeoutMs} ms`);
      } else if (nowMs - connection.lastPingSentAtMs >= this.settings.pingIntervalMs) {
        connection.sendPing(nowMs);
      }
    }
    this.updateGauges();
  }

  private updateGauges(): void {
    if (this.metrics === null) return;
    let inbound = 0;
    let queuedBytes = 0;
    for (const state of this.peerStates.values()) {
      if (state.connection.direction === "inbound") inbound++;
      queuedBytes += state.queue.byteCount;
    }
    this.metrics.peers.set({ direction: "inbound" }, inbound);
    this.metrics.peers.set({ direction: "outbound" }, this.peerStates.size - inbound);
    this.metrics.sendQueueBytes.set({}, queuedBytes);
  }

  private createConnectionHost(): ConnectionHost {
    return {
      checkRemoteKey: (_connection, publicKey) => this.refusalOf(publicKey),
      accept: (connection) => this.accept(connection),
      established: (connection) => this.established(connection),
      message: (connection, channel, bytes) => {
        const keyHex = connection.remoteKeyHex!;
        if (this.peerStates.get(keyHex)?.connection !== connection) return;
        this.metrics?.receivedMessages.inc({ channel: channelLabel(channel) });
        for (const listener of this.messageListeners) listener(keyHex, channel, bytes);
      },
      frameSent: (channel: ChannelId, payloadBytes, final) => {
        this.metrics?.sentBytes.inc({ channel: channelLabel(channel) }, payloadBytes);
        if (final) this.metrics?.sentMessages.inc({ channel: channelLabel(channel) });
      },
      frameReceived: (channel: ChannelId, payloadBytes) => {
        this.metrics?.receivedBytes.inc({ channel: channelLabel(channel) }, payloadBytes);
      },
      closed: (connection, code, detail, wasEstablished) =>
        this.closed(connection, code, detail, wasEstablished),
    };
  }
}

function addListener<Listener>(listeners: Listener[], listener: Listener): () => void {
  assert(listeners.length < NET_LISTENERS_MAX, `at most ${NET_LISTENERS_MAX} listeners of a kind`);
  listeners.push(listener);
  return () => {
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  };
}
