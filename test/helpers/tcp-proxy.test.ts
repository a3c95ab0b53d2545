import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { after, afterEach, before, describe, it } from "node:test";
import { TcpProxy } from "./tcp-proxy.ts";

/** An echo server: what the proxy forwards to. */
let echo: Server;
let echoPort = 0;

before(async () => {
  echo = createServer((socket) => {
    socket.on("error", () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", () => resolve()));
  echoPort = (echo.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

/** Everything a test opened, closed after it even when it fails (an open server would hang the run). */
const opened: { proxies: TcpProxy[]; sockets: Socket[] } = { proxies: [], sockets: [] };

afterEach(async () => {
  for (const socket of opened.sockets.splice(0)) socket.destroy();
  await Promise.all(opened.proxies.splice(0).map((proxy) => proxy.stop()));
});

async function startProxy(): Promise<TcpProxy> {
  const proxy = await TcpProxy.start({ targetHost: "127.0.0.1", targetPort: echoPort });
  opened.proxies.push(proxy);
  return proxy;
}

function dial(port: number): Socket {
  const socket = netConnect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  opened.sockets.push(socket);
  return socket;
}

function closedPromise(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("close", () => resolve()));
}

async function client(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = dial(port);
  const closed = closedPromise(socket);
  let text = "";
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  await once(socket, "connect");
  return { socket, received: () => text, closed };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe("TCP fault proxy", () => {
  it("forwards both ways", async () => {
    const proxy = await startProxy();
    const { socket, received } = await client(proxy.port);
    socket.write("hello");
    await until(() => received() === "hello", 2000, "the echo");
    assert.equal(proxy.connections, 1);
    assert.equal(proxy.bytesToTarget, 5);
  });

  it("hold: nothing moves until the heal, then everything arrives in order", async () => {
    const proxy = await startProxy();
    const { socket, received } = await client(proxy.port);
    socket.write("a");
    await until(() => received() === "a", 2000, "the first echo");
    proxy.partition("hold");
    socket.write("b");
    socket.write("c");
    await sleep(100);
    assert.equal(received(), "a", "held bytes do not arrive");
    const late = await client(proxy.port);
    late.socket.write("x");
    await sleep(50);
    assert.equal(late.received(), "", "a new connection waits too");
    proxy.heal();
    await until(() => received() === "abc" && late.received() === "x", 2000, "held bytes after the heal");
  });

  it("hold in one direction only", async () => {
    const proxy = await startProxy();
    const { socket, received } = await client(proxy.port);
    socket.write("1");
    await until(() => received() === "1", 2000, "the first echo");
    proxy.partition("hold", "toClient");
    socket.write("2");
    await until(() => proxy.bytesToTarget === 2, 2000, "the byte to reach the target");
    await sleep(50);
    assert.equal(received(), "1", "the echo is held on its way back");
    proxy.heal();
    await until(() => received() === "12", 2000, "the held echo");
  });

  it("hold applies TCP backpressure to a sender that keeps writing, and the heal releases it", async () => {
    const proxy = await startProxy();
    const socket = dial(proxy.port);
    let echoed = 0;
    socket.on("data", (chunk: Buffer) => {
      echoed += chunk.length;
    });
    await once(socket, "connect");
    proxy.partition("hold");
    const chunk = Buffer.alloc(64 * 1024, 1);
    const chunks = 512; // 32 MiB: more than loopback's kernel buffers hold
    for (let index = 0; index < chunks; index++) socket.write(chunk);
    await sleep(200);
    assert.ok(socket.writableLength > 0, "the kernel stopped taking bytes: the sender holds the rest");
    assert.equal(proxy.bytesToTarget, 0);
    proxy.heal();
    await until(() => echoed === chunks * chunk.length, 10_000, "every byte echoed after the heal");
    assert.equal(socket.writableLength, 0);
  });

  it("drop: bytes vanish while connections stay open", async () => {
    const proxy = await startProxy();
    const { socket, received } = await client(proxy.port);
    proxy.partition("drop");
    socket.write("lost");
    await sleep(100);
    proxy.heal();
    socket.write("kept");
    await until(() => received() === "kept", 2000, "bytes after the heal");
    assert.equal(proxy.connections, 1);
  });

  it("reset: connections are reset now and new ones at once, until the heal", async () => {
    const proxy = await startProxy();
    const first = await client(proxy.port);
    await until(() => proxy.connections === 1, 2000, "the connection");
    proxy.partition("reset");
    await first.closed;
    await closedPromise(dial(proxy.port));
    proxy.heal();
    const third = await client(proxy.port);
    third.socket.write("back");
    await until(() => third.received() === "back", 2000, "the echo after the heal");
  });
});
