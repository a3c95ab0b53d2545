/**
 * The Store compliance suite (js-libp2p style): every back end runs it unchanged from its own
 * test file, giving a harness that creates an empty store and can tamper with raw rows.
 * @module
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, equalBytes, utf8 } from "../base/bytes.ts";
import { ed25519Suite, sha256 } from "../crypto/index.ts";
import { encodeBlock, keyIdOf, MerkleLog, MerkleLogError, verifyInclusion } from "../ledger/index.ts";
import { verifyStateProof } from "../state/index.ts";
import { PersistentLedger } from "./persistent-ledger.ts";
import {
  createSnapshotManifest,
  encodeSnapshotChunk,
  exportSnapshotChunk,
  exportSnapshotChunks,
  importSnapshot,
  indexSnapshot,
  readLogFrontier,
  SnapshotImport,
  type SnapshotManifest,
} from "./snapshot.ts";
import {
  type BlockEvent,
  type EventQuery,
  METADATA_KEYS,
  type SnapshotBaseBatch,
  type Store,
  type StoredEvent,
} from "./store.ts";
import { type BuiltBlock, receiptRootOf, replayInMemory, TestChain } from "./testing/test-chain.ts";
import { transactionIndexEntriesOf } from "./transaction-index.ts";
import { verifyStore } from "./verify.ts";

export interface StoreHarness {
  /** A new, empty store. */
  readonly store: Store;
  /** Closes the store and opens the same location again. */
  reopen(): Promise<Store>;
  /** Another new, empty store (snapshot import target); closed by teardown. */
  createEmpty(): Promise<Store>;
  /** Flips one byte of the stored header of `height` (the header still decodes). */
  tamperBlockHeader(height: bigint): Promise<void>;
  /** Flips one byte of the stored transaction at `logIndex` (the transaction still decodes). */
  tamperTransaction(logIndex: number): Promise<void>;
  /** Flips the last byte of the stored receipt at `logIndex`. */
  tamperReceipt(logIndex: number): Promise<void>;
  /**
   * A new store created with the previous migration list (schema version 1) holding what the
   * previous release wrote for the blocks of `store` (the version-1 columns of all its rows),
   * then opened with the current migrations (upgraded in place); closed by teardown.
   */
  previousSchemaCopy(): Promise<Store>;
}

export interface StoreComplianceOptions {
  readonly name: string;
  readonly setup: () => Promise<StoreHarness>;
  readonly teardown: (harness: StoreHarness) => Promise<void>;
}

function assertStoreError(error: unknown, code: string): true {
  assert.ok(error instanceof Error, "an Error");
  assert.equal(error.name, code.startsWith("SNAPSHOT") ? "SnapshotError" : "StoreError");
  assert.equal((error as Error & { code: string }).code, code);
  return true;
}

/** Row counts (the size on disk may move for reasons of its own). */
async function counts(store: Store): Promise<Omit<Awaited<ReturnType<Store["statistics"]>>, "sizeBytes">> {
  const { sizeBytes: _sizeBytes, ...rows } = await store.statistics();
  return rows;
}

/** An event as a query returns it, in one comparable line. */
function eventLine(event: StoredEvent): string {
  return [
    event.height,
    event.txIndex,
    event.eventIndex,
    event.logIndex,
    event.contract,
    event.type,
    event.key ?? "<null>",
    bytesToHex(event.data),
  ].join("|");
}

/** The stored form of committed blocks' events, in (log index, event index) order. */
function storedEventsOf(built: readonly BuiltBlock[]): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const { block, events: blockEvents } of built) {
    const firstLogIndex = Number(block.header.logSize) - block.header.txCount;
    for (const event of blockEvents) {
      events.push({
        height: block.header.height,
        txIndex: event.txIndex,
        eventIndex: event.eventIndex,
        logIndex: firstLogIndex + event.txIndex,
        contract: event.contract,
        type: event.type,
        key: event.key,
        data: event.data,
      });
    }
  }
  return events.sort((left, right) => left.logIndex - right.logIndex || left.eventIndex - right.eventIndex);
}

/** What `Store.events(query)` must answer, computed from the events in memory. */
function modelEvents(events: readonly StoredEvent[], query: EventQuery): StoredEvent[] {
  const after = query.afterLogIndex ?? -1;
  return events
    .filter(
      (event) =>
        (query.contract === undefined || event.contract === query.contract) &&
        (query.type === undefined || event.type === query.type) &&
        (query.key === undefined || event.key === query.key) &&
        event.logIndex > after,
    )
    .slice(0, query.limit ?? 1_000);
}

