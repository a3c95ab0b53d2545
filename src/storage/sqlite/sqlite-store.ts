/**
 * The embedded back end: one SQLite database file per node (better-sqlite3 12, synchronous API),
 * WAL journal, `synchronous = FULL`, numbered migrations, prepared statements, one transaction
 * per block batch. Why FULL and why the commit path looks as it does: docs/adr/0002-storage.md.
 * @module
 */
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import Database from "better-sqlite3";
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
  LOG_TILE_CACHE_ENTRIES_MAX,
  SQLITE_BUSY_TIMEOUT_MS,
  SQLITE_PAGE_CACHE_BYTES,
  SQLITE_WAL_AUTOCHECKPOINT_PAGES,
  STATE_INDEX_BATCH_ROWS,
  TRANSACTION_INDEX_BATCH_ROWS,
  WAL_READ_RECORDS_MAX,
} from "../limits.ts";
import { planMigrations, statementsOf } from "../migrations.ts";
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
  encodeU64,
  eventKeyPrefixOf,
  hashPrefixOf,
  headOf,
  plainBytes,
  receiptsOfRecord,
  SQLITE_APPLICATION_ID,
  stateNodeMatches,
} from "../store-common.ts";
import { senderMatches } from "../transaction-index.ts";
import {
  decodeBlockReceipts,
  encodeBlockReceipts,
  endsWindowOf,
  RECEIPT_END_BYTES,
  receiptBoundsOf,
  receiptsMismatch,
} from "./block-receipts.ts";
import { TailIndex, tailKeyOfHash } from "./deferred-index.ts";
import {
  checkTile,
  LOG_NODE_BYTES,
  type LogTile,
  LogTileCache,
  type LogTileWrite,
  nodeOfTile,
  tileOf,
  tileWritesOf,
} from "./log-tiles.ts";
import { SQLITE_MIGRATIONS, type SqliteMigration } from "./migrations.ts";
import { RowBatchInsert } from "./row-batch.ts";

/** The rows a block writes many at a time. */
interface RowBatches {
  readonly transactions: RowBatchInsert;
  readonly events: RowBatchInsert;
}

export interface SqliteStoreOptions {
  /** Create the file when it does not exist (default true; `store verify` passes false). */
  readonly create?: boolean;
  /** The chain's hash (default SHA-256). */
  readonly hash?: HashFunction;
  /** The migrations to apply (default: SQLITE_MIGRATIONS; tests pass others). */
  readonly migrations?: readonly SqliteMigration[];
  /**
   * Rows the deferred indexes keep in memory before writing a sorted batch (default:
   * TRANSACTION_INDEX_BATCH_ROWS, STATE_INDEX_BATCH_ROWS). Tests pass small numbers so that
   * every path, and crashes in the middle of a batch, are exercised.
   */
  readonly indexBatchRows?: { readonly transactions: number; readonly stateNodes: number };
}

const SQLITE_HEADER = "SQLite format 3\0";
/** Extra reads of one sender's rows when 8-byte prefix collisions filled a page with others. */
const SENDER_QUERY_ROUNDS_MAX = 16;

type Statement = Database.Statement<unknown[], unknown>;

/** Opens (creating when allowed) the SQLite store at `path`; refuses anything that is not ours. */
export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
  const create = options.create ?? true;
  const exists = existsSync(path);
  if (!exists && !create) throw new StoreError("STORE_NOT_FOUND", `no store at ${path}`, { path });
  if (exists) checkFileHeader(path);
  let database: Database.Database;
  try {
    database = new Database(path, { fileMustExist: exists });
  } catch (error) {
    throw storeErrorOf(error, path);
  }
  try {
    const plan = planOpen(database, options.migrations ?? SQLITE_MIGRATIONS, path);
    configure(database);
    for (const migration of plan) applyMigration(database, migration);
    return new SqliteStore(database, path, options.hash ?? sha256, options.indexBatchRows);
  } catch (error) {
    database.close();
    throw storeErrorOf(error, path);
  }
}

/** A non-empty file that does not start with SQLite's header is not ours; we never open it. */
function checkFileHeader(path: string): void {
  const stat = statSync(path);
  if (!stat.isFile()) throw new StoreError("STORE_LOCATION_INVALID", `${path} is not a file`, { path });
  if (stat.size === 0) return;
  const header = Buffer.alloc(SQLITE_HEADER.length);
  const descriptor = openSync(path, "r");
  try {
    readSync(descriptor, header, 0, header.length, 0);
  } finally {
    closeSync(descriptor);
  }
  if (stat.size < 512 || header.toString("latin1") !== SQLITE_HEADER) {
    throw new StoreError("STORE_NOT_CITYLEDGER", `${path} is not a CityLedger store (not a SQLite file)`, {
      path,
    });
  }
}

/** Reads identity and schema version without writing; returns the migrations to run. */
function planOpen(
  database: Database.Database,
  migrations: readonly SqliteMigration[],
  path: string,
): SqliteMigration[] {
  const applicationId = database.pragma("application_id", { simple: true }) as number;
  const tableCount = (database.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number }).n;
  if (applicationId === 0 && tableCount === 0) return planMigrations([], migrations);
  if (applicationId !== SQLITE_APPLICATION_ID) {
    throw new StoreError("STORE_NOT_CITYLEDGER", `${path} is a SQLite database of another application`, {
      path,
      applicationId,
    });
  }
  const hasMigrations = database
    .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get() as { n: number };
  if (hasMigrations.n !== 1) throw corrupt("the store has no schema_migrations table", { path });
  const applied = database.prepare("SELECT version FROM schema_migrations").pluck().all() as number[];
  return planMigrations(applied, migrations);
}

