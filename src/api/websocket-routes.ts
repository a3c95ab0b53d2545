/**
 * The WebSocket endpoint /v1/ws: subscriptions to committed blocks, to one transaction's commit
 * and to events, and transaction submits over the socket. Protocol (docs/API.md, "WebSocket"):
 * the client sends JSON messages of WsClientMessageJson, the server answers and pushes
 * WsServerMessageJson.
 *
 * Bounded everywhere: connections per node, subscriptions and submits in flight per socket, the
 * size of one inbound message, the bytes of one push, and the bytes queued to one socket: a client
 * that reads too slowly is closed (code API_WS_CLOSE_SLOW_CONSUMER) rather than buffered for.
 * @module
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { FastifyBaseLogger } from "fastify";
import type { WebSocket } from "ws";
import { assert, assertNever } from "../base/assert.ts";
import { bytesToHex, hexToBytesOrNull } from "../base/bytes.ts";
import type { ChainEvent, CommittedBlock, NodeService, Unsubscribe } from "../node/service.ts";
import { executionResultToJson, u64ToDecimal } from "../sdk/json-codec.ts";
import {
  type WsClientMessageJson,
  WsClientMessageJson as WsClientSchema,
  type WsServerMessageJson,
} from "../sdk/wire.ts";
import { blockNoticeToJson, eventToJson } from "./json.ts";
import {
  API_WS_CLOSE_OVERLOADED,
  API_WS_CLOSE_SLOW_CONSUMER,
  API_WS_CONNECTIONS_MAX,
  API_WS_EVENTS_PER_PUSH_MAX,
  API_WS_PING_INTERVAL_MS,
  API_WS_PUSH_BYTES_MAX,
  API_WS_SEND_BUFFER_BYTES_MAX,
  API_WS_SUBMITS_IN_FLIGHT_MAX,
  API_WS_SUBSCRIPTIONS_PER_SOCKET_MAX,
} from "./limits.ts";
import { ApiError, refusalStatusOf } from "./problem.ts";
import { PROBLEM_REPLIES } from "./schemas.ts";
import type { ApiApp } from "./server.ts";
import { RETRY_AFTER_MS_DEFAULT } from "./transaction-routes.ts";

/** Codes of the `error` replies that are the socket's own (the node's refusal codes also appear). */
export type WebSocketErrorCode =
  | "MALFORMED_JSON"
  | "VALIDATION_FAILED"
  | "WS_SUBSCRIPTIONS_FULL"
  | "WS_SUBSCRIPTION_UNKNOWN"
  | "RATE_LIMITED";

export interface WebSocketLimits {
  readonly connectionsMax: number;
  readonly subscriptionsPerSocketMax: number;
  readonly sendBufferBytesMax: number;
  readonly submitsInFlightMax: number;
  readonly pingIntervalMs: number;
}

export const WEBSOCKET_LIMITS_DEFAULT: WebSocketLimits = {
  connectionsMax: API_WS_CONNECTIONS_MAX,
  subscriptionsPerSocketMax: API_WS_SUBSCRIPTIONS_PER_SOCKET_MAX,
  sendBufferBytesMax: API_WS_SEND_BUFFER_BYTES_MAX,
  submitsInFlightMax: API_WS_SUBMITS_IN_FLIGHT_MAX,
  pingIntervalMs: API_WS_PING_INTERVAL_MS,
};

const clientMessageCheck = TypeCompiler.Compile(WsClientSchema);
const OPEN = 1;
/** The largest subscription id (the wire schema's bound). */
const SUBSCRIPTION_ID_MAX = 2 ** 31 - 1;

type Subscription =
  | { readonly topic: "blocks" }
  | { readonly topic: "tx"; readonly hashHex: string }
  | { readonly topic: "events"; readonly contract: string | undefined; readonly type: string | undefined };