/** Pages through `query` with `limit`, checking every page against the model; returns all rows. */
async function pageThrough(
  store: Store,
  events: readonly StoredEvent[],
  query: EventQuery,
  limit: number,
): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let afterLogIndex: number | undefined;
  for (let pageIndex = 0; pageIndex < 1_000; pageIndex++) {
    const pageQuery: EventQuery = {
      ...query,
      limit,
      ...(afterLogIndex === undefined ? {} : { afterLogIndex }),
    };
    const page = await store.events(pageQuery);
    assert.deepEqual(
      page.map(eventLine),
      modelEvents(events, pageQuery).map(eventLine),
      JSON.stringify(pageQuery),
    );
    all.push(...page);
    if (page.length < limit) return all;
    afterLogIndex = page[page.length - 1]!.logIndex;
  }
  assert.fail("paging ends");
}

async function commitBlocks(
  ledger: PersistentLedger,
  chain: TestChain,
  count: number,
): Promise<BuiltBlock[]> {
  const built: BuiltBlock[] = [];
  for (let index = 0; index < count; index++) built.push(await chain.commitNext(ledger));
  return built;
}

export function runStoreCompliance(options: StoreComplianceOptions): void {
  describe(`Store compliance: ${options.name}`, () => {
    let harness: StoreHarness;
    let store: Store;
    const chain = new TestChain({ seed: 7, txsPerBlock: 6, senders: 4 });
    let built: BuiltBlock[] = [];
    let ledger: PersistentLedger;

    before(async () => {
      harness = await options.setup();
      store = harness.store;
    });
    after(async () => {
      await options.teardown(harness);
    });

    it("starts empty", async () => {
      assert.equal(await store.head(), null);
      assert.equal(await store.blockByHeight(1n), undefined);
      assert.equal(await store.transactionByHash(new Uint8Array(32)), undefined);
      const statistics = await store.statistics();
      assert.equal(statistics.blocks, 0);
      assert.equal(statistics.transactions, 0);
      assert.deepEqual(await store.walRead(0n), []);
    });

    it("commits blocks and reads them back by height and by hash", async () => {
      await store.writeMetadata([
        [METADATA_KEYS.chainId, utf8(chain.chainId)],
        [METADATA_KEYS.genesisHash, chain.genesisHash],
      ]);
      ledger = await PersistentLedger.open(store);
      built = await commitBlocks(ledger, chain, 5);
      const head = await store.head();
      assert.ok(head !== null);
      assert.equal(head.height, 5n);
      assert.equal(head.logSize, 30);
      for (const { block } of built) {
        const height = block.header.height;
        const byHeight = await store.blockByHeight(height);
        assert.ok(byHeight !== undefined, `block ${height} by height`);
        assert.deepEqual(encodeBlock(byHeight), encodeBlock(block));
        const byHash = await store.blockByHash(block.certificate.blockHash);
        assert.ok(byHash !== undefined, `block ${height} by hash`);
        assert.equal(byHash.header.height, height);
        const certificate = await store.certificateByHeight(height);
        assert.ok(
          certificate !== undefined && equalBytes(certificate.blockHash, block.certificate.blockHash),
        );
        const certificateByHash = await store.certificateByBlockHash(block.certificate.blockHash);
        assert.equal(certificateByHash?.height, height);
      }
      assert.equal(await store.blockByHeight(6n), undefined);
      assert.equal(await store.blockByHash(sha256(utf8("no such block"))), undefined);
      assert.equal(await store.certificateByHeight(6n), undefined);
      assert.ok(equalBytes((await store.readMetadata(METADATA_KEYS.chainId))!, utf8(chain.chainId)));
    });

    it("finds transactions by hash, with their height, index and log index", async () => {
      let logIndex = 0;
      for (const { block, transactions } of built) {
        for (let index = 0; index < transactions.length; index++) {
          const found = await store.transactionByHash(transactions[index]!.hash);
          assert.ok(found !== undefined, `transaction ${logIndex}`);
          assert.equal(found.height, block.header.height);
          assert.equal(found.indexInBlock, index);
          assert.equal(found.logIndex, logIndex);
          assert.ok(equalBytes(found.encoded, block.transactions[index]!));
          assert.ok(equalBytes(found.hash, transactions[index]!.hash));
          logIndex++;
        }
      }
      assert.equal(await store.transactionByHash(sha256(utf8("unknown"))), undefined);
    });

    it("lists transactions by sender and by contract, in log order, page by page", async () => {
      const all = built.flatMap(({ block, transactions }) =>
        transactions.map((entry, index) => ({ entry, height: block.header.height, index })),
      );
      const sender = keyIdOf(ed25519Suite, chain.senders[1]!.publicKey);
      const expected = all
        .filter((item) => equalBytes(item.entry.senderKeyId, sender))
        .map((item) => bytesToHex(item.entry.hash));
      const bySender = await store.transactionsBySender(sender);
      assert.deepEqual(
        bySender.map((found) => bytesToHex(found.hash)),
        expected,
      );
      const first = await store.transactionsBySender(sender, { limit: 3 });
      const rest = await store.transactionsBySender(sender, {
        afterLogIndex: first[first.length - 1]!.logIndex,
      });
      assert.deepEqual(
        [...first, ...rest].map((found) => bytesToHex(found.hash)),
        expected,
      );
      const expectedPermits = all
        .filter((item) => item.entry.contract === "permits")
        .map((item) => bytesToHex(item.entry.hash));
      const byContract = await store.transactionsByContract("permits");
      assert.deepEqual(
        byContract.map((found) => bytesToHex(found.hash)),
        expectedPermits,
      );
      const page = await store.transactionsByContract("permits", {
        limit: 2,
        afterLogIndex: byContract[0]!.logIndex,
      });
      assert.deepEqual(
        page.map((found) => found.logIndex),
        byContract.slice(1, 3).map((found) => found.logIndex),
      );
      assert.deepEqual(await store.transactionsByContract("nobody"), []);
      assert.deepEqual(await store.transactionsBySender(sha256(utf8("nobody"))), []);
      await assert.rejects(store.transactionsByContract("permits", { limit: 0 }), (error) =>
        assertStoreError(error, "STORE_QUERY_INVALID"),
      );
      await assert.rejects(store.transactionsBySender(new Uint8Array(3)), (error) =>
        assertStoreError(error, "STORE_QUERY_INVALID"),
      );
    });

    it("keeps each block's receipts in order, and finds a transaction's receipt", async () => {
      for (const { block, transactions, receipts } of built) {
        const height = block.header.height;
        const stored = await store.receiptsByHeight(height);
        assert.ok(stored !== undefined, `receipts of block ${height}`);
        assert.deepEqual(stored.map(bytesToHex), receipts.map(bytesToHex));
        assert.ok(equalBytes(receiptRootOf(stored), block.header.receiptRoot));
        for (let index = 0; index < transactions.length; index++) {
          const receipt = await store.receiptOfTransaction(transactions[index]!.hash);
          assert.ok(receipt !== undefined);
          assert.equal(receipt.height, height);
          assert.equal(receipt.indexInBlock, index);
          assert.ok(equalBytes(receipt.encoded, receipts[index]!));
        }
      }
      assert.equal(await store.receiptsByHeight(99n), undefined);
      assert.equal(await store.receiptOfTransaction(sha256(utf8("unknown"))), undefined);
      assert.equal((await store.statistics()).receipts, 30);
      await assert.rejects(store.receiptsByHeight(-1n), (error) =>
        assertStoreError(error, "STORE_QUERY_INVALID"),
      );
      await assert.rejects(store.receiptOfTransaction(new Uint8Array(3)), (error) =>
        assertStoreError(error, "STORE_QUERY_INVALID"),
      );
    });

    it("lists events by every combination of contract, type and key, page by page", async () => {
      const events = storedEventsOf(built);
      assert.ok(events.some((event) => event.key === null) && events.some((event) => event.key !== null));
      const contracts = [undefined, "permits", "notary", "nobody"];
      const types = [undefined, "permits.recorded", "audit.flagged", "no.such.type"];
      const keys = [undefined, "subject/0", "subject/3", "no-such-key"];
      let nonEmpty = 0;
      for (const contract of contracts) {
        for (const type of types) {
          for (const key of keys) {
            const query: EventQuery = {
              ...(contract === undefined ? {} : { contract }),
              ...(type === undefined ? {} : { type }),
              ...(key === undefined ? {} : { key }),
            };
            const whole = await store.events(query);
            assert.deepEqual(
              whole.map(eventLine),
              modelEvents(events, query).map(eventLine),
              JSON.stringify(query),
            );
            if (whole.length > 0) nonEmpty++;
            const paged = await pageThrough(store, events, query, 2);
            assert.ok(paged.length <= whole.length);
          }
        }
      }
      assert.ok(nonEmpty >= 20, "most combinations find events");
      const flagged = await store.events({ type: "audit.flagged" });
      assert.ok(flagged.length > 0 && flagged.every((event) => equalBytes(event.data, utf8("x"))));
      const unkeyed = (await store.events({})).filter((event) => event.key === null);
      assert.ok(unkeyed.length > 0, "events without a key come back with key null");
      for (const invalid of [
        { limit: 0 },
        { key: "" },
        { key: "k".repeat(129) },
        { key: "\ud800" },
        { type: "t".repeat(65) },
        { afterLogIndex: -2 },
      ]) {
        await assert.rejects(store.events(invalid), (error) =>
          assertStoreError(error, "STORE_QUERY_INVALID"),
        );
      }
    });

    it("answers random event queries like an in-memory model (property)", async () => {
      const target = await harness.createEmpty();
      const randomChain = new TestChain({ seed: 23, txsPerBlock: 4, senders: 2, stateWrites: false });
      const randomLedger = await PersistentLedger.open(target);
      const contracts = ["permits", "registry", "notary"];
      const types = ["a.created", "a.closed", "b.noted"];
      const keys = [null, "k0", "k1", "k2", "ключ/é", "x".repeat(128)];
      const eventsOfBlock = fc.array(
        fc.array(
          fc.record({
            contract: fc.constantFrom(...contracts),
            type: fc.constantFrom(...types),
            key: fc.constantFrom(...keys),
            data: fc.uint8Array({ maxLength: 4 }),
          }),
          { maxLength: 3 },
        ),
        { minLength: 4, maxLength: 4 },
      );
      const blocks = fc.sample(eventsOfBlock, { numRuns: 12, seed: 1234 });
      const committed: BuiltBlock[] = [];
      for (const perTransaction of blocks) {
        const events: BlockEvent[] = perTransaction.flatMap((list, txIndex) =>
          list.map((event, eventIndex) => ({ txIndex, eventIndex, ...event })),
        );
        committed.push(await randomChain.commitNext(randomLedger, { events }));
      }
      const events = storedEventsOf(committed);
      assert.equal((await target.statistics()).events, events.length);
      const query = fc.record(
        {
          contract: fc.constantFrom(...contracts, "absent"),
          type: fc.constantFrom(...types, "absent.type"),
          key: fc.constantFrom("k0", "k1", "k2", "ключ/é", "x".repeat(128), "absent-key"),
          afterLogIndex: fc.integer({ min: -1, max: 50 }),
          limit: fc.integer({ min: 1, max: 8 }),
        },
        { requiredKeys: [] },
      );
      await fc.assert(
        fc.asyncProperty(query, async (generated) => {
          const found = await target.events(generated);
          assert.deepEqual(found.map(eventLine), modelEvents(events, generated).map(eventLine));
          const { afterLogIndex: _after, ...filters } = generated;
          await pageThrough(target, events, filters, generated.limit ?? 3);
        }),
        { numRuns: 150, seed: 99 },
      );
    });

    it("upgrades a store of the previous schema in place: old events have key null, old blocks no receipts", async () => {
      const upgraded = await harness.previousSchemaCopy();
      const head = await upgraded.head();
      assert.equal(head?.height, 5n);
      for (const { block } of built) {
        const height = block.header.height;
        assert.deepEqual(encodeBlock((await upgraded.blockByHeight(height))!), encodeBlock(block));
        assert.equal(await upgraded.receiptsByHeight(height), undefined, `no receipts at ${height}`);
      }
      assert.equal(await upgraded.receiptOfTransaction(built[0]!.transactions[0]!.hash), undefined);
      const oldEvents = storedEventsOf(built).map((event) => ({ ...event, key: null }));
      assert.deepEqual((await upgraded.events({})).map(eventLine), oldEvents.map(eventLine));
      assert.deepEqual(
        (await upgraded.events({ contract: "permits", type: "permits.recorded" })).map(eventLine),
        modelEvents(oldEvents, { contract: "permits", type: "permits.recorded" }).map(eventLine),
      );
      assert.deepEqual(await upgraded.events({ key: "subject/0" }), []);
      assert.equal((await verifyStore(upgraded)).ok, true);
      const upgradedLedger = await PersistentLedger.open(upgraded);
      const next = await chain.commitNext(upgradedLedger);
      const receipts = await upgraded.receiptsByHeight(6n);
      assert.deepEqual(receipts?.map(bytesToHex), next.receipts.map(bytesToHex));
      const keyed = await upgraded.events({ key: "subject/0" });
      assert.ok(keyed.length > 0 && keyed.every((event) => event.height === 6n));
      const report = await verifyStore(upgraded);
      assert.ok(report.ok && report.height === 6n);
    });

    it("keeps chain metadata, and refuses to let callers write the head", async () => {
      await store.writeMetadata([["operator_note", utf8("hello")]]);
      assert.ok(equalBytes((await store.readMetadata("operator_note"))!, utf8("hello")));
      assert.equal(await store.readMetadata("absent_key"), undefined);
      await assert.rejects(store.writeMetadata([[METADATA_KEYS.headHeight, new Uint8Array(8)]]), (error) =>
        assertStoreError(error, "STORE_BATCH_INVALID"),
      );
      await assert.rejects(store.writeMetadata([["Bad Key!", new Uint8Array(1)]]), (error) =>
        assertStoreError(error, "STORE_BATCH_INVALID"),
      );
    });

    it("appends, reads and prunes the consensus WAL in append order", async () => {
      await store.walAppend(7n, utf8("a"));
      await store.walAppend(8n, utf8("b"));
      await store.walAppend(7n, utf8("c"));
      await store.walAppend(9n, utf8("d"));
      const fromEight = await store.walRead(8n);
      assert.deepEqual(
        fromEight.map((item) => [item.height, Buffer.from(item.record).toString()]),
        [
          [8n, "b"],
          [9n, "d"],
        ],
      );
      const all = await store.walRead(0n);
      assert.deepEqual(
        all.map((item) => Buffer.from(item.record).toString()),
        ["a", "b", "c", "d"],
      );
      await store.walPrune(9n);
      assert.deepEqual(
        (await store.walRead(0n)).map((item) => item.height),
        [9n],
      );
      await assert.rejects(store.walAppend(-1n, utf8("x")), (error) =>
        assertStoreError(error, "STORE_QUERY_INVALID"),
      );
    });

    it("refuses a block that does not follow the head, changing nothing", async () => {
      const replay = replayInMemory(chain, 5n);
      const stale = chain.seal(
        5n,
        chain.transactionsOf(5n),
        { logRoot: replay.logRoot, logSize: replay.logSize, stateRoot: replay.stateRoot },
        null,
      );
      const before = await counts(store);
      await assert.rejects(
        store.commitBlock({
          block: stale,
          transactions: [],
          receipts: [],
          events: [],
          logNodes: [],
          stateNodes: [],
          metadata: [],
        }),
        (error) => assertStoreError(error, "STORE_HEIGHT_MISMATCH"),
      );
      assert.deepEqual(await counts(store), before);
      assert.equal((await store.head())?.height, 5n);
    });

    it("writes a batch atomically: a failure part-way leaves nothing of it", async () => {
      const before = await counts(store);
      const headBefore = await store.head();
      const height = 6n;
      const transactions = chain.transactionsOf(height);
      const { transactionIndexEntriesOf } = await import("./transaction-index.ts");
      const entries = transactionIndexEntriesOf(transactions, store.hash);
      for (const entry of entries) ledger.log.append(entry.hash);
      const stateRoot = await ledger.applyState(chain.stateUpdatesOf(height));
      const previous = {
        blockHash: headBefore!.blockHash,
        certificate: (await store.certificateByHeight(5n))!,
      };
      const block = chain.seal(
        height,
        transactions,
        { logRoot: ledger.log.root(), logSize: ledger.log.size, stateRoot },
        previous,
      );
      const logNodes = ledger.logNodes.pendingEntries();
      const receipts = chain.receiptsOf(height, transactions);
      const batch = {
        block,
        transactions: entries,
        receipts,
        events: chain.eventsOf(height),
        logNodes,
        stateNodes: ledger.stateNodes.pendingEntries(),
        metadata: [["partial_marker", utf8("must not appear")] as const],
      };
      // Refused before anything is written: a receipt short, one too many, one too large, a bad key.
      const refused = [
        { ...batch, receipts: receipts.slice(1) },
        { ...batch, receipts: [...receipts, receipts[0]!] },
        { ...batch, receipts: [new Uint8Array(16 * 1024 + 1), ...receipts.slice(1)] },
        { ...batch, events: [{ ...batch.events[0]!, key: "k".repeat(129) }, ...batch.events.slice(1)] },
        { ...batch, events: [{ ...batch.events[0]!, key: "" }, ...batch.events.slice(1)] },
      ];
      for (const invalid of refused) {
        await assert.rejects(store.commitBlock(invalid), (error) =>
          assertStoreError(error, "STORE_BATCH_INVALID"),
        );
      }
      assert.deepEqual(await counts(store), before);
      // The last log node repeats the first: the back end's key constraint fails after the
      // block, transaction, receipt, event and state-node rows were written inside the transaction.
      await assert.rejects(store.commitBlock({ ...batch, logNodes: [...logNodes, logNodes[0]!] }), (error) =>
        assertStoreError(error, "STORE_WRITE_FAILED"),
      );
      assert.deepEqual(await counts(store), before);
      assert.equal(await store.receiptsByHeight(height), undefined);
      assert.equal(await store.receiptOfTransaction(entries[0]!.hash), undefined);
      assert.equal((await store.head())?.height, 5n);
      assert.equal(await store.blockByHeight(height), undefined);
      assert.equal(await store.transactionByHash(entries[0]!.hash), undefined);
      assert.equal(await store.readMetadata("partial_marker"), undefined);
      // A ledger whose commit failed is stale; reopened from the store it commits the block.
      ledger = await PersistentLedger.open(store);
      built.push(await chain.commitNext(ledger));
      assert.equal((await store.head())?.height, height);
    });

    it("reopens: the log and the state tree continue with identical roots and proofs", async () => {
      const head = await store.head();
      assert.ok(head !== null);
      const key = sha256(utf8("nonce/1"));
      const proofBefore = await ledger.proveState(key);
      const inclusionBefore = await ledger.inclusionProof(3, ledger.log.size);
      const consistencyBefore = await ledger.consistencyProof(10, ledger.log.size);
      store = await harness.reopen();
      ledger = await PersistentLedger.open(store);
      assert.ok(equalBytes(ledger.log.root(), head.logRoot));
      assert.ok(equalBytes(ledger.tree.root, head.stateRoot));
      const proofAfter = await ledger.proveState(key);
      assert.deepEqual(proofAfter, proofBefore);
      assert.ok(
        verifyStateProof(head.stateRoot, key, (await ledger.readState(key)) ?? null, proofAfter, store.hash),
      );
      const inclusionAfter = await ledger.inclusionProof(3, ledger.log.size);
      assert.deepEqual(inclusionAfter, inclusionBefore);
      const transaction = await store.transactionsByContract("permits", { limit: 1, afterLogIndex: 2 });
      assert.ok(
        verifyInclusion(transaction[0]!.hash, 3, ledger.log.size, inclusionAfter, head.logRoot, store.hash),
      );
      assert.deepEqual(await ledger.consistencyProof(10, ledger.log.size), consistencyBefore);
      built.push(...(await commitBlocks(ledger, chain, 3)));
      const replay = replayInMemory(chain, 9n);
      assert.ok(equalBytes(ledger.log.root(), replay.logRoot), "log root equals the replay's");
      assert.ok(equalBytes(ledger.tree.root, replay.stateRoot), "state root equals the replay's");
      for (let height = 1n; height <= 9n; height++) {
        const block = await store.blockByHeight(height);
        assert.ok(
          equalBytes(block!.certificate.blockHash, replay.blockHashes[Number(height) - 1]!),
          `block ${height}`,
        );
      }
      const inMemory = new MerkleLog();
      for (let index = 0; index < replay.logSize; index++)
        inMemory.appendLeafHash(replay.log.leafHash(index));
      assert.deepEqual(
        await ledger.inclusionProof(17, replay.logSize),
        inMemory.inclusionProof(17, replay.logSize),
      );
      assert.deepEqual(
        (await store.walRead(0n)).map((item) => item.height),
        [9n],
        "the WAL survives a reopen",
      );
    });

    it("exports a state snapshot and imports it on another store after verifying it", async () => {
      const chunkEntriesMax = 4;
      const manifest = await createSnapshotManifest(store, 9n, { chunkEntriesMax });
      const chunks: Uint8Array[] = [];
      for await (const chunk of exportSnapshotChunks(store, manifest, { chunkEntriesMax }))
        chunks.push(chunk);
      assert.equal(chunks.length, manifest.chunkHashes.length);
      assert.ok(chunks.length >= 3, "several chunks");
      const replay = replayInMemory(chain, 9n);
      assert.equal(manifest.entryCount, [...replay.tree.entries()].length);
      const target = await harness.createEmpty();
      const trusted = manifest.stateRoot;
      const emptyCounts = await target.statistics();
      const rejects = async (
        manifestUsed: SnapshotManifest,
        stream: Uint8Array[],
        code: string,
        chunkIndex?: number,
      ): Promise<void> => {
        await assert.rejects(
          importSnapshot(target, manifestUsed, stream, { trustedStateRoot: trusted }),
          (error) => {
            assertStoreError(error, code);
            if (chunkIndex !== undefined) {
              assert.equal(
                (error as Error & { details: { chunkIndex: number } }).details.chunkIndex,
                chunkIndex,
              );
            }
            return true;
          },
        );
        assert.deepEqual(
          (await target.statistics()).stateNodes,
          emptyCounts.stateNodes,
          "nothing was imported",
        );
        assert.equal(await target.readMetadata(METADATA_KEYS.snapshotHeight), undefined);
      };
      const damaged = chunks.map((chunk) => chunk.slice());
      damaged[1]![damaged[1]!.length - 1]! ^= 1;
      await rejects(manifest, damaged, "SNAPSHOT_CHUNK_HASH_MISMATCH", 1);
      await rejects(
        manifest,
        [chunks[1]!, chunks[0]!, ...chunks.slice(2)],
        "SNAPSHOT_CHUNK_HASH_MISMATCH",
        0,
      );
      await rejects(manifest, [chunks[0]!, ...chunks.slice(2)], "SNAPSHOT_CHUNK_HASH_MISMATCH", 1);
      await rejects(manifest, chunks.slice(0, -1), "SNAPSHOT_CHUNK_MISSING", chunks.length - 1);
      const forgedChunk = encodeSnapshotChunk(2, [
        { key: new Uint8Array(32).fill(0xff), value: utf8("forged") },
      ]);
      await rejects(
        manifest,
        [chunks[0]!, chunks[1]!, forgedChunk, ...chunks.slice(3)],
        "SNAPSHOT_CHUNK_HASH_MISMATCH",
        2,
      );
      await rejects(manifest, [...chunks, chunks[0]!], "SNAPSHOT_CHUNK_EXTRA", chunks.length);
      const forged = { ...manifest, stateRoot: sha256(utf8("forged")) };
      await rejects(forged, chunks, "SNAPSHOT_MANIFEST_INVALID");
      const result = await importSnapshot(target, manifest, chunks, { trustedStateRoot: trusted });
      assert.ok(equalBytes(result.stateRoot, trusted));
      const imported = await PersistentLedger.open(target);
      const key = sha256(utf8("nonce/2"));
      assert.deepEqual(await imported.readState(key, trusted), replay.tree.get(key));
    });

    it("starts another store from a snapshot base at height 6 and goes on from there", async () => {
      const height = 6n;
      const chunkEntriesMax = 4;
      const snapshot = await indexSnapshot(store, height, { chunkEntriesMax });
      const chunks: Uint8Array[] = [];
      for (let index = 0; index < snapshot.manifest.chunkHashes.length; index++) {
        chunks.push(await exportSnapshotChunk(store, snapshot, index));
      }
      const sequential: Uint8Array[] = [];
      for await (const chunk of exportSnapshotChunks(store, snapshot.manifest, { chunkEntriesMax }))
        sequential.push(chunk);
      assert.deepEqual(chunks, sequential, "any one chunk is the one the sequential export makes");
      const block = await store.blockByHeight(height);
      assert.ok(block !== undefined);
      const staged = new SnapshotImport(snapshot.manifest, {
        trustedStateRoot: block.header.stateRoot,
        hash: store.hash,
      });
      for (const chunk of chunks) staged.addChunk(chunk);
      const { nodes } = staged.finish();
      const logSize = Number(block.header.logSize);
      const frontier = await readLogFrontier(store, logSize, block.header.logRoot);
      assert.equal(frontier.length, logSize.toString(2).replaceAll("0", "").length);
      const base: SnapshotBaseBatch = {
        block,
        transactions: transactionIndexEntriesOf(block.transactions, store.hash),
        logNodes: frontier,
        stateNodes: nodes,
        metadata: [
          [METADATA_KEYS.chainId, utf8(chain.chainId)],
          [METADATA_KEYS.genesisHash, chain.genesisHash],
        ],
      };
      const target = await harness.createEmpty();
      await assert.rejects(store.importSnapshotBase(base), (error) =>
        assertStoreError(error, "STORE_NOT_EMPTY"),
      );
      const changedFrontier = frontier.map((node) => ({ ...node, hash: node.hash.slice() }));
      changedFrontier[0]!.hash[0]! ^= 1;
      const refused: SnapshotBaseBatch[] = [
        { ...base, logNodes: frontier.slice(1) },
        { ...base, logNodes: changedFrontier },
        { ...base, stateNodes: nodes.filter(([hash]) => !equalBytes(hash, block.header.stateRoot)) },
        { ...base, block: { ...block, certificate: { ...block.certificate, blockHash: sha256(utf8("x")) } } },
        { ...base, block: { ...block, transactions: block.transactions.slice(1) } },
      ];
      for (const batch of refused) {
        await assert.rejects(target.importSnapshotBase(batch), (error) =>
          assertStoreError(error, "STORE_BATCH_INVALID"),
        );
      }
      assert.equal(await target.head(), null, "a refused base writes nothing");
      assert.equal((await target.statistics()).stateNodes, 0);
      await target.importSnapshotBase(base);
      const head = await target.head();
      assert.ok(head !== null);
      assert.equal(head.height, height);
      assert.equal(head.logSize, logSize);
      assert.equal(await target.blockByHeight(height - 1n), undefined, "nothing below the snapshot");
      assert.deepEqual(encodeBlock((await target.blockByHeight(height))!), encodeBlock(block));
      const baseReport = await verifyStore(target);
      assert.ok(baseReport.ok && baseReport.firstHeight === height && baseReport.height === height);
      assert.equal(await target.receiptsByHeight(height), undefined, "a snapshot base holds no receipts");
      const continued = await PersistentLedger.open(target);
      assert.equal(continued.log.frontierSize, logSize);
      assert.ok(equalBytes(continued.log.root(), block.header.logRoot));
      await assert.rejects(continued.inclusionProof(3, logSize), (error) => {
        assert.ok(error instanceof MerkleLogError);
        assert.equal(error.code, "LOG_BELOW_FRONTIER");
        return true;
      });
      for (let next = height + 1n; next <= 9n; next++) {
        const built = await chain.commitNext(continued);
        const original = await store.blockByHeight(next);
        assert.ok(
          equalBytes(built.block.certificate.blockHash, original!.certificate.blockHash),
          `block ${next}`,
        );
        assert.deepEqual(
          (await target.receiptsByHeight(next))?.map(bytesToHex),
          built.receipts.map(bytesToHex),
        );
      }
      const full = await PersistentLedger.open(store);
      for (const ledgerOfTarget of [continued, await PersistentLedger.open(target)]) {
        assert.ok(equalBytes(ledgerOfTarget.log.root(), full.log.root()));
        assert.ok(equalBytes(ledgerOfTarget.tree.root, full.tree.root));
        assert.deepEqual(
          await ledgerOfTarget.inclusionProof(logSize + 3, full.log.size),
          await full.inclusionProof(logSize + 3, full.log.size),
        );
        assert.deepEqual(
          await ledgerOfTarget.consistencyProof(logSize, full.log.size),
          await full.consistencyProof(logSize, full.log.size),
        );
      }
      const stateEntries = [...replayInMemory(chain, 9n).tree.entries()].length;
      assert.deepEqual(await verifyStore(target), {
        ok: true,
        height: 9n,
        transactions: 54,
        stateEntries,
        firstHeight: height,
      });
      await target.writeMetadata([[METADATA_KEYS.snapshotStateRoot, sha256(utf8("another root"))]]);
      const damaged = await verifyStore(target);
      assert.equal(damaged.ok, false);
      assert.equal(damaged.height, height, "a snapshot record that disagrees with block 6 is damage at 6");
    });

    it("checks a block against its hash when reading it: a tampered row is a typed error", async () => {
      assert.deepEqual(await verifyStore(store), {
        ok: true,
        height: 9n,
        transactions: 54,
        stateEntries: [...replayInMemory(chain, 9n).tree.entries()].length,
        firstHeight: 1n,
      });
      await harness.tamperTransaction(6 * 6 + 2);
      await assert.rejects(store.blockByHeight(7n), (error) => {
        assertStoreError(error, "STORE_CORRUPT");
        assert.equal((error as Error & { details: { height: bigint } }).details.height, 7n);
        return true;
      });
      await harness.tamperBlockHeader(4n);
      await assert.rejects(store.blockByHeight(4n), (error) => assertStoreError(error, "STORE_CORRUPT"));
      const report = await verifyStore(store);
      assert.equal(report.ok, false);
      assert.equal(report.height, 4n, "verifyStore reports the first damaged height");
      // A tampered receipt of block 2 (log index 7): the block itself still reads.
      await harness.tamperReceipt(6 + 1);
      assert.ok((await store.blockByHeight(2n)) !== undefined);
      assert.ok((await store.receiptOfTransaction(built[1]!.transactions[1]!.hash)) !== undefined);
      await assert.rejects(store.receiptsByHeight(2n), (error) => {
        assertStoreError(error, "STORE_RECEIPTS_MISMATCH");
        assert.equal((error as Error & { details: { height: bigint } }).details.height, 2n);
        return true;
      });
      const receiptReport = await verifyStore(store);
      assert.ok(!receiptReport.ok);
      assert.equal(receiptReport.height, 2n);
      assert.equal(receiptReport.code, "STORE_RECEIPTS_MISMATCH");
    });
  });
}
