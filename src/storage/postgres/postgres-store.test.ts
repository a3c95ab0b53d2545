import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { newestVersionOf } from "../migrations.ts";
import { runStoreCompliance, type StoreHarness } from "../store.case.ts";
import type { Store } from "../store.ts";
import { POSTGRES_MIGRATIONS } from "./migrations.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { type PostgresCluster, postgresBinDirectory, startPostgresCluster } from "./test-cluster.ts";

const installed = (await postgresBinDirectory()) !== null;
let cluster: PostgresCluster | undefined;
let databases = 0;

async function sharedCluster(): Promise<PostgresCluster> {
  cluster ??= await startPostgresCluster();
  return cluster;
}

async function tamper(url: string, table: string, column: string, keyColumn: string, key: number | bigint) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query(`SELECT ${column} AS value FROM ${table} WHERE ${keyColumn} = $1`, [
      key.toString(),
    ]);
    const value = Buffer.from(result.rows[0].value as Buffer);
    value[value.length - 1]! ^= 1;
    await client.query(`UPDATE ${table} SET ${column} = $1 WHERE ${keyColumn} = $2`, [value, key.toString()]);
  } finally {
    await client.end();
  }
}

/**
 * Creates the database at `target` with the previous migration list (schema version 1) and copies
 * into it the version-1 columns of every table of the store at `source`: the rows the previous
 * release wrote for the same blocks.
 */
async function copyAsPreviousSchema(source: string, target: string): Promise<void> {
  await (
    await openPostgresStore(target, { migrations: POSTGRES_MIGRATIONS.filter((m) => m.version === 1) })
  ).close();
  const from = new pg.Client({ connectionString: source });
  const to = new pg.Client({ connectionString: target });
  await from.connect();
  await to.connect();
  try {
    const columns = await to.query(
      `SELECT table_name, column_name, is_identity FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name <> 'cityledger_migrations'
       ORDER BY table_name, ordinal_position`,
    );
    const tables = new Map<string, Array<{ name: string; identity: boolean }>>();
    for (const row of columns.rows as Array<{
      table_name: string;
      column_name: string;
      is_identity: string;
    }>) {
      const list = tables.get(row.table_name) ?? [];
      list.push({ name: row.column_name, identity: row.is_identity === "YES" });
      tables.set(row.table_name, list);
    }
    await to.query("BEGIN");
    for (const [table, list] of tables) {
      const names = list.map((column) => column.name).join(", ");
      const rows = await from.query(`SELECT ${names} FROM ${table}`);
      const placeholders = list.map((_, index) => `$${index + 1}`).join(", ");
      const overriding = list.some((column) => column.identity) ? "OVERRIDING SYSTEM VALUE" : "";
      for (const row of rows.rows as Array<Record<string, unknown>>) {
        await to.query(
          `INSERT INTO ${table} (${names}) ${overriding} VALUES (${placeholders})`,
          list.map((column) => row[column.name]),
        );
      }
      for (const column of list.filter((candidate) => candidate.identity)) {
        await to.query(
          `SELECT setval(pg_get_serial_sequence('${table}', '${column.name}'), coalesce(max(${column.name}), 0) + 1, false) FROM ${table}`,
        );
      }
    }
    await to.query("COMMIT");
  } finally {
    await from.end();
    await to.end();
  }
}

describe("PostgreSQL store", { skip: installed ? false : "PostgreSQL is not installed" }, () => {
  after(async () => {
    await cluster?.stop();
  });

  runStoreCompliance({
    name: "postgres",
    setup: async (): Promise<StoreHarness> => {
      const server = await sharedCluster();
      const url = await server.createDatabase(`compliance_${databases++}`);
      const opened: Store[] = [];
      let store = await openPostgresStore(url);
      opened.push(store);
      return {
        get store() {
          return store;
        },
        reopen: async () => {
          await store.close();
          store = await openPostgresStore(url);
          opened.push(store);
          return store;
        },
        createEmpty: async () => {
          const other = await openPostgresStore(await server.createDatabase(`compliance_${databases++}`));
          opened.push(other);
          return other;
        },
        tamperBlockHeader: (height) => tamper(url, "blocks", "header", "height", height),
        tamperTransaction: (logIndex) => tamper(url, "transactions", "encoded", "log_index", logIndex),
        tamperReceipt: (logIndex) => tamper(url, "receipts", "encoded", "log_index", logIndex),
        previousSchemaCopy: async () => {
          const copy = await server.createDatabase(`compliance_${databases++}`);
          await copyAsPreviousSchema(url, copy);
          const upgraded = await openPostgresStore(copy);
          opened.push(upgraded);
          return upgraded;
        },
        opened,
      } as StoreHarness & { opened: Store[] };
    },
    teardown: async (harness) => {
      for (const store of (harness as StoreHarness & { opened: Store[] }).opened) await store.close();
    },
  });

  describe("databases that are not ours, and schema versions", () => {
    let server: PostgresCluster;
    before(async () => {
      server = await sharedCluster();
    });

    async function snapshot(url: string): Promise<string> {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const tables = await client.query(
          "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        );
        const names = tables.rows.map((row: { tablename: string }) => row.tablename);
        const rows: string[] = [];
        for (const name of names) {
          const count = await client.query(`SELECT count(*)::int AS n FROM ${name}`);
          rows.push(`${name}:${count.rows[0].n}`);
        }
        return rows.join(",");
      } finally {
        await client.end();
      }
    }

    async function refusesUnchanged(
      url: string,
      code: string,
      migrations = POSTGRES_MIGRATIONS,
    ): Promise<void> {
      const before = await snapshot(url);
      await assert.rejects(openPostgresStore(url, { migrations }), (error) => {
        assert.equal((error as Error).name, "StoreError");
        assert.equal((error as Error & { code: string }).code, code);
        return true;
      });
      assert.equal(await snapshot(url), before, "the database is unchanged");
    }

    it("refuses a database of another application", async () => {
      const url = await server.createDatabase("other_application");
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query("CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('Ada')");
      await client.end();
      await refusesUnchanged(url, "STORE_NOT_CITYLEDGER");
    });

    it("refuses a newer schema and a missing migration", async () => {
      const url = await server.createDatabase("versions");
      await (await openPostgresStore(url)).close();
      const newest = newestVersionOf(POSTGRES_MIGRATIONS);
      const gap = [
        ...POSTGRES_MIGRATIONS,
        { version: newest + 2, name: "after a gap", sql: "CREATE TABLE after_gap (x INTEGER)" },
      ];
      await refusesUnchanged(url, "STORE_MIGRATION_MISSING", gap);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query("INSERT INTO cityledger_migrations (version, name) VALUES ($1, 'from the future')", [
        newest + 1,
      ]);
      await client.end();
      await refusesUnchanged(url, "STORE_SCHEMA_TOO_NEW");
    });

    it("reports an unreachable server as STORE_UNAVAILABLE", async () => {
      await assert.rejects(openPostgresStore("postgres://postgres@127.0.0.1:1/none"), (error) => {
        assert.equal((error as Error & { code: string }).code, "STORE_UNAVAILABLE");
        return true;
      });
    });
  });
});
