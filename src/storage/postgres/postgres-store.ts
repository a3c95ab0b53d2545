/**
 * The scale back end: PostgreSQL through `pg`, the same logical schema and migration numbers as
 * SQLite, a bounded connection pool, one transaction per block batch with one multi-row
 * statement per table (the rows travel as one binary blob plus offset arrays, so no row is
 * hex-encoded and the block costs a handful of round trips, whatever its size).
 * Commits wait for the WAL flush (`synchronous_commit = on`): durable when they resolve.
 * @module
 */
import pg from "pg";
import { assert } from "../../base/assert.ts";
import { equalBytes } from "../../base/bytes.ts";
import { CityLedgerError } from "../../base/errors.ts";
import { sha256 } from "../../crypto/sha256.ts";
import type { HashFunction } from "../../crypto/suite.ts";
import {
  type Block,
  type CommitCertificate,
  encodeBlockHeader,
  encodeCommitCertificate,
  hashEncodedTransaction,
} from "../../ledger/index.ts";
import { StoreError } from "../errors.ts";
import {
  POSTGRES_CONNECT_TIMEOUT_MS,
  POSTGRES_POOL_CONNECTIONS_MAX,
  POSTGRES_STATEMENT_TIMEOUT_MS,
  WAL_READ_RECORDS_MAX,
} from "../limits.ts";
import { type Migration, planMigrations, statementsOf } from "../migrations.ts";
import type {
  BlockBatch,
  BlockRecord,
  ChainHead,
  EventQuery,
  MetadataEntry,
  PageOptions,
  SnapshotBaseBatch,
  StateNodeEntry,
  Store,
  StoredEvent,
  StoredReceipt,
  StoredTransaction,
  StoreStatistics,
  SyncNodeReader,
} from "../store.ts";
import {
  blockOfRecord,
  type CheckedBatch,
  certificateOfRows,
  checkBlockBatch,
  checkEventQuery,
  checkHashArgument,
  checkHeightArgument,
  checkMetadataEntries,
  checkPage,
  checkSnapshotBaseBatch,
  checkWalRecord,
  corrupt,
  decodeEvidenceRow,
  decodeU64,
  eventKeyPrefixOf,
  hashPrefixOf,
  headOf,
  plainBytes,
  receiptsOfRecord,
  stateNodeMatches,
} from "../store-common.ts";
import { senderMatches } from "../transaction-index.ts";
import { POSTGRES_MIGRATIONS } from "./migrations.ts";

export interface PostgresStoreOptions {
  readonly create?: boolean;
  readonly hash?: HashFunction;
  readonly migrations?: readonly Migration[];
}

/** Advisory lock key serializing migrations of one database ("CLDG"). */
const MIGRATION_LOCK_KEY = 0x434c4447;
const SENDER_QUERY_ROUNDS_MAX = 16;

type Queryable = pg.Pool | pg.PoolClient;

/** Many byte strings as one parameter: PostgreSQL cuts them out with substring(). */
class Blob {
  readonly #parts: Uint8Array[] = [];
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  #sizeBytes = 0;