function configure(database: Database.Database): void {
  database.pragma("journal_mode = WAL");
  // FULL: the WAL is fsynced at every commit, so a resolved commitBlock or walAppend survives a
  // power loss, not only a process crash (docs/adr/0002-storage.md, "Durability").
  database.pragma("synchronous = FULL");
  database.pragma(`cache_size = -${Math.floor(SQLITE_PAGE_CACHE_BYTES / 1024)}`);
  database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  database.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT_PAGES}`);
  assert(database.pragma("journal_mode", { simple: true }) === "wal", "SQLite is in WAL mode");
  assert(database.pragma("synchronous", { simple: true }) === 2, "SQLite synchronous is FULL");
}

function applyMigration(database: Database.Database, migration: SqliteMigration): void {
  const run = database.transaction(() => {
    if (migration.version === 1) {
      database.exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)");
      database.pragma(`application_id = ${SQLITE_APPLICATION_ID}`);
    }
    for (const statement of statementsOf(migration)) database.exec(statement);
    migration.convert?.(database);
    database
      .prepare("INSERT INTO schema_migrations (version, name) VALUES (?, ?)")
      .run(migration.version, migration.name);
    database.pragma(`user_version = ${migration.version}`);
  });
  run.immediate();
}

function storeErrorOf(error: unknown, path: string): Error {
  if (error instanceof CityLedgerError) return error;
  if (error instanceof Database.SqliteError) {
    if (error.code === "SQLITE_NOTADB") {
      return new StoreError("STORE_NOT_CITYLEDGER", `${path} is not a CityLedger store`, { path });
    }
    if (error.code === "SQLITE_CORRUPT") return corrupt(`${path} is damaged: ${error.message}`, { path });
    if (error.code.startsWith("SQLITE_CANTOPEN")) {
      return new StoreError("STORE_NOT_FOUND", `cannot open ${path}: ${error.message}`, { path });
    }
    return new StoreError("STORE_UNAVAILABLE", `SQLite failed on ${path}: ${error.message}`, {
      path,
      code: error.code,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** What one commit wrote that the store's memory follows: state-node rows (tails), log tiles. */
interface WrittenRows {
  /** The log tiles the commit rewrote (dropped from the tile cache once it committed). */
  readonly tiles: LogTileWrite[];
  readonly statePrefixes: bigint[];
  readonly stateIds: number[];
}

/** Chain-metadata keys of the deferred indexes' watermarks (first row id not in the index table). */
const WATERMARK_TRANSACTIONS = "index_watermark:transactions";
const WATERMARK_STATE_NODES = "index_watermark:state_nodes";

interface BlockRow {
  height: number;
  hash: Uint8Array;
  header: Uint8Array;
  evidence: Uint8Array;
  first_log_index: number;
  tx_count: number;
  receipts_stored: number;
}

interface EventRow {
  log_index: number;
  event_index: number;
  type_id: number;
  contract_id: number;
  event_key: string | null;
  data: Uint8Array;
  height: number;
  index_in_block: number;
}

/**
 * The index each combination of event filters reads (pinned with INDEXED BY: without statistics
 * SQLite might prefer an index with more equality columns but far more rows). A key is the most
 * selective filter, so any query with a key reads the key index and checks the rest per row.
 */
function eventIndexOf(filters: { contract: boolean; type: boolean; key: boolean }): string {
  if (filters.key) return "INDEXED BY events_by_key";
  if (filters.contract && filters.type) return "INDEXED BY events_by_contract_type";
  if (filters.contract) return "INDEXED BY events_by_contract";
  if (filters.type) return "INDEXED BY events_by_type";
  return "";
}

interface TransactionRow {
  log_index: number;
  height: number;
  index_in_block: number;
  encoded: Uint8Array;
}

interface HashedTransactionRow extends TransactionRow {
  hash: Uint8Array;
}

/** A raw row of a lookup by hash: log index, height, index in block, encoded transaction. */
type HashMatchRow = [number, number, number, Uint8Array];

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly hash: HashFunction;
  readonly path: string;
  readonly #database: Database.Database;
  readonly #statements: Record<string, Statement>;
  readonly #rowBatches: RowBatches;
  /** Committed name ids (contracts, event types); filled only after a commit succeeded. */
  readonly #nameIds = new Map<string, number>();
  readonly #namesById = new Map<number, string>();
  /** Deferred indexes: rows at or above the watermarks are indexed in these tails only. */
  readonly #hashTail = new TailIndex();
  readonly #senderTail = new TailIndex();
  readonly #stateTail = new TailIndex();
  /** Committed log tiles recently read (log-tiles.ts: why a cached tile never answers wrongly). */
  readonly #tileCache = new LogTileCache(LOG_TILE_CACHE_ENTRIES_MAX);
  #transactionWatermark = 0;
  #stateWatermark = 1;
  #stateNextId = 1;
  readonly #transactionBatchRows: number;
  readonly #stateBatchRows: number;
  #closed = false;

  constructor(
    database: Database.Database,
    path: string,
    hash: HashFunction,
    indexBatchRows?: { readonly transactions: number; readonly stateNodes: number },
  ) {
    this.#transactionBatchRows = indexBatchRows?.transactions ?? TRANSACTION_INDEX_BATCH_ROWS;
    this.#stateBatchRows = indexBatchRows?.stateNodes ?? STATE_INDEX_BATCH_ROWS;
    assert(
      this.#transactionBatchRows >= 1 && this.#transactionBatchRows <= TRANSACTION_INDEX_BATCH_ROWS,
      "batch rows in range",
    );
    assert(
      this.#stateBatchRows >= 1 && this.#stateBatchRows <= STATE_INDEX_BATCH_ROWS,
      "batch rows in range",
    );
    this.#database = database;
    this.path = path;
    this.hash = hash;
    const prepare = (sql: string): Statement => database.prepare(sql);
    this.#rowBatches = {
      transactions: new RowBatchInsert(
        database,
        "transactions (log_index, height, index_in_block, hash_prefix, sender_prefix, contract_id, hash, encoded)",
        8,
      ),
      events: new RowBatchInsert(
        database,
        "events (log_index, event_index, type_id, contract_id, event_key, key_prefix, data)",
        7,
      ),
    };
    this.#statements = {
      metadataGet: prepare("SELECT value FROM chain_metadata WHERE key = ?"),
      metadataPut: prepare(
        "INSERT INTO chain_metadata (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      blockInsert: prepare(
        "INSERT INTO blocks (height, hash_prefix, hash, header, evidence, first_log_index, tx_count, receipts_stored) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      blockReceiptsInsert: prepare("INSERT INTO block_receipts (height, ends, encoded) VALUES (?, ?, ?)"),
      blockReceipts: prepare("SELECT ends, encoded FROM block_receipts WHERE height = ?"),
      // One receipt: SQLite slices the row; only the receipt's bytes cross into JavaScript.
      receiptEndsWindow: prepare("SELECT substr(ends, ?, ?) FROM block_receipts WHERE height = ?"),
      receiptBytes: prepare("SELECT substr(encoded, ?, ?) FROM block_receipts WHERE height = ?"),
      receiptCount: prepare("SELECT coalesce(sum(length(ends)), 0) FROM block_receipts"),
      certificateInsert: prepare("INSERT INTO certificates (height, certificate) VALUES (?, ?)"),
      certificateReplace: prepare("UPDATE certificates SET certificate = ? WHERE height = ?"),
      nameSelect: prepare("SELECT id FROM names WHERE name = ?"),
      nameById: prepare("SELECT name FROM names WHERE id = ?"),
      nameInsert: prepare("INSERT INTO names (name) VALUES (?)"),
      stateNodeInsert: prepare("INSERT INTO state_nodes (hash_prefix, node) VALUES (?, ?)"),
      blockByHeight: prepare(
        "SELECT height, hash, header, evidence, first_log_index, tx_count, receipts_stored FROM blocks WHERE height = ?",
      ),
      blocksByHashPrefix: prepare("SELECT height, hash FROM blocks WHERE hash_prefix = ?"),
      certificateByHeight: prepare("SELECT certificate FROM certificates WHERE height = ?"),
      transactionRange: prepare(
        "SELECT log_index, height, index_in_block, encoded FROM transactions WHERE log_index >= ? AND log_index < ? ORDER BY log_index",
      ),
      transactionByLogIndex: prepare(
        "SELECT log_index, height, index_in_block, hash, encoded FROM transactions WHERE log_index = ?",
      ),
      // Lookups by hash compare the full hash in SQLite: only the transaction's bytes cross into
      // JavaScript (each blob returned costs an allocation), and a prefix collision is skipped there.
      // CROSS JOIN keeps the index as the outer loop. Raw rows: log_index, height, index_in_block, encoded.
      transactionByIndexedHash: prepare(
        `SELECT t.log_index, t.height, t.index_in_block, t.encoded
         FROM transaction_hash_index i CROSS JOIN transactions t ON t.log_index = i.log_index
         WHERE i.hash_prefix = ? AND t.hash = ?`,
      ),
      transactionByLogIndexAndHash: prepare(
        "SELECT log_index, height, index_in_block, encoded FROM transactions WHERE log_index = ? AND hash = ?",
      ),
      transactionExists: prepare("SELECT 1 FROM transactions WHERE log_index = ?"),
      senderIndexIds: prepare(
        "SELECT log_index FROM transaction_sender_index WHERE sender_prefix = ? AND log_index > ? ORDER BY log_index LIMIT ?",
      ),
      hashIndexBuild: prepare(
        "INSERT OR FAIL INTO transaction_hash_index (hash_prefix, log_index) SELECT hash_prefix, log_index FROM transactions WHERE log_index >= ? ORDER BY hash_prefix, log_index",
      ),
      senderIndexBuild: prepare(
        "INSERT OR FAIL INTO transaction_sender_index (sender_prefix, log_index) SELECT sender_prefix, log_index FROM transactions WHERE log_index >= ? ORDER BY sender_prefix, log_index",
      ),
      transactionTail: prepare(
        "SELECT log_index, hash_prefix, sender_prefix FROM transactions WHERE log_index >= ? ORDER BY log_index",
      ),
      stateIndexIds: prepare("SELECT id FROM state_node_index WHERE hash_prefix = ?"),
      stateNodeById: prepare("SELECT node FROM state_nodes WHERE id = ?"),
      stateIndexBuild: prepare(
        "INSERT OR FAIL INTO state_node_index (hash_prefix, id) SELECT hash_prefix, id FROM state_nodes WHERE id >= ? ORDER BY hash_prefix, id",
      ),
      stateTail: prepare("SELECT id, hash_prefix FROM state_nodes WHERE id >= ? ORDER BY id"),
      stateNextId: prepare("SELECT coalesce(max(id), 0) + 1 FROM state_nodes"),
      transactionsByContract: prepare(
        "SELECT log_index, height, index_in_block, encoded FROM transactions WHERE contract_id = ? AND log_index > ? ORDER BY log_index LIMIT ?",
      ),
      logTileGet: prepare("SELECT first_offset, hashes FROM log_tiles WHERE level = ? AND tile = ?"),
      logTilePut: prepare(
        "INSERT INTO log_tiles (level, tile, first_offset, hashes) VALUES (?, ?, ?, ?) ON CONFLICT (level, tile) DO UPDATE SET hashes = excluded.hashes",
      ),
      logNodeCount: prepare("SELECT coalesce(sum(length(hashes)), 0) FROM log_tiles"),
      walInsert: prepare("INSERT INTO consensus_wal (height, record) VALUES (?, ?)"),
      walRead: prepare(
        "SELECT height, record FROM consensus_wal WHERE height >= ? ORDER BY sequence LIMIT ?",
      ),
      walPrune: prepare("DELETE FROM consensus_wal WHERE height < ?"),
    };
    for (const name of ["logTileGet", "transactionByIndexedHash", "transactionByLogIndexAndHash"]) {
      this.#statements[name]!.raw();
    }
    this.#statements.transactionExists!.pluck();
    for (const name of ["senderIndexIds", "stateIndexIds", "stateNodeById", "stateNextId"]) {
      this.#statements[name]!.pluck();
    }
    for (const name of ["transactionTail", "stateTail"]) this.#statements[name]!.safeIntegers(true);
    this.#statements.metadataGet!.pluck();
    for (const name of ["receiptEndsWindow", "receiptBytes", "receiptCount", "logNodeCount"]) {
      this.#statements[name]!.pluck();
    }
    this.#statements.certificateByHeight!.pluck();
    this.#statements.nameSelect!.pluck();
    this.#statements.nameById!.pluck();
    this.#loadTails();
  }

  /** The block's multi-row inserts (row-batch.ts); the store must be open. */
  #rowBatchesOpen(): RowBatches {
    if (this.#closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    return this.#rowBatches;
  }

  #statement(name: string): Statement {
    if (this.#closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    const statement = this.#statements[name];
    assert(statement !== undefined, `prepared statement ${name} exists`);
    return statement;
  }

  /**
   * The event query of one filter combination (8 at most, prepared on first use). Parameters, in
   * order: contract id, type id, key prefix and key (those filtered on), after, limit.
   */
  #eventStatement(filters: { contract: boolean; type: boolean; key: boolean }): Statement {
    if (this.#closed) throw new StoreError("STORE_CLOSED", "the store is closed");
    const name = `events:${Number(filters.contract)}${Number(filters.type)}${Number(filters.key)}`;
    const known = this.#statements[name];
    if (known !== undefined) return known;
    const conditions: string[] = [];
    if (filters.contract) conditions.push("e.contract_id = ?");
    if (filters.type) conditions.push("e.type_id = ?");
    if (filters.key) conditions.push("e.key_prefix = ? AND e.event_key = ?");
    conditions.push("e.log_index > ?");
    this.#statements[name] = this.#database.prepare(
      `SELECT e.log_index, e.event_index, e.type_id, e.contract_id, e.event_key, e.data, t.height, t.index_in_block
       FROM events e ${eventIndexOf(filters)} JOIN transactions t ON t.log_index = e.log_index
       WHERE ${conditions.join(" AND ")} ORDER BY e.log_index, e.event_index LIMIT ?`,
    );
    return this.#statement(name);
  }

  #metadataSync(key: string): Uint8Array | undefined {
    const value = this.#statement("metadataGet").get(key) as Uint8Array | undefined;
    return value === undefined ? undefined : plainBytes(value);
  }

  #headSync(): ChainHead | null {
    return headOf((key) => this.#metadataSync(key));
  }

  async head(): Promise<ChainHead | null> {
    return this.#headSync();
  }

  async commitBlock(batch: BlockBatch): Promise<void> {
    const checked = checkBlockBatch(
      batch,
      this.#headSync(),
      this.hash,
      encodeBlockHeader,
      encodeCommitCertificate,
    );
    const namesNew = new Map<string, number>();
    const write = this.#database.transaction(() => this.#writeBlock(batch, checked, namesNew));
    this.#afterWrite(batch, checked, namesNew, () => write.immediate());
  }

  async importSnapshotBase(base: SnapshotBaseBatch): Promise<void> {
    const checked = checkSnapshotBaseBatch(
      base,
      this.#headSync(),
      this.hash,
      encodeBlockHeader,
      encodeCommitCertificate,
    );
    const namesNew = new Map<string, number>();
    const write = this.#database.transaction(() => {
      // Another connection may have written since the batch was checked: re-check inside the lock.
      const blocks = (this.#database.prepare("SELECT count(*) AS n FROM blocks").get() as { n: number }).n;
      if (this.#headSync() !== null || blocks !== 0) {
        throw new StoreError("STORE_NOT_EMPTY", "a snapshot base goes into a store that holds no block");
      }
      // State nodes already stored (content-addressed) are not stored twice.
      const stateNodes = base.stateNodes.filter(([nodeHash]) => this.#stateNodeSync(nodeHash) === undefined);
      const batch: BlockBatch = { ...base, receipts: [], events: [], stateNodes };
      return this.#insertBlock(batch, checked, namesNew, false);
    });
    const batch: BlockBatch = { ...base, receipts: [], events: [] };
    this.#afterWrite(batch, checked, namesNew, () => write.immediate());
    assert(this.#headSync()?.height === base.block.header.height, "the snapshot block is the head");
  }

  /** Runs a block write, then updates the name cache, the in-memory index tails and the indexes. */
  #afterWrite(
    batch: BlockBatch,
    checked: CheckedBatch,
    namesNew: Map<string, number>,
    write: () => WrittenRows,
  ): void {
    let written: WrittenRows;
    try {
      written = write();
    } catch (error) {
      if (error instanceof CityLedgerError) throw error;
      throw new StoreError("STORE_WRITE_FAILED", `the block batch was rolled back: ${String(error)}`, {
        height: batch.block.header.height,
      });
    }
    for (const [name, id] of namesNew) {
      this.#nameIds.set(name, id);
      this.#namesById.set(id, name);
    }
    for (const tile of written.tiles) this.#tileCache.delete(tile.level, tile.tile);
    for (let index = 0; index < batch.transactions.length; index++) {
      const entry = batch.transactions[index]!;
      this.#hashTail.addKey(tailKeyOfHash(entry.hash), checked.firstLogIndex + index);
      this.#senderTail.addKey(tailKeyOfHash(entry.senderKeyId), checked.firstLogIndex + index);
    }
    this.#addStateRows(written);
    this.#maintainIndexes(checked.firstLogIndex + batch.transactions.length);
  }

  #addStateRows(written: Pick<WrittenRows, "statePrefixes" | "stateIds">): void {
    for (let index = 0; index < written.stateIds.length; index++) {
      this.#stateTail.add(written.statePrefixes[index]!, written.stateIds[index]!);
    }
    if (written.stateIds.length > 0) this.#stateNextId = written.stateIds[written.stateIds.length - 1]! + 1;
  }

  /** Rebuilds the in-memory tails from the rows above the watermarks (on open). */
  #loadTails(): void {
    const transactionWatermark = this.#metadataSync(WATERMARK_TRANSACTIONS);
    const stateWatermark = this.#metadataSync(WATERMARK_STATE_NODES);
    this.#transactionWatermark =
      transactionWatermark === undefined
        ? 0
        : Number(decodeU64(transactionWatermark, WATERMARK_TRANSACTIONS));
    this.#stateWatermark =
      stateWatermark === undefined ? 1 : Number(decodeU64(stateWatermark, WATERMARK_STATE_NODES));
    for (const row of this.#statement("transactionTail").iterate(this.#transactionWatermark) as Iterable<{
      log_index: bigint;
      hash_prefix: bigint;
      sender_prefix: bigint;
    }>) {
      this.#hashTail.add(row.hash_prefix, Number(row.log_index));
      this.#senderTail.add(row.sender_prefix, Number(row.log_index));
    }
    for (const row of this.#statement("stateTail").iterate(this.#stateWatermark) as Iterable<{
      id: bigint;
      hash_prefix: bigint;
    }>) {
      this.#stateTail.add(row.hash_prefix, Number(row.id));
    }
    this.#stateNextId = this.#statement("stateNextId").get() as number;
    assert(this.#stateNextId >= this.#stateWatermark, "the state watermark is at most the next id");
  }

  /** Moves a full tail into its index table: one sorted batch, one transaction, with its watermark. */
  #maintainIndexes(logSize: number): void {
    if (this.#hashTail.count >= this.#transactionBatchRows) {
      const from = this.#transactionWatermark;
      this.#database
        .transaction(() => {
          this.#statement("hashIndexBuild").run(from);
          this.#statement("senderIndexBuild").run(from);
          this.#statement("metadataPut").run(WATERMARK_TRANSACTIONS, encodeU64(BigInt(logSize)));
        })
        .immediate();
      this.#transactionWatermark = logSize;
      this.#hashTail.clear();
      this.#senderTail.clear();
    }
    if (this.#stateTail.count >= this.#stateBatchRows) {
      const from = this.#stateWatermark;
      const next = this.#stateNextId;
      this.#database
        .transaction(() => {
          this.#statement("stateIndexBuild").run(from);
          this.#statement("metadataPut").run(WATERMARK_STATE_NODES, encodeU64(BigInt(next)));
        })
        .immediate();
      this.#stateWatermark = next;
      this.#stateTail.clear();
    }
  }

  #writeBlock(batch: BlockBatch, checked: CheckedBatch, namesNew: Map<string, number>): WrittenRows {
    const { header } = batch.block;
    // Another connection may have written since the batch was checked: re-read inside the lock.
    const head = this.#headSync();
    if ((head?.height ?? 0n) + 1n !== header.height) {
      throw new StoreError("STORE_HEIGHT_MISMATCH", "the head moved while the block was being written", {
        height: header.height,
      });
    }
    return this.#insertBlock(batch, checked, namesNew, true);
  }

  /**
   * Inserts a checked block's rows, nodes and metadata (inside the caller's transaction);
   * `receiptsStored`: the batch carries the block's receipts (false for a snapshot base).
   */
  #insertBlock(
    batch: BlockBatch,
    checked: CheckedBatch,
    namesNew: Map<string, number>,
    receiptsStored: boolean,
  ): WrittenRows {
    const { header } = batch.block;
    const height = header.height;
    this.#statement("blockInsert").run(
      height,
      hashPrefixOf(checked.blockHash),
      checked.blockHash,
      checked.header,
      checked.evidence,
      checked.firstLogIndex,
      header.txCount,
      receiptsStored ? 1 : 0,
    );
    this.#statement("certificateInsert").run(height, checked.certificate);
    if (checked.previousCertificate !== null) {
      const replaced = this.#statement("certificateReplace").run(checked.previousCertificate, height - 1n);
      assert(replaced.changes === 1, "the block below has a certificate to replace");
    }
    const written: WrittenRows = { tiles: [], statePrefixes: [], stateIds: [] };
    const rowBatches = this.#rowBatchesOpen();
    rowBatches.transactions.insert(batch.transactions.length, (parameters, offset, index) => {
      const entry = batch.transactions[index]!;
      parameters[offset] = checked.firstLogIndex + index;
      parameters[offset + 1] = height;
      parameters[offset + 2] = index;
      parameters[offset + 3] = hashPrefixOf(entry.hash);
      parameters[offset + 4] = hashPrefixOf(entry.senderKeyId);
      parameters[offset + 5] = this.#nameIdForWrite(entry.contract, namesNew);
      parameters[offset + 6] = entry.hash;
      parameters[offset + 7] = batch.block.transactions[index]!;
    });
    assert(receiptsStored || batch.receipts.length === 0, "a block without receipts writes none");
    if (receiptsStored) {
      const { ends, encoded } = encodeBlockReceipts(batch.receipts);
      this.#statement("blockReceiptsInsert").run(height, ends, encoded);
    }
    rowBatches.events.insert(batch.events.length, (parameters, offset, index) => {
      const event = batch.events[index]!;
      parameters[offset] = checked.firstLogIndex + event.txIndex;
      parameters[offset + 1] = event.eventIndex;
      parameters[offset + 2] = this.#nameIdForWrite(event.type, namesNew);
      parameters[offset + 3] = this.#nameIdForWrite(event.contract, namesNew);
      parameters[offset + 4] = event.key;
      parameters[offset + 5] = event.key === null ? null : eventKeyPrefixOf(event.key);
      parameters[offset + 6] = event.data;
    });
    // Read inside the transaction, not from the cache: the tile as committed is the base.
    const tiles = tileWritesOf(batch.logNodes, (level, tile) => this.#readTile(level, tile));
    const logTilePut = this.#statement("logTilePut");
    for (const tile of tiles) {
      logTilePut.run(tile.level, tile.tile, tile.firstOffset, tile.hashes);
      written.tiles.push(tile);
    }
    this.#insertStateNodes(batch.stateNodes, written);
    const metadataPut = this.#statement("metadataPut");
    for (const [key, value] of checked.metadata) metadataPut.run(key, value);
    return written;
  }

  #insertStateNodes(
    nodes: readonly StateNodeEntry[],
    written: Pick<WrittenRows, "statePrefixes" | "stateIds">,
  ): void {
    const stateNodeInsert = this.#statement("stateNodeInsert");
    for (const [nodeHash, encoded] of nodes) {
      const prefix = hashPrefixOf(nodeHash);
      const id = Number(stateNodeInsert.run(prefix, encoded).lastInsertRowid);
      assert(id >= this.#stateNextId, "state node ids grow");
      written.statePrefixes.push(prefix);
      written.stateIds.push(id);
    }
  }

  #nameIdForWrite(name: string, namesNew: Map<string, number>): number {
    const known = this.#nameIds.get(name) ?? namesNew.get(name);
    if (known !== undefined) return known;
    let id = this.#statement("nameSelect").get(name) as number | undefined;
    if (id === undefined) id = Number(this.#statement("nameInsert").run(name).lastInsertRowid);
    namesNew.set(name, id);
    return id;
  }

  #nameIdForRead(name: string): number | undefined {
    const known = this.#nameIds.get(name);
    if (known !== undefined) return known;
    const id = this.#statement("nameSelect").get(name) as number | undefined;
    if (id !== undefined) {
      this.#nameIds.set(name, id);
      this.#namesById.set(id, name);
    }
    return id;
  }

  #nameOf(id: number): string {
    const known = this.#namesById.get(id);
    if (known !== undefined) return known;
    const name = this.#statement("nameById").get(id) as string | undefined;
    if (name === undefined) throw corrupt("an index row names an unknown contract or event type", { id });
    this.#namesById.set(id, name);
    this.#nameIds.set(name, id);
    return name;
  }

  /** The rows of one block; its receipt rows only when asked (block reads do not need them). */
  #recordSync(height: bigint, withReceipts: boolean): BlockRecord | undefined {
    const row = this.#statement("blockByHeight").get(height) as BlockRow | undefined;
    if (row === undefined) return undefined;
    const certificate = this.#statement("certificateByHeight").get(height) as Uint8Array | undefined;
    const end = row.first_log_index + row.tx_count;
    const rows = this.#statement("transactionRange").all(row.first_log_index, end) as TransactionRow[];
    const receiptsRow = withReceipts
      ? (this.#statement("blockReceipts").get(height) as
          | { ends: Uint8Array; encoded: Uint8Array }
          | undefined)
      : undefined;
    const receipts =
      receiptsRow === undefined ? [] : decodeBlockReceipts(receiptsRow.ends, receiptsRow.encoded, height);
    return {
      height: BigInt(row.height),
      storedHash: plainBytes(row.hash),
      header: plainBytes(row.header),
      evidence: decodeEvidenceRow(row.evidence, BigInt(row.height)),
      certificate: certificate === undefined ? undefined : plainBytes(certificate),
      firstLogIndex: row.first_log_index,
      transactions: rows.map((transaction) => ({
        logIndex: transaction.log_index,
        height: BigInt(transaction.height),
        indexInBlock: transaction.index_in_block,
        encoded: plainBytes(transaction.encoded),
      })),
      receiptsStored: row.receipts_stored === 1,
      receipts: receipts.map((encoded, index) => ({ logIndex: row.first_log_index + index, encoded })),
    };
  }

  async blockRecord(height: bigint): Promise<BlockRecord | undefined> {
    checkHeightArgument(height);
    return this.#recordSync(height, true);
  }

  async blockByHeight(height: bigint): Promise<Block | undefined> {
    checkHeightArgument(height);
    const record = this.#recordSync(height, false);
    return record === undefined ? undefined : blockOfRecord(record, this.hash);
  }

  async receiptsByHeight(height: bigint): Promise<Uint8Array[] | undefined> {
    checkHeightArgument(height);
    const record = this.#recordSync(height, true);
    return record === undefined ? undefined : receiptsOfRecord(record, this.hash);
  }

  async receiptOfTransaction(hash: Uint8Array): Promise<StoredReceipt | undefined> {
    const transaction = await this.transactionByHash(hash);
    if (transaction === undefined) return undefined;
    const { height, indexInBlock } = transaction;
    const window = endsWindowOf(indexInBlock);
    const ends = this.#statement("receiptEndsWindow").get(window.from, window.length, height) as
      | Uint8Array
      | null
      | undefined;
    // No row: the block was stored without receipts (before version 2, or a snapshot base).
    if (ends === undefined) return undefined;
    // SQLite's substr answers NULL past the end of a blob (and for an empty one).
    const { start, end } = receiptBoundsOf(ends ?? new Uint8Array(0), indexInBlock, height);
    const encoded =
      (this.#statement("receiptBytes").get(start + 1, end - start, height) as Uint8Array | null) ??
      new Uint8Array(0);
    if (encoded.length !== end - start) {
      throw receiptsMismatch("the receipts' offsets are malformed", height);
    }
    return { height, indexInBlock, encoded: plainBytes(encoded) };
  }

  #heightOfBlockHash(blockHash: Uint8Array): bigint | undefined {
    checkHashArgument(blockHash, "blockHash");
    const rows = this.#statement("blocksByHashPrefix").all(hashPrefixOf(blockHash)) as Array<{
      height: number;
      hash: Uint8Array;
    }>;
    const row = rows.find((candidate) => equalBytes(candidate.hash, blockHash));
    return row === undefined ? undefined : BigInt(row.height);
  }

  async blockByHash(blockHash: Uint8Array): Promise<Block | undefined> {
    const height = this.#heightOfBlockHash(blockHash);
    return height === undefined ? undefined : this.blockByHeight(height);
  }

  async certificateByHeight(height: bigint): Promise<CommitCertificate | undefined> {
    checkHeightArgument(height);
    const row = this.#statement("blockByHeight").get(height) as BlockRow | undefined;
    if (row === undefined) return undefined;
    const bytes = this.#statement("certificateByHeight").get(height) as Uint8Array | undefined;
    if (bytes === undefined) throw corrupt("a stored block has no commit certificate", { height });
    return certificateOfRows(
      height,
      plainBytes(row.header),
      plainBytes(row.hash),
      plainBytes(bytes),
      this.hash,
    );
  }

  async certificateByBlockHash(blockHash: Uint8Array): Promise<CommitCertificate | undefined> {
    const height = this.#heightOfBlockHash(blockHash);
    return height === undefined ? undefined : this.certificateByHeight(height);
  }

  #storedTransactionOf(row: TransactionRow): StoredTransaction {
    const encoded = plainBytes(row.encoded);
    const stored = (row as Partial<HashedTransactionRow>).hash;
    return {
      hash: stored === undefined ? hashEncodedTransaction(encoded, this.hash) : plainBytes(stored),
      height: BigInt(row.height),
      indexInBlock: row.index_in_block,
      logIndex: row.log_index,
      encoded,
    };
  }

  async transactionByHash(hash: Uint8Array): Promise<StoredTransaction | undefined> {
    checkHashArgument(hash, "hash");
    const prefix = hashPrefixOf(hash);
    // The indexes keep 8 bytes of the hash; the row keeps all 32 (written from the batch's index
    // entry; block reads and verifyStore check the bytes themselves against the header). SQLite
    // compares them, so a prefix collision is a skipped row.
    for (const logIndex of this.#hashTail.idsOfKey(tailKeyOfHash(hash))) {
      const row = this.#statement("transactionByLogIndexAndHash").get(logIndex, hash) as
        | HashMatchRow
        | undefined;
      if (row !== undefined) return this.#storedTransactionOfHashMatch(row, hash);
      if (this.#statement("transactionExists").get(logIndex) === undefined) {
        throw corrupt("the transaction hash index names a missing row", { logIndex });
      }
    }
    const row = this.#statement("transactionByIndexedHash").get(prefix, hash) as HashMatchRow | undefined;
    return row === undefined ? undefined : this.#storedTransactionOfHashMatch(row, hash);
  }

  /** A transaction found by its hash (the caller's bytes, equal to the row's: SQLite compared them). */
  #storedTransactionOfHashMatch(row: HashMatchRow, hash: Uint8Array): StoredTransaction {
    const [logIndex, height, indexInBlock, encoded] = row;
    return { hash, height: BigInt(height), indexInBlock, logIndex, encoded: plainBytes(encoded) };
  }

  async transactionsBySender(senderKeyId: Uint8Array, page?: PageOptions): Promise<StoredTransaction[]> {
    checkHashArgument(senderKeyId, "senderKeyId");
    const { limit, afterLogIndex } = checkPage(page);
    const prefix = hashPrefixOf(senderKeyId);
    const results: StoredTransaction[] = [];
    let after = afterLogIndex;
    for (let round = 0; round < SENDER_QUERY_ROUNDS_MAX && results.length < limit; round++) {
      // Indexed ids all lie below the watermark, tail ids at or above it: indexed first, then tail.
      const candidates = this.#statement("senderIndexIds").all(prefix, after, limit) as number[];
      for (const logIndex of this.#senderTail.idsOf(prefix)) {
        if (candidates.length >= limit) break;
        if (logIndex > after) candidates.push(logIndex);
      }
      for (const logIndex of candidates) {
        const row = this.#statement("transactionByLogIndex").get(logIndex) as TransactionRow | undefined;
        if (row === undefined) throw corrupt("the sender index names a missing row", { logIndex });
        if (results.length < limit && senderMatches(row.encoded, senderKeyId))
          results.push(this.#storedTransactionOf(row));
      }
      if (candidates.length < limit) break;
      after = candidates[candidates.length - 1]!;
    }
    assert(results.length <= limit, "a page holds at most limit rows");
    return results;
  }

  async transactionsByContract(contract: string, page?: PageOptions): Promise<StoredTransaction[]> {
    const { limit, afterLogIndex } = checkEventQuery({ ...page, contract });
    const id = this.#nameIdForRead(contract);
    if (id === undefined) return [];
    const rows = this.#statement("transactionsByContract").all(id, afterLogIndex, limit) as TransactionRow[];
    return rows.map((row) => this.#storedTransactionOf(row));
  }

  async events(query: EventQuery): Promise<StoredEvent[]> {
    const { limit, afterLogIndex, contract, type, key } = checkEventQuery(query);
    const parameters: Array<number | bigint | string> = [];
    if (contract !== undefined) {
      const contractId = this.#nameIdForRead(contract);
      if (contractId === undefined) return [];
      parameters.push(contractId);
    }
    if (type !== undefined) {
      const typeId = this.#nameIdForRead(type);
      if (typeId === undefined) return [];
      parameters.push(typeId);
    }
    if (key !== undefined) parameters.push(eventKeyPrefixOf(key), key);
    const statement = this.#eventStatement({
      contract: contract !== undefined,
      type: type !== undefined,
      key: key !== undefined,
    });
    const rows = statement.all(...parameters, afterLogIndex, limit) as EventRow[];
    assert(rows.length <= limit, "a page holds at most limit rows");
    return rows.map((row) => ({
      height: BigInt(row.height),
      txIndex: row.index_in_block,
      eventIndex: row.event_index,
      logIndex: row.log_index,
      contract: this.#nameOf(row.contract_id),
      type: this.#nameOf(row.type_id),
      key: row.event_key,
      data: plainBytes(row.data),
    }));
  }

  async readMetadata(key: string): Promise<Uint8Array | undefined> {
    checkMetadataEntries([[key, new Uint8Array(0)]], true);
    return this.#metadataSync(key);
  }

  async writeMetadata(entries: readonly MetadataEntry[]): Promise<void> {
    checkMetadataEntries(entries, false);
    const metadataPut = this.#statement("metadataPut");
    this.#database
      .transaction(() => {
        for (const [key, value] of entries) metadataPut.run(key, value);
      })
      .immediate();
  }

  /** A committed tile as stored (checked), or undefined. */
  #readTile(level: number, tile: number): LogTile | undefined {
    const row = this.#statement("logTileGet").get(level, tile) as [number, Uint8Array] | undefined;
    if (row === undefined) return undefined;
    return checkTile(level, tile, { firstOffset: row[0], hashes: plainBytes(row[1]) });
  }

  #logNodeSync(level: number, index: number): Uint8Array | undefined {
    const tile = tileOf(index);
    const cached = this.#tileCache.get(level, tile);
    const fromCache = cached === undefined ? undefined : nodeOfTile(cached, index);
    if (fromCache !== undefined) return fromCache;
    // Not cached, or past the cached tile's end: the tile may have grown since.
    const stored = this.#readTile(level, tile);
    if (stored === undefined) return undefined;
    this.#tileCache.set(level, tile, stored);
    return nodeOfTile(stored, index);
  }

  #stateNodeSync(nodeHash: Uint8Array): Uint8Array | undefined {
    assert(nodeHash.length === 32, "state node hashes are 32 bytes");
    const prefix = hashPrefixOf(nodeHash);
    const indexed = this.#statement("stateIndexIds").all(prefix) as number[];
    for (const id of [...indexed, ...this.#stateTail.idsOf(prefix)]) {
      const candidate = this.#statement("stateNodeById").get(id) as Uint8Array | undefined;
      if (candidate === undefined) throw corrupt("the state node index names a missing row", { id });
      if (stateNodeMatches(nodeHash, candidate, this.hash)) return plainBytes(candidate);
    }
    return undefined;
  }

  async readLogNodes(
    positions: ReadonlyArray<{ level: number; index: number }>,
  ): Promise<Array<Uint8Array | undefined>> {
    return positions.map((position) => this.#logNodeSync(position.level, position.index));
  }

  async readStateNodes(hashes: readonly Uint8Array[]): Promise<Array<Uint8Array | undefined>> {
    return hashes.map((nodeHash) => this.#stateNodeSync(nodeHash));
  }

  syncNodeReader(): SyncNodeReader {
    return {
      logNode: (level, index) => this.#logNodeSync(level, index),
      stateNode: (nodeHash) => this.#stateNodeSync(nodeHash),
    };
  }

  async importState(nodes: readonly StateNodeEntry[], metadata: readonly MetadataEntry[]): Promise<void> {
    checkMetadataEntries(metadata, false);
    const metadataPut = this.#statement("metadataPut");
    const written = { statePrefixes: [] as bigint[], stateIds: [] as number[] };
    this.#database
      .transaction(() => {
        const fresh = nodes.filter(([nodeHash]) => this.#stateNodeSync(nodeHash) === undefined);
        this.#insertStateNodes(fresh, written);
        for (const [key, value] of metadata) metadataPut.run(key, value);
      })
      .immediate();
    this.#addStateRows(written);
    const head = this.#headSync();
    this.#maintainIndexes(head?.logSize ?? 0);
  }

  async walAppend(height: bigint, record: Uint8Array): Promise<void> {
    checkWalRecord(height, record);
    // Autocommit under synchronous = FULL: the WAL is fsynced before run() returns.
    this.#statement("walInsert").run(height, record);
  }

  async walRead(fromHeight: bigint): Promise<Array<{ height: bigint; record: Uint8Array }>> {
    checkHeightArgument(fromHeight);
    const rows = this.#statement("walRead").all(fromHeight, WAL_READ_RECORDS_MAX + 1) as Array<{
      height: number;
      record: Uint8Array;
    }>;
    if (rows.length > WAL_READ_RECORDS_MAX) {
      throw new StoreError(
        "STORE_QUERY_INVALID",
        "the WAL holds more than WAL_READ_RECORDS_MAX records: prune it",
      );
    }
    return rows.map((row) => ({ height: BigInt(row.height), record: plainBytes(row.record) }));
  }

  async walPrune(belowHeight: bigint): Promise<void> {
    checkHeightArgument(belowHeight);
    this.#statement("walPrune").run(belowHeight);
  }

  async statistics(): Promise<StoreStatistics> {
    const count = (table: string): number =>
      (this.#database.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const walPath = `${this.path}-wal`;
    return {
      blocks: count("blocks"),
      transactions: count("transactions"),
      events: count("events"),
      receipts: (this.#statement("receiptCount").get() as number) / RECEIPT_END_BYTES,
      logNodes: (this.#statement("logNodeCount").get() as number) / LOG_NODE_BYTES,
      stateNodes: count("state_nodes"),
      sizeBytes: statSync(this.path).size + (existsSync(walPath) ? statSync(walPath).size : 0),
    };
  }

  /** Copies the WAL into the main file (benchmarks measure the file's size after this). */
  checkpoint(): void {
    this.#database.pragma("wal_checkpoint(TRUNCATE)");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#database.close();
  }
}
