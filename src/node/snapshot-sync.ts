/**
 * The joining side of snapshot sync (docs/adr/0005-snapshot-sync.md): a node whose store holds no
 * block joins an existing chain at a peer's snapshot height H instead of replaying blocks 1..H,
 * then continues by block sync. It trusts only the validator set of its genesis file:
 *
 * 1. Discovery: ask every connected peer for its offers; keep only offers whose header carries a
 *    commit certificate that verifies against the set signing H (a peer offering anything else
 *    is banned); choose the highest height, then the manifest hash offered by the most peers.
 * 2. Manifest (from a peer of that offer): its hash must be the offered one, its state root the
 *    header's, its chunk count the offered one.
 * 3. Log frontier: must be one hash per set bit of the header's logSize, folding to its logRoot.
 * 4. Block H itself, by block sync (a status message; the peer answers with block H): its header
 *    must hash to the certified hash and its body must match the header (txRoot, counts).
 * 5. Chunks, from every peer of the offer at once (bounded in flight per peer and in all, paced to
 *    what a server accepts): each checked against the manifest on arrival (a bad one bans its
 *    sender and is asked of another peer), applied in order to a tree in memory, whose root must
 *    at the end be the header's state root (else every peer of the offer lied: all are banned and
 *    the next best offer is tried).
 * 6. One atomic write: block H, the frontier, the state nodes, the head, the snapshot metadata and
 *    the consensus checkpoint for H + 1 (Store.importSnapshotBase). The node then opens its chain
 *    at H and starts consensus at H + 1; block sync brings it to the head.
 *
 * Every wait is bounded (timeouts, attempts); on failure the node starts from genesis instead
 * (block sync from height 1 verifies everything too, only slower). `joinFromSnapshot` runs this
 * over a short-lived peer manager before the node's own network starts.
 * @module
 */
import type { Logger } from "pino";
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { ConsensusValue } from "../consensus/index.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import type { Genesis } from "../ledger/genesis.ts";
import {
  type Block,
  blockHash,
  checkBlockBody,
  decodeProposedBlock,
  logFrontierPositions,
  type ValidatorSet,
  verifyCommit,
  verifyLogFrontier,
} from "../ledger/index.ts";
import { Channel, type PeerKeyHex, type PenaltyReason } from "../net/index.ts";
import {
  decodeSnapshotManifest,
  type MetadataEntry,
  SNAPSHOT_CHUNK_BYTES_MAX,
  SNAPSHOT_CHUNKS_MAX,
  SnapshotImport,
  type SnapshotManifest,
  type Store,
  snapshotChunkHash,
  snapshotManifestHash,
  transactionIndexEntriesOf,
} from "../storage/index.ts";
import type { NodeConfig } from "./config.ts";
import { SnapshotSyncError, type SnapshotSyncErrorCode } from "./errors.ts";
import { createPeerManager } from "./peer-network.ts";
import {
  PENALTY_POINTS_SNAPSHOT_FORGED,
  PENALTY_POINTS_SNAPSHOT_MALFORMED,
  SNAPSHOT_OFFERS_MAX,
  SNAPSHOT_SERVE_REQUESTS_BURST_MAX,
  SNAPSHOT_SERVE_REQUESTS_PER_SECOND,
  SNAPSHOT_SYNC_ATTEMPTS_MAX,
  SNAPSHOT_SYNC_BUSY_BACKOFF_MS,
  SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX,
  SNAPSHOT_SYNC_CHUNKS_IN_FLIGHT_MAX,
  SNAPSHOT_SYNC_DISCOVERY_TIMEOUT_MS,
  SNAPSHOT_SYNC_OFFER_REQUEST_INTERVAL_MS,
  SNAPSHOT_SYNC_OFFER_WAIT_MS,
  SNAPSHOT_SYNC_OFFERS_MAX,
  SNAPSHOT_SYNC_PEER_CHUNKS_IN_FLIGHT_MAX,
  SNAPSHOT_SYNC_PEER_FAILURES_MAX,
  SNAPSHOT_SYNC_REQUEST_TIMEOUT_MS,
} from "./snapshot-limits.ts";
import { RequestBudget } from "./snapshot-serve.ts";
import {
  decodeSnapshotMessage,
  encodeSnapshotMessage,
  type SnapshotOffer,
  type SnapshotRequestKind,
  type SnapshotWireMessage,
} from "./snapshot-wire.ts";
import { decodePeerMessage, encodePeerMessage } from "./wire.ts";

