/**
 * Rows inserted many per statement: `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), …`. Each
 * better-sqlite3 `run` costs a crossing into C and one run of SQLite's program, so a block's
 * thousand transactions and events go in chunks of ROW_BATCH_ROWS_MAX rows, the remainder
 * one by one (measured on this machine: 1.0 µs per row in chunks of 16–64 against 1.6 µs alone).
 * The rows and their order are exactly those of single-row inserts.
 *
 * `INSERT OR FAIL`: with the default ABORT, a statement that writes several rows and may fail on
 * a constraint makes SQLite keep a statement journal, a copy of every page the statement changes
 * (4 KiB copied and allocated each), so that it can undo the statement alone. FAIL stops at the
 * failing row without undoing the rows before it; callers insert inside a transaction that is
 * rolled back as a whole on any error (a block batch), so the journal would never be used.
 * @module
 */
import type Database from "better-sqlite3";
import { assert } from "../../base/assert.ts";

type Statement = Database.Statement;

/** Rows per multi-row statement (SQLite allows 32,766 parameters; 32 rows × 8 columns = 256). */
export const ROW_BATCH_ROWS_MAX = 32;

export class RowBatchInsert {
  readonly #columns: number;
  readonly #single: Statement;
  readonly #chunk: Statement;
  /** The parameters of one chunk, reused (the statement copies them when it runs). */
  readonly #chunkParameters: unknown[];

  /** `table (a, b, …)` as SQL text, and the number of columns. */
  constructor(database: Database.Database, tableWithColumns: string, columns: number) {
    assert(Number.isInteger(columns) && columns >= 1 && columns <= 16, "a row has 1 to 16 columns");
    const row = `(${new Array(columns).fill("?").join(", ")})`;
    this.#columns = columns;
    this.#single = database.prepare(`INSERT OR FAIL INTO ${tableWithColumns} VALUES ${row}`);
    this.#chunk = database.prepare(
      `INSERT OR FAIL INTO ${tableWithColumns} VALUES ${new Array(ROW_BATCH_ROWS_MAX).fill(row).join(", ")}`,
    );
    this.#chunkParameters = new Array(ROW_BATCH_ROWS_MAX * columns);
  }

  /**
   * Inserts `rowCount` rows; `fill(parameters, offset, row)` writes row `row`'s values at
   * parameters[offset … offset + columns). Inside the caller's transaction, which must be rolled
   * back when this throws (rows before a failing one stay written until then: OR FAIL).
   */
  insert(rowCount: number, fill: (parameters: unknown[], offset: number, row: number) => void): void {
    assert(Number.isInteger(rowCount) && rowCount >= 0, "a row count");
    const columns = this.#columns;
    let row = 0;
    const parameters = this.#chunkParameters;
    for (; row + ROW_BATCH_ROWS_MAX <= rowCount; row += ROW_BATCH_ROWS_MAX) {
      for (let index = 0; index < ROW_BATCH_ROWS_MAX; index++) fill(parameters, index * columns, row + index);
      this.#chunk.run(parameters);
    }
    // Let go of the last chunk's blobs.
    if (rowCount >= ROW_BATCH_ROWS_MAX) parameters.fill(undefined);
    const single = new Array<unknown>(columns);
    for (; row < rowCount; row++) {
      fill(single, 0, row);
      this.#single.run(single);
    }
  }
}
