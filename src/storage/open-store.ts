/**
 * `openStore(location)`: a `postgres://` (or `postgresql://`) URL opens the PostgreSQL back
 * end; anything else is a path: a directory holds the node's SQLite file (STORE_FILE_NAME), any
 * other path is the SQLite file itself. The chain's hash comes from the store's `suite`
 * metadata when the caller does not give one.
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { suiteByName } from "../crypto/index.ts";
import type { HashFunction, SuiteName } from "../crypto/suite.ts";
import { StoreError } from "./errors.ts";
import { openPostgresStore } from "./postgres/postgres-store.ts";
import { openSqliteStore } from "./sqlite/sqlite-store.ts";
import { METADATA_KEYS, type Store } from "./store.ts";

/** The SQLite file inside a node's data directory. */
export const STORE_FILE_NAME = "cityledger.sqlite";

export interface OpenStoreOptions {
  /** Create the store when it does not exist (default true; `store verify` passes false). */
  readonly create?: boolean;
  /** The chain's hash; default: the hash of the suite named in the store's metadata, else SHA-256. */
  readonly hash?: HashFunction;
}

const SUITE_NAMES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];

export function isPostgresLocation(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The SQLite file a path names: the path itself, or STORE_FILE_NAME inside a directory. */
export function sqlitePathOf(location: string): string {
  if (existsSync(location) && statSync(location).isDirectory()) return join(location, STORE_FILE_NAME);
  return location;
}

async function openOnce(location: string, create: boolean, hash: HashFunction | undefined): Promise<Store> {
  if (typeof location !== "string" || location.length === 0) {
    throw new StoreError("STORE_LOCATION_INVALID", "a store location is a path or a postgres:// URL");
  }
  if (isPostgresLocation(location)) return openPostgresStore(location, { create, ...(hash ? { hash } : {}) });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    throw new StoreError("STORE_LOCATION_INVALID", "only postgres:// URLs and paths are store locations");
  }
  return openSqliteStore(sqlitePathOf(location), { create, ...(hash ? { hash } : {}) });
}

export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<Store> {
  const create = options.create ?? true;
  const store = await openOnce(location, create, options.hash);
  if (options.hash !== undefined) return store;
  const suiteBytes = await store.readMetadata(METADATA_KEYS.suite);
  if (suiteBytes === undefined) return store;
  const suiteName = new TextDecoder().decode(suiteBytes) as SuiteName;
  if (!SUITE_NAMES.includes(suiteName)) {
    await store.close();
    throw new StoreError("STORE_CORRUPT", "the store names an unknown signature suite");
  }
  const hash = suiteByName(suiteName).hash;
  if (hash === store.hash) return store;
  await store.close();
  return openOnce(location, create, hash);
}