/** How often discovery and the chunk loop look at their state when nothing arrived. */
const POLL_INTERVAL_MS = 50;

/** How a joining node reaches its peers (a short-lived peer manager; tests connect servers directly). */
export interface SnapshotSyncTransport {
  /** The peers connected now. */
  peers(): readonly string[];
  send(peer: string, message: SnapshotWireMessage): void;
  /** Asks `peer` for block `height` by block sync (a status message); the answer comes to receiveCommit. */
  requestBlock(peer: string, height: bigint): void;
  penalize(peer: string, reason: PenaltyReason, points: number): void;
}

/** What the joining node trusts: its genesis file's chain, suite and validator set. */
export interface SnapshotTrust {
  readonly chainId: string;
  readonly suite: SignatureSuite;
  /** The set that signs `height` (the genesis set until governance changes it). */
  validatorSetAt(height: bigint): ValidatorSet;
}

export interface SnapshotSyncTiming {
  readonly discoveryTimeoutMs: number;
  readonly offerWaitMs: number;
  readonly offerRequestIntervalMs: number;
  readonly requestTimeoutMs: number;
}

export const SNAPSHOT_SYNC_TIMING_DEFAULT: SnapshotSyncTiming = {
  discoveryTimeoutMs: SNAPSHOT_SYNC_DISCOVERY_TIMEOUT_MS,
  offerWaitMs: SNAPSHOT_SYNC_OFFER_WAIT_MS,
  offerRequestIntervalMs: SNAPSHOT_SYNC_OFFER_REQUEST_INTERVAL_MS,
  requestTimeoutMs: SNAPSHOT_SYNC_REQUEST_TIMEOUT_MS,
};

export interface SnapshotJoinOptions {
  readonly store: Store;
  readonly trust: SnapshotTrust;
  readonly transport: SnapshotSyncTransport;
  readonly logger: Logger;
  /** Metadata written with the base: the chain's own keys and the consensus checkpoint of height + 1. */
  readonly baseMetadata: (height: bigint) => readonly MetadataEntry[];
  /** Peers in the config: discovery ends as soon as each of them has answered. */
  readonly peersConfigured: number;
  readonly timing?: Partial<SnapshotSyncTiming>;
}

export type SnapshotJoinResult =
  | {
      readonly joined: true;
      readonly height: bigint;
      readonly blockHash: Uint8Array;
      readonly chunks: number;
      readonly entries: number;
      /** Peers that served chunks. */
      readonly peers: number;
    }
  | { readonly joined: false; readonly code: SnapshotSyncErrorCode; readonly message: string };

/** One snapshot, as offered by one or more peers (same height, block and manifest). */
interface Candidate {
  readonly key: string;
  readonly offer: SnapshotOffer;
  readonly blockHash: Uint8Array;
  readonly peers: string[];
}

type Response = SnapshotWireMessage | { readonly kind: "block"; readonly value: ConsensusValue };

/** Per-attempt view of the candidate's peers: failures and requests in flight. */
class PeerPool {
  readonly #failures = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  /** Peers that said they are busy, and until when they are left alone. */
  readonly #restUntilMs = new Map<string, number>();
  #cursor = 0;

  constructor(
    readonly peers: readonly string[],
    readonly isBanned: (peer: string) => boolean,
  ) {}

