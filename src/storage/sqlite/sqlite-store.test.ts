import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { newestVersionOf, statementsOf } from "../migrations.ts";
import { runStoreCompliance, type StoreHarness } from "../store.case.ts";
import type { Store } from "../store.ts";
import { SQLITE_APPLICATION_ID } from "../store-common.ts";
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

/** The migration list of the previous release (schema version 1). */
const PREVIOUS_MIGRATIONS = SQLITE_MIGRATIONS.filter((migration) => migration.version === 1);
const NEWEST = newestVersionOf(SQLITE_MIGRATIONS);

/**
 * Creates `target` with the previous migration list (schema version 1) and copies into it the
 * version-1 columns of every table of the store at `source`: the rows the previous release wrote
 * for the same blocks (every version-1 column is computed as it was then).
 */
async function copyAsPreviousSchema(source: string, target: string): Promise<void> {
  const database = new Database(target);
  try {
    // What openSqliteStore did with the previous list (this release's store cannot run on it).
    database.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    database.pragma(`application_id = ${SQLITE_APPLICATION_ID}`);
    for (const migration of PREVIOUS_MIGRATIONS) {
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
        const columns = (
          database.prepare(`PRAGMA main.table_info(${table})`).all() as Array<{ name: string }>
        )
          .map((column) => column.name)
          .join(", ");
        database.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM source.${table}`);
      }
    })();
    database.exec("DETACH DATABASE source");
    assert.equal(database.pragma("user_version", { simple: true }), 1);
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
      tamperReceipt: async (logIndex) => tamper(path, "receipts", "encoded", "log_index", logIndex),
      previousSchemaCopy: async () => {
        const copy = join(directory, `previous-${opened.length}.sqlite`);
        await copyAsPreviousSchema(path, copy);
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
