/**
 * Crash safety of the PostgreSQL store: the writer is killed with SIGKILL at least 20 times at
 * seeded random moments, and twice PostgreSQL itself is restarted with `pg_ctl restart -m
 * immediate` under the running writer (no checkpoint: the server recovers from its WAL). The
 * store is then checked against a replay from genesis (testing/crash-harness.ts).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { checkAfterCrashes, runCrashCycles } from "../testing/crash-harness.ts";
import { TestChain } from "../testing/test-chain.ts";
import { openPostgresStore } from "./postgres-store.ts";
import { type PostgresCluster, postgresBinDirectory, startPostgresCluster } from "./test-cluster.ts";

const KILLS = Number(process.env.CITYLEDGER_PG_CRASH_KILLS ?? 20);
const SEED = Number(process.env.CITYLEDGER_CRASH_SEED ?? 20261126);
const TIME_LIMIT_MS = Number(process.env.CITYLEDGER_CRASH_TIME_LIMIT_MS ?? 150_000);
const RESTART_CYCLES: ReadonlySet<number> = new Set([4, 13]);
const installed = (await postgresBinDirectory()) !== null;

describe("PostgreSQL store survives SIGKILL and server restarts", {
  skip: installed ? false : "PostgreSQL is not installed",
}, () => {
  let cluster: PostgresCluster | undefined;
  after(async () => {
    await cluster?.stop();
  });

  it(`loses no printed block across ${KILLS} writer kills and 2 immediate server restarts (seed ${SEED})`, {
    timeout: TIME_LIMIT_MS + 90_000,
  }, async () => {
    cluster = await startPostgresCluster();
    const location = await cluster.createDatabase("crash");
    const chain = new TestChain({ seed: 5, txsPerBlock: 8 });
    let restarts = 0;
    const result = await runCrashCycles({
      location,
      seed: SEED,
      chainSeed: 5,
      txsPerBlock: 8,
      kills: KILLS + RESTART_CYCLES.size,
      killDelayMsMax: 300,
      timeLimitMs: TIME_LIMIT_MS,
      duringCycle: async (cycle) => {
        if (!RESTART_CYCLES.has(cycle)) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
        await cluster!.restartImmediate();
        restarts++;
      },
    });
    assert.equal(restarts, RESTART_CYCLES.size, "PostgreSQL was restarted under the writer");
    assert.ok(result.kills >= KILLS, `killed ${result.kills} times within the time limit`);
    assert.ok(
      result.writerFailures <= RESTART_CYCLES.size,
      "the writer failed only when its server went away",
    );
    assert.ok(result.printedMax >= 10n, `the writer made progress (printed up to ${result.printedMax})`);
    const store = await openPostgresStore(location);
    try {
      const height = await checkAfterCrashes(store, chain, result);
      console.log(
        `# ${result.kills} kills, ${restarts} server restarts, ${result.printed.size} heights printed, head ${height}`,
      );
    } finally {
      await store.close();
    }
  });
});