  usable(peer: string): boolean {
    return !this.isBanned(peer) && (this.#failures.get(peer) ?? 0) < SNAPSHOT_SYNC_PEER_FAILURES_MAX;
  }

  anyUsable(): boolean {
    return this.peers.some((peer) => this.usable(peer));
  }

  failed(peer: string): void {
    this.#failures.set(peer, (this.#failures.get(peer) ?? 0) + 1);
  }

  /** The peer is busy (it said so): not asked again before `untilMs`. Not a failure. */
  rest(peer: string, untilMs: number): void {
    this.#restUntilMs.set(peer, untilMs);
  }

  resting(peer: string, nowMs: number): boolean {
    return (this.#restUntilMs.get(peer) ?? 0) > nowMs;
  }

  inFlight(peer: string): number {
    return this.#inFlight.get(peer) ?? 0;
  }

  started(peer: string): void {
    this.#inFlight.set(peer, this.inFlight(peer) + 1);
  }

  ended(peer: string): void {
    assert(this.inFlight(peer) > 0, "a request ends after it started");
    this.#inFlight.set(peer, this.inFlight(peer) - 1);
  }

  /** The next usable peer, in turn, for which `ready` holds; null when none. */
  next(ready: (peer: string) => boolean): string | null {
    for (let tried = 0; tried < this.peers.length; tried++) {
      const peer = this.peers[(this.#cursor + tried) % this.peers.length]!;
      if (this.usable(peer) && ready(peer)) {
        this.#cursor = (this.#cursor + tried + 1) % this.peers.length;
        return peer;
      }
    }
    return null;
  }
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

function candidateKey(offer: SnapshotOffer, hashOfBlock: Uint8Array): string {
  return `${offer.height}/${bytesToHex(hashOfBlock)}/${bytesToHex(offer.manifestHash)}`;
}

export class SnapshotJoin {
  readonly #options: SnapshotJoinOptions;
  readonly #timing: SnapshotSyncTiming;
  /** Requests waiting for an answer, by `peer/kind/height/chunkIndex`. */
  readonly #pending = new Map<string, (response: Response | null) => void>();
  #offersListener: ((peer: string, offers: readonly SnapshotOffer[]) => void) | null = null;
  /** Peers that lied (provably): never asked again. */
  readonly #banned = new Set<string>();
  readonly #budgets = new Map<string, RequestBudget>();
  #stopped = false;

  constructor(options: SnapshotJoinOptions) {
    assert(options.peersConfigured >= 0, "a count of peers");
    this.#options = options;
    this.#timing = { ...SNAPSHOT_SYNC_TIMING_DEFAULT, ...options.timing };
  }

  /** Joins from the best snapshot offered, or says why it could not (the node then starts from genesis). */
  async run(): Promise<SnapshotJoinResult> {
    const excluded = new Set<string>();
    let failure: SnapshotSyncError | null = null;
    for (let attempt = 1; attempt <= SNAPSHOT_SYNC_ATTEMPTS_MAX; attempt++) {
      try {
        const candidate = await this.#discover(excluded);
        if (candidate === null) {
          throw new SnapshotSyncError(
            "SNAPSHOT_SYNC_NO_OFFER",
            "no peer offered a snapshot with a certified header",
          );
        }
        return await this.#join(candidate, excluded);
      } catch (error) {
        // Requests of the failed attempt still waiting are dropped: their answers are ignored.
        this.#cancelPending();
        if (!(error instanceof SnapshotSyncError)) throw error;
        failure = error;
        if (error.code === "SNAPSHOT_SYNC_NO_OFFER" || error.code === "SNAPSHOT_SYNC_STOPPED") break;
        this.#options.logger.warn(
          { attempt, code: error.code, error: error.message },
          "snapshot sync attempt failed",
        );
      }
    }
    assert(failure !== null, "an attempt that did not join failed");
    return { joined: false, code: failure.code, message: failure.message };
  }

  /** Stops waiting: run() ends with SNAPSHOT_SYNC_STOPPED. */
  stop(): void {
    this.#stopped = true;
    this.#cancelPending();
  }

  #cancelPending(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const resolve of pending) resolve(null);
  }

  /** A message from a peer on the snapshot-sync channel. */
  receiveSnapshot(peer: string, bytes: Uint8Array): void {
    let message: SnapshotWireMessage;
    try {
      message = decodeSnapshotMessage(bytes);
    } catch (error) {
      if (!(error instanceof CityLedgerError)) throw error;
      this.#options.transport.penalize(peer, "message_malformed", PENALTY_POINTS_SNAPSHOT_MALFORMED);
      return;
    }
    switch (message.kind) {
      case "offers":
        this.#offersListener?.(peer, message.offers);
        return;
      case "manifest":
        this.#settle(peer, "manifestRequest", message.height, 0, message);
        return;
      case "frontier":
        this.#settle(peer, "frontierRequest", message.height, 0, message);
        return;
      case "chunk":
        this.#settle(peer, "chunkRequest", message.height, message.chunkIndex, message);
        return;
      case "refused":
        this.#settle(peer, message.request, message.height, message.chunkIndex, message);
        return;
      case "offersRequest":
        // A joining node holds no snapshot yet.
        this.#options.transport.send(peer, { kind: "offers", offers: [] });
        return;
      case "manifestRequest":
      case "chunkRequest":
      case "frontierRequest":
        this.#options.transport.send(peer, {
          kind: "refused",
          request: message.kind,
          height: message.height,
          chunkIndex: message.kind === "chunkRequest" ? message.chunkIndex : 0,
          reason: "unknown",
        });
        return;
    }
  }

  /** A block a peer sent by block sync (the answer to requestBlock). */
  receiveCommit(peer: string, height: bigint, value: ConsensusValue): void {
    this.#settle(peer, "block", height, 0, { kind: "block", value });
  }

  #settle(
    peer: string,
    kind: SnapshotRequestKind | "block",
    height: bigint,
    chunkIndex: number,
    response: Response,
  ): void {
    const key = `${peer}/${kind}/${height}/${chunkIndex}`;
    const resolve = this.#pending.get(key);
    // Unmatched: a late answer after a timeout, or one nobody asked for; both are dropped.
    if (resolve === undefined) return;
    this.#pending.delete(key);
    resolve(response);
  }