  add(bytes: Uint8Array): void {
    this.#parts.push(bytes);
    this.offsets.push(this.#sizeBytes + 1);
    this.lengths.push(bytes.length);
    this.#sizeBytes += bytes.length;
  }

  buffer(): Buffer {
    return Buffer.concat(this.#parts, this.#sizeBytes);
  }
}

function prefixText(hash: Uint8Array): string {
  return hashPrefixOf(hash).toString();
}

export async function openPostgresStore(
  url: string,
  options: PostgresStoreOptions = {},
): Promise<PostgresStore> {
  try {
    new URL(url);
  } catch {
    throw new StoreError("STORE_LOCATION_INVALID", "the PostgreSQL location is not a URL");
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: POSTGRES_POOL_CONNECTIONS_MAX,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    options: `-c synchronous_commit=on -c statement_timeout=${POSTGRES_STATEMENT_TIMEOUT_MS}`,
  });
  // An idle connection that dies (server restart) must not crash the process: the next query fails.
  pool.on("error", () => {});
  try {
    const plan = await planOpen(pool, options.migrations ?? POSTGRES_MIGRATIONS, options.create ?? true);
    for (const migration of plan) await applyMigration(pool, migration);
    return new PostgresStore(pool, options.hash ?? sha256);
  } catch (error) {
    await pool.end().catch(() => {});
    throw storeErrorOf(error);
  }
}

async function planOpen(
  pool: pg.Pool,
  migrations: readonly Migration[],
  create: boolean,
): Promise<Migration[]> {
  const identity = await pool.query(
    `SELECT to_regclass('cityledger_migrations') IS NOT NULL AS ours,
            (SELECT count(*) FROM pg_tables WHERE schemaname = current_schema())::int AS tables`,
  );
  const row = identity.rows[0] as { ours: boolean; tables: number };
  if (!row.ours) {
    if (row.tables > 0) {
      throw new StoreError(
        "STORE_NOT_CITYLEDGER",
        "the PostgreSQL database holds tables of another application",
      );
    }
    if (!create) throw new StoreError("STORE_NOT_FOUND", "the PostgreSQL database holds no CityLedger store");
    return planMigrations([], migrations);
  }
  const applied = await pool.query("SELECT version FROM cityledger_migrations");
  return planMigrations(
    applied.rows.map((version: { version: number }) => version.version),
    migrations,
  );
}

async function applyMigration(pool: pg.Pool, migration: Migration): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK_KEY]);
    if (migration.version === 1) {
      await client.query(
        "CREATE TABLE IF NOT EXISTS cityledger_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
      );
    }
    const done = await client.query("SELECT 1 FROM cityledger_migrations WHERE version = $1", [
      migration.version,
    ]);
    if (done.rowCount === 0) {
      for (const statement of statementsOf(migration)) await client.query(statement);
      await client.query("INSERT INTO cityledger_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
    }
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

function storeErrorOf(error: unknown): Error {
  if (error instanceof CityLedgerError) return error;
  if (error instanceof Error) {
    const code = (error as Error & { code?: string }).code ?? "";
    return new StoreError("STORE_UNAVAILABLE", `PostgreSQL failed: ${error.message}`, { code });
  }
  return new Error(String(error));
}

interface TransactionRow {
  log_index: string;
  height: string;
  index_in_block: number;
  encoded: Buffer;
}

interface EventRow {
  log_index: string;
  event_index: number;
  type_id: number;
  contract_id: number;
  event_key: string | null;
  data: Buffer;
  height: string;
  index_in_block: number;
}

/**
 * The event query of one filter combination: `$1..` the filters given (contract id, type id,
 * key prefix and key), then after and limit. One statement per combination, so the planner sees
 * plain equalities and picks the index of the most selective one (docs/adr/0002-storage.md).
 */
function eventQuerySql(filters: { contract: boolean; type: boolean; key: boolean }): string {
  const conditions: string[] = [];
  let parameter = 0;
  if (filters.contract) conditions.push(`e.contract_id = $${++parameter}`);
  if (filters.type) conditions.push(`e.type_id = $${++parameter}`);
  if (filters.key) conditions.push(`e.key_prefix = $${++parameter} AND e.event_key = $${++parameter}`);
  conditions.push(`e.log_index > $${++parameter}`);
  // The page is cut in a subquery, then joined: joined first, the planner may merge-join the
  // transactions from log index 0 (measured: 0.9 s instead of 2 ms for a page at 10^6 events).
  return `SELECT e.log_index, e.event_index, e.type_id, e.contract_id, e.event_key, e.data, t.height, t.index_in_block
    FROM (SELECT * FROM events e WHERE ${conditions.join(" AND ")}
          ORDER BY e.log_index, e.event_index LIMIT $${++parameter}) e
    JOIN transactions t ON t.log_index = e.log_index ORDER BY e.log_index, e.event_index`;
}

export class PostgresStore implements Store {
  readonly kind = "postgres";
  readonly hash: HashFunction;
  readonly #pool: pg.Pool;
  readonly #nameIds = new Map<string, number>();
  readonly #namesById = new Map<number, string>();
  #closed = false;

  constructor(pool: pg.Pool, hash: HashFunction) {
    this.#pool = pool;
    this.hash = hash;
  }

  async #query(sql: string, values: unknown[] = [], on: Queryable = this.#pool): Promise<pg.QueryResult> {
    if (this.#closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    try {
      return await on.query(sql, values);
    } catch (error) {
      throw storeErrorOf(error);
    }
  }

  async #metadata(key: string, on: Queryable = this.#pool): Promise<Uint8Array | undefined> {
    const result = await this.#query("SELECT value FROM chain_metadata WHERE key = $1", [key], on);
    const row = result.rows[0] as { value: Buffer } | undefined;
    return row === undefined ? undefined : plainBytes(row.value);
  }

  async #headOn(on: Queryable): Promise<ChainHead | null> {
    const result = await this.#query(
      "SELECT key, value FROM chain_metadata WHERE key IN ('head_height', 'head_hash', 'log_size', 'log_root', 'state_root')",
      [],
      on,
    );
    const values = new Map<string, Uint8Array>();
    for (const row of result.rows as Array<{ key: string; value: Buffer }>)
      values.set(row.key, plainBytes(row.value));
    return headOf((key) => values.get(key));
  }

  async head(): Promise<ChainHead | null> {
    return this.#headOn(this.#pool);
  }

  async commitBlock(batch: BlockBatch): Promise<void> {
    const checked = checkBlockBatch(
      batch,
      await this.head(),
      this.hash,
      encodeBlockHeader,
      encodeCommitCertificate,
    );
    const namesNew = new Map<string, number>();
    await this.#inTransaction(batch.block.header.height, (client) =>
      this.#writeBlock(client, batch, checked, namesNew),
    );
    this.#rememberNames(namesNew);
  }

  async importSnapshotBase(base: SnapshotBaseBatch): Promise<void> {
    const checked = checkSnapshotBaseBatch(
      base,
      await this.head(),
      this.hash,
      encodeBlockHeader,
      encodeCommitCertificate,
    );
    const batch: BlockBatch = { ...base, receipts: [], events: [], stateNodes: [] };
    const namesNew = new Map<string, number>();
    await this.#inTransaction(base.block.header.height, async (client) => {
      // Block writers (commitBlock inserts into blocks) wait for this transaction, or it for them.
      await client.query("LOCK TABLE blocks IN SHARE ROW EXCLUSIVE MODE");
      const blocks = await client.query("SELECT count(*)::int AS n FROM blocks");
      if ((await this.#headOn(client)) !== null || (blocks.rows[0] as { n: number }).n !== 0) {
        throw new StoreError("STORE_NOT_EMPTY", "a snapshot base goes into a store that holds no block");
      }
      await this.#insertBlockRows(client, batch, checked, namesNew, false);
      await this.#insertStateNodesDeduplicated(client, base.stateNodes);
    });
    this.#rememberNames(namesNew);
  }

  #rememberNames(namesNew: ReadonlyMap<string, number>): void {
    for (const [name, id] of namesNew) {
      this.#nameIds.set(name, id);
      this.#namesById.set(id, name);
    }
  }

  /** Runs `write` in one transaction on one connection; rolls back and maps errors on failure. */
  async #inTransaction(height: bigint, write: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    if (this.#closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw storeErrorOf(error);
    }
    let released = false;
    try {
      await client.query("BEGIN");
      await write(client);
      await client.query("COMMIT");
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch {
        // The connection is gone: the server rolls back an unfinished transaction by itself.
        client.release(true);
        released = true;
      }
      if (error instanceof CityLedgerError) throw error;
      const code = (error as Error & { code?: string }).code ?? "";
      // Class 23 (integrity constraint) and 22 (data exception): the batch itself was refused.
      if (code.startsWith("23") || code.startsWith("22")) {
        throw new StoreError(
          "STORE_WRITE_FAILED",
          `the block batch was rolled back: ${(error as Error).message}`,
          {
            height,
            code,
          },
        );
      }
      throw storeErrorOf(error);
    } finally {
      if (!released) client.release();
    }
  }

  async #writeBlock(
    client: pg.PoolClient,
    batch: BlockBatch,
    checked: CheckedBatch,
    namesNew: Map<string, number>,
  ): Promise<void> {
    const { header } = batch.block;
    const locked = await client.query(
      "SELECT value FROM chain_metadata WHERE key = 'head_height' FOR UPDATE",
    );
    const headHeight =
      locked.rows.length === 0 ? 0n : decodeU64(plainBytes(locked.rows[0].value as Buffer), "head_height");
    if (headHeight + 1n !== header.height) {
      throw new StoreError("STORE_HEIGHT_MISMATCH", "the head moved while the block was being written", {
        height: header.height,
      });
    }
    await this.#insertBlockRows(client, batch, checked, namesNew, true);
  }

  /**
   * Inserts a checked block's rows, nodes and metadata (inside the caller's transaction);
   * `receiptsStored`: the batch carries the block's receipts (false for a snapshot base).
   */
  async #insertBlockRows(
    client: pg.PoolClient,
    batch: BlockBatch,
    checked: CheckedBatch,
    namesNew: Map<string, number>,
    receiptsStored: boolean,
  ): Promise<void> {
    const { header } = batch.block;
    await this.#resolveNames(client, batch, namesNew);
    const nameId = (name: string): number => {
      const id = this.#nameIds.get(name) ?? namesNew.get(name);
      assert(id !== undefined, "every name of the batch was resolved");
      return id;
    };
    await client.query(
      `INSERT INTO blocks (height, hash_prefix, hash, header, evidence, first_log_index, tx_count, receipts_stored)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        header.height.toString(),
        prefixText(checked.blockHash),
        Buffer.from(checked.blockHash),
        Buffer.from(checked.header),
        Buffer.from(checked.evidence),
        checked.firstLogIndex,
        header.txCount,
        receiptsStored,
      ],
    );
    await client.query("INSERT INTO certificates (height, certificate) VALUES ($1, $2)", [
      header.height.toString(),
      Buffer.from(checked.certificate),
    ]);
    if (checked.previousCertificate !== null) {
      const replaced = await client.query("UPDATE certificates SET certificate = $1 WHERE height = $2", [
        Buffer.from(checked.previousCertificate),
        (header.height - 1n).toString(),
      ]);
      assert(replaced.rowCount === 1, "the block below has a certificate to replace");
    }
    await this.#insertTransactions(client, batch, checked, nameId);
    assert(receiptsStored || batch.receipts.length === 0, "a block without receipts writes none");
    await this.#insertReceipts(client, batch, checked);
    await this.#insertEvents(client, batch, checked, nameId);
    await this.#insertNodes(client, batch.logNodes, batch.stateNodes);
    await this.#putMetadata(client, checked.metadata);
  }

  async #resolveNames(
    client: pg.PoolClient,
    batch: BlockBatch,
    namesNew: Map<string, number>,
  ): Promise<void> {
    const wanted = new Set<string>();
    for (const entry of batch.transactions)
      if (!this.#nameIds.has(entry.contract)) wanted.add(entry.contract);
    for (const event of batch.events) {
      if (!this.#nameIds.has(event.contract)) wanted.add(event.contract);
      if (!this.#nameIds.has(event.type)) wanted.add(event.type);
    }
    if (wanted.size === 0) return;
    const names = [...wanted].sort();
    await client.query("INSERT INTO names (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", [
      names,
    ]);
    const result = await client.query("SELECT id, name FROM names WHERE name = ANY($1::text[])", [names]);
    for (const row of result.rows as Array<{ id: number; name: string }>) namesNew.set(row.name, row.id);
    assert(namesNew.size === names.length, "every new name has an id");
  }

  async #insertTransactions(
    client: pg.PoolClient,
    batch: BlockBatch,
    checked: CheckedBatch,
    nameId: (name: string) => number,
  ): Promise<void> {
    if (batch.transactions.length === 0) return;
    const blob = new Blob();
    const hashPrefixes: string[] = [];
    const senderPrefixes: string[] = [];
    const contractIds: number[] = [];
    for (let index = 0; index < batch.transactions.length; index++) {
      const entry = batch.transactions[index]!;
      blob.add(batch.block.transactions[index]!);
      hashPrefixes.push(prefixText(entry.hash));
      senderPrefixes.push(prefixText(entry.senderKeyId));
      contractIds.push(nameId(entry.contract));
    }
    await client.query(
      `INSERT INTO transactions (log_index, height, index_in_block, hash_prefix, sender_prefix, contract_id, encoded)
       SELECT $1::bigint + t.n - 1, $2::bigint, t.n - 1, t.hp, t.sp, t.cid, substring($3::bytea FROM t.o FOR t.l)
       FROM unnest($4::bigint[], $5::bigint[], $6::int[], $7::int[], $8::int[]) WITH ORDINALITY AS t(hp, sp, cid, o, l, n)`,
      [
        checked.firstLogIndex,
        batch.block.header.height.toString(),
        blob.buffer(),
        hashPrefixes,
        senderPrefixes,
        contractIds,
        blob.offsets,
        blob.lengths,
      ],
    );
  }

  async #insertReceipts(client: pg.PoolClient, batch: BlockBatch, checked: CheckedBatch): Promise<void> {
    if (batch.receipts.length === 0) return;
    const blob = new Blob();
    for (const receipt of batch.receipts) blob.add(receipt);
    await client.query(
      `INSERT INTO receipts (log_index, encoded)
       SELECT $1::bigint + t.n - 1, substring($2::bytea FROM t.o FOR t.l)
       FROM unnest($3::int[], $4::int[]) WITH ORDINALITY AS t(o, l, n)`,
      [checked.firstLogIndex, blob.buffer(), blob.offsets, blob.lengths],
    );
  }

  async #insertEvents(
    client: pg.PoolClient,
    batch: BlockBatch,
    checked: CheckedBatch,
    nameId: (name: string) => number,
  ): Promise<void> {
    if (batch.events.length === 0) return;
    const blob = new Blob();
    const logIndexes: number[] = [];
    const eventIndexes: number[] = [];
    const typeIds: number[] = [];
    const contractIds: number[] = [];
    const keys: Array<string | null> = [];
    const keyPrefixes: Array<string | null> = [];
    for (const event of batch.events) {
      blob.add(event.data);
      logIndexes.push(checked.firstLogIndex + event.txIndex);
      eventIndexes.push(event.eventIndex);
      typeIds.push(nameId(event.type));
      contractIds.push(nameId(event.contract));
      keys.push(event.key);
      keyPrefixes.push(event.key === null ? null : eventKeyPrefixOf(event.key).toString());
    }
    await client.query(
      `INSERT INTO events (log_index, event_index, type_id, contract_id, event_key, key_prefix, data)
       SELECT t.li, t.ei, t.ti, t.ci, t.k, t.kp, substring($1::bytea FROM t.o FOR t.l)
       FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::text[], $7::bigint[], $8::int[], $9::int[])
         AS t(li, ei, ti, ci, k, kp, o, l)`,
      [
        blob.buffer(),
        logIndexes,
        eventIndexes,
        typeIds,
        contractIds,
        keys,
        keyPrefixes,
        blob.offsets,
        blob.lengths,
      ],
    );
  }

  async #insertNodes(
    client: pg.PoolClient,
    logNodes: BlockBatch["logNodes"],
    stateNodes: readonly StateNodeEntry[],
  ): Promise<void> {
    if (logNodes.length > 0) {
      const blob = new Blob();
      for (const node of logNodes) blob.add(node.hash);
      await client.query(
        `INSERT INTO log_nodes (level, idx, hash)
         SELECT t.lv, t.ix, substring($1::bytea FROM t.o FOR 32)
         FROM unnest($2::smallint[], $3::bigint[], $4::int[]) AS t(lv, ix, o)`,
        [blob.buffer(), logNodes.map((node) => node.level), logNodes.map((node) => node.index), blob.offsets],
      );
    }
    if (stateNodes.length > 0) {
      const blob = new Blob();
      for (const [, encoded] of stateNodes) blob.add(encoded);
      await client.query(
        `INSERT INTO state_nodes (hash_prefix, node)
         SELECT t.hp, substring($1::bytea FROM t.o FOR t.l) FROM unnest($2::bigint[], $3::int[], $4::int[]) AS t(hp, o, l)`,
        [blob.buffer(), stateNodes.map(([nodeHash]) => prefixText(nodeHash)), blob.offsets, blob.lengths],
      );
    }
  }

  async #putMetadata(on: Queryable, entries: readonly MetadataEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const blob = new Blob();
    for (const [, value] of entries) blob.add(value);
    await this.#query(
      `INSERT INTO chain_metadata (key, value)
       SELECT t.k, substring($1::bytea FROM t.o FOR t.l) FROM unnest($2::text[], $3::int[], $4::int[]) AS t(k, o, l)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
      [blob.buffer(), entries.map(([key]) => key), blob.offsets, blob.lengths],
      on,
    );
  }

  async #nameIdForRead(name: string): Promise<number | undefined> {
    const known = this.#nameIds.get(name);
    if (known !== undefined) return known;
    const result = await this.#query("SELECT id FROM names WHERE name = $1", [name]);
    const id = (result.rows[0] as { id: number } | undefined)?.id;
    if (id !== undefined) {
      this.#nameIds.set(name, id);
      this.#namesById.set(id, name);
    }
    return id;
  }

  async #nameOf(id: number): Promise<string> {
    const known = this.#namesById.get(id);
    if (known !== undefined) return known;
    const result = await this.#query("SELECT name FROM names WHERE id = $1", [id]);
    const name = (result.rows[0] as { name: string } | undefined)?.name;
    if (name === undefined) throw corrupt("an index row names an unknown contract or event type", { id });
    this.#namesById.set(id, name);
    this.#nameIds.set(name, id);
    return name;
  }

  async blockRecord(height: bigint): Promise<BlockRecord | undefined> {
    checkHeightArgument(height);
    return this.#record(height, true);
  }

  /** The rows of one block; its receipt rows only when asked (block reads do not need them). */
  async #record(height: bigint, withReceipts: boolean): Promise<BlockRecord | undefined> {
    const blocks = await this.#query(
      `SELECT b.hash, b.header, b.evidence, b.first_log_index, b.tx_count, b.receipts_stored, c.certificate
       FROM blocks b LEFT JOIN certificates c ON c.height = b.height WHERE b.height = $1`,
      [height.toString()],
    );
    const row = blocks.rows[0] as
      | {
          hash: Buffer;
          header: Buffer;
          evidence: Buffer;
          first_log_index: string;
          tx_count: number;
          receipts_stored: boolean;
          certificate: Buffer | null;
        }
      | undefined;
    if (row === undefined) return undefined;
    const firstLogIndex = Number(row.first_log_index);
    const transactions = await this.#query(
      `SELECT log_index, height, index_in_block, encoded FROM transactions
       WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index`,
      [firstLogIndex, firstLogIndex + row.tx_count],
    );
    const receipts = withReceipts
      ? await this.#query(
          "SELECT log_index, encoded FROM receipts WHERE log_index >= $1 AND log_index < $2 ORDER BY log_index",
          [firstLogIndex, firstLogIndex + row.tx_count],
        )
      : { rows: [] };
    return {
      height,
      storedHash: plainBytes(row.hash),
      header: plainBytes(row.header),
      evidence: decodeEvidenceRow(row.evidence, height),
      certificate: row.certificate === null ? undefined : plainBytes(row.certificate),
      firstLogIndex,
      transactions: (transactions.rows as TransactionRow[]).map((transaction) => ({
        logIndex: Number(transaction.log_index),
        height: BigInt(transaction.height),
        indexInBlock: transaction.index_in_block,
        encoded: plainBytes(transaction.encoded),
      })),
      receiptsStored: row.receipts_stored,
      receipts: (receipts.rows as Array<{ log_index: string; encoded: Buffer }>).map((receipt) => ({
        logIndex: Number(receipt.log_index),
        encoded: plainBytes(receipt.encoded),
      })),
    };
  }

  async blockByHeight(height: bigint): Promise<Block | undefined> {
    checkHeightArgument(height);
    const record = await this.#record(height, false);
    return record === undefined ? undefined : blockOfRecord(record, this.hash);
  }

  async receiptsByHeight(height: bigint): Promise<Uint8Array[] | undefined> {
    checkHeightArgument(height);
    const record = await this.#record(height, true);
    return record === undefined ? undefined : receiptsOfRecord(record, this.hash);
  }

  async receiptOfTransaction(hash: Uint8Array): Promise<StoredReceipt | undefined> {
    const transaction = await this.transactionByHash(hash);
    if (transaction === undefined) return undefined;
    const result = await this.#query("SELECT encoded FROM receipts WHERE log_index = $1", [
      transaction.logIndex,
    ]);
    const row = result.rows[0] as { encoded: Buffer } | undefined;
    if (row === undefined) return undefined;
    return {
      height: transaction.height,
      indexInBlock: transaction.indexInBlock,
      encoded: plainBytes(row.encoded),
    };
  }

  async #heightOfBlockHash(blockHash: Uint8Array): Promise<bigint | undefined> {
    checkHashArgument(blockHash, "blockHash");
    const result = await this.#query("SELECT height, hash FROM blocks WHERE hash_prefix = $1", [
      prefixText(blockHash),
    ]);
    const row = (result.rows as Array<{ height: string; hash: Buffer }>).find((candidate) =>
      equalBytes(candidate.hash, blockHash),
    );
    return row === undefined ? undefined : BigInt(row.height);
  }

  async blockByHash(blockHash: Uint8Array): Promise<Block | undefined> {
    const height = await this.#heightOfBlockHash(blockHash);
    return height === undefined ? undefined : this.blockByHeight(height);
  }

  async certificateByHeight(height: bigint): Promise<CommitCertificate | undefined> {
    checkHeightArgument(height);
    const result = await this.#query(
      `SELECT b.hash, b.header, c.certificate FROM blocks b LEFT JOIN certificates c ON c.height = b.height
       WHERE b.height = $1`,
      [height.toString()],
    );
    const row = result.rows[0] as { hash: Buffer; header: Buffer; certificate: Buffer | null } | undefined;
    if (row === undefined) return undefined;
    if (row.certificate === null) throw corrupt("a stored block has no commit certificate", { height });
    return certificateOfRows(
      height,
      plainBytes(row.header),
      plainBytes(row.hash),
      plainBytes(row.certificate),
      this.hash,
    );
  }

  async certificateByBlockHash(blockHash: Uint8Array): Promise<CommitCertificate | undefined> {
    const height = await this.#heightOfBlockHash(blockHash);
    return height === undefined ? undefined : this.certificateByHeight(height);
  }

  #storedTransactionOf(row: TransactionRow, hash?: Uint8Array): StoredTransaction {
    const encoded = plainBytes(row.encoded);
    return {
      hash: hash ?? hashEncodedTransaction(encoded, this.hash),
      height: BigInt(row.height),
      indexInBlock: row.index_in_block,
      logIndex: Number(row.log_index),
      encoded,
    };
  }

  async transactionByHash(hash: Uint8Array): Promise<StoredTransaction | undefined> {
    checkHashArgument(hash, "hash");
    const result = await this.#query(
      "SELECT log_index, height, index_in_block, encoded FROM transactions WHERE hash_prefix = $1 ORDER BY log_index",
      [prefixText(hash)],
    );
    for (const row of result.rows as TransactionRow[]) {
      if (equalBytes(hashEncodedTransaction(row.encoded, this.hash), hash))
        return this.#storedTransactionOf(row, hash);
    }
    return undefined;
  }

  async transactionsBySender(senderKeyId: Uint8Array, page?: PageOptions): Promise<StoredTransaction[]> {
    checkHashArgument(senderKeyId, "senderKeyId");
    const { limit, afterLogIndex } = checkPage(page);
    const results: StoredTransaction[] = [];
    let after = afterLogIndex;
    for (let round = 0; round < SENDER_QUERY_ROUNDS_MAX && results.length < limit; round++) {
      const result = await this.#query(
        `SELECT log_index, height, index_in_block, encoded FROM transactions
         WHERE sender_prefix = $1 AND log_index > $2 ORDER BY log_index LIMIT $3`,
        [prefixText(senderKeyId), after, limit],
      );
      const rows = result.rows as TransactionRow[];
      for (const row of rows) {
        if (results.length < limit && senderMatches(row.encoded, senderKeyId))
          results.push(this.#storedTransactionOf(row));
      }
      if (rows.length < limit) break;
      after = Number(rows[rows.length - 1]!.log_index);
    }
    return results;
  }

  async transactionsByContract(contract: string, page?: PageOptions): Promise<StoredTransaction[]> {
    const { limit, afterLogIndex } = checkEventQuery({ ...page, contract });
    const id = await this.#nameIdForRead(contract);
    if (id === undefined) return [];
    const result = await this.#query(
      `SELECT log_index, height, index_in_block, encoded FROM transactions
       WHERE contract_id = $1 AND log_index > $2 ORDER BY log_index LIMIT $3`,
      [id, afterLogIndex, limit],
    );
    return (result.rows as TransactionRow[]).map((row) => this.#storedTransactionOf(row));
  }

  async events(query: EventQuery): Promise<StoredEvent[]> {
    const { limit, afterLogIndex, contract, type, key } = checkEventQuery(query);
    const parameters: Array<number | string> = [];
    if (contract !== undefined) {
      const contractId = await this.#nameIdForRead(contract);
      if (contractId === undefined) return [];
      parameters.push(contractId);
    }
    if (type !== undefined) {
      const typeId = await this.#nameIdForRead(type);
      if (typeId === undefined) return [];
      parameters.push(typeId);
    }
    if (key !== undefined) parameters.push(eventKeyPrefixOf(key).toString(), key);
    const sql = eventQuerySql({
      contract: contract !== undefined,
      type: type !== undefined,
      key: key !== undefined,
    });
    const result = await this.#query(sql, [...parameters, afterLogIndex, limit]);
    const rows = result.rows as EventRow[];
    assert(rows.length <= limit, "a page holds at most limit rows");
    const events: StoredEvent[] = [];
    for (const row of rows) {
      events.push({
        height: BigInt(row.height),
        txIndex: row.index_in_block,
        eventIndex: row.event_index,
        logIndex: Number(row.log_index),
        contract: await this.#nameOf(row.contract_id),
        type: await this.#nameOf(row.type_id),
        key: row.event_key,
        data: plainBytes(row.data),
      });
    }
    return events;
  }

  async readMetadata(key: string): Promise<Uint8Array | undefined> {
    checkMetadataEntries([[key, new Uint8Array(0)]], true);
    return this.#metadata(key);
  }

  async writeMetadata(entries: readonly MetadataEntry[]): Promise<void> {
    checkMetadataEntries(entries, false);
    await this.#putMetadata(this.#pool, entries);
  }

  async readLogNodes(
    positions: ReadonlyArray<{ level: number; index: number }>,
  ): Promise<Array<Uint8Array | undefined>> {
    if (positions.length === 0) return [];
    const result = await this.#query(
      `SELECT level, idx, hash FROM log_nodes
       WHERE (level, idx) IN (SELECT * FROM unnest($1::smallint[], $2::bigint[]))`,
      [positions.map((position) => position.level), positions.map((position) => position.index)],
    );
    const found = new Map<string, Uint8Array>();
    for (const row of result.rows as Array<{ level: number; idx: string; hash: Buffer }>) {
      found.set(`${row.level}/${row.idx}`, plainBytes(row.hash));
    }
    return positions.map((position) => found.get(`${position.level}/${position.index}`));
  }

  async readStateNodes(hashes: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    if (hashes.length === 0) return [];
    const prefixes = [...new Set(hashes.map(prefixText))];
    const result = await this.#query(
      "SELECT hash_prefix, node FROM state_nodes WHERE hash_prefix = ANY($1::bigint[])",
      [prefixes],
    );
    const byPrefix = new Map<string, Uint8Array[]>();
    for (const row of result.rows as Array<{ hash_prefix: string; node: Buffer }>) {
      const list = byPrefix.get(row.hash_prefix) ?? [];
      list.push(plainBytes(row.node));
      byPrefix.set(row.hash_prefix, list);
    }
    return hashes.map((nodeHash) =>
      (byPrefix.get(prefixText(nodeHash)) ?? []).find((candidate) =>
        stateNodeMatches(nodeHash, candidate, this.hash),
      ),
    );
  }

  syncNodeReader(): SyncNodeReader | null {
    return null;
  }

  async importState(nodes: readonly StateNodeEntry[], metadata: readonly MetadataEntry[]): Promise<void> {
    checkMetadataEntries(metadata, false);
    const client = await this.#pool.connect().catch((error: unknown) => {
      throw storeErrorOf(error);
    });
    try {
      await client.query("BEGIN");
      await this.#insertStateNodesDeduplicated(client, nodes);
      await this.#putMetadata(client, metadata);
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw storeErrorOf(error);
    } finally {
      client.release();
    }
  }

  /** Inserts state nodes in statements of 4,096; a node already stored (same bytes) is skipped. */
  async #insertStateNodesDeduplicated(
    client: pg.PoolClient,
    nodes: readonly StateNodeEntry[],
  ): Promise<void> {
    const step = 4_096;
    for (let start = 0; start < nodes.length; start += step) {
      const slice = nodes.slice(start, start + step);
      const blob = new Blob();
      for (const [, encoded] of slice) blob.add(encoded);
      // Content addressing: a node already stored (same bytes) is not stored twice.
      await client.query(
        `INSERT INTO state_nodes (hash_prefix, node)
         SELECT t.hp, substring($1::bytea FROM t.o FOR t.l) FROM unnest($2::bigint[], $3::int[], $4::int[]) AS t(hp, o, l)
         WHERE NOT EXISTS (
           SELECT 1 FROM state_nodes s WHERE s.hash_prefix = t.hp AND s.node = substring($1::bytea FROM t.o FOR t.l))`,
        [blob.buffer(), slice.map(([nodeHash]) => prefixText(nodeHash)), blob.offsets, blob.lengths],
      );
    }
  }

  async walAppend(height: bigint, record: Uint8Array): Promise<void> {
    checkWalRecord(height, record);
    await this.#query("INSERT INTO consensus_wal (height, record) VALUES ($1, $2)", [
      height.toString(),
      Buffer.from(record.buffer, record.byteOffset, record.byteLength),
    ]);
  }

  async walRead(fromHeight: bigint): Promise<Array<{ height: bigint; record: Uint8Array }>> {
    checkHeightArgument(fromHeight);
    const result = await this.#query(
      "SELECT height, record FROM consensus_wal WHERE height >= $1 ORDER BY sequence LIMIT $2",
      [fromHeight.toString(), WAL_READ_RECORDS_MAX + 1],
    );
    if (result.rows.length > WAL_READ_RECORDS_MAX) {
      throw new StoreError(
        "STORE_QUERY_INVALID",
        "the WAL holds more than WAL_READ_RECORDS_MAX records: prune it",
      );
    }
    return (result.rows as Array<{ height: string; record: Buffer }>).map((row) => ({
      height: BigInt(row.height),
      record: plainBytes(row.record),
    }));
  }

  async walPrune(belowHeight: bigint): Promise<void> {
    checkHeightArgument(belowHeight);
    await this.#query("DELETE FROM consensus_wal WHERE height < $1", [belowHeight.toString()]);
  }

  async statistics(): Promise<StoreStatistics> {
    const result = await this.#query(
      `SELECT (SELECT count(*) FROM blocks)::bigint AS blocks,
              (SELECT count(*) FROM transactions)::bigint AS transactions,
              (SELECT count(*) FROM events)::bigint AS events,
              (SELECT count(*) FROM receipts)::bigint AS receipts,
              (SELECT count(*) FROM log_nodes)::bigint AS log_nodes,
              (SELECT count(*) FROM state_nodes)::bigint AS state_nodes,
              pg_database_size(current_database()) AS size_bytes`,
    );
    const row = result.rows[0] as Record<string, string>;
    return {
      blocks: Number(row.blocks),
      transactions: Number(row.transactions),
      events: Number(row.events),
      receipts: Number(row.receipts),
      logNodes: Number(row.log_nodes),
      stateNodes: Number(row.state_nodes),
      sizeBytes: Number(row.size_bytes),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
