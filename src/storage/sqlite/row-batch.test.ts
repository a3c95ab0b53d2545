/**
 * RowBatchInsert against a real SQLite database: every row count around the chunk size lands
 * exactly as single-row inserts would (same rows, same order of rowids), and a constraint
 * violation inside a chunk rolls the caller's transaction back whole.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Database from "better-sqlite3";
import { ROW_BATCH_ROWS_MAX, RowBatchInsert } from "./row-batch.ts";

function database(): Database.Database {
  const opened = new Database(":memory:");
  opened.exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, position INTEGER NOT NULL UNIQUE, payload BLOB)");
  return opened;
}

describe("RowBatchInsert", () => {
  it("inserts every row, in order, for counts around the chunk size", () => {
    for (const count of [
      0,
      1,
      ROW_BATCH_ROWS_MAX - 1,
      ROW_BATCH_ROWS_MAX,
      ROW_BATCH_ROWS_MAX + 1,
      70,
      1_000,
    ]) {
      const opened = database();
      const batch = new RowBatchInsert(opened, "rows (position, payload)", 2);
      opened.transaction(() =>
        batch.insert(count, (parameters, offset, row) => {
          parameters[offset] = row * 3;
          parameters[offset + 1] = row % 5 === 0 ? null : new Uint8Array([row & 0xff, 7]);
        }),
      )();
      const stored = opened.prepare("SELECT id, position, payload FROM rows ORDER BY id").all() as Array<{
        id: number;
        position: number;
        payload: Uint8Array | null;
      }>;
      assert.equal(stored.length, count);
      stored.forEach((row, index) => {
        assert.equal(row.id, index + 1, "rowids follow the rows' order");
        assert.equal(row.position, index * 3);
        assert.deepEqual(
          row.payload === null ? null : [...row.payload],
          index % 5 === 0 ? null : [index & 0xff, 7],
        );
      });
      opened.close();
    }
  });

  it("a row refused inside a chunk rolls the whole transaction back", () => {
    const opened = database();
    const batch = new RowBatchInsert(opened, "rows (position, payload)", 2);
    assert.throws(
      () =>
        opened.transaction(() =>
          batch.insert(ROW_BATCH_ROWS_MAX + 5, (parameters, offset, row) => {
            parameters[offset] = row === 10 ? 3 : row; // Row 10 repeats row 3's unique position.
            parameters[offset + 1] = null;
          }),
        )(),
      /UNIQUE constraint failed/,
    );
    assert.equal((opened.prepare("SELECT count(*) AS n FROM rows").get() as { n: number }).n, 0);
    opened.close();
  });
});
