/**
 * Four validator processes where every connection of node-4 runs through TCP fault proxies
 * (real sockets): node-4 is cut off and the three others keep committing while it stands still;
 * after the heal it catches up to the same chain. Meanwhile strangers send garbage and
 * oversized frames to a validator's peer port: they are cut off and the chain keeps going.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePorts, TESTNET_CONSENSUS } from "../src/cli/node-commands.ts";
import type { NodeConfigFile } from "../src/node/config.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import { eventually, getJson, heightOf, NodeProcess } from "./helpers/node-process.ts";
import { TcpProxy } from "./helpers/tcp-proxy.ts";

const VALIDATORS = 4;

/** Sends bytes to a port and waits until the far side closes the connection (or a bound passes). */
async function sendAndAwaitClose(port: number, bytes: Uint8Array, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.on("connect", () => socket.write(bytes));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

describe("a partitioned validator, and strangers on the peer port", { timeout: 240_000 }, () => {
  let directory: string;
  let nodes: NodeProcess[] = [];
  const proxies: TcpProxy[] = [];
  const p2pPorts: number[] = [];

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-partition-"));
    const ports = await freePorts(VALIDATORS * 2);
    p2pPorts.push(...ports.slice(0, VALIDATORS));
    const layout = writeNetworkLayout({
      out: directory,
      validators: VALIDATORS,
      chainId: "partition-test",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 1,
      apiPortBase: 1,
      p2pPorts: ports.slice(0, VALIDATORS),
      apiPorts: ports.slice(VALIDATORS),
      genesisTimeMs: BigInt(Date.now()),
      consensus: TESTNET_CONSENSUS,
    });
    // node-4 reaches node-i through a proxy to node-i; node-i reaches node-4 through its own proxy.
    const isolatedName = "node-4";
    const proxyPortFor = new Map<string, number>();
    for (const node of layout.nodes) {
      const proxy = await TcpProxy.start({ targetHost: "127.0.0.1", targetPort: node.p2pPort });
      proxies.push(proxy);
      proxyPortFor.set(node.name, proxy.port);
    }
    for (const node of layout.nodes) {
      const config = JSON.parse(readFileSync(node.configFile, "utf8")) as NodeConfigFile;
      for (const peer of config.p2p.peers) {
        if (node.name === isolatedName || peer.name === isolatedName)
          peer.port = proxyPortFor.get(peer.name!)!;
      }
      writeFileSync(node.configFile, JSON.stringify(config, null, 2));
    }
    nodes = layout.nodes.map((node) => new NodeProcess(node.name, node.directory, node.apiUrl));
    await Promise.all(nodes.map((node) => node.start()));
    await eventually("the network commits", 30_000, async () => (await heightOf(nodes[3]!)) >= 3n);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.kill("SIGKILL")));
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    if (process.env.KEEP_TEST_DIRECTORIES === undefined) rmSync(directory, { recursive: true, force: true });
    else console.log(`# kept ${directory}`);
  });

  it("cuts node-4 off: the others commit without it, and it catches up after the heal", async () => {
    for (const proxy of proxies) proxy.partition("reset");
    await new Promise((done) => setTimeout(done, 1_000));
    const isolatedAt = await heightOf(nodes[3]!);
    const othersAt = await heightOf(nodes[0]!);
    await eventually(
      "three of four keep committing",
      30_000,
      async () => (await heightOf(nodes[0]!)) >= othersAt + 5n,
    );
    assert.ok((await heightOf(nodes[3]!)) <= isolatedAt + 1n, "the isolated validator cannot commit alone");
    for (const proxy of proxies) proxy.heal();
    const target = await heightOf(nodes[0]!);
    await eventually(
      "node-4 catches up after the heal",
      60_000,
      async () => (await heightOf(nodes[3]!)) >= target,
    );
    const [theirs, ours] = await Promise.all([
      getJson<{ hash: string }>(`${nodes[0]!.apiUrl}/v1/blocks/${target}`),
      getJson<{ hash: string }>(`${nodes[3]!.apiUrl}/v1/blocks/${target}`),
    ]);
    assert.equal(ours.hash, theirs.hash);
  });

  it("drops strangers sending garbage or oversized frames; the chain keeps committing", async () => {
    const start = await heightOf(nodes[0]!);
    const oversized = new Uint8Array(8);
    new DataView(oversized.buffer).setUint32(0, 0xffff_fff0);
    const attempts = [randomBytes(4096), oversized, new Uint8Array(2), randomBytes(64 * 1024)];
    for (const bytes of attempts) {
      const closed = await sendAndAwaitClose(p2pPorts[0]!, bytes, 15_000);
      assert.ok(closed, "the node closes a stranger's connection");
    }
    await eventually(
      "the chain keeps committing",
      30_000,
      async () => (await heightOf(nodes[0]!)) >= start + 3n,
    );
    const health = await fetch(`${nodes[0]!.apiUrl}/health`);
    assert.equal(health.status, 200);
  });
});
