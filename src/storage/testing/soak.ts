/**
 * `npm run soak:storage`: the crash tests at length. The writer is killed 1,000 times per back
 * end (SQLite, then PostgreSQL with an immediate server restart every 100 cycles), then the store
 * is checked against a replay from genesis. Bounded: it stops after the kills or the time limit.
 *
 *   node --import tsx src/storage/testing/soak.ts [--kills 1000] [--backend sqlite|postgres|both]
 *     [--seed N] [--minutes 60]
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openPostgresStore } from "../postgres/postgres-store.ts";
import { postgresBinDirectory, startPostgresCluster } from "../postgres/test-cluster.ts";
import { openSqliteStore } from "../sqlite/sqlite-store.ts";
import type { Store } from "../store.ts";
import { type CrashRunOptions, checkAfterCrashes, runCrashCycles } from "./crash-harness.ts";
import { TestChain } from "./test-chain.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "1000" },
    backend: { type: "string", default: "both" },
    seed: { type: "string", default: String(Date.now() % 1_000_000_007) },
    minutes: { type: "string", default: "60" },
  },
});
const kills = Number(values.kills);
const seed = Number(values.seed);
const timeLimitMs = Number(values.minutes) * 60_000;
const RESTART_EVERY_CYCLES = 100;

async function soak(
  name: string,
  options: Omit<
    CrashRunOptions,
    "seed" | "kills" | "timeLimitMs" | "chainSeed" | "txsPerBlock" | "killDelayMsMax"
  >,
  open: () => Promise<Store>,
): Promise<boolean> {
  const chain = new TestChain({ seed: 11, txsPerBlock: 8 });
  const started = Date.now();
  const result = await runCrashCycles({
    ...options,
    seed,
    chainSeed: 11,
    txsPerBlock: 8,
    kills,
    killDelayMsMax: 300,
    timeLimitMs,
    log: (line) => console.log(`${name}: ${line}`),
  });
  const store = await open();
  try {
    const height = await checkAfterCrashes(store, chain, result);
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    console.log(
      `${name}: OK: ${result.kills} kills, ${result.writerFailures} writer failures, head ${height}, ${minutes} min (seed ${seed})`,
    );
    return result.kills + result.writerFailures >= kills;
  } catch (error) {
    console.log(`${name}: FAILED (seed ${seed}): ${error instanceof Error ? error.message : String(error)}`);
    return false;
  } finally {
    await store.close();
  }
}

let ok = true;
if (values.backend === "sqlite" || values.backend === "both") {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-soak-"));
  try {
    const location = join(directory, "soak.sqlite");
    ok = (await soak("sqlite", { location, indexBatchRows: 200 }, () => openSqliteStore(location))) && ok;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
if ((values.backend === "postgres" || values.backend === "both") && (await postgresBinDirectory()) !== null) {
  const cluster = await startPostgresCluster();
  try {
    const location = await cluster.createDatabase("soak");
    ok =
      (await soak(
        "postgres",
        {
          location,
          duringCycle: async (cycle) => {
            if (cycle % RESTART_EVERY_CYCLES === RESTART_EVERY_CYCLES - 1) await cluster.restartImmediate();
          },
        },
        () => openPostgresStore(location),
      )) && ok;
  } finally {
    await cluster.stop();
  }
}
process.exitCode = ok ? 0 : 1;
