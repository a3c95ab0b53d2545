/**
 * Storage: the Store contract, its SQLite (embedded default) and PostgreSQL back ends, the
 * synchronous node-store views for the Merkle structures, snapshots and the integrity walk.
 * @module
 */
export {
  type MissingNode,
  NodeMissingError,
  SnapshotError,
  SnapshotErrorCode,
  StoreError,
  StoreErrorCode,
} from "./errors.ts";
export * from "./limits.ts";
export {
  prefetchLogNodes,
  prefetchStatePaths,
  StoreLogNodes,
  StoreStateNodes,
  withPrefetchedNodes,
} from "./node-adapters.ts";
export {
  isPostgresLocation,
  type OpenStoreOptions,
  openStore,
  STORE_FILE_NAME,
  sqlitePathOf,
} from "./open-store.ts";
export { type CommitOptions, PersistentLedger, snapshotLogSizeOf } from "./persistent-ledger.ts";
export { openPostgresStore, PostgresStore, type PostgresStoreOptions } from "./postgres/postgres-store.ts";
export {
  createSnapshotManifest,
  decodeSnapshotChunk,
  decodeSnapshotManifest,
  type ExportOptions,
  encodeSnapshotChunk,
  encodeSnapshotManifest,
  exportSnapshotChunk,
  exportSnapshotChunks,
  type ImportOptions,
  importSnapshot,
  indexSnapshot,
  readLogFrontier,
  SnapshotImport,
  type SnapshotIndex,
  type SnapshotManifest,
  type StagedSnapshot,
  snapshotChunkHash,
  snapshotManifestHash,
} from "./snapshot.ts";
export { openSqliteStore, SqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.ts";
export { walkStateEntries } from "./state-walk.ts";
export * from "./store.ts";
export { senderKeyIdOfEncoded, transactionIndexEntriesOf } from "./transaction-index.ts";
export { type VerifyReport, verifyStore } from "./verify.ts";
