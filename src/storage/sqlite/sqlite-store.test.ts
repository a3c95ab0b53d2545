import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { bytesToHex, equalBytes } from "../../base/bytes.ts";
import { encodeBlock } from "../../ledger/index.ts";
import { newestVersionOf, statementsOf } from "../migrations.ts";
import { PersistentLedger } from "../persistent-ledger.ts";
import { exportSnapshotChunk, indexSnapshot, readLogFrontier, SnapshotImport } from "../snapshot.ts";
import { runStoreCompliance, type StoreHarness } from "../store.case.ts";
import { METADATA_KEYS, type Store } from "../store.ts";
import { hashPrefixOf, SQLITE_APPLICATION_ID } from "../store-common.ts";
import { type BuiltBlock, TestChain } from "../testing/test-chain.ts";
import { transactionIndexEntriesOf } from "../transaction-index.ts";
import { verifyStore } from "../verify.ts";
import { SQLITE_MIGRATIONS } from "./migrations.ts";
import { openSqliteStore } from "./sqlite-store.ts";

function tamper(path: string, table: string, column: string, keyColumn: string, key: number | bigint): void {
  const database = new Database(path);
  try {
    const value = database
      .prepare(`SELECT ${column} AS value FROM ${table} WHERE ${keyColumn} = ?`)
      .get(key) as { value: Buffer } | undefined;
    assert.ok(value !== undefined, `a ${table} row to tamper with`);
    const changed = Buffer.from(value.value);
    changed[changed.length - 1]! ^= 1;
    database.prepare(`UPDATE ${table} SET ${column} = ? WHERE ${keyColumn} = ?`).run(changed, key);
  } finally {
    database.close();
  }
}

/** Flips the last byte of the receipt at `logIndex` inside its block's receipts row. */
function tamperReceiptInBlockRow(path: string, logIndex: number): void {
  const database = new Database(path);
  try {
    const block = database
      .prepare(
        "SELECT height, first_log_index FROM blocks WHERE first_log_index <= ? AND first_log_index + tx_count > ?",
      )
      .get(logIndex, logIndex) as { height: number; first_log_index: number } | undefined;
    assert.ok(block !== undefined, "a block holds the receipt");
    const row = database
      .prepare("SELECT ends, encoded FROM block_receipts WHERE height = ?")
      .get(block.height) as { ends: Buffer; encoded: Buffer } | undefined;
    assert.ok(row !== undefined, "the block's receipts row");
    const end = row.ends.readUInt32LE((logIndex - block.first_log_index) * 4);
    const changed = Buffer.from(row.encoded);
    changed[end - 1]! ^= 1;
    database.prepare("UPDATE block_receipts SET encoded = ? WHERE height = ?").run(changed, block.height);
  } finally {
    database.close();
  }
}

const NEWEST = newestVersionOf(SQLITE_MIGRATIONS);

/**
 * Creates `target` with the migrations up to `version` (what an older release's openSqliteStore
 * did: this release's store cannot run on them) and copies into it the columns of that version of
 * every table of the store at `source`: the rows the older release wrote for the same blocks.
 * Before version 3 the log nodes were one row per node (`log_nodes`) and the receipts one row per
 * transaction (`receipts`): those are expanded from the source's tiles and per-block rows.
 */
