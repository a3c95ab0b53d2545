/**
 * Snapshot sync in one process: serving nodes (SnapshotServer over a store holding a test chain)
 * and a joining node (SnapshotJoin over an empty store) exchange the real encoded messages through
 * an in-memory network in which any peer can lie. The joiner must end with a store that verifies
 * and continues the chain exactly, and must ban every peer that sent data that does not verify.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { equalBytes, utf8 } from "../base/bytes.ts";
import type { ConsensusValue } from "../consensus/index.ts";
import { ed25519Suite, sha256 } from "../crypto/index.ts";
import { decodeProposedBlock, encodeProposedBlock } from "../ledger/index.ts";
import {
  encodeSnapshotChunk,
  encodeSnapshotManifest,
  METADATA_KEYS,
  openStore,
  PersistentLedger,
  type Store,
  snapshotChunkHash,
  snapshotManifestHash,
  verifyStore,
} from "../storage/index.ts";
import { TestChain } from "../storage/testing/test-chain.ts";
import { SnapshotServer } from "./snapshot-serve.ts";
import { SnapshotJoin, type SnapshotJoinResult, type SnapshotSyncTransport } from "./snapshot-sync.ts";
import { decodeSnapshotMessage, encodeSnapshotMessage, type SnapshotWireMessage } from "./snapshot-wire.ts";

const silent = pino({ level: "silent" });
const JOINER = "joiner";
const HEIGHT = 10n;
const HEAD = 12n;
const CHUNK_ENTRIES = 3;
const TIMING = {
  discoveryTimeoutMs: 2_000,
  offerWaitMs: 100,
  offerRequestIntervalMs: 200,
  requestTimeoutMs: 1_000,
};

/** What a lying peer does to the messages it sends (null: it sends nothing). */
type Tamper = (message: SnapshotWireMessage) => SnapshotWireMessage | null;

interface Penalty {
  readonly peer: string;
  readonly reason: string;
  readonly points: number;
  /** Who penalised: the joiner, or a server. */
  readonly by: string;
}

function show(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? `${item}` : item));
}

/** An in-memory network between one joiner and named servers, delivering encoded bytes. */
class Network {
  readonly servers = new Map<string, SnapshotServer>();
  readonly tampers = new Map<string, Tamper>();
  /** What a lying peer makes of the requests it receives (to serve a forged snapshot consistently). */
  readonly requestTampers = new Map<string, Tamper>();
  readonly blockTampers = new Map<string, (value: ConsensusValue) => ConsensusValue>();
  readonly penalties: Penalty[] = [];
  readonly chunksServedBy = new Map<string, number>();
  joiner: SnapshotJoin | null = null;

  constructor(readonly source: Store) {}

  add(name: string, server: SnapshotServer): void {
    server.attach({
      send: (peer, message) => {
        assert.equal(peer, JOINER);
        const tamper = this.tampers.get(name);
        const sent = tamper === undefined ? message : tamper(message);
        if (sent === null) return;
        if (sent.kind === "chunk") this.chunksServedBy.set(name, (this.chunksServedBy.get(name) ?? 0) + 1);
        const bytes = encodeSnapshotMessage(sent);
        setImmediate(() => this.joiner?.receiveSnapshot(name, bytes));
      },
      penalize: (peer, reason, points) => this.penalties.push({ peer, reason, points, by: name }),
    });
    this.servers.set(name, server);
  }

  transport(): SnapshotSyncTransport {
    return {
      peers: () => [...this.servers.keys()],
      send: (peer, message) => {
        const received = this.requestTampers.get(peer)?.(message) ?? message;
        const bytes = encodeSnapshotMessage(received);
        setImmediate(() => this.servers.get(peer)?.receive(JOINER, bytes));
      },
      requestBlock: (peer, height) => {
        void (async () => {
          const block = await this.source.blockByHeight(height);
          assert.ok(block !== undefined);
          const previousCertificate = (await this.source.certificateByHeight(height - 1n)) ?? null;
          let value: ConsensusValue = {
            hash: block.certificate.blockHash,
            bytes: encodeProposedBlock({ ...block, previousCertificate }),
          };
          value = this.blockTampers.get(peer)?.(value) ?? value;
          this.joiner?.receiveCommit(peer, height, value);
        })();
      },
      penalize: (peer, reason, points) => this.penalties.push({ peer, reason, points, by: JOINER }),
    };
  }

  bannedByJoiner(): string[] {
    return [
      ...new Set(
        this.penalties
          .filter((penalty) => penalty.by === JOINER && penalty.points >= 100)
          .map((penalty) => penalty.peer),
      ),
    ].sort();
  }
}

