/**
 * Crash safety of the SQLite store: the writer is killed with SIGKILL at least 50 times at
 * seeded random moments (CITYLEDGER_CRASH_SEED replays a run), restarted each time, and the
 * store is then checked against a replay from genesis (testing/crash-harness.ts).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { checkAfterCrashes, runCrashCycles } from "../testing/crash-harness.ts";
import { TestChain } from "../testing/test-chain.ts";
import { openSqliteStore } from "./sqlite-store.ts";

const KILLS = Number(process.env.CITYLEDGER_CRASH_KILLS ?? 50);
const SEED = Number(process.env.CITYLEDGER_CRASH_SEED ?? 20261126);
const TIME_LIMIT_MS = Number(process.env.CITYLEDGER_CRASH_TIME_LIMIT_MS ?? 150_000);

describe("SQLite store survives SIGKILL", () => {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-sqlite-crash-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it(`loses no printed block and shows no partial block across ${KILLS} kills (seed ${SEED})`, {
    timeout: TIME_LIMIT_MS + 60_000,
  }, async () => {
    const location = join(directory, "crash.sqlite");
    const chain = new TestChain({ seed: 3, txsPerBlock: 8 });
    const result = await runCrashCycles({
      location,
      seed: SEED,
      chainSeed: 3,
      txsPerBlock: 8,
      kills: KILLS,
      killDelayMsMax: 250,
      indexBatchRows: 50,
      timeLimitMs: TIME_LIMIT_MS,
      log: (line) => console.log(line),
    });
    assert.ok(result.kills >= KILLS, `killed ${result.kills} times within the time limit`);
    assert.equal(result.writerFailures, 0, "the writer never failed on its own");
    assert.ok(result.printedMax >= 20n, `the writer made progress (printed up to ${result.printedMax})`);
    const store = await openSqliteStore(location);
    try {
      const height = await checkAfterCrashes(store, chain, result);
      console.log(`# ${result.kills} kills, ${result.printed.size} heights printed, head ${height}`);
    } finally {
      await store.close();
    }
  });
});