async function copyAsSchema(source: string, target: string, version: number): Promise<void> {
  assert.ok(version < 3, "a schema before log tiles");
  const database = new Database(target);
  try {
    database.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    database.pragma(`application_id = ${SQLITE_APPLICATION_ID}`);
    for (const migration of SQLITE_MIGRATIONS.filter((candidate) => candidate.version <= version)) {
      for (const statement of statementsOf(migration)) database.exec(statement);
      database
        .prepare("INSERT INTO schema_migrations (version, name) VALUES (?, ?)")
        .run(migration.version, migration.name);
      database.pragma(`user_version = ${migration.version}`);
    }
    database.prepare("ATTACH DATABASE ? AS source").run(source);
    const tables = database
      .prepare("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name <> 'schema_migrations'")
      .pluck()
      .all() as string[];
    database.transaction(() => {
      for (const table of tables) {
        if (table === "log_nodes" || table === "receipts") continue;
        const columns = (
          database.prepare(`PRAGMA main.table_info(${table})`).all() as Array<{ name: string }>
        )
          .map((column) => column.name)
          .join(", ");
        database.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM source.${table}`);
      }
      const insertNode = database.prepare("INSERT INTO main.log_nodes (level, idx, hash) VALUES (?, ?, ?)");
      const tiles = database
        .prepare("SELECT level, tile, first_offset, hashes FROM source.log_tiles ORDER BY level, tile")
        .all() as Array<{ level: number; tile: number; first_offset: number; hashes: Buffer }>;
      for (const tile of tiles) {
        for (let offset = 0; offset * 32 < tile.hashes.length; offset++) {
          const index = tile.tile * 256 + tile.first_offset + offset;
          insertNode.run(tile.level, index, tile.hashes.subarray(offset * 32, offset * 32 + 32));
        }
      }
      if (!tables.includes("receipts")) return;
      const insertReceipt = database.prepare("INSERT INTO main.receipts (log_index, encoded) VALUES (?, ?)");
      const blocks = database
        .prepare(
          "SELECT b.first_log_index, r.ends, r.encoded FROM source.block_receipts r JOIN source.blocks b ON b.height = r.height ORDER BY b.height",
        )
        .all() as Array<{ first_log_index: number; ends: Buffer; encoded: Buffer }>;
      for (const block of blocks) {
        let start = 0;
        for (let index = 0; index * 4 < block.ends.length; index++) {
          const end = block.ends.readUInt32LE(index * 4);
          insertReceipt.run(block.first_log_index + index, block.encoded.subarray(start, end));
          start = end;
        }
      }
    })();
    database.exec("DETACH DATABASE source");
    assert.equal(database.pragma("user_version", { simple: true }), version);
  } finally {
    database.close();
  }
}

/** Small deferred-index batches: lookups go through the index tables and the in-memory tails. */
const SMALL_BATCHES = { transactions: 10, stateNodes: 40 };

runStoreCompliance({
  name: "sqlite",
  setup: async (): Promise<StoreHarness> => {
    const directory = mkdtempSync(join(tmpdir(), "cityledger-sqlite-"));
    const path = join(directory, "store.sqlite");
    const opened: Store[] = [];
    let store = await openSqliteStore(path, { indexBatchRows: SMALL_BATCHES });
    opened.push(store);
    return {
      get store() {
        return store;
      },
      reopen: async () => {
        await store.close();
        store = await openSqliteStore(path, { indexBatchRows: SMALL_BATCHES });
        opened.push(store);
        return store;
      },
      createEmpty: async () => {
        const other = await openSqliteStore(join(directory, `other-${opened.length}.sqlite`), {
          indexBatchRows: SMALL_BATCHES,
        });
        opened.push(other);
        return other;
      },
      tamperBlockHeader: async (height) => tamper(path, "blocks", "header", "height", height),
      tamperTransaction: async (logIndex) => tamper(path, "transactions", "encoded", "log_index", logIndex),
      tamperReceipt: async (logIndex) => tamperReceiptInBlockRow(path, logIndex),
      previousSchemaCopy: async () => {
        const copy = join(directory, `previous-${opened.length}.sqlite`);
        await copyAsSchema(path, copy, 1);
        const upgraded = await openSqliteStore(copy, { indexBatchRows: SMALL_BATCHES });
        opened.push(upgraded);
        return upgraded;
      },
      directory,
      opened,
    } as StoreHarness & { directory: string; opened: Store[] };
  },
  teardown: async (harness) => {
    const { directory, opened } = harness as StoreHarness & { directory: string; opened: Store[] };
    for (const store of opened) await store.close();
    rmSync(directory, { recursive: true, force: true });
  },
});

describe("SQLite store: files that are not ours, and schema versions", () => {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-sqlite-bad-"));
  const cleanup = () => rmSync(directory, { recursive: true, force: true });

  async function refusesUnchanged(path: string, code: string, migrations = SQLITE_MIGRATIONS): Promise<void> {
    const before = readFileSync(path);
    await assert.rejects(openSqliteStore(path, { migrations }), (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.name, "StoreError");
      assert.equal((error as Error & { code: string }).code, code);
      return true;
    });
    assert.ok(readFileSync(path).equals(before), "the file is unchanged, byte for byte");
  }

  it("refuses a text file", async () => {
    const path = join(directory, "notes.txt");
    writeFileSync(path, "these are somebody's notes, not a ledger\n".repeat(40));
    await refusesUnchanged(path, "STORE_NOT_CITYLEDGER");
  });

  it("refuses a SQLite database of another application", async () => {
    const path = join(directory, "other-app.sqlite");
    const database = new Database(path);
    database.exec(
      "CREATE TABLE contacts (name TEXT, phone TEXT); INSERT INTO contacts VALUES ('Ada', '555')",
    );
    database.close();
    await refusesUnchanged(path, "STORE_NOT_CITYLEDGER");
  });

  it("refuses a damaged file with a SQLite header", async () => {
    const path = join(directory, "damaged.sqlite");
    const bytes = Buffer.alloc(8192, 0xa5);
    bytes.write("SQLite format 3\0", 0, "latin1");
    writeFileSync(path, bytes);
    const before = readFileSync(path);
    await assert.rejects(openSqliteStore(path), (error) => {
      assert.ok(["STORE_NOT_CITYLEDGER", "STORE_CORRUPT"].includes((error as Error & { code: string }).code));
      return true;
    });
    assert.ok(readFileSync(path).equals(before));
  });

  it("refuses a store from a newer release, and one whose migration this release lacks", async () => {
    const path = join(directory, "store.sqlite");
    await (await openSqliteStore(path)).close();
    const newer = join(directory, "newer.sqlite");
    copyFileSync(path, newer);
    const database = new Database(newer);
    database
      .prepare("INSERT INTO schema_migrations (version, name) VALUES (?, 'from the future')")
      .run(NEWEST + 1);
    database.close();
    await refusesUnchanged(newer, "STORE_SCHEMA_TOO_NEW");
    const gap = [
      ...SQLITE_MIGRATIONS,
      { version: NEWEST + 2, name: "after a gap", sql: "CREATE TABLE after_gap (x INTEGER)" },
    ];
    await refusesUnchanged(path, "STORE_MIGRATION_MISSING", gap);
  });

  it("applies a new migration once, and records it", async () => {
    const path = join(directory, "migrating.sqlite");
    await (await openSqliteStore(path)).close();
    const next = [
      ...SQLITE_MIGRATIONS,
      { version: NEWEST + 1, name: "next", sql: "CREATE TABLE next_table (x INTEGER)" },
    ];
    await (await openSqliteStore(path, { migrations: next })).close();
    await (await openSqliteStore(path, { migrations: next })).close();
    const database = new Database(path, { readonly: true });
    const versions = database.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all();
    database.close();
    assert.deepEqual(
      versions,
      Array.from({ length: NEWEST + 1 }, (_, index) => index + 1),
    );
    await refusesUnchanged(path, "STORE_SCHEMA_TOO_NEW");
  });

  it("does not create a store where the caller asked it not to", async () => {
    await assert.rejects(openSqliteStore(join(directory, "absent.sqlite"), { create: false }), (error) => {
      assert.equal((error as Error & { code: string }).code, "STORE_NOT_FOUND");
      return true;
    });
    cleanup();
  });
});

/** Every row of `sql` in the file at `path`, as comparable text. */
function rawRows(path: string, sql: string): string[] {
  const database = new Database(path, { readonly: true });
  try {
    return (database.prepare(sql).raw().all() as unknown[][]).map((row) =>
      row
        .map((value) => (value instanceof Uint8Array ? Buffer.from(value).toString("hex") : String(value)))
        .join(" "),
    );
  } finally {
    database.close();
  }
}

const TILE_ROWS = "SELECT level, tile, first_offset, hashes FROM log_tiles ORDER BY level, tile";
const RECEIPT_ROWS = "SELECT height, ends, encoded FROM block_receipts ORDER BY height";

/** Everything a reader sees of `store`, in comparable lines (blocks, receipts, events, log nodes, proofs). */
async function readBack(store: Store, built: readonly BuiltBlock[]): Promise<string[]> {
  const lines: string[] = [];
  const { sizeBytes: _sizeBytes, ...counts } = await store.statistics();
  lines.push(JSON.stringify(counts));
  for (const { block, transactions } of built) {
    const height = block.header.height;
    lines.push(Buffer.from(encodeBlock((await store.blockByHeight(height))!)).toString("hex"));
    lines.push(String((await store.receiptsByHeight(height))?.map(bytesToHex)));
    for (const transaction of transactions) {
      const receipt = await store.receiptOfTransaction(transaction.hash);
      lines.push(
        receipt === undefined
          ? "none"
          : `${receipt.height}/${receipt.indexInBlock}/${bytesToHex(receipt.encoded)}`,
      );
    }
  }
  let afterLogIndex: number | undefined;
  for (;;) {
    const page = await store.events({
      limit: 100,
      ...(afterLogIndex === undefined ? {} : { afterLogIndex }),
    });
    for (const event of page)
      lines.push(`${event.logIndex}/${event.eventIndex}/${event.type}/${bytesToHex(event.data)}`);
    if (page.length < 100) break;
    afterLogIndex = page[page.length - 1]!.logIndex;
  }
  const head = await store.head();
  const positions: Array<{ level: number; index: number }> = [];
  for (let level = 0; 2 ** level <= (head?.logSize ?? 0); level++) {
    for (let index = 0; index < Math.floor((head?.logSize ?? 0) / 2 ** level) + 2; index++)
      positions.push({ level, index });
  }
  lines.push(
    ...(await store.readLogNodes(positions)).map((hash) => (hash === undefined ? "-" : bytesToHex(hash))),
  );
  return lines;
}

describe("SQLite store: schema version 3 converts a version-2 store (log tiles, receipts per block)", () => {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-sqlite-v2-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it("reads everything back the same after migrating, and goes on committing the same blocks", async () => {
    // 70 transactions per block: level 0 spans several 256-node tiles, partial ones at block ends.
    const chain = new TestChain({ seed: 5, txsPerBlock: 70 });
    const referencePath = join(directory, "reference.sqlite");
    const reference = await openSqliteStore(referencePath, { indexBatchRows: SMALL_BATCHES });
    const referenceLedger = await PersistentLedger.open(reference);
    const built: BuiltBlock[] = [];
    for (let block = 0; block < 9; block++) built.push(await chain.commitNext(referenceLedger));
    const oldPath = join(directory, "version-2.sqlite");
    await copyAsSchema(referencePath, oldPath, 2);
    assert.equal(
      rawRows(oldPath, "SELECT count(*) FROM log_nodes")[0],
      String((await reference.statistics()).logNodes),
    );
    assert.equal(rawRows(oldPath, "SELECT count(*) FROM receipts")[0], String(9 * 70));

    const upgraded = await openSqliteStore(oldPath, { indexBatchRows: SMALL_BATCHES });
    try {
      assert.deepEqual(rawRows(oldPath, "SELECT max(version) FROM schema_migrations"), [String(NEWEST)]);
      assert.deepEqual(
        rawRows(oldPath, "SELECT name FROM sqlite_master WHERE name IN ('log_nodes', 'receipts')"),
        [],
        "the old tables are gone",
      );
      // The migration builds the same rows as committing block by block did.
      assert.deepEqual(rawRows(oldPath, TILE_ROWS), rawRows(referencePath, TILE_ROWS));
      assert.deepEqual(rawRows(oldPath, RECEIPT_ROWS), rawRows(referencePath, RECEIPT_ROWS));
      assert.deepEqual(await readBack(upgraded, built), await readBack(reference, built));
      const report = await verifyStore(upgraded);
      assert.ok(report.ok && report.height === 9n);
      const upgradedLedger = await PersistentLedger.open(upgraded);
      assert.deepEqual(
        await upgradedLedger.inclusionProof(300, 630),
        await referenceLedger.inclusionProof(300, 630),
      );
      for (let block = 0; block < 3; block++) {
        const next = await chain.commitNext(upgradedLedger);
        const same = await chain.commitNext(referenceLedger);
        assert.ok(equalBytes(next.block.certificate.blockHash, same.block.certificate.blockHash));
        built.push(same);
      }
      assert.deepEqual(rawRows(oldPath, TILE_ROWS), rawRows(referencePath, TILE_ROWS));
      assert.deepEqual(await readBack(upgraded, built), await readBack(reference, built));
      assert.ok((await verifyStore(upgraded)).ok);
    } finally {
      await upgraded.close();
    }

    // A store joined from a snapshot holds only the log's frontier below its base: its levels
    // start inside tiles (first_offset), and the migration keeps them so.
    const height = 5n;
    const snapshot = await indexSnapshot(reference, height, {});
    const block = (await reference.blockByHeight(height))!;
    const staged = new SnapshotImport(snapshot.manifest, {
      trustedStateRoot: block.header.stateRoot,
      hash: reference.hash,
    });
    for (let index = 0; index < snapshot.manifest.chunkHashes.length; index++) {
      staged.addChunk(await exportSnapshotChunk(reference, snapshot, index));
    }
    const basePath = join(directory, "from-snapshot.sqlite");
    const based = await openSqliteStore(basePath, { indexBatchRows: SMALL_BATCHES });
    await based.importSnapshotBase({
      block,
      transactions: transactionIndexEntriesOf(block.transactions, reference.hash),
      logNodes: await readLogFrontier(reference, Number(block.header.logSize), block.header.logRoot),
      stateNodes: staged.finish().nodes,
      metadata: [[METADATA_KEYS.genesisHash, chain.genesisHash]],
    });
    const basedLedger = await PersistentLedger.open(based);
    const basedChain = new TestChain({ seed: 5, txsPerBlock: 70 });
    for (let next = 6; next <= 8; next++) await basedChain.commitNext(basedLedger);
    assert.ok(rawRows(basePath, "SELECT count(*) FROM log_tiles WHERE first_offset > 0")[0] !== "0");
    const basedOldPath = join(directory, "from-snapshot-version-2.sqlite");
    await copyAsSchema(basePath, basedOldPath, 2);
    const basedUpgraded = await openSqliteStore(basedOldPath, { indexBatchRows: SMALL_BATCHES });
    try {
      assert.deepEqual(rawRows(basedOldPath, TILE_ROWS), rawRows(basePath, TILE_ROWS));
      assert.deepEqual(rawRows(basedOldPath, RECEIPT_ROWS), rawRows(basePath, RECEIPT_ROWS));
      const report = await verifyStore(basedUpgraded);
      assert.ok(report.ok && report.firstHeight === height && report.height === 8n);
      assert.deepEqual(
        await readBack(basedUpgraded, built.slice(5, 8)),
        await readBack(based, built.slice(5, 8)),
      );
    } finally {
      await basedUpgraded.close();
      await based.close();
      await reference.close();
    }
  });

  it("refuses to migrate a version-2 store whose log nodes have a hole, and leaves it at version 2", async () => {
    const chain = new TestChain({ seed: 6, txsPerBlock: 20 });
    const sourcePath = join(directory, "hole-source.sqlite");
    const source = await openSqliteStore(sourcePath);
    const ledger = await PersistentLedger.open(source);
    for (let block = 0; block < 3; block++) await chain.commitNext(ledger);
    await source.close();
    const oldPath = join(directory, "hole.sqlite");
    await copyAsSchema(sourcePath, oldPath, 2);
    const nodes = Number(rawRows(oldPath, "SELECT count(*) FROM log_nodes")[0]);
    const database = new Database(oldPath);
    database.prepare("DELETE FROM log_nodes WHERE level = 0 AND idx = 30").run();
    database.close();
    await assert.rejects(openSqliteStore(oldPath), (error) => {
      assert.equal((error as Error & { code: string }).code, "STORE_CORRUPT");
      return true;
    });
    assert.deepEqual(rawRows(oldPath, "SELECT max(version) FROM schema_migrations"), ["2"]);
    assert.equal(rawRows(oldPath, "SELECT count(*) FROM log_nodes")[0], String(nodes - 1));
  });
});

describe("SQLite store: lookups by hash when 8-byte prefixes collide", () => {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-sqlite-collide-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it("skips the other rows with the prefix, indexed or in the in-memory tail, and finds the one", async () => {
    const path = join(directory, "store.sqlite");
    const chain = new TestChain({ seed: 11, txsPerBlock: 6 });
    const store = await openSqliteStore(path, { indexBatchRows: SMALL_BATCHES });
    const ledger = await PersistentLedger.open(store);
    const built: BuiltBlock[] = [];
    // Batches of 10: the index table holds log indexes 0..11, the tail 12..17.
    for (let block = 0; block < 3; block++) built.push(await chain.commitNext(ledger));
    await store.close();
    const hashes = built.flatMap(({ transactions }) => transactions.map((entry) => entry.hash));
    const target = 5;
    const indexedEarlier = 2;
    const inTail = 14;
    const prefix = hashPrefixOf(hashes[target]!);
    // Forge collisions: an indexed row met before the target, and a tail row (the tail is rebuilt
    // from the rows' prefixes when the store opens).
    const database = new Database(path);
    try {
      const indexed = database
        .prepare("UPDATE transaction_hash_index SET hash_prefix = ? WHERE log_index = ?")
        .run(prefix, indexedEarlier);
      assert.equal(indexed.changes, 1, "the earlier row is in the index table");
      const tail = database
        .prepare("UPDATE transactions SET hash_prefix = ? WHERE log_index = ?")
        .run(prefix, inTail);
      assert.equal(tail.changes, 1);
      assert.equal(
        rawRows(path, `SELECT count(*) FROM transaction_hash_index WHERE log_index = ${inTail}`)[0],
        "0",
        "the tail row is not in the index table",
      );
    } finally {
      database.close();
    }
    const reopened = await openSqliteStore(path, { indexBatchRows: SMALL_BATCHES });
    try {
      const found = await reopened.transactionByHash(hashes[target]!);
      assert.equal(found?.logIndex, target);
      assert.ok(found !== undefined && equalBytes(found.encoded, built[0]!.block.transactions[target]!));
      for (const logIndex of [0, 11, 12, 17]) {
        assert.equal((await reopened.transactionByHash(hashes[logIndex]!))?.logIndex, logIndex);
      }
      // The same 8 bytes, another hash: every candidate is skipped.
      const forged = Uint8Array.from(hashes[target]!);
      forged[31]! ^= 1;
      assert.equal(await reopened.transactionByHash(forged), undefined);
    } finally {
      await reopened.close();
    }
  });
});
