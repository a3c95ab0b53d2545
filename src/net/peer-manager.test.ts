/**
 * The peer manager over real loopback sockets (127.0.0.1, port 0), with short durations so the
 * whole file runs in a few seconds. Every wait is bounded; everything a test starts is stopped
 * after it, even when it fails.
 */
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { TcpProxy } from "../../test/helpers/tcp-proxy.ts";
import { bytesToHex, concatBytes } from "../base/bytes.ts";
import { type ApplicationChannelId, Channel } from "./channels.ts";
import { NetError, type NetErrorCode } from "./errors.ts";
import { type NodeIdentity, type PeerKeyHex, peerKeyHex } from "./identity.ts";
import { NET_HANDSHAKES_PENDING_MAX, NET_TRANSACTIONS_MESSAGE_BYTES_MAX } from "./limits.ts";
import { type Counter, createNetMetrics, type Gauge, type MetricsRegister } from "./metrics.ts";
import {
  type PeerAddress,
  PeerManager,
  type PeerManagerOptions,
  type RefusedConnection,
} from "./peer-manager.ts";
import {
  connectRawPeer,
  type RawPeer,
  sleep,
  TEST_CHAIN_ID,
  testIdentity,
  waitFor,
} from "./test-fixtures.ts";

const FAST: Partial<PeerManagerOptions> = {
  handshakeTimeoutMs: 1_000,
  pingIntervalMs: 100,
  idleTimeoutMs: 400,
  reconnectDelayMsMin: 20,
  reconnectDelayMsMax: 200,
  banDurationMs: 60_000,
};
const WAIT_MS = 3_000;
/** No test can hang the run: each fails after this. */
const LIMIT = { timeout: 15_000 };

interface Received {
  readonly peer: PeerKeyHex;
  readonly channel: ApplicationChannelId;
  readonly bytes: Uint8Array;
}

interface TestNode {
  readonly manager: PeerManager;
  readonly identity: NodeIdentity;
  readonly key: PeerKeyHex;
  readonly port: number;
  /** Node keys (hex) this node admits; tests change it as governance would. */
  readonly admitted: Set<PeerKeyHex>;
  readonly received: Received[];
  readonly connected: PeerKeyHex[];
  readonly disconnected: { peer: PeerKeyHex; code: NetErrorCode }[];
  readonly refused: RefusedConnection[];
}

const running: { nodes: TestNode[]; proxies: TcpProxy[]; sockets: Socket[] } = {
  nodes: [],
  proxies: [],
  sockets: [],
};

afterEach(async () => {
  for (const socket of running.sockets.splice(0)) socket.destroy();
  await Promise.all(running.nodes.splice(0).map((node) => node.manager.stop()));
  await Promise.all(running.proxies.splice(0).map((proxy) => proxy.stop()));
});

/** Admits identities 1..9 unless told otherwise. */
function everyone(): Set<PeerKeyHex> {
  return new Set(Array.from({ length: 9 }, (_, index) => peerKeyHex(testIdentity(index + 1).publicKey)));
}

async function startNode(
  index: number,
  settings: {
    options?: Partial<PeerManagerOptions>;
    admitted?: Set<PeerKeyHex>;
    register?: MetricsRegister;
  } = {},
): Promise<TestNode> {
  const identity = testIdentity(index);
  const admitted = settings.admitted ?? everyone();
  const manager = new PeerManager(
    { chainId: TEST_CHAIN_ID, listenHost: "127.0.0.1", listenPort: 0, ...FAST, ...settings.options },
    {
      identity,
      isAdmitted: (publicKey) => admitted.has(bytesToHex(publicKey)),
      metrics: settings.register ? createNetMetrics(settings.register) : null,
    },
  );
  const node: TestNode = {
    manager,
    identity,
    key: peerKeyHex(identity.publicKey),
    port: 0,
    admitted,
    received: [],
    connected: [],
    disconnected: [],
    refused: [],
  };
  manager.onMessage((peer, channel, bytes) => node.received.push({ peer, channel, bytes }));
  manager.onPeerConnected((info) => node.connected.push(info.publicKeyHex));
  manager.onPeerDisconnected((peer, code) => node.disconnected.push({ peer, code }));
  manager.onConnectionRefused((refused) => node.refused.push(refused));
  running.nodes.push(node);
  const { port } = await manager.start();
  (node as { port: number }).port = port;
  return node;
}

function addressOf(node: TestNode, port = node.port): PeerAddress {
  return { publicKey: node.identity.publicKey, host: "127.0.0.1", port };
}

