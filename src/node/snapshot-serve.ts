/**
 * The serving side of snapshot sync (docs/adr/0005-snapshot-sync.md). Every node exports a
 * snapshot of its state at each height that is a multiple of the configured interval (and, when
 * it starts, at the newest such height it holds), keeps the newest few, and answers a joining
 * node's requests on the snapshot-sync channel: which snapshots it offers (each with the certified
 * header it belongs to), a manifest, the log frontier, and chunks by index.
 *
 * A kept snapshot is small: its manifest, each chunk's first key and the frontier. Chunks are
 * made on request by walking the state from the chunk's first key: the state at a committed
 * height stays in the store (nodes are content-addressed and never pruned), so nothing is copied.
 * Requests are bounded per peer (a token bucket) and chunks being made are bounded per peer and in
 * all; a request over the bound is refused, never queued, so memory never grows with requests.
 * One export runs at a time; a newer height asked meanwhile replaces an older pending one.
 * @module
 */
import type { Logger } from "pino";
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { blockHash as hashOfBlock } from "../ledger/index.ts";
import type { PenaltyReason } from "../net/index.ts";
import {
  encodeSnapshotManifest,
  exportSnapshotChunk,
  indexSnapshot,
  readLogFrontier,
  type SnapshotIndex,
  type Store,
  snapshotManifestHash,
} from "../storage/index.ts";
import { NodeError } from "./errors.ts";
import {
  PENALTY_POINTS_SNAPSHOT_INVALID,
  PENALTY_POINTS_SNAPSHOT_MALFORMED,
  PENALTY_POINTS_SNAPSHOT_RATE,
  SNAPSHOT_SERVE_CHUNKS_IN_FLIGHT_MAX,
  SNAPSHOT_SERVE_PEER_CHUNKS_IN_FLIGHT_MAX,
  SNAPSHOT_SERVE_PEERS_TRACKED_MAX,
  SNAPSHOT_SERVE_REQUESTS_BURST_MAX,
  SNAPSHOT_SERVE_REQUESTS_PER_SECOND,
  SNAPSHOTS_KEPT_MAX,
} from "./snapshot-limits.ts";
import {
  decodeSnapshotMessage,
  type SnapshotOffer,
  type SnapshotRefusal,
  type SnapshotRequestKind,
  type SnapshotWireMessage,
} from "./snapshot-wire.ts";

/** How a server reaches the peers that ask it (the node wires it to the snapshot-sync channel). */
export interface SnapshotServeTransport {
  send(peer: string, message: SnapshotWireMessage): void;
  penalize(peer: string, reason: PenaltyReason, points: number): void;
}

/** The metrics a server reports (the node passes its registry's; labels are closed sets). */
export interface SnapshotServeMetrics {
  readonly snapshotExport: { observe(seconds: number): void };
  readonly snapshotHeight: { set(height: number): void };
  readonly snapshotRequests: {
    inc(labels: { kind: SnapshotRequestKind; outcome: "served" | SnapshotRefusal }): void;
  };
}

export interface SnapshotServerOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly metrics?: SnapshotServeMetrics | null;
  /** Export at every multiple of this height; 0: never (the node serves nothing). */
  readonly intervalHeights: number;
  /** Snapshots kept, the newest (1..SNAPSHOTS_KEPT_MAX). */
  readonly keptMax: number;
  /** Entries per chunk (tests use small chunks; default the storage layer's maximum). */
  readonly chunkEntriesMax?: number;
  /** The clock of the request budgets (milliseconds). */
  readonly nowMs?: () => number;
}