  /** Sends a request and waits for its answer (null: timed out, or stopped). */
  #request(
    peer: string,
    kind: SnapshotRequestKind | "block",
    height: bigint,
    chunkIndex: number,
    send: () => void,
  ): Promise<Response | null> {
    const key = `${peer}/${kind}/${height}/${chunkIndex}`;
    assert(!this.#pending.has(key), "one request per key at a time");
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.#pending.get(key) === finish) this.#pending.delete(key);
        resolve(null);
      }, this.#timing.requestTimeoutMs);
      const finish = (response: Response | null) => {
        clearTimeout(timer);
        resolve(response);
      };
      this.#pending.set(key, finish);
      this.#budgetOf(peer).take(Date.now());
      send();
    });
  }

  #budgetOf(peer: string): RequestBudget {
    let budget = this.#budgets.get(peer);
    if (budget === undefined) {
      budget = new RequestBudget(
        SNAPSHOT_SERVE_REQUESTS_PER_SECOND,
        SNAPSHOT_SERVE_REQUESTS_BURST_MAX,
        Date.now(),
      );
      this.#budgets.set(peer, budget);
    }
    return budget;
  }

  #ban(peer: string, why: string, details: Record<string, string | number> = {}): void {
    this.#banned.add(peer);
    this.#options.transport.penalize(peer, "message_invalid", PENALTY_POINTS_SNAPSHOT_FORGED);
    this.#options.logger.warn(
      { peer, why, ...details },
      "a peer sent snapshot data that does not verify: banned",
    );
  }

  #checkStopped(): void {
    if (this.#stopped) throw new SnapshotSyncError("SNAPSHOT_SYNC_STOPPED", "the node stopped while joining");
  }

  /** Why an offer cannot be trusted, or null when its header is certified by the trusted set. */
  #offerProblem(offer: SnapshotOffer): string | null {
    const { trust } = this.#options;
    const { header, certificate } = offer;
    if (offer.height < 1n || header.height !== offer.height) return "the header is not at the offered height";
    if (header.chainId !== trust.chainId) return "the header is another chain's";
    if (offer.chunkCount > SNAPSHOT_CHUNKS_MAX) return "the offer lists too many chunks";
    if (header.logSize > BigInt(Number.MAX_SAFE_INTEGER)) return "the header's log size is out of range";
    if (!verifyCommit(header, certificate, trust.validatorSetAt(offer.height), trust.suite)) {
      return "the header's commit certificate does not verify against the trusted validator set";
    }
    return null;
  }

  /** Asks the connected peers for offers; the best certified candidate not excluded, or null. */
  async #discover(excluded: ReadonlySet<string>): Promise<Candidate | null> {
    const { transport, peersConfigured } = this.#options;
    const candidates = new Map<string, Candidate>();
    const answered = new Set<string>();
    const askedAtMs = new Map<string, number>();
    const startedMs = Date.now();
    let firstOfferMs: number | null = null;
    let offersSeen = 0;
    this.#offersListener = (peer, offers) => {
      if (answered.has(peer) || this.#banned.has(peer) || !askedAtMs.has(peer)) return;
      answered.add(peer);
      for (const offer of offers.slice(0, SNAPSHOT_OFFERS_MAX)) {
        if (offersSeen >= SNAPSHOT_SYNC_OFFERS_MAX) return;
        offersSeen++;
        const problem = this.#offerProblem(offer);
        if (problem !== null) {
          this.#ban(peer, problem, { height: offer.height.toString() });
          return;
        }
        const hashOfBlock = blockHash(offer.header, this.#options.trust.suite.hash);
        const key = candidateKey(offer, hashOfBlock);
        if (excluded.has(key)) continue;
        const candidate = candidates.get(key) ?? { key, offer, blockHash: hashOfBlock, peers: [] };
        candidate.peers.push(peer);
        candidates.set(key, candidate);
        firstOfferMs ??= Date.now();
      }
    };
    try {
      for (;;) {
        this.#checkStopped();
        const nowMs = Date.now();
        for (const peer of transport.peers()) {
          if (answered.has(peer) || this.#banned.has(peer)) continue;
          const askedMs = askedAtMs.get(peer);
          if (askedMs !== undefined && nowMs - askedMs < this.#timing.offerRequestIntervalMs) continue;
          if (!this.#budgetOf(peer).take(nowMs)) continue;
          askedAtMs.set(peer, nowMs);
          transport.send(peer, { kind: "offersRequest" });
        }
        const everyoneAnswered = peersConfigured > 0 && answered.size >= peersConfigured;
        const waitedForBetter = firstOfferMs !== null && nowMs - firstOfferMs >= this.#timing.offerWaitMs;
        if (everyoneAnswered || waitedForBetter || nowMs - startedMs >= this.#timing.discoveryTimeoutMs)
          break;
        await sleep(POLL_INTERVAL_MS);
      }
    } finally {
      this.#offersListener = null;
    }
    let best: Candidate | null = null;
    for (const candidate of candidates.values()) {
      const peers = candidate.peers.filter((peer) => !this.#banned.has(peer));
      if (peers.length === 0) continue;
      if (
        best === null ||
        candidate.offer.height > best.offer.height ||
        (candidate.offer.height === best.offer.height && peers.length > best.peers.length)
      ) {
        best = { ...candidate, peers };
      }
    }
    this.#options.logger.info(
      {
        peersAnswered: answered.size,
        candidates: candidates.size,
        height: best?.offer.height.toString() ?? null,
        peers: best?.peers.length ?? 0,
      },
      best === null ? "no snapshot offered" : "snapshot chosen",
    );
    return best;
  }

  async #join(candidate: Candidate, excluded: Set<string>): Promise<SnapshotJoinResult> {
    const pool = new PeerPool(candidate.peers, (peer) => this.#banned.has(peer));
    const invalid = (why: string, cause: unknown = null): SnapshotSyncError => {
      excluded.add(candidate.key);
      if (cause instanceof CityLedgerError && cause.code === "SNAPSHOT_TOO_LARGE") {
        // Honest peers may hold a state larger than this node stages: not a lie, no ban.
        return new SnapshotSyncError("SNAPSHOT_SYNC_TOO_LARGE", cause.message, {
          height: candidate.offer.height,
        });
      }
      // The manifest hash the offer named does not describe the certified header's state: every
      // peer that offered it vouched for it.
      for (const peer of candidate.peers) this.#ban(peer, why, { height: candidate.offer.height.toString() });
      return new SnapshotSyncError(
        "SNAPSHOT_SYNC_SNAPSHOT_INVALID",
        `the offered snapshot is invalid: ${why}`,
        {
          height: candidate.offer.height,
        },
      );
    };
    const manifest = await this.#fetchManifest(candidate, pool, invalid);
    const frontier = await this.#fetchFrontier(candidate, pool);
    const block = await this.#fetchBlock(candidate, pool);
    const staged = new SnapshotImport(manifest, {
      trustedStateRoot: candidate.offer.header.stateRoot,
      hash: this.#options.trust.suite.hash,
    });
    const servedBy = await this.#fetchChunks(candidate, manifest, staged, pool, invalid);
    let nodes: ReturnType<SnapshotImport["finish"]>;
    try {
      nodes = staged.finish();
    } catch (error) {
      if (error instanceof CityLedgerError && error.name === "SnapshotError")
        throw invalid(error.message, error);
      throw error;
    }
    const { header } = block;
    const positions = logFrontierPositions(Number(header.logSize));
    await this.#options.store.importSnapshotBase({
      block,
      transactions: transactionIndexEntriesOf(block.transactions, this.#options.trust.suite.hash),
      logNodes: positions.map((position, offset) => ({ ...position, hash: frontier[offset]! })),
      stateNodes: nodes.nodes,
      metadata: this.#options.baseMetadata(header.height),
    });
    return {
      joined: true,
      height: header.height,
      blockHash: candidate.blockHash,
      chunks: manifest.chunkHashes.length,
      entries: nodes.entryCount,
      peers: servedBy,
    };
  }

  /** Asks the pool's peers in turn until `attempt` returns a value; PEERS_EXHAUSTED when none does. */
  async #fromSomePeer<Value>(
    pool: PeerPool,
    what: string,
    attempt: (peer: string) => Promise<Value | null>,
  ): Promise<Value> {
    for (;;) {
      this.#checkStopped();
      const peer = pool.next(() => true);
      if (peer === null) {
        throw new SnapshotSyncError(
          "SNAPSHOT_SYNC_PEERS_EXHAUSTED",
          `no peer of the offer could send the ${what}`,
        );
      }
      const value = await attempt(peer);
      if (value !== null) return value;
      pool.failed(peer);
    }
  }

  async #fetchManifest(
    candidate: Candidate,
    pool: PeerPool,
    invalid: (why: string, cause?: unknown) => SnapshotSyncError,
  ): Promise<SnapshotManifest> {
    const { offer } = candidate;
    const hash = this.#options.trust.suite.hash;
    const encoded = await this.#fromSomePeer(pool, "manifest", async (peer) => {
      const response = await this.#request(peer, "manifestRequest", offer.height, 0, () =>
        this.#options.transport.send(peer, {
          kind: "manifestRequest",
          height: offer.height,
          manifestHash: offer.manifestHash,
        }),
      );
      if (response === null || response.kind !== "manifest") return null;
      if (!equalBytes(snapshotManifestHash(response.manifest, hash), offer.manifestHash)) {
        this.#ban(peer, "the manifest does not hash to the offered manifest hash");
        return null;
      }
      return response.manifest;
    });
    let manifest: SnapshotManifest;
    try {
      manifest = decodeSnapshotManifest(encoded);
    } catch (error) {
      if (error instanceof CityLedgerError)
        throw invalid(`its manifest is malformed: ${error.message}`, error);
      throw error;
    }
    if (manifest.height !== offer.height) throw invalid("its manifest is of another height");
    if (!equalBytes(manifest.stateRoot, offer.header.stateRoot)) {
      throw invalid("its manifest's state root is not the certified header's");
    }
    if (manifest.chunkHashes.length !== offer.chunkCount)
      throw invalid("its manifest lists another chunk count");
    return manifest;
  }

  async #fetchFrontier(candidate: Candidate, pool: PeerPool): Promise<readonly Uint8Array[]> {
    const { offer } = candidate;
    const { header } = offer;
    return this.#fromSomePeer(pool, "log frontier", async (peer) => {
      const response = await this.#request(peer, "frontierRequest", offer.height, 0, () =>
        this.#options.transport.send(peer, {
          kind: "frontierRequest",
          height: offer.height,
          blockHash: candidate.blockHash,
        }),
      );
      if (response === null || response.kind !== "frontier") return null;
      if (
        !equalBytes(response.blockHash, candidate.blockHash) ||
        response.logSize !== header.logSize ||
        !verifyLogFrontier(
          Number(header.logSize),
          response.hashes,
          header.logRoot,
          this.#options.trust.suite.hash,
        )
      ) {
        this.#ban(peer, "the log frontier does not fold to the certified header's log root");
        return null;
      }
      return response.hashes;
    });
  }

  async #fetchBlock(candidate: Candidate, pool: PeerPool): Promise<Block> {
    const { offer } = candidate;
    const hash = this.#options.trust.suite.hash;
    return this.#fromSomePeer(pool, "snapshot block", async (peer) => {
      const response = await this.#request(peer, "block", offer.height, 0, () =>
        this.#options.transport.requestBlock(peer, offer.height),
      );
      if (response === null || response.kind !== "block") return null;
      try {
        const proposed = decodeProposedBlock(response.value.bytes);
        if (!equalBytes(blockHash(proposed.header, hash), candidate.blockHash)) {
          this.#ban(peer, "block sync sent another block than the certified one");
          return null;
        }
        const block: Block = {
          header: proposed.header,
          transactions: proposed.transactions,
          evidence: proposed.evidence,
          certificate: offer.certificate,
        };
        checkBlockBody(block, hash);
        return block;
      } catch (error) {
        if (!(error instanceof CityLedgerError)) throw error;
        this.#ban(peer, `block sync sent a block whose body does not match its header: ${error.message}`);
        return null;
      }
    });
  }

  /**
   * Fetches every chunk from the pool's peers, at most SNAPSHOT_SYNC_CHUNKS_IN_FLIGHT_MAX at once
   * (SNAPSHOT_SYNC_PEER_CHUNKS_IN_FLIGHT_MAX per peer) and never more than
   * SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX past the next one to apply; returns how many peers served.
   */
  async #fetchChunks(
    candidate: Candidate,
    manifest: SnapshotManifest,
    staged: SnapshotImport,
    pool: PeerPool,
    invalid: (why: string, cause?: unknown) => SnapshotSyncError,
  ): Promise<number> {
    const { offer } = candidate;
    const count = manifest.chunkHashes.length;
    const hash = this.#options.trust.suite.hash;
    const received = new Map<number, Uint8Array>();
    const retry: number[] = [];
    const inFlight = new Set<number>();
    const servedBy = new Set<string>();
    let nextIndex = 0;
    let wake: (() => void) | null = null;
    const onSettled = (peer: string, index: number, response: Response | null) => {
      inFlight.delete(index);
      pool.ended(peer);
      if (
        response !== null &&
        response.kind === "chunk" &&
        equalBytes(response.manifestHash, offer.manifestHash)
      ) {
        const { chunk } = response;
        if (
          chunk.length <= SNAPSHOT_CHUNK_BYTES_MAX &&
          equalBytes(snapshotChunkHash(chunk, hash), manifest.chunkHashes[index]!)
        ) {
          received.set(index, chunk);
          servedBy.add(peer);
        } else {
          this.#ban(peer, "a chunk does not match the manifest", { chunkIndex: index });
          retry.push(index);
        }
      } else if (response !== null && response.kind === "refused" && response.reason === "busy") {
        pool.rest(peer, Date.now() + SNAPSHOT_SYNC_BUSY_BACKOFF_MS);
        retry.push(index);
      } else {
        pool.failed(peer);
        retry.push(index);
      }
      wake?.();
    };
    while (staged.chunksAdded < count) {
      this.#checkStopped();
      // Apply what arrived, in order (each chunk was checked against the manifest on arrival).
      for (
        let chunk = received.get(staged.chunksAdded);
        chunk !== undefined;
        chunk = received.get(staged.chunksAdded)
      ) {
        received.delete(staged.chunksAdded);
        try {
          staged.addChunk(chunk);
        } catch (error) {
          // The chunk matches the manifest's hash, so the manifest itself names bad chunks.
          if (error instanceof CityLedgerError && error.name === "SnapshotError")
            throw invalid(error.message, error);
          throw error;
        }
      }
      if (staged.chunksAdded === count) break;
      const nowMs = Date.now();
      while (inFlight.size < SNAPSHOT_SYNC_CHUNKS_IN_FLIGHT_MAX) {
        const windowEnd = Math.min(count, staged.chunksAdded + SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX);
        const index = retry.length > 0 ? retry[0]! : nextIndex < windowEnd ? nextIndex : null;
        if (index === null) break;
        const peer = pool.next(
          (candidatePeer) =>
            pool.inFlight(candidatePeer) < SNAPSHOT_SYNC_PEER_CHUNKS_IN_FLIGHT_MAX &&
            !pool.resting(candidatePeer, nowMs) &&
            this.#budgetOf(candidatePeer).available(nowMs),
        );
        if (peer === null) break;
        if (retry.length > 0 && retry[0] === index) retry.shift();
        else nextIndex++;
        inFlight.add(index);
        pool.started(peer);
        void this.#request(peer, "chunkRequest", offer.height, index, () =>
          this.#options.transport.send(peer, {
            kind: "chunkRequest",
            height: offer.height,
            manifestHash: offer.manifestHash,
            chunkIndex: index,
          }),
        ).then((response) => onSettled(peer, index, response));
      }
      if (inFlight.size === 0 && received.size === 0 && !pool.anyUsable()) {
        throw new SnapshotSyncError(
          "SNAPSHOT_SYNC_PEERS_EXHAUSTED",
          "no peer of the offer could send the chunks",
          {
            chunkIndex: staged.chunksAdded,
          },
        );
      }
      assert(
        received.size + inFlight.size <= SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX,
        "the reorder window is bounded",
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_INTERVAL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
    assert(received.size === 0, "every chunk was applied");
    return servedBy.size;
  }
}