describe("snapshot sync: a node joins from peers' snapshots", () => {
  let directory: string;
  let source: Store;
  const chain = new TestChain({ seed: 3, txsPerBlock: 5, senders: 4 });
  const stores: Store[] = [];
  const servers: SnapshotServer[] = [];
  let targetCount = 0;

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-snapshot-sync-"));
    source = await openStore(join(directory, "source"));
    stores.push(source);
    await source.writeMetadata([
      [METADATA_KEYS.chainId, utf8(chain.chainId)],
      [METADATA_KEYS.genesisHash, chain.genesisHash],
    ]);
    const ledger = await PersistentLedger.open(source);
    for (let height = 1n; height <= HEAD; height++) await chain.commitNext(ledger);
  });

  after(async () => {
    for (const server of servers) await server.stop();
    for (const store of stores) await store.close();
    rmSync(directory, { recursive: true, force: true });
  });

  async function serverOf(
    options: { intervalHeights?: number; keptMax?: number } = {},
  ): Promise<SnapshotServer> {
    const server = new SnapshotServer({
      store: source,
      logger: silent,
      intervalHeights: options.intervalHeights ?? 5,
      keptMax: options.keptMax ?? 2,
      chunkEntriesMax: CHUNK_ENTRIES,
    });
    servers.push(server);
    server.start(HEAD);
    await server.whenIdle();
    return server;
  }

  async function networkOf(names: readonly string[]): Promise<Network> {
    const network = new Network(source);
    for (const name of names) network.add(name, await serverOf());
    return network;
  }

  async function joinOver(network: Network): Promise<{ result: SnapshotJoinResult; target: Store }> {
    const target = await openStore(join(directory, `target-${targetCount++}`));
    stores.push(target);
    const joiner = new SnapshotJoin({
      store: target,
      trust: { chainId: chain.chainId, suite: ed25519Suite, validatorSetAt: () => chain.validatorSet },
      transport: network.transport(),
      logger: silent,
      baseMetadata: () => [
        [METADATA_KEYS.chainId, utf8(chain.chainId)],
        [METADATA_KEYS.genesisHash, chain.genesisHash],
      ],
      peersConfigured: network.servers.size,
      timing: TIMING,
    });
    network.joiner = joiner;
    return { result: await joiner.run(), target };
  }

  /** The joined store verifies from HEIGHT and continues the source chain block for block. */
  async function assertJoined(result: SnapshotJoinResult, target: Store): Promise<void> {
    assert.ok(result.joined, show(result));
    assert.equal(result.height, HEIGHT);
    const report = await verifyStore(target);
    assert.ok(report.ok, show(report));
    assert.equal(report.firstHeight, HEIGHT);
    assert.equal(await target.blockByHeight(HEIGHT - 1n), undefined, "nothing below the snapshot");
    const ledger = await PersistentLedger.open(target);
    for (let height = HEIGHT + 1n; height <= HEAD; height++) {
      const built = await chain.commitNext(ledger);
      const original = await source.blockByHeight(height);
      assert.ok(
        equalBytes(built.block.certificate.blockHash, original!.certificate.blockHash),
        `block ${height}`,
      );
    }
    assert.equal((await verifyStore(target)).ok, true);
  }

  it("joins at the newest snapshot, fetching chunks from every peer that offers it", async () => {
    const network = await networkOf(["a", "b", "c"]);
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.ok(result.joined && result.chunks >= 5, "several chunks");
    assert.equal(result.joined && result.peers, 3, "all three peers served chunks");
    assert.deepEqual(network.bannedByJoiner(), []);
  });

  it("bans a peer that lies about the header (an offer whose certificate does not verify)", async () => {
    const network = await networkOf(["liar", "honest"]);
    network.tampers.set("liar", (message) => {
      if (message.kind !== "offers") return message;
      const offer = message.offers[0]!;
      // A higher height it has no certificate for, and the real height with another state root.
      return {
        kind: "offers",
        offers: [
          { ...offer, height: 500n, header: { ...offer.header, height: 500n } },
          { ...offer, header: { ...offer.header, stateRoot: sha256(utf8("forged state")) } },
        ],
      };
    });
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.deepEqual(network.bannedByJoiner(), ["liar"]);
    assert.equal(network.chunksServedBy.get("liar") ?? 0, 0, "nothing is asked of a banned peer");
  });

  it("refuses a tampered chunk, bans its sender and fetches the chunk from another peer", async () => {
    const network = await networkOf(["honest", "liar"]);
    network.tampers.set("liar", (message) => {
      if (message.kind !== "chunk") return message;
      const chunk = message.chunk.slice();
      chunk[chunk.length - 1]! ^= 1;
      return { ...message, chunk };
    });
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.deepEqual(network.bannedByJoiner(), ["liar"]);
  });

  it("refuses a manifest that is not the offered one, and a frontier that does not fold to the header's log root", async () => {
    // Requests go to the offer's peers in turn: the manifest to the first (then the second), the
    // frontier to the third.
    const network = await networkOf(["manifest-liar", "honest", "frontier-liar"]);
    network.tampers.set("manifest-liar", (message) => {
      if (message.kind !== "manifest") return message;
      const manifest = message.manifest.slice();
      manifest[manifest.length - 1]! ^= 1;
      return { ...message, manifest };
    });
    network.tampers.set("frontier-liar", (message) => {
      if (message.kind !== "frontier") return message;
      const hashes = message.hashes.map((hash) => hash.slice());
      hashes[0]![0]! ^= 1;
      return { ...message, hashes };
    });
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.deepEqual(network.bannedByJoiner(), ["frontier-liar", "manifest-liar"]);
  });

  it("bans a peer whose block-sync answer does not match the certified header", async () => {
    const network = await networkOf(["a", "b", "liar"]);
    network.blockTampers.set("liar", (value) => {
      // The certified header with another body: a transaction changed.
      const proposed = decodeProposedBlock(value.bytes);
      const transactions = proposed.transactions.map((transaction) => transaction.slice());
      transactions[0]![transactions[0]!.length - 1]! ^= 1;
      return { hash: value.hash, bytes: encodeProposedBlock({ ...proposed, transactions }) };
    });
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.deepEqual(network.bannedByJoiner(), ["liar"]);
  });

  it("rejects a snapshot whose peers agree on a manifest that is not the header's state, writing nothing, then uses another", async () => {
    const network = await networkOf(["liar-1", "liar-2", "honest"]);
    const forgedChunk = encodeSnapshotChunk(0, [{ key: new Uint8Array(32).fill(7), value: utf8("forged") }]);
    const liarTamper = (height: bigint, stateRoot: Uint8Array): Tamper => {
      const manifest = encodeSnapshotManifest({
        height,
        stateRoot,
        entryCount: 1,
        chunkHashes: [snapshotChunkHash(forgedChunk, sha256)],
      });
      const manifestHash = snapshotManifestHash(manifest, sha256);
      return (message) => {
        switch (message.kind) {
          case "offers":
            return {
              kind: "offers",
              offers: message.offers.map((offer) => ({ ...offer, manifestHash, chunkCount: 1 })),
            };
          case "manifest":
            return { ...message, manifestHash, manifest };
          case "chunk":
            return { ...message, manifestHash, chunk: forgedChunk };
          default:
            return message;
        }
      };
    };
    const header = (await source.blockByHeight(HEIGHT))!.header;
    for (const liar of ["liar-1", "liar-2"]) {
      network.tampers.set(liar, liarTamper(HEIGHT, header.stateRoot));
      // The liar serves its forged manifest hash as if it were the snapshot it holds.
      const real = network.servers.get(liar)!.offers()[0]!.manifestHash;
      network.requestTampers.set(liar, (message) =>
        message.kind === "manifestRequest" || message.kind === "chunkRequest"
          ? { ...message, manifestHash: real }
          : message,
      );
    }
    const { result, target } = await joinOver(network);
    await assertJoined(result, target);
    assert.deepEqual(network.bannedByJoiner(), ["liar-1", "liar-2"]);
  });

  it("writes nothing and says so when only liars offer, or nobody offers", async () => {
    const liars = await networkOf(["liar"]);
    liars.tampers.set("liar", (message) =>
      message.kind === "chunk" ? { ...message, chunk: utf8("x") } : message,
    );
    const lied = await joinOver(liars);
    assert.equal(lied.result.joined, false);
    assert.equal(await lied.target.head(), null, "a failed join writes nothing");
    assert.deepEqual(liars.bannedByJoiner(), ["liar"]);

    const silentNetwork = new Network(source);
    silentNetwork.add("empty", await serverOf({ intervalHeights: 0 }));
    const started = Date.now();
    const none = await joinOver(silentNetwork);
    assert.deepEqual(none.result.joined ? "joined" : none.result.code, "SNAPSHOT_SYNC_NO_OFFER");
    assert.ok(
      Date.now() - started < TIMING.discoveryTimeoutMs,
      "every configured peer answered: no need to wait",
    );
    assert.equal(await none.target.head(), null);
  });
});

