/**
 * A TCP fault proxy for tests: listens on a port and forwards every connection to a target,
 * and can cut the link between them the ways networks fail:
 *
 * - `partition("hold")`: nothing moves, in the chosen direction, until `heal()`. Bytes wait
 *   (in the proxy and in the kernel's buffers, so senders feel TCP backpressure) and arrive after
 *   the heal, as TCP delivers what it retransmits once a partition ends. New connections are
 *   accepted and wait too. This is what packet loss looks like to an application over TCP.
 * - `partition("drop")`: bytes in the chosen direction are read and thrown away; connections
 *   stay open. This breaks a byte stream in the middle (what a faulty middlebox does), so a
 *   receiver must notice it (an encrypted stream fails authentication).
 * - `partition("reset")`: every proxied connection is reset now and new ones are reset at once,
 *   until `heal()`.
 *
 * Directions: "both", "toTarget" (client → target only) or "toClient". Every buffer is bounded
 * by TCP's own flow control: a held direction stops reading its source.
 * @module
 */
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";

export type PartitionMode = "hold" | "drop" | "reset";
export type PartitionDirection = "both" | "toTarget" | "toClient";

export interface TcpProxyOptions {
  readonly targetHost: string;
  readonly targetPort: number;
  /** Default 127.0.0.1. */
  readonly listenHost?: string;
  /** Default 0 (any free port; see `port`). */
  readonly listenPort?: number;
}

interface Pair {
  readonly client: Socket;
  target: Socket | null;
  /** Client bytes that arrived before the target connection was opened. */
  readonly early: Buffer[];
}

export class TcpProxy {
  private readonly options: TcpProxyOptions;
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private mode: PartitionMode | null = null;
  private direction: PartitionDirection = "both";
  /** Bytes forwarded toward the target and toward the client. */
  bytesToTarget = 0;
  bytesToClient = 0;

  private constructor(options: TcpProxyOptions) {
    this.options = options;
    this.server = createServer((client) => this.onClient(client));
  }

  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const proxy = new TcpProxy(options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once("error", reject);
      proxy.server.listen(options.listenPort ?? 0, options.listenHost ?? "127.0.0.1", () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy is not listening");
    return address.port;
  }

  /** Proxied connections now open. */
  get connections(): number {
    return this.pairs.size;
  }

  get partitioned(): PartitionMode | null {
    return this.mode;
  }

  partition(mode: PartitionMode = "hold", direction: PartitionDirection = "both"): void {
    this.mode = mode;
    this.direction = direction;
    if (mode === "reset") {
      for (const pair of [...this.pairs]) this.resetPair(pair);
      return;
    }
    if (mode === "hold") for (const pair of this.pairs) this.applyFlow(pair);
  }

  heal(): void {
    this.mode = null;
    this.direction = "both";
    for (const pair of this.pairs) {
      if (pair.target === null) this.openTarget(pair);
      else this.applyFlow(pair);
    }
  }

  async stop(): Promise<void> {
    for (const pair of [...this.pairs]) this.resetPair(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private cuts(direction: "toTarget" | "toClient"): boolean {
    return this.mode !== null && (this.direction === "both" || this.direction === direction);
  }

  private onClient(client: Socket): void {
    client.on("error", () => {});
    if (this.mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, target: null, early: [] };
    this.pairs.add(pair);
    client.on("close", () => this.closePair(pair));
    client.on("data", (chunk: Buffer) => this.forward(pair, chunk, "toTarget"));
    // The client waits until its target is connected (applyFlow resumes it), or the heal.
    client.pause();
    if (this.mode !== "hold") this.openTarget(pair);
  }

  private openTarget(pair: Pair): void {
    const target = netConnect({ host: this.options.targetHost, port: this.options.targetPort });
    pair.target = target;
    target.on("error", () => {});
    target.on("close", () => this.closePair(pair));
    target.on("data", (chunk: Buffer) => this.forward(pair, chunk, "toClient"));
    target.once("connect", () => {
      for (const chunk of pair.early.splice(0)) target.write(chunk);
      this.applyFlow(pair);
    });
  }

  private forward(pair: Pair, chunk: Buffer, direction: "toTarget" | "toClient"): void {
    if (this.cuts(direction) && this.mode === "drop") return;
    const source = direction === "toTarget" ? pair.client : pair.target!;
    const destination = direction === "toTarget" ? pair.target : pair.client;
    if (destination === null || destination.connecting) {
      pair.early.push(chunk);
      return;
    }
    if (direction === "toTarget") this.bytesToTarget += chunk.length;
    else this.bytesToClient += chunk.length;
    // Backpressure: a destination that cannot keep up stops its source.
    if (!destination.write(chunk)) {
      source.pause();
      destination.once("drain", () => this.applyFlow(pair));
    }
    // A hold that began with this chunk in flight stops the source now.
    if (this.cuts(direction) && this.mode === "hold") source.pause();
  }

  /** Pauses the sources of held directions, resumes the others. */
  private applyFlow(pair: Pair): void {
    if (pair.target === null || pair.target.connecting) return;
    const hold = this.mode === "hold";
    const holdToTarget = hold && this.cuts("toTarget");
    const holdToClient = hold && this.cuts("toClient");
    if (holdToTarget) pair.client.pause();
    else if (!pair.target.writableNeedDrain) pair.client.resume();
    if (holdToClient) pair.target.pause();
    else if (!pair.client.writableNeedDrain) pair.target.resume();
  }

  private resetPair(pair: Pair): void {
    this.pairs.delete(pair);
    resetSocket(pair.client);
    if (pair.target !== null) resetSocket(pair.target);
  }

  private closePair(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.target?.destroy();
  }
}

/**
 * Resets a connected socket (RST, as a failing network does). A socket still connecting is only
 * destroyed: `resetAndDestroy` defers the reset until it connects, and one whose connection then
 * fails was seen to keep Node's exit-time handle cleanup spinning (a test file that never ended).
 */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}