export interface JoinFromSnapshotOptions {
  readonly store: Store;
  readonly genesis: Genesis;
  readonly suite: SignatureSuite;
  readonly config: NodeConfig;
  readonly logger: Logger;
  /** The node key's seed (the peer transport authenticates with it). */
  readonly nodeSeed: Uint8Array;
  readonly baseMetadata: (height: bigint) => readonly MetadataEntry[];
  readonly timing?: Partial<SnapshotSyncTiming>;
}

/**
 * Joins from a peer's snapshot over a short-lived peer manager on the node's own address (stopped
 * before the node's network starts). The height joined at, or null when the node must start from
 * genesis instead (no snapshot offered, or none could be fetched and verified).
 */
export async function joinFromSnapshot(options: JoinFromSnapshotOptions): Promise<SnapshotJoinResult> {
  const logger = options.logger.child({ component: "snapshot-sync" });
  const manager = createPeerManager({
    genesis: options.genesis,
    config: options.config,
    nodeSeed: options.nodeSeed,
    logger: options.logger,
    register: null,
  });
  const join = new SnapshotJoin({
    store: options.store,
    trust: {
      chainId: options.genesis.chainId,
      suite: options.suite,
      validatorSetAt: () => options.genesis.validatorSet,
    },
    transport: {
      peers: () => manager.peers().map((peer) => peer.publicKeyHex),
      send: (peer, message) => {
        manager.send(peer as PeerKeyHex, Channel.snapshotSync, encodeSnapshotMessage(message));
      },
      requestBlock: (peer, height) => {
        manager.send(peer as PeerKeyHex, Channel.consensus, encodePeerMessage({ kind: "status", height }));
      },
      penalize: (peer, reason, points) => manager.penalize(peer as PeerKeyHex, reason, points),
    },
    logger,
    baseMetadata: options.baseMetadata,
    peersConfigured: options.config.p2p.peers.length,
    ...(options.timing === undefined ? {} : { timing: options.timing }),
  });
  manager.onMessage((peer, channel, bytes) => {
    if (channel === Channel.snapshotSync) {
      join.receiveSnapshot(peer, bytes);
      return;
    }
    if (channel !== Channel.blockSync) return;
    try {
      const message = decodePeerMessage(bytes);
      if (message.kind === "commit") join.receiveCommit(peer, message.height, message.value);
    } catch (error) {
      if (!(error instanceof CityLedgerError)) throw error;
      manager.penalize(peer, "message_malformed", PENALTY_POINTS_SNAPSHOT_MALFORMED);
    }
  });
  await manager.start();
  try {
    const startedMs = Date.now();
    const result = await join.run();
    if (result.joined) {
      logger.info(
        {
          height: result.height.toString(),
          blockHash: bytesToHex(result.blockHash),
          chunks: result.chunks,
          entries: result.entries,
          peers: result.peers,
          durationMs: Date.now() - startedMs,
        },
        "joined from a snapshot",
      );
    } else {
      logger.warn(
        { code: result.code, reason: result.message },
        "not joined from a snapshot: starting from genesis",
      );
    }
    return result;
  } finally {
    join.stop();
    await manager.stop();
  }
}
