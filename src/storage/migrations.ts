/**
 * Numbered schema migrations, shared logic of both back ends. Each back end lists its own SQL
 * for the same numbers (one logical schema). A store records every migration it applied; on
 * open, the plan below decides what to do before anything is written:
 * - applied versions must be exactly 1..n (anything else is STORE_CORRUPT);
 * - n above the code's newest version is STORE_SCHEMA_TOO_NEW (a newer release wrote it);
 * - a version between n and the code's newest that the code does not have is
 *   STORE_MIGRATION_MISSING.
 * @module
 */
import { assert } from "../base/assert.ts";
import { StoreError } from "./errors.ts";

export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements run in one transaction, separated by semicolons. */
  readonly sql: string;
}

/** The code's newest version: the highest number in its list. */
export function newestVersionOf(migrations: readonly Migration[]): number {
  let newest = 0;
  for (const migration of migrations) newest = Math.max(newest, migration.version);
  return newest;
}

/** The migrations to run, in order, on a store that applied `applied`; throws when it cannot. */
export function planMigrations<Step extends Migration>(
  applied: readonly number[],
  migrations: readonly Step[],
): Step[] {
  const sorted = [...applied].sort((left, right) => left - right);
  for (let index = 0; index < sorted.length; index++) {
    if (sorted[index] !== index + 1) {
      throw new StoreError("STORE_CORRUPT", "the store's applied migrations are not 1..n", {
        applied: sorted.join(","),
      });
    }
  }
  const storeVersion = sorted.length;
  const codeVersion = newestVersionOf(migrations);
  if (storeVersion > codeVersion) {
    throw new StoreError(
      "STORE_SCHEMA_TOO_NEW",
      `the store has schema version ${storeVersion}, newer than this release's ${codeVersion}: upgrade CityLedger`,
      { storeVersion, codeVersion },
    );
  }
  const plan: Step[] = [];
  for (let version = storeVersion + 1; version <= codeVersion; version++) {
    const migration = migrations.find((candidate) => candidate.version === version);
    if (migration === undefined) {
      throw new StoreError("STORE_MIGRATION_MISSING", `migration ${version} is missing from this release`, {
        version,
        storeVersion,
        codeVersion,
      });
    }
    plan.push(migration);
  }
  assert(plan.length === codeVersion - storeVersion, "one migration per missing version");
  return plan;
}

/** Splits a migration's SQL into statements (our migrations hold no semicolons inside literals). */
export function statementsOf(migration: Migration): string[] {
  const statements = migration.sql
    .split(";")
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
  assert(statements.length > 0, "a migration has statements");
  return statements;
}