describe("snapshot serving", () => {
  let directory: string;
  let source: Store;
  const chain = new TestChain({ seed: 5, txsPerBlock: 4, senders: 3 });

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-snapshot-serve-"));
    source = await openStore(join(directory, "source"));
    const ledger = await PersistentLedger.open(source);
    for (let height = 1n; height <= HEAD; height++) await chain.commitNext(ledger);
  });

  after(async () => {
    await source.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function harness(options: { nowMs?: () => number } = {}) {
    const sent: SnapshotWireMessage[] = [];
    const penalties: Array<{ reason: string; points: number }> = [];
    const outcomes = new Map<string, number>();
    const server = new SnapshotServer({
      store: source,
      logger: silent,
      metrics: {
        snapshotExport: { observe: () => {} },
        snapshotHeight: { set: () => {} },
        snapshotRequests: {
          inc: ({ kind, outcome }) =>
            outcomes.set(`${kind}/${outcome}`, (outcomes.get(`${kind}/${outcome}`) ?? 0) + 1),
        },
      },
      intervalHeights: 4,
      keptMax: 2,
      chunkEntriesMax: 2,
      ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
    });
    server.attach({
      send: (_peer, message) => sent.push(decodeSnapshotMessage(encodeSnapshotMessage(message))),
      penalize: (_peer, reason, points) => penalties.push({ reason, points }),
    });
    const ask = (message: SnapshotWireMessage) => server.receive("peer", encodeSnapshotMessage(message));
    return { server, sent, penalties, ask, outcomes };
  }

  it("exports at multiples of the interval, keeps the newest, and offers them with their certified headers", async () => {
    const { server, sent, ask } = harness();
    server.start(HEAD - 1n);
    await server.whenIdle();
    for (let height = HEAD - 1n; height <= HEAD; height++) server.onCommitted(height);
    await server.whenIdle();
    server.exportAt(4n);
    await server.whenIdle();
    ask({ kind: "offersRequest" });
    const offers = sent.at(-1)!;
    assert.equal(offers.kind, "offers");
    assert.deepEqual(
      offers.kind === "offers" && offers.offers.map((offer) => offer.height),
      [12n, 8n],
      "the two newest, newest first (an older export is not kept)",
    );
    await server.stop();
  });

  it("refuses unknown snapshots, requests past the chunk count, malformed bytes and floods", async () => {
    let nowMs = 1_000_000;
    const { server, sent, penalties, ask, outcomes } = harness({ nowMs: () => nowMs });
    server.exportAt(8n);
    await server.whenIdle();
    const offer = server.offers()[0]!;
    ask({ kind: "manifestRequest", height: 8n, manifestHash: sha256(utf8("other")) });
    assert.deepEqual(sent.at(-1), {
      kind: "refused",
      request: "manifestRequest",
      height: 8n,
      chunkIndex: 0,
      reason: "unknown",
    });
    ask({ kind: "chunkRequest", height: 8n, manifestHash: offer.manifestHash, chunkIndex: offer.chunkCount });
    assert.equal(sent.at(-1)?.kind, "refused");
    assert.deepEqual(penalties.at(-1)?.reason, "message_invalid");
    server.receive("peer", new Uint8Array([1, 99]));
    assert.deepEqual(penalties.at(-1)?.reason, "message_malformed");
    // Three chunk requests at once: two are made, the third is refused as busy.
    for (let index = 0; index < 3; index++) {
      ask({ kind: "chunkRequest", height: 8n, manifestHash: offer.manifestHash, chunkIndex: index });
    }
    assert.deepEqual(sent.at(-1), {
      kind: "refused",
      request: "chunkRequest",
      height: 8n,
      chunkIndex: 2,
      reason: "busy",
    });
    nowMs += 60_000;
    const before = sent.length;
    for (let request = 0; request < 40; request++) ask({ kind: "offersRequest" });
    const answers = sent.slice(before);
    assert.equal(answers.filter((message) => message.kind === "offers").length, 32, "a burst of 32");
    assert.ok(
      answers.slice(32).every((message) => message.kind === "refused" && message.reason === "rateLimited"),
    );
    assert.ok(penalties.some((penalty) => penalty.reason === "rate_exceeded"));
    nowMs += 1_000;
    ask({ kind: "offersRequest" });
    assert.equal(sent.at(-1)?.kind, "offers", "the budget refills");
    await server.stop();
    assert.equal(outcomes.get("offersRequest/rateLimited"), 8);
    assert.equal(outcomes.get("offersRequest/served"), 33);
    assert.equal(outcomes.get("chunkRequest/busy"), 1);
    assert.equal(outcomes.get("chunkRequest/served"), 2, "the two chunks in flight were served");
  });
});
