/**
 * /v1/ws over a real socket on 127.0.0.1 (port 0) with the `ws` package as client: subscribe and
 * push for blocks, one transaction and events; submits over the socket; protocol errors; the
 * bounds (subscriptions per socket, connections, the send buffer of a slow client).
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import WebSocket from "ws";
import { bytesToHex, utf8 } from "../base/bytes.ts";
import { sha256 } from "../crypto/index.ts";
import { API_WS_CLOSE_SLOW_CONSUMER, API_WS_EVENTS_PER_PUSH_MAX, startApi } from "./index.ts";
import { FakeNodeService } from "./testing/fake-service.ts";

const logger = pino({ level: "silent" });
/** Longest a test waits for one message. */
const MESSAGE_WAIT_MS = 5_000;

type Message = Record<string, unknown>;

/** A client that queues what it receives, so a test can await the next message. */
class TestClient {
  readonly socket: WebSocket;
  readonly #queue: Message[] = [];
  readonly #waiting: Array<(message: Message) => void> = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as Message;
      const waiter = this.#waiting.shift();
      if (waiter === undefined) this.#queue.push(message);
      else waiter(message);
    });
    this.closed = new Promise((resolve) => {
      this.socket.on("close", (code, reason) => resolve({ code, reason: String(reason) }));
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once("open", () => resolve());
      this.socket.once("error", reject);
    });
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  next(): Promise<Message> {
    const queued = this.#queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message within the wait")), MESSAGE_WAIT_MS);
      this.#waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  }

  /** Resolves true when nothing arrives within `ms`. */
  async quietFor(ms: number): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.#queue.length === 0;
  }

  /** Closes and waits until the server has seen the close. */
  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}