function isConnected(node: TestNode, peer: TestNode): boolean {
  return node.manager.peers().some((info) => info.publicKeyHex === peer.key);
}

async function waitConnected(left: TestNode, right: TestNode): Promise<void> {
  await waitFor(
    () => isConnected(left, right) && isConnected(right, left),
    WAIT_MS,
    "a connection both ways",
  );
}

async function startProxy(target: TestNode): Promise<TcpProxy> {
  const proxy = await TcpProxy.start({ targetHost: "127.0.0.1", targetPort: target.port });
  running.proxies.push(proxy);
  return proxy;
}

async function rawPeer(target: TestNode, index: number): Promise<RawPeer> {
  const raw = await connectRawPeer(target.port, testIdentity(index), target.identity.publicKey);
  running.sockets.push(raw.socket);
  return raw;
}

/** A register that keeps counter sums by name and labels, for checking metrics. */
function memoryRegister(): MetricsRegister & {
  value(name: string, labels?: Record<string, string>): number;
} {
  const values = new Map<string, number>();
  const keyOf = (name: string, labels: Readonly<Record<string, string>>) =>
    `${name}${JSON.stringify(labels)}`;
  return {
    counter<Labels extends Readonly<Record<string, string>>>(config: { name: string }): Counter<Labels> {
      return {
        inc: (labels, value = 1) =>
          values.set(keyOf(config.name, labels), (values.get(keyOf(config.name, labels)) ?? 0) + value),
      };
    },
    gauge<Labels extends Readonly<Record<string, string>>>(config: { name: string }): Gauge<Labels> {
      return { set: (labels, value) => values.set(keyOf(config.name, labels), value) };
    },
    value: (name, labels = {}) => values.get(keyOf(name, labels)) ?? 0,
  };
}

