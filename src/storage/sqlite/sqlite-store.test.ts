import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { runStoreCompliance, type StoreHarness } from "../store.case.ts";
import type { Store } from "../store.ts";
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
    database.prepare("INSERT INTO schema_migrations (version, name) VALUES (2, 'from the future')").run();
    database.close();
    await refusesUnchanged(newer, "STORE_SCHEMA_TOO_NEW");
    const gap = [...SQLITE_MIGRATIONS, { version: 3, name: "third", sql: "CREATE TABLE third (x INTEGER)" }];
    await refusesUnchanged(path, "STORE_MIGRATION_MISSING", gap);
  });

  it("applies a new migration once, and records it", async () => {
    const path = join(directory, "migrating.sqlite");
    await (await openSqliteStore(path)).close();
    const next = [
      ...SQLITE_MIGRATIONS,
      { version: 2, name: "second", sql: "CREATE TABLE second_table (x INTEGER)" },
    ];
    await (await openSqliteStore(path, { migrations: next })).close();
    await (await openSqliteStore(path, { migrations: next })).close();
    const database = new Database(path, { readonly: true });
    const versions = database.prepare("SELECT version FROM schema_migrations ORDER BY version").pluck().all();
    database.close();
    assert.deepEqual(versions, [1, 2]);
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