/** A snapshot this node serves: its manifest and chunk index, and the certified block it belongs to. */
export interface KeptSnapshot {
  readonly offer: SnapshotOffer;
  readonly blockHash: Uint8Array;
  readonly index: SnapshotIndex;
  readonly encodedManifest: Uint8Array;
  readonly frontier: readonly Uint8Array[];
}

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burstMax` saved up. Used per peer by
 * the server (to refuse) and by the joining side (to never ask faster than a server serves).
 */
export class RequestBudget {
  #tokens: number;
  #updatedMs: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burstMax: number,
    nowMs: number,
  ) {
    assert(ratePerSecond > 0, "a budget refills");
    assert(burstMax >= 1, "a budget holds at least one request");
    this.#tokens = burstMax;
    this.#updatedMs = nowMs;
  }

  #refill(nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - this.#updatedMs);
    this.#tokens = Math.min(this.burstMax, this.#tokens + (elapsedMs * this.ratePerSecond) / 1000);
    this.#updatedMs = nowMs;
  }

  /** True when a request may go now (and counts it). */
  take(nowMs: number): boolean {
    this.#refill(nowMs);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    assert(this.#tokens >= 0, "a budget never goes negative");
    return true;
  }

  /** True when a request could go now (counts nothing). */
  available(nowMs: number): boolean {
    this.#refill(nowMs);
    return this.#tokens >= 1;
  }
}

interface PeerState {
  readonly budget: RequestBudget;
  chunksInFlight: number;
}

export class SnapshotServer {
  readonly #options: SnapshotServerOptions;
  readonly #nowMs: () => number;
  /** Oldest first; at most keptMax. */
  #kept: KeptSnapshot[] = [];
  #transport: SnapshotServeTransport | null = null;
  #exporting: Promise<void> | null = null;
  #pendingHeight: bigint | null = null;
  #stopped = false;
  readonly #abort = new AbortController();
  readonly #peers = new Map<string, PeerState>();
  #chunksInFlight = 0;
  readonly #chunkWork = new Set<Promise<void>>();

  constructor(options: SnapshotServerOptions) {
    assert(Number.isSafeInteger(options.intervalHeights) && options.intervalHeights >= 0, "an interval");
    assert(options.keptMax >= 1 && options.keptMax <= SNAPSHOTS_KEPT_MAX, "keptMax within its limit");
    this.#options = options;
    this.#nowMs = options.nowMs ?? (() => Date.now());
  }

  attach(transport: SnapshotServeTransport): void {
    this.#transport = transport;
  }

  detach(): void {
    this.#transport = null;
  }

  /** The kept snapshots as offers, newest first. */
  offers(): SnapshotOffer[] {
    return this.#kept.map((kept) => kept.offer).reverse();
  }

  /** The kept snapshot at `height`, if any. */
  kept(height: bigint): KeptSnapshot | undefined {
    return this.#kept.find((kept) => kept.offer.height === height);
  }

  /** After the node starts: exports at the newest multiple of the interval it holds (none is kept across restarts). */
  start(headHeight: bigint): void {
    const interval = BigInt(this.#options.intervalHeights);
    if (interval === 0n || headHeight < interval) return;
    this.exportAt(headHeight - (headHeight % interval));
  }

  /** After block `height` is durable: exports when the height is a multiple of the interval. */
  onCommitted(height: bigint): void {
    const interval = BigInt(this.#options.intervalHeights);
    if (interval === 0n || height % interval !== 0n) return;
    this.exportAt(height);
  }

  /** Exports the snapshot at `height` in the background (a newer pending height replaces an older). */
  exportAt(height: bigint): void {
    assert(height >= 1n, "snapshots are of committed heights");
    if (this.#stopped) return;
    if (this.#pendingHeight === null || height > this.#pendingHeight) this.#pendingHeight = height;
    if (this.#exporting === null) this.#exporting = this.#drainExports();
  }

  /** Resolves when no export is running or pending. */
  async whenIdle(): Promise<void> {
    while (this.#exporting !== null) await this.#exporting;
  }

  /** Stops exporting (an export in progress is aborted) and serving; waits for work in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#transport = null;
    this.#abort.abort(new NodeError("NODE_STOPPED", "the node is stopping"));
    await this.whenIdle();
    await Promise.all([...this.#chunkWork]);
  }

  async #drainExports(): Promise<void> {
    try {
      while (this.#pendingHeight !== null && !this.#stopped) {
        const height = this.#pendingHeight;
        this.#pendingHeight = null;
        if (this.kept(height) !== undefined) continue;
        try {
          await this.#export(height);
        } catch (error) {
          if (this.#stopped) return;
          this.#options.logger.warn(
            {
              height: height.toString(),
              error: (error as Error).message,
              code: (error as CityLedgerError).code,
            },
            "a snapshot export failed",
          );
        }
      }
    } finally {
      this.#exporting = null;
    }
  }

  async #export(height: bigint): Promise<void> {
    const { store, logger } = this.#options;
    const startedMs = this.#nowMs();
    const block = await store.blockByHeight(height);
    if (block === undefined) {
      // Below the height this node itself joined from: it holds no state there.
      logger.debug({ height: height.toString() }, "no snapshot below the store's first block");
      return;
    }
    const { header, certificate } = block;
    const index = await indexSnapshot(store, height, {
      ...(this.#options.chunkEntriesMax === undefined
        ? {}
        : { chunkEntriesMax: this.#options.chunkEntriesMax }),
      signal: this.#abort.signal,
    });
    assert(equalBytes(index.manifest.stateRoot, header.stateRoot), "the manifest is the header's state");
    const frontier = await readLogFrontier(store, Number(header.logSize), header.logRoot);
    const encodedManifest = encodeSnapshotManifest(index.manifest);
    const kept: KeptSnapshot = {
      offer: {
        height,
        header,
        certificate,
        manifestHash: snapshotManifestHash(encodedManifest, store.hash),
        chunkCount: index.manifest.chunkHashes.length,
      },
      blockHash: hashOfBlock(header, store.hash),
      index,
      encodedManifest,
      frontier: frontier.map((node) => node.hash),
    };
    if (this.#stopped) return;
    this.#kept = [...this.#kept.filter((other) => other.offer.height !== height), kept]
      .sort((left, right) => (left.offer.height < right.offer.height ? -1 : 1))
      .slice(-this.#options.keptMax);
    assert(this.#kept.length <= this.#options.keptMax, "at most keptMax snapshots are kept");
    this.#options.metrics?.snapshotExport.observe((this.#nowMs() - startedMs) / 1000);
    this.#options.metrics?.snapshotHeight.set(Number(this.#kept.at(-1)!.offer.height));
    logger.info(
      {
        height: height.toString(),
        chunks: index.manifest.chunkHashes.length,
        entries: index.manifest.entryCount,
        manifestHash: bytesToHex(kept.offer.manifestHash),
        durationMs: this.#nowMs() - startedMs,
      },
      "snapshot exported",
    );
  }

  /** A message from a peer on the snapshot-sync channel. */
  receive(peer: string, bytes: Uint8Array): void {
    const transport = this.#transport;
    if (this.#stopped || transport === null) return;
    let message: SnapshotWireMessage;
    try {
      message = decodeSnapshotMessage(bytes);
    } catch (error) {
      if (!(error instanceof CityLedgerError)) throw error;
      transport.penalize(peer, "message_malformed", PENALTY_POINTS_SNAPSHOT_MALFORMED);
      return;
    }
    switch (message.kind) {
      case "offersRequest":
      case "manifestRequest":
      case "chunkRequest":
      case "frontierRequest":
        if (!this.#peerOf(peer).budget.take(this.#nowMs())) {
          transport.penalize(peer, "rate_exceeded", PENALTY_POINTS_SNAPSHOT_RATE);
          this.#refuse(peer, message, "rateLimited");
          return;
        }
        this.#answer(peer, message, transport);
        return;
      case "offers":
      case "manifest":
      case "chunk":
      case "frontier":
      case "refused":
        // This node is not joining: nobody here asked for it.
        transport.penalize(peer, "message_unrequested", PENALTY_POINTS_SNAPSHOT_RATE);
        return;
    }
  }

  #answer(
    peer: string,
    message: Extract<SnapshotWireMessage, { kind: SnapshotRequestKind }>,
    transport: SnapshotServeTransport,
  ): void {
    switch (message.kind) {
      case "offersRequest":
        transport.send(peer, { kind: "offers", offers: this.offers() });
        this.#served(message.kind);
        return;
      case "manifestRequest": {
        const kept = this.#keptNamed(message.height, message.manifestHash);
        if (kept === undefined) {
          this.#refuse(peer, message, "unknown");
          return;
        }
        transport.send(peer, {
          kind: "manifest",
          height: message.height,
          manifestHash: kept.offer.manifestHash,
          manifest: kept.encodedManifest,
        });
        this.#served(message.kind);
        return;
      }
      case "frontierRequest": {
        const kept = this.kept(message.height);
        if (kept === undefined || !equalBytes(kept.blockHash, message.blockHash)) {
          this.#refuse(peer, message, "unknown");
          return;
        }
        transport.send(peer, {
          kind: "frontier",
          height: message.height,
          blockHash: kept.blockHash,
          logSize: kept.offer.header.logSize,
          hashes: kept.frontier,
        });
        this.#served(message.kind);
        return;
      }
      case "chunkRequest":
        this.#answerChunk(peer, message, transport);
        return;
    }
  }

  #answerChunk(
    peer: string,
    message: Extract<SnapshotWireMessage, { kind: "chunkRequest" }>,
    transport: SnapshotServeTransport,
  ): void {
    const kept = this.#keptNamed(message.height, message.manifestHash);
    if (kept === undefined) {
      this.#refuse(peer, message, "unknown");
      return;
    }
    if (message.chunkIndex >= kept.offer.chunkCount) {
      // The joiner has the manifest and knows the count: asking past it is not an honest mistake.
      transport.penalize(peer, "message_invalid", PENALTY_POINTS_SNAPSHOT_INVALID);
      this.#refuse(peer, message, "unknown");
      return;
    }
    const state = this.#peerOf(peer);
    if (
      this.#chunksInFlight >= SNAPSHOT_SERVE_CHUNKS_IN_FLIGHT_MAX ||
      state.chunksInFlight >= SNAPSHOT_SERVE_PEER_CHUNKS_IN_FLIGHT_MAX
    ) {
      this.#refuse(peer, message, "busy");
      return;
    }
    this.#chunksInFlight++;
    state.chunksInFlight++;
    const work = this.#serveChunk(peer, kept, message.chunkIndex).finally(() => {
      this.#chunksInFlight--;
      state.chunksInFlight--;
      this.#chunkWork.delete(work);
      assert(this.#chunksInFlight >= 0, "chunks in flight never go negative");
    });
    this.#chunkWork.add(work);
  }

  async #serveChunk(peer: string, kept: KeptSnapshot, chunkIndex: number): Promise<void> {
    let chunk: Uint8Array;
    try {
      chunk = await exportSnapshotChunk(this.#options.store, kept.index, chunkIndex);
    } catch (error) {
      if (this.#stopped) return;
      this.#options.logger.warn(
        { height: kept.offer.height.toString(), chunkIndex, error: (error as Error).message },
        "cannot make a snapshot chunk",
      );
      this.#refuse(peer, { kind: "chunkRequest", height: kept.offer.height, chunkIndex }, "unknown");
      return;
    }
    this.#transport?.send(peer, {
      kind: "chunk",
      height: kept.offer.height,
      manifestHash: kept.offer.manifestHash,
      chunkIndex,
      chunk,
    });
    this.#served("chunkRequest");
  }

  #served(kind: SnapshotRequestKind): void {
    this.#options.metrics?.snapshotRequests.inc({ kind, outcome: "served" });
  }

  #keptNamed(height: bigint, manifestHash: Uint8Array): KeptSnapshot | undefined {
    const kept = this.kept(height);
    return kept !== undefined && equalBytes(kept.offer.manifestHash, manifestHash) ? kept : undefined;
  }

  #refuse(
    peer: string,
    request: { readonly kind: SnapshotRequestKind; readonly height?: bigint; readonly chunkIndex?: number },
    reason: SnapshotRefusal,
  ): void {
    this.#options.metrics?.snapshotRequests.inc({ kind: request.kind, outcome: reason });
    this.#transport?.send(peer, {
      kind: "refused",
      request: request.kind,
      height: request.height ?? 0n,
      chunkIndex: request.chunkIndex ?? 0,
      reason,
    });
  }

  #peerOf(peer: string): PeerState {
    let state = this.#peers.get(peer);
    if (state !== undefined) {
      // Least recently seen first: a peer seen now moves to the end.
      this.#peers.delete(peer);
      this.#peers.set(peer, state);
    } else {
      if (this.#peers.size >= SNAPSHOT_SERVE_PEERS_TRACKED_MAX) {
        const oldest = this.#peers.keys().next().value;
        if (oldest !== undefined) this.#peers.delete(oldest);
      }
      state = {
        budget: new RequestBudget(
          SNAPSHOT_SERVE_REQUESTS_PER_SECOND,
          SNAPSHOT_SERVE_REQUESTS_BURST_MAX,
          this.#nowMs(),
        ),
        chunksInFlight: 0,
      };
      this.#peers.set(peer, state);
    }
    assert(this.#peers.size <= SNAPSHOT_SERVE_PEERS_TRACKED_MAX, "the peer table is bounded");
    return state;
  }
}