describe("peer manager", () => {
  it(
    "two nodes: authenticated connection, messages both ways on several channels, peer info",
    LIMIT,
    async () => {
      const register = memoryRegister();
      const a = await startNode(1, { register });
      const b = await startNode(2);
      a.manager.addSeed(addressOf(b));
      await waitConnected(a, b);

      const block = new Uint8Array(300_000).map((_, index) => index % 251); // several frames
      assert.equal(a.manager.send(b.key, Channel.consensus, Uint8Array.of(1, 2, 3)), true);
      assert.equal(a.manager.send(b.key, Channel.blockSync, block), true);
      assert.equal(b.manager.send(a.key, Channel.transactions, Uint8Array.of(9)), true);
      await waitFor(() => b.received.length === 2 && a.received.length === 1, WAIT_MS, "the messages");

      assert.deepEqual(b.received[0], {
        peer: a.key,
        channel: Channel.consensus,
        bytes: Uint8Array.of(1, 2, 3),
      });
      assert.equal(b.received[1]!.channel, Channel.blockSync);
      assert.deepEqual(b.received[1]!.bytes, block);
      assert.deepEqual(a.received[0], {
        peer: b.key,
        channel: Channel.transactions,
        bytes: Uint8Array.of(9),
      });

      await waitFor(() => a.manager.peers()[0]!.rttMs !== null, WAIT_MS, "a pong");
      const [infoAtA] = a.manager.peers();
      const [infoAtB] = b.manager.peers();
      assert.equal(infoAtA!.publicKeyHex, b.key);
      assert.equal(infoAtA!.direction, "outbound");
      assert.equal(infoAtB!.direction, "inbound");
      assert.equal(infoAtA!.port, b.port);
      assert.ok(infoAtA!.bytesSent > block.length);
      assert.ok(infoAtB!.bytesReceived > block.length);
      assert.equal(infoAtA!.score, 0);
      assert.deepEqual(a.connected, [b.key]);
      assert.deepEqual(b.connected, [a.key]);
      assert.equal(register.value("cityledger_net_connections_total", { direction: "outbound" }), 1);
      assert.equal(register.value("cityledger_net_sent_messages_total", { channel: "block_sync" }), 1);
      assert.equal(
        a.manager.send("00".repeat(32), Channel.consensus, Uint8Array.of(1)),
        false,
        "not connected",
      );
      // Over the channel's limit: refused and counted, never a crash (the receiver would ban us).
      const tooLarge = new Uint8Array(NET_TRANSACTIONS_MESSAGE_BYTES_MAX + 1);
      assert.equal(a.manager.send(b.key, Channel.transactions, tooLarge), false);
      assert.equal(a.manager.broadcast(Channel.transactions, tooLarge), 0);
      const oversized = { channel: "transactions", reason: "oversized" };
      assert.equal(register.value("cityledger_net_dropped_messages_total", oversized), 2);
    },
  );

  it("three nodes dialling each other keep one connection per pair, the lower key's", LIMIT, async () => {
    const nodes = [await startNode(1), await startNode(2), await startNode(3)];
    for (const node of nodes)
      for (const other of nodes) if (other !== node) node.manager.addSeed(addressOf(other));
    await waitFor(() => nodes.every((node) => node.manager.peers().length === 2), WAIT_MS, "a full mesh");
    await sleep(150); // let any duplicate settle
    for (const node of nodes) {
      assert.equal(node.manager.peers().length, 2);
      assert.equal(node.connected.length, 2, "no peer announced twice");
      assert.equal(node.disconnected.length, 0, "a swap is not a disconnect");
      for (const info of node.manager.peers()) {
        const initiatorIsUs = info.direction === "outbound";
        assert.equal(initiatorIsUs, node.key < info.publicKeyHex, "the lower key's connection is kept");
      }
    }
    for (const [index, node] of nodes.entries()) {
      assert.equal(node.manager.broadcast(Channel.consensus, Uint8Array.of(index)), 2);
    }
    await waitFor(() => nodes.every((node) => node.received.length === 2), WAIT_MS, "every broadcast");
    for (const [index, node] of nodes.entries()) {
      const from = node.received.map((message) => message.bytes[0]).sort();
      assert.deepEqual(
        from,
        [0, 1, 2].filter((other) => other !== index),
      );
    }
  });

  it("refuses a node whose key is not admitted, on both sides", LIMIT, async () => {
    const admittedByA = everyone();
    const outsider = testIdentity(3);
    admittedByA.delete(peerKeyHex(outsider.publicKey));
    const a = await startNode(1, { admitted: admittedByA });
    const c = await startNode(3);
    c.manager.addSeed(addressOf(a));
    await waitFor(() => a.refused.length >= 1 && c.refused.length >= 1, WAIT_MS, "the refusal");
    assert.equal(a.refused[0]!.code, "NET_PEER_NOT_ADMITTED");
    assert.equal(a.refused[0]!.peer, c.key);
    assert.equal(c.refused[0]!.code, "NET_HANDSHAKE_CLOSED", "the outsider only sees a closed connection");
    assert.equal(a.manager.peers().length, 0);
    assert.equal(c.manager.peers().length, 0);
    assert.deepEqual(c.connected, []);
  });

  it("refuses a node of another chain", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2, { options: { chainId: "another-city" } });
    b.manager.addSeed(addressOf(a));
    await waitFor(() => a.refused.length >= 1, WAIT_MS, "the refusal");
    assert.equal(a.refused[0]!.code, "NET_CHAIN_MISMATCH");
    assert.equal(a.refused[0]!.peer, null, "the stranger's key was never revealed");
    assert.equal(a.manager.peers().length + b.manager.peers().length, 0);
  });

  it("refuses an address that answers with another node key than its seed names", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    a.manager.addSeed({ publicKey: testIdentity(3).publicKey, host: "127.0.0.1", port: b.port });
    await waitFor(() => a.refused.length >= 1, WAIT_MS, "the refusal");
    assert.equal(a.refused[0]!.code, "NET_PEER_KEY_MISMATCH");
    assert.equal(a.manager.peers().length, 0);
  });

  it(
    "bans peers that send garbage, an oversized length or a tampered frame; the others keep working",
    LIMIT,
    async () => {
      const a = await startNode(1);
      const b = await startNode(2);
      a.manager.addSeed(addressOf(b));
      await waitConnected(a, b);

      const garbage = await rawPeer(a, 4);
      const oversized = await rawPeer(a, 5);
      const tampered = await rawPeer(a, 6);
      await waitFor(() => a.manager.peers().length === 4, WAIT_MS, "the raw peers accepted");
      garbage.socket.write(
        concatBytes(Uint8Array.of(0, 0, 0, 50), crypto.getRandomValues(new Uint8Array(50))),
      );
      oversized.socket.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff));
      const frame = tampered.encoder.encode(Channel.consensus, true, Uint8Array.of(1, 2, 3));
      frame[10] = frame[10]! ^ 1;
      tampered.socket.write(frame);
      await Promise.all([garbage.closed, oversized.closed, tampered.closed]);

      const codes = Object.fromEntries(a.disconnected.map(({ peer, code }) => [peer, code]));
      assert.equal(codes[peerKeyHex(testIdentity(4).publicKey)], "NET_FRAME_AUTHENTICATION_FAILED");
      assert.equal(codes[peerKeyHex(testIdentity(5).publicKey)], "NET_FRAME_OVERSIZED");
      assert.equal(codes[peerKeyHex(testIdentity(6).publicKey)], "NET_FRAME_AUTHENTICATION_FAILED");
      for (const index of [4, 5, 6])
        assert.equal(a.manager.isBanned(peerKeyHex(testIdentity(index).publicKey)), true);
      assert.equal(a.manager.isBanned(b.key), false);

      // The honest peer is untouched.
      a.manager.send(b.key, Channel.consensus, Uint8Array.of(42));
      await waitFor(
        () => b.received.some((message) => message.bytes[0] === 42),
        WAIT_MS,
        "the honest message",
      );
      assert.deepEqual(
        a.manager.peers().map((info) => info.publicKeyHex),
        [b.key],
      );

      // A banned key that comes back is refused during its handshake.
      const again = await rawPeer(a, 4);
      await again.closed;
      assert.ok(a.refused.some((refused) => refused.code === "NET_PEER_BANNED"));
    },
  );

  it("closes a connection that sends garbage instead of a handshake, and keeps serving", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    const socket = netConnect({ host: "127.0.0.1", port: a.port });
    socket.on("error", () => {});
    running.sockets.push(socket);
    socket.write("GET / HTTP/1.1\r\nHost: example\r\n\r\n");
    await new Promise((resolve) => socket.once("close", resolve));
    assert.equal(a.refused[0]!.code, "NET_HANDSHAKE_MALFORMED");
    b.manager.addSeed(addressOf(a));
    await waitConnected(a, b);
  });

  it("reconnects after the remote restarts", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    a.manager.addSeed(addressOf(b));
    await waitConnected(a, b);
    await b.manager.stop();
    await waitFor(() => a.disconnected.length === 1, WAIT_MS, "the disconnect");
    assert.equal(a.disconnected[0]!.code, "NET_CONNECTION_CLOSED");

    const restarted = await startNode(2, { options: { listenPort: b.port } });
    await waitConnected(a, restarted);
    restarted.manager.send(a.key, Channel.blockSync, Uint8Array.of(7));
    await waitFor(() => a.received.length === 1, WAIT_MS, "a message after the restart");
    assert.deepEqual(a.connected, [b.key, b.key]);
  });

  it("a flood to a stalled peer stays within the queue bound; send never blocks", LIMIT, async () => {
    const queueBytesMax = 1024 * 1024;
    const a = await startNode(1, {
      options: { sendQueueBytesMax: queueBytesMax, sendQueueMessagesMax: 64, idleTimeoutMs: 10_000 },
    });
    const b = await startNode(2, { options: { idleTimeoutMs: 10_000 } });
    const proxy = await startProxy(b);
    a.manager.addSeed(addressOf(b, proxy.port));
    await waitConnected(a, b);
    proxy.partition("hold");

    const message = new Uint8Array(32 * 1024).fill(1);
    const attempts = 2_000; // 64 MiB offered to a link that moves nothing
    const startedAtMs = performance.now();
    let accepted = 0;
    let queueBytesPeak = 0;
    for (let index = 0; index < attempts; index++) {
      if (a.manager.send(b.key, Channel.transactions, message)) accepted++;
      queueBytesPeak = Math.max(queueBytesPeak, a.manager.peers()[0]!.sendQueueBytes);
      if (index % 100 === 0) await sleep(1); // let the socket take what it can
    }
    const elapsedMs = performance.now() - startedAtMs;
    assert.ok(elapsedMs < 2_000, `the flood loop took ${elapsedMs} ms`);
    assert.ok(queueBytesPeak <= queueBytesMax, "the byte bound holds");
    const info = a.manager.peers()[0]!;
    assert.ok(info.sendQueueMessages <= 64, "the message bound holds");
    assert.ok(info.messagesDropped > 0, "the overflow was dropped and counted");
    // Gossip gives up its oldest messages, so the newest is always accepted.
    assert.equal(accepted, attempts);

    proxy.heal();
    const delivered = () => b.received.length;
    await waitFor(
      () => delivered() + a.manager.peers()[0]!.messagesDropped === attempts,
      WAIT_MS,
      "every message delivered or counted as dropped",
    );
    assert.ok(delivered() > 0);
  });

  it("closes a stalled link by the idle timeout, and reconnects after the heal", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    const proxy = await startProxy(b);
    a.manager.addSeed(addressOf(b, proxy.port));
    await waitConnected(a, b);
    proxy.partition("hold");
    await waitFor(() => a.disconnected.length === 1 && b.disconnected.length === 1, WAIT_MS, "idle timeouts");
    assert.equal(a.disconnected[0]!.code, "NET_IDLE_TIMEOUT");
    assert.equal(b.disconnected[0]!.code, "NET_IDLE_TIMEOUT");
    proxy.heal();
    await waitConnected(a, b);
  });

  it("penalize bans at the threshold; the ban ends after its duration", LIMIT, async () => {
    const a = await startNode(1, { options: { banDurationMs: 300 } });
    const b = await startNode(2);
    a.manager.addSeed(addressOf(b));
    await waitConnected(a, b);
    a.manager.penalize(b.key, "message_invalid", 60);
    assert.equal(isConnected(a, b), true);
    assert.ok(Math.abs(a.manager.peers()[0]!.score - 60) < 1);
    a.manager.penalize(b.key, "message_invalid", 50);
    assert.equal(isConnected(a, b), false);
    assert.deepEqual(a.disconnected, [{ peer: b.key, code: "NET_PEER_BANNED" }]);
    assert.equal(a.manager.isBanned(b.key), true);
    await sleep(150);
    assert.equal(isConnected(a, b), false, "no redial during the ban");
    await waitConnected(a, b);
    assert.equal(a.manager.isBanned(b.key), false);
  });

  it("closes a live connection when its peer stops being admitted", LIMIT, async () => {
    const a = await startNode(1);
    const b = await startNode(2);
    a.manager.addSeed(addressOf(b));
    await waitConnected(a, b);
    a.admitted.delete(b.key);
    await waitFor(() => a.disconnected.length === 1, WAIT_MS, "the disconnect");
    assert.equal(a.disconnected[0]!.code, "NET_PEER_NOT_ADMITTED");
    await sleep(100);
    assert.equal(isConnected(a, b), false, "and it is not dialled again");
  });

  it("closes a connection whose handshake does not finish in time", LIMIT, async () => {
    const a = await startNode(1, { options: { handshakeTimeoutMs: 150 } });
    const silent = netConnect({ host: "127.0.0.1", port: a.port });
    silent.on("error", () => {});
    running.sockets.push(silent);
    const startedAtMs = performance.now();
    await new Promise((resolve) => silent.once("close", resolve));
    assert.ok(performance.now() - startedAtMs >= 100, "not before the timeout");
    assert.equal(a.refused[0]!.code, "NET_HANDSHAKE_TIMEOUT");
  });

  it("closes inbound connections beyond NET_HANDSHAKES_PENDING_MAX at once", LIMIT, async () => {
    const register = memoryRegister();
    const a = await startNode(1, { register });
    const sockets: Socket[] = [];
    for (let index = 0; index <= NET_HANDSHAKES_PENDING_MAX; index++) {
      const socket = netConnect({ host: "127.0.0.1", port: a.port });
      socket.on("error", () => {});
      running.sockets.push(socket);
      sockets.push(socket);
    }
    const closedEarly = new Promise((resolve) => sockets.at(-1)!.once("close", resolve));
    await closedEarly;
    const code = "NET_HANDSHAKES_PENDING_FULL";
    await waitFor(
      () => register.value("cityledger_net_handshake_failures_total", { code }) === 1,
      WAIT_MS,
      "the count",
    );
    assert.equal(sockets.filter((socket) => socket.destroyed).length, 1, "only the one past the limit");
  });

  it("refuses peers beyond peersMax", LIMIT, async () => {
    const a = await startNode(1, { options: { peersMax: 1 } });
    const b = await startNode(2);
    const c = await startNode(3);
    b.manager.addSeed(addressOf(a));
    await waitConnected(a, b);
    c.manager.addSeed(addressOf(a));
    await waitFor(
      () => a.refused.some((refused) => refused.code === "NET_PEERS_FULL"),
      WAIT_MS,
      "the refusal",
    );
    assert.deepEqual(
      a.manager.peers().map((info) => info.publicKeyHex),
      [b.key],
    );
  });

  it("fails to start on a port in use, with a typed error", LIMIT, async () => {
    const a = await startNode(1);
    const second = new PeerManager(
      { chainId: TEST_CHAIN_ID, listenHost: "127.0.0.1", listenPort: a.port },
      { identity: testIdentity(2), isAdmitted: () => true },
    );
    await assert.rejects(second.start(), (error: unknown) => {
      assert.ok(error instanceof NetError);
      assert.equal(error.code, "NET_LISTEN_FAILED");
      return true;
    });
  });
});