describe("WebSocket /v1/ws", () => {
  let service: FakeNodeService;
  let app: FastifyInstance;
  let url: string;
  const clients: TestClient[] = [];

  async function connect(): Promise<TestClient> {
    const client = new TestClient(url);
    clients.push(client);
    await client.opened();
    return client;
  }

  before(async () => {
    service = new FakeNodeService();
    app = await startApi(service, {
      logger,
      rateLimit: false,
      host: "127.0.0.1",
      port: 0,
      webSocket: { subscriptionsPerSocketMax: 3, connectionsMax: 4, pingIntervalMs: 50 },
    });
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/ws`;
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await app.close();
  });

  it("pushes committed blocks to a blocks subscription", async () => {
    const client = await connect();
    client.send({ subscribe: "blocks", id: "b1" });
    const subscribed = await client.next();
    assert.equal(subscribed.type, "subscribed");
    assert.equal(subscribed.id, "b1");
    assert.equal(subscribed.topic, "blocks");
    const committed = service.commitBlock();
    const push = await client.next();
    assert.equal(push.type, "block");
    assert.equal(push.subscription, subscribed.subscription);
    const block = push.block as Message;
    assert.equal(block.height, committed.summary.height.toString());
    assert.equal(block.hash, bytesToHex(committed.summary.hash));
    await client.close();
  });

  it("pushes one transaction's commit once, and at once when it is already committed", async () => {
    const client = await connect();
    const encoded = service.signedTransaction(1);
    client.send({ submit: bytesToHex(encoded), id: 7 });
    const submitted = await client.next();
    assert.equal(submitted.type, "submitted");
    assert.equal(submitted.id, 7);
    const hash = submitted.hash as string;
    client.send({ subscribe: "tx", hash });
    assert.equal((await client.next()).type, "subscribed");
    service.commitBlock();
    const push = await client.next();
    assert.equal(push.type, "tx");
    const status = push.status as Message;
    assert.equal(status.status, "committed");
    assert.equal(status.hash, hash);
    service.announce(service.commitBlock());
    assert.ok(await client.quietFor(100), "no second push for the same transaction");
    client.send({ subscribe: "tx", hash: hash.toUpperCase() });
    assert.equal((await client.next()).type, "subscribed");
    const immediate = await client.next();
    assert.equal(immediate.type, "tx");
    assert.equal((immediate.status as Message).hash, hash);
    await client.close();
  });

  it("pushes the events of a contract only", async () => {
    const client = await connect();
    client.send({ subscribe: "events", contract: "notary" });
    assert.equal((await client.next()).type, "subscribed");
    const document = sha256(utf8("minutes of the council"));
    await service.submitTransaction(service.signedTransaction(0, { contract: "permits" }));
    await service.submitTransaction(
      service.signedTransaction(2, { contract: "notary", method: "record", args: { document } }),
    );
    service.commitBlock();
    const push = await client.next();
    assert.equal(push.type, "events");
    assert.equal(push.truncated, false);
    const events = push.events as Message[];
    assert.equal(events.length, 1);
    assert.equal(events[0]!.contract, "notary");
    // A block with more matching events than one push carries: the first ones, and `truncated`.
    const committed = service.commitBlock();
    const many = Array.from({ length: API_WS_EVENTS_PER_PUSH_MAX + 44 }, (_, index) => ({
      height: committed.summary.height,
      txIndex: index,
      eventIndex: 0,
      logIndex: index,
      contract: "notary",
      type: "notary.record",
      data: new Uint8Array(16),
      key: null,
    }));
    service.announce({ ...committed, events: many });
    const truncated = await client.next();
    assert.equal(truncated.truncated, true);
    assert.equal((truncated.events as Message[]).length, API_WS_EVENTS_PER_PUSH_MAX);
    await client.close();
  });

  it("answers protocol errors without closing, and unsubscribes", async () => {
    const client = await connect();
    client.send("{not json");
    assert.equal((await client.next()).code, "MALFORMED_JSON");
    client.send({ subscribe: "everything", id: "x" });
    const invalid = await client.next();
    assert.equal(invalid.code, "VALIDATION_FAILED");
    assert.equal(invalid.id, "x");
    client.send({ submit: "abc" });
    assert.equal((await client.next()).code, "VALIDATION_FAILED");
    client.send({ submit: "00ff" });
    assert.equal((await client.next()).code, "TX_MALFORMED");
    client.send({ unsubscribe: 99 });
    assert.equal((await client.next()).code, "WS_SUBSCRIPTION_UNKNOWN");
    for (let index = 0; index < 3; index++) {
      client.send({ subscribe: "blocks" });
      assert.equal((await client.next()).type, "subscribed");
    }
    client.send({ subscribe: "blocks", id: "one too many" });
    const full = await client.next();
    assert.equal(full.code, "WS_SUBSCRIPTIONS_FULL");
    client.send({ unsubscribe: 1 });
    assert.deepEqual(await client.next(), { type: "unsubscribed", subscription: 1 });
    assert.equal(client.socket.readyState, WebSocket.OPEN);
    await client.close();
  });

  it("stays connected across pings, and refuses connections past the limit", async () => {
    const held = [await connect(), await connect(), await connect(), await connect()];
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const client of held) assert.equal(client.socket.readyState, WebSocket.OPEN, "pongs keep it open");
    const extra = new TestClient(url);
    clients.push(extra);
    const closed = await extra.closed;
    assert.equal(closed.code, 1013);
    await Promise.all(held.map((client) => client.close()));
  });
});

describe("WebSocket slow consumer", () => {
  it("closes a client that does not read, rather than buffer without bound", async () => {
    const service = new FakeNodeService();
    const app = await startApi(service, {
      logger,
      rateLimit: false,
      webSocket: { sendBufferBytesMax: 64 * 1024 },
    });
    const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/ws`;
    const client = new TestClient(url);
    await client.opened();
    client.send({ subscribe: "blocks" });
    assert.equal((await client.next()).type, "subscribed");
    const block = service.commitBlock();
    await client.next();
    // The client stops reading; the server keeps pushing far more than any kernel buffer holds.
    const raw = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    for (let round = 0; round < 40; round++) {
      for (let index = 0; index < 500; index++) service.announce(block);
      await new Promise((resolve) => setImmediate(resolve));
    }
    raw.resume();
    const closed = await client.closed;
    assert.equal(closed.code, API_WS_CLOSE_SLOW_CONSUMER);
    assert.equal(service.listenerCount, 1, "the API listens for blocks while it runs");
    await app.close();
    assert.equal(service.listenerCount, 0, "and stops when it closes");
  });
});