/** One connected socket: its subscriptions and its share of the limits. */
class Session {
  readonly socket: WebSocket;
  readonly subscriptions = new Map<number, Subscription>();
  subscriptionIdNext = 1;
  submitsInFlight = 0;
  answeredPing = true;
  closed = false;

  constructor(socket: WebSocket) {
    this.socket = socket;
  }
}

/** Fans committed blocks out to the sessions that subscribed; one per API instance. */
export class WebSocketHub {
  readonly #service: NodeService;
  readonly #log: FastifyBaseLogger;
  readonly #limits: WebSocketLimits;
  readonly #pushBytesMax: number;
  readonly #sessions = new Set<Session>();
  /** Transaction hash (hex) → the sessions and subscription ids waiting for its commit. */
  readonly #transactionWatchers = new Map<string, Map<Session, number>>();
  readonly #unsubscribe: Unsubscribe;
  readonly #pingTimer: ReturnType<typeof setInterval>;

  constructor(service: NodeService, log: FastifyBaseLogger, limits: WebSocketLimits) {
    assert(limits.connectionsMax > 0, "WebSocketHub: connectionsMax is positive");
    assert(limits.subscriptionsPerSocketMax > 0, "WebSocketHub: subscriptionsPerSocketMax is positive");
    assert(limits.submitsInFlightMax > 0, "WebSocketHub: submitsInFlightMax is positive");
    this.#service = service;
    this.#log = log;
    this.#limits = limits;
    // Half the send buffer at most, so a healthy client always takes a burst of two pushes.
    this.#pushBytesMax = Math.min(API_WS_PUSH_BYTES_MAX, Math.floor(limits.sendBufferBytesMax / 2));
    this.#unsubscribe = service.onBlockCommitted((block) => this.#onBlockCommittedGuarded(block));
    this.#pingTimer = setInterval(() => this.#ping(), limits.pingIntervalMs);
    this.#pingTimer.unref();
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  close(): void {
    clearInterval(this.#pingTimer);
    this.#unsubscribe();
    for (const session of this.#sessions) this.#drop(session, 1001, "server closing");
    assert(this.#sessions.size === 0, "close: every session dropped");
  }

  attach(socket: WebSocket): void {
    if (this.#sessions.size >= this.#limits.connectionsMax) {
      socket.close(API_WS_CLOSE_OVERLOADED, "too many connections");
      return;
    }
    const session = new Session(socket);
    this.#sessions.add(session);
    socket.on("pong", () => {
      session.answeredPing = true;
    });
    socket.on("close", () => this.#forget(session));
    socket.on("message", (data, isBinary) => {
      if (isBinary) {
        this.#reply(session, { type: "error", code: "VALIDATION_FAILED", message: "messages are JSON text" });
        return;
      }
      this.#onMessage(session, data.toString("utf8")).catch((error: unknown) => {
        this.#log.error({ err: error }, "websocket message failed");
        this.#drop(session, 1011, "internal error");
      });
    });
  }

  async #onMessage(session: Session, text: string): Promise<void> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.#reply(session, { type: "error", code: "MALFORMED_JSON", message: "the message is not JSON" });
      return;
    }
    if (!clientMessageCheck.Check(json)) {
      const first = clientMessageCheck.Errors(json).First();
      const where = first === undefined ? "" : ` (${first.path || "/"}: ${first.message})`;
      this.#reply(session, {
        type: "error",
        code: "VALIDATION_FAILED",
        message: `not a message of the /v1/ws protocol${where}`,
        ...idOf(json),
      });
      return;
    }
    const message: WsClientMessageJson = json;
    if ("submit" in message) return this.#onSubmit(session, message.submit, message.id);
    if ("unsubscribe" in message) return this.#onUnsubscribe(session, message.unsubscribe, message.id);
    switch (message.subscribe) {
      case "blocks":
        this.#subscribe(session, { topic: "blocks" }, message.id);
        return;
      case "events":
        this.#subscribe(
          session,
          { topic: "events", contract: message.contract, type: message.type },
          message.id,
        );
        return;
      case "tx":
        return this.#onSubscribeTransaction(session, message.hash.toLowerCase(), message.id);
      default:
        return assertNever(message);
    }
  }

  #subscribe(session: Session, subscription: Subscription, id: string | number | undefined): number | null {
    // Ids are never reused on a socket; one that used up the id space must reconnect.
    const idsExhausted = session.subscriptionIdNext > SUBSCRIPTION_ID_MAX;
    if (idsExhausted || session.subscriptions.size >= this.#limits.subscriptionsPerSocketMax) {
      this.#reply(session, {
        type: "error",
        code: "WS_SUBSCRIPTIONS_FULL",
        message: `a socket holds at most ${this.#limits.subscriptionsPerSocketMax} subscriptions`,
        ...(id === undefined ? {} : { id }),
      });
      return null;
    }
    const subscriptionId = session.subscriptionIdNext++;
    session.subscriptions.set(subscriptionId, subscription);
    this.#reply(session, {
      type: "subscribed",
      subscription: subscriptionId,
      topic: subscription.topic,
      ...(id === undefined ? {} : { id }),
    });
    return subscriptionId;
  }

  async #onSubscribeTransaction(session: Session, hashHex: string, id: string | number | undefined) {
    const subscriptionId = this.#subscribe(session, { topic: "tx", hashHex }, id);
    if (subscriptionId === null) return;
    // Watch first, then look: a commit between the two is seen by one or the other (or both,
    // and the second finds the subscription gone).
    let watchers = this.#transactionWatchers.get(hashHex);
    if (watchers === undefined) {
      watchers = new Map();
      this.#transactionWatchers.set(hashHex, watchers);
    }
    watchers.set(session, subscriptionId);
    const hash = hexToBytesOrNull(hashHex);
    assert(hash !== null, "the schema admits only hex hashes");
    const status = await this.#service.transactionStatus(hash);
    if (status.status !== "committed") return;
    this.#pushTransaction(session, subscriptionId, hashHex, {
      status: "committed",
      hash: hashHex,
      height: u64ToDecimal(status.height),
      indexInBlock: status.indexInBlock,
      logIndex: status.logIndex,
      result: executionResultToJson(status.result),
    });
  }

  #onUnsubscribe(session: Session, subscriptionId: number, id: string | number | undefined): void {
    const subscription = session.subscriptions.get(subscriptionId);
    if (subscription === undefined) {
      this.#reply(session, {
        type: "error",
        code: "WS_SUBSCRIPTION_UNKNOWN",
        message: "no such subscription on this socket",
        ...(id === undefined ? {} : { id }),
      });
      return;
    }
    this.#removeSubscription(session, subscriptionId, subscription);
    this.#reply(session, {
      type: "unsubscribed",
      subscription: subscriptionId,
      ...(id === undefined ? {} : { id }),
    });
  }

  async #onSubmit(session: Session, hex: string, id: string | number | undefined): Promise<void> {
    const withId = id === undefined ? {} : { id };
    if (session.submitsInFlight >= this.#limits.submitsInFlightMax) {
      this.#reply(session, {
        type: "error",
        code: "RATE_LIMITED",
        message: `at most ${this.#limits.submitsInFlightMax} submits of one socket wait for the node`,
        retryAfterMs: RETRY_AFTER_MS_DEFAULT,
        ...withId,
      });
      return;
    }
    const bytes = hexToBytesOrNull(hex);
    if (bytes === null || bytes.length === 0) {
      this.#reply(session, {
        type: "error",
        code: "VALIDATION_FAILED",
        message: "submit: not a hex transaction",
        ...withId,
      });
      return;
    }
    session.submitsInFlight++;
    try {
      const result = await this.#service.submitTransaction(bytes);
      if (result.accepted) {
        this.#reply(session, {
          type: "submitted",
          hash: bytesToHex(result.hash),
          status: "pending",
          ...withId,
        });
        return;
      }
      const status = refusalStatusOf(result.code);
      const retryAfterMs =
        result.retryAfterMs ?? (status === 503 || status === 429 ? RETRY_AFTER_MS_DEFAULT : undefined);
      this.#reply(session, {
        type: "error",
        code: result.code,
        message: result.message,
        ...(result.hash === null ? {} : { hash: bytesToHex(result.hash) }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs: Math.ceil(retryAfterMs) }),
        ...withId,
      });
    } finally {
      session.submitsInFlight--;
      assert(session.submitsInFlight >= 0, "submits in flight never go negative");
    }
  }

  #onBlockCommittedGuarded(block: CommittedBlock): void {
    // The service's listeners must not throw: a failure here is logged and costs only pushes.
    try {
      this.#onBlockCommitted(block);
    } catch (error) {
      this.#log.error({ err: error }, "websocket fan-out failed");
    }
  }

  #onBlockCommitted(block: CommittedBlock): void {
    if (this.#sessions.size === 0) return;
    const { summary } = block;
    const height = u64ToDecimal(summary.height);
    let noticeText: string | null = null;
    // Each event's JSON, made once per block for all the sockets that want it.
    const eventTexts: Array<string | undefined> = new Array(block.events.length);
    for (const session of [...this.#sessions]) {
      for (const [subscriptionId, subscription] of [...session.subscriptions]) {
        if (session.closed) break;
        if (subscription.topic === "blocks") {
          noticeText ??= JSON.stringify(blockNoticeToJson(block));
          this.#sendText(session, `{"type":"block","subscription":${subscriptionId},"block":${noticeText}}`);
        } else if (subscription.topic === "events") {
          this.#pushEvents(session, subscriptionId, subscription, height, block.events, eventTexts);
        }
      }
    }
    if (this.#transactionWatchers.size === 0) return;
    const firstLogIndex = Number(summary.header.logSize) - block.transactions.length;
    for (let index = 0; index < block.transactions.length; index++) {
      const transaction = block.transactions[index]!;
      const hashHex = bytesToHex(transaction.hash);
      const watchers = this.#transactionWatchers.get(hashHex);
      if (watchers === undefined) continue;
      for (const [session, subscriptionId] of [...watchers]) {
        this.#pushTransaction(session, subscriptionId, hashHex, {
          status: "committed",
          hash: hashHex,
          height,
          indexInBlock: index,
          logIndex: firstLogIndex + index,
          result: executionResultToJson(transaction.result),
        });
      }
    }
  }

  #pushEvents(
    session: Session,
    subscriptionId: number,
    filter: { contract: string | undefined; type: string | undefined },
    height: string,
    events: readonly ChainEvent[],
    eventTexts: Array<string | undefined>,
  ): void {
    assert(eventTexts.length === events.length, "one cached text slot per event");
    const matching: string[] = [];
    let sizeBytes = 128;
    let truncated = false;
    for (let index = 0; index < events.length; index++) {
      const event = events[index]!;
      if (filter.contract !== undefined && event.contract !== filter.contract) continue;
      if (filter.type !== undefined && event.type !== filter.type) continue;
      const text = eventTexts[index] ?? JSON.stringify(eventToJson(event));
      eventTexts[index] = text;
      if (matching.length >= API_WS_EVENTS_PER_PUSH_MAX || sizeBytes + text.length + 1 > this.#pushBytesMax) {
        truncated = true;
        break;
      }
      matching.push(text);
      sizeBytes += text.length + 1;
    }
    if (matching.length === 0 && !truncated) return;
    this.#sendText(
      session,
      `{"type":"events","subscription":${subscriptionId},"height":"${height}",` +
        `"events":[${matching.join(",")}],"truncated":${truncated}}`,
    );
  }

  #pushTransaction(
    session: Session,
    subscriptionId: number,
    hashHex: string,
    status: Extract<WsServerMessageJson, { type: "tx" }>["status"],
  ): void {
    const subscription = session.subscriptions.get(subscriptionId);
    if (subscription === undefined) return; // Already pushed (a commit seen twice) or unsubscribed.
    assert(
      subscription.topic === "tx" && subscription.hashHex === hashHex,
      "a tx watcher names its own hash",
    );
    this.#removeSubscription(session, subscriptionId, subscription);
    this.#reply(session, { type: "tx", subscription: subscriptionId, status });
  }

  #removeSubscription(session: Session, subscriptionId: number, subscription: Subscription): void {
    session.subscriptions.delete(subscriptionId);
    if (subscription.topic !== "tx") return;
    const watchers = this.#transactionWatchers.get(subscription.hashHex);
    if (watchers?.get(session) === subscriptionId) watchers.delete(session);
    if (watchers?.size === 0) this.#transactionWatchers.delete(subscription.hashHex);
  }

  #reply(session: Session, message: WsServerMessageJson): void {
    this.#sendText(session, JSON.stringify(message));
  }

  /** Sends, unless the socket's queue would pass the send buffer: then the client is dropped. */
  #sendText(session: Session, text: string): void {
    if (session.closed || session.socket.readyState !== OPEN) return;
    const sizeBytes = Buffer.byteLength(text, "utf8");
    if (session.socket.bufferedAmount + sizeBytes > this.#limits.sendBufferBytesMax) {
      this.#log.info({ bufferedBytes: session.socket.bufferedAmount }, "websocket client too slow, dropped");
      this.#drop(session, API_WS_CLOSE_SLOW_CONSUMER, "send buffer full: read faster");
      return;
    }
    session.socket.send(text);
  }

  #ping(): void {
    for (const session of [...this.#sessions]) {
      if (!session.answeredPing) {
        session.socket.terminate();
        this.#forget(session);
        continue;
      }
      session.answeredPing = false;
      if (session.socket.readyState === OPEN) session.socket.ping();
    }
  }

  #drop(session: Session, code: number, reason: string): void {
    session.socket.close(code, reason);
    this.#forget(session);
  }

  /** Forgets a session and its watchers; safe to call more than once. */
  #forget(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    for (const [subscriptionId, subscription] of [...session.subscriptions]) {
      this.#removeSubscription(session, subscriptionId, subscription);
    }
    assert(session.subscriptions.size === 0, "a forgotten session holds no subscriptions");
    this.#sessions.delete(session);
  }
}

function idOf(json: unknown): { id?: string | number } {
  if (typeof json !== "object" || json === null) return {};
  const id = (json as { id?: unknown }).id;
  if (typeof id === "string" && id.length <= 64) return { id };
  if (typeof id === "number" && Number.isSafeInteger(id) && id >= 0) return { id };
  return {};
}

export function registerWebSocketRoutes(app: ApiApp, hub: WebSocketHub): void {
  app.route({
    method: "GET",
    url: "/v1/ws",
    schema: {
      summary: "WebSocket: subscribe to blocks, a transaction's commit or events; submit transactions",
      description:
        "Upgrade to a WebSocket. Send JSON messages: `{subscribe: 'blocks'}`, `{subscribe: 'tx', hash}`, " +
        "`{subscribe: 'events', contract?, type?}`, `{unsubscribe: id}`, `{submit: hex}`; see docs/API.md.",
      tags: ["websocket"],
      response: { ...PROBLEM_REPLIES },
    },
    handler: async (_request, reply) => {
      reply.header("upgrade", "websocket");
      throw new ApiError("WEBSOCKET_UPGRADE_REQUIRED", 426, "this route speaks WebSocket only");
    },
    wsHandler: (socket) => {
      hub.attach(socket);
    },
  });
}
