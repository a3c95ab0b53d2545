/**
 * `npm run bench`: CityLedger and its baselines side by side, in one run on one machine, with the
 * same signed notary records (bench/notary-records.ts):
 *   1. CityLedger, one node, SQLite;          2. CityLedger, one node, PostgreSQL;
 *   3. CityLedger, 4 validators on loopback (4 processes);
 *   4. baseline: PostgreSQL 15, the client verifies each record's signature, synchronous commit;
 *   5. baseline: etcd 3.4, a 3-member cluster on loopback, puts through the `etcd3` client.
 * Every system gets the same phases from a load generator in its own process (CityLedger:
 * bench/load-generator.ts over HTTP/WebSocket; baselines: bench/baseline-generator.ts): open loop
 * at stepped fixed rates (the ladder stops after the first rate not carried), then closed-loop
 * saturation. Then history scaling: one node's throughput and latency while its history grows
 * from 10^4 toward 10^6 transactions (10^7 with --long), bounded by a time budget. Finally, in a
 * full run, the one node's saturation again under `--cpu-prof` (where the time goes).
 *
 * Output: a table (absolute figures; ratios CityLedger / baseline for every pair; targets), a JSON
 * file of all results and an SVG chart of throughput against p99 latency, in bench-results/.
 *
 * Flags: --quick (a ≈ 1–2 minute smoke run), --long (history to 10^7), --systems=sqlite,postgres,
 * validators4,pg-baseline,etcd-baseline, --rates=500,1000 (open-loop ladder, tx/s), --profile (also in --quick),
 * --scale-max=N (history target), --scale-budget-s=S, --no-scaling, --no-profile, --out=DIR.
 * Servers are started and stopped here (temp folders, free ports); `npm run bench:install`
 * installs PostgreSQL and etcd when missing. Bounded: every phase by count and time, the whole
 * run by RUN_TIME_LIMIT_MS (phases not started by then are skipped and said so).
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { BaselineTarget } from "./baseline-generator.ts";
import {
  BaselineUnavailableError,
  baselineVersions,
  type EtcdCluster,
  type PostgresBaseline,
  processTree,
  startEtcdCluster,
  startPostgres,
} from "./baseline-servers.ts";
import type { PhaseResult, PhaseSpec } from "./load-generator.ts";
import {
  carried,
  cleanUp,
  codeState,
  GeneratorDriver,
  generators,
  getText,
  type Network,
  openSpec,
  type PhaseFigures,
  procSample,
  profileNetwork,
  runPhase,
  saturationSpec,
  startGenerator,
  startNetwork,
  stopNetwork,
} from "./network.ts";
import {
  type PhaseRecord,
  type RatioTarget,
  renderMarkdown,
  renderSvg,
  type ScalingRecord,
  type SystemResult,
  saturationOf,
  type Target,
  targetVerdicts,
} from "./report.ts";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const long = argv.includes("--long");
const flagValue = (name: string): string | undefined =>
  argv.find((item) => item.startsWith(`--${name}=`))?.slice(name.length + 3);
const ALL_SYSTEMS = ["sqlite", "postgres", "validators4", "pg-baseline", "etcd-baseline"] as const;
type SystemId = (typeof ALL_SYSTEMS)[number];
/** A command-line flag with a value the benchmark cannot use. */
class BenchUsageError extends Error {
  override readonly name = "BenchUsageError";
}
const isSystemId = (name: string): name is SystemId => (ALL_SYSTEMS as readonly string[]).includes(name);
const systemsWanted: SystemId[] = (flagValue("systems")?.split(",") ?? [...ALL_SYSTEMS]).map((name) => {
  if (!isSystemId(name))
    throw new BenchUsageError(`--systems: unknown "${name}" (${ALL_SYSTEMS.join(", ")})`);
  return name;
});
/** Open-loop rates above this are refused: the generator's pre-signing would not keep up. */
const OPEN_RATE_MAX_TX_PER_SECOND = 50_000;
const openRates = (
  flagValue("rates")?.split(",").map(Number) ?? (quick ? [1_000] : [500, 1_000, 2_000, 5_000, 10_000])
).map((rate) => {
  if (!Number.isInteger(rate) || rate <= 0 || rate > OPEN_RATE_MAX_TX_PER_SECOND)
    throw new BenchUsageError(`--rates: ${rate} is not a rate in 1..${OPEN_RATE_MAX_TX_PER_SECOND} tx/s`);
  return rate;
});
const scalingWanted = !argv.includes("--no-scaling");
/** The profile re-runs one node's saturation under --cpu-prof: in a full run, or a quick one with --profile. */
const profileWanted = argv.includes("--profile") || (!quick && !argv.includes("--no-profile"));
const SCALE_TARGET_TXS = Number(flagValue("scale-max") ?? (long ? 10_000_000 : quick ? 10_000 : 1_000_000));
/** The history phase stops here even before its target (a node commits ≈ 10^3 tx/s today). */
const SCALE_BUDGET_MS = 1000 * Number(flagValue("scale-budget-s") ?? (long ? 4 * 3600 : quick ? 25 : 210));
const SCALE_SEGMENT_WINDOW_MS = quick ? 5_000 : 15_000;
const SCALE_SEGMENT_TXS_MAX = 200_000;
const SCALE_OUTSTANDING_BATCHES = 4;
/**
 * The whole run: phases not started by then are skipped (a full run takes ≈ 10 minutes). A
 * larger history budget extends it, so `--scale-budget-s` is not cut short by the run's bound.
 */
const RUN_TIME_LIMIT_MS =
  (long ? 5 * 3600 : quick ? (profileWanted ? 8 : 4) * 60 : 16 * 60) * 1000 +
  Math.max(0, SCALE_BUDGET_MS - (long ? 4 * 3600 : quick ? 25 : 210) * 1000);
const OUT_DIRECTORY = resolve(flagValue("out") ?? join(import.meta.dirname, "../bench-results"));
/** The closed loop for the baselines: the same outstanding work as one CityLedger node's. */
const BASELINE_SATURATION = { batches: 8, batchTxs: 500 };
const BASELINE_DRAIN_MS = 30_000;
const QUICK_SATURATION_TXS_MAX = 20_000;
/** The baselines commit 5–15 × faster: a smoke run's closed loop needs more records to fill its window. */
const QUICK_BASELINE_SATURATION_TXS_MAX = 60_000;

const TARGETS: readonly Target[] = [
  { systemId: "sqlite", txPerSecond: 10_000, p99Ms: 200 },
  { systemId: "validators4", txPerSecond: 3_000, p99Ms: 1_000 },
];
const RATIO_TARGETS: readonly RatioTarget[] = [
  { baselineId: "etcd-baseline", ratioMin: 1.0 },
  { baselineId: "pg-baseline", ratioMin: 0.5 },
];
const LABELS: Record<SystemId, string> = {
  sqlite: "CityLedger, 1 node, SQLite",
  postgres: "CityLedger, 1 node, PostgreSQL",
  validators4: "CityLedger, 4 validators",
  "pg-baseline": "PostgreSQL 15 + client verify",
  "etcd-baseline": "etcd 3.4, 3 members",
};

const runStartMs = Date.now();
const timeLeftMs = () => RUN_TIME_LIMIT_MS - (Date.now() - runStartMs);
const skipped: string[] = [];

function log(message: string): void {
  console.log(`[${((Date.now() - runStartMs) / 1000).toFixed(0).padStart(4)} s] ${message}`);
}

/** A CityLedger phase's figures in the report's terms. */
function recordOfCityLedger(figures: PhaseFigures): PhaseRecord {
  const { result } = figures;
  const seconds = result.windowMs / 1000;
  const cpuMs = figures.nodes.reduce((sum, node) => sum + node.cpuMs, 0) + figures.extraCpuMs;
  const serverCpuPercent = figures.nodes.map((node) => (node.cpuMs / result.windowMs) * 100);
  if (figures.extraCpuMs > 0) serverCpuPercent.push((figures.extraCpuMs / result.windowMs) * 100);
  const serverRssMb = figures.nodes.map((node) => node.rssMb);
  if (figures.extraRssMb > 0) serverRssMb.push(figures.extraRssMb);
  return {
    name:
      result.mode === "open"
        ? `open ${figures.spec.rateTxPerSecond.toLocaleString("en-US")}/s`
        : `saturation ${figures.spec.outstandingBatchesMax}×${figures.spec.batchTxs}`,
    mode: result.mode,
    rateTxPerSecond: figures.spec.rateTxPerSecond,
    offeredTxPerSecond: result.sentInWindow / seconds,
    committedTxPerSecond: result.committedInWindow / seconds,
    latencyMs: result.latencyMs,
    carried: result.mode === "closed" || carried(figures),
    refused: Object.values(result.refusedByCode).reduce((sum, count) => sum + count, 0),
    serverCpuPercent,
    serverCpuUsPerTx: result.committedInWindow === 0 ? null : (cpuMs * 1000) / result.committedInWindow,
    serverRssMb,
    clientCpuPercent: (figures.generatorCpuMs / result.windowMs) * 100,
    loadAverage: figures.loadAverage,
  };
}

/** A baseline phase: the generator's result and the servers' CPU over the window. */
function recordOfBaseline(
  spec: PhaseSpec,
  result: PhaseResult,
  serverCpuMs: readonly number[],
  serverRssMb: readonly number[],
  loadAverage: number,
): PhaseRecord {
  // A closed loop that ran out of records before its window began measured nothing.
  const seconds = Math.max(result.windowMs, 1) / 1000;
  const offered = result.sentInWindow / seconds;
  const committed = result.committedInWindow / seconds;
  const cpuMs = serverCpuMs.reduce((sum, value) => sum + value, 0);
  return {
    name:
      (result.mode === "open"
        ? `open ${spec.rateTxPerSecond.toLocaleString("en-US")}/s`
        : `saturation ${spec.outstandingBatchesMax}×${spec.batchTxs}`) +
      (result.ranOutOfTransactions ? " (ran out of pre-signed records)" : ""),
    mode: result.mode,
    rateTxPerSecond: spec.rateTxPerSecond,
    offeredTxPerSecond: offered,
    committedTxPerSecond: committed,
    latencyMs: result.latencyMs,
    carried:
      result.mode === "closed" ||
      (committed >= 0.95 * offered && result.acceptedInWindow >= 0.99 * result.sentInWindow),
    refused: Object.values(result.refusedByCode).reduce((sum, count) => sum + count, 0),
    serverCpuPercent: serverCpuMs.map((value) => (value / (seconds * 1000)) * 100),
    serverCpuUsPerTx: result.committedInWindow === 0 ? null : (cpuMs * 1000) / result.committedInWindow,
    serverRssMb,
    clientCpuPercent: (result.generatorCpuMs / (seconds * 1000)) * 100,
    loadAverage,
  };
}

function describe(record: PhaseRecord): string {
  const latency = record.latencyMs;
  return (
    `${record.name}: committed ${Math.round(record.committedTxPerSecond).toLocaleString("en-US")} tx/s` +
    ` (offered ${Math.round(record.offeredTxPerSecond).toLocaleString("en-US")}),` +
    ` p50/p95/p99/max ${latency === null ? "-" : [latency.p50, latency.p95, latency.p99, latency.max].map((ms) => Math.round(ms)).join("/")} ms` +
    `${record.carried ? "" : ", not carried"}`
  );
}

/** The open-loop ladder then saturation on a CityLedger network. */
async function benchCityLedger(
  id: SystemId,
  size: number,
  overrides?: (index: number) => Record<string, unknown>,
  extraProcesses?: () => readonly number[],
): Promise<SystemResult> {
  log(`${LABELS[id]}: starting`);
  const network = await startNetwork(size, [], overrides);
  const phases: PhaseRecord[] = [];
  try {
    const driver = await startGenerator(network);
    let best = 0;
    for (const rate of openRates) {
      if (timeLeftMs() < 60_000) {
        skipped.push(`${LABELS[id]}: open ${rate}/s and above (run time limit)`);
        break;
      }
      const figures = await runPhase(network, driver, openSpec(rate), extraProcesses);
      const record = recordOfCityLedger(figures);
      phases.push(record);
      log(`  ${describe(record)}`);
      best = Math.max(best, record.committedTxPerSecond);
      if (!record.carried) break;
    }
    if (timeLeftMs() > 30_000) {
      const spec = saturationSpec(size, best);
      // A smoke run signs fewer: saturation is reached within a second of load anyway.
      const figures = await runPhase(
        network,
        driver,
        quick ? { ...spec, txCount: Math.min(spec.txCount, QUICK_SATURATION_TXS_MAX) } : spec,
        extraProcesses,
      );
      const record = recordOfCityLedger(figures);
      phases.push(record);
      log(`  ${describe(record)}`);
    } else skipped.push(`${LABELS[id]}: saturation (run time limit)`);
    await driver.stop();
  } finally {
    await stopNetwork(network);
  }
  return { id, label: LABELS[id], kind: "cityledger", processes: size, phases };
}

async function runBaselinePhase(
  driver: GeneratorDriver,
  spec: PhaseSpec,
  serverPids: () => ReadonlyArray<readonly number[]>,
): Promise<PhaseRecord> {
  driver.send({ type: "phase", phase: spec, chainId: "bench-baseline" });
  await driver.expect("ready", 600_000);
  const cpuOf = (groups: ReadonlyArray<readonly number[]>) =>
    groups.map((pids) =>
      pids.reduce((sum, pid) => {
        try {
          return sum + procSample(pid).cpuMs;
        } catch {
          return sum;
        }
      }, 0),
    );
  let before: number[] = [];
  let after: number[] = [];
  let rssMb: number[] = [];
  driver.onWindow = (edge) => {
    const groups = serverPids();
    if (edge === "start") before = cpuOf(groups);
    else {
      after = cpuOf(groups);
      rssMb = groups.map((pids) =>
        pids.reduce((sum, pid) => {
          try {
            return sum + procSample(pid).rssMb;
          } catch {
            return sum;
          }
        }, 0),
      );
    }
  };
  driver.send({ type: "go" });
  const { result } = await driver.expect("result", spec.warmupMs + spec.windowMs + spec.drainMs + 120_000);
  driver.onWindow = null;
  return recordOfBaseline(
    spec,
    result,
    after.map((value, index) => value - (before[index] ?? 0)),
    rssMb,
    loadavg()[0]!,
  );
}

/** The same ladder and saturation against a baseline server. */
async function benchBaseline(
  id: SystemId,
  processes: number,
  target: BaselineTarget,
  serverPids: () => ReadonlyArray<readonly number[]>,
): Promise<SystemResult> {
  log(`${LABELS[id]}: starting`);
  const driver = new GeneratorDriver(resolve(import.meta.dirname, "baseline-generator.ts"));
  generators.push(driver);
  const phases: PhaseRecord[] = [];
  try {
    driver.send({ type: "init", target });
    await driver.expect("connected", 60_000);
    let best = 0;
    for (const rate of openRates) {
      if (timeLeftMs() < 45_000) {
        skipped.push(`${LABELS[id]}: open ${rate}/s and above (run time limit)`);
        break;
      }
      const record = await runBaselinePhase(
        driver,
        { ...openSpec(rate), drainMs: BASELINE_DRAIN_MS },
        serverPids,
      );
      phases.push(record);
      log(`  ${describe(record)}`);
      best = Math.max(best, record.committedTxPerSecond);
      if (!record.carried) break;
    }
    const open = openSpec(1);
    const estimate = Math.max(best, 10_000) * 1.5;
    const spec: PhaseSpec = {
      name: "saturation",
      mode: "closed",
      rateTxPerSecond: 0,
      warmupMs: open.warmupMs,
      windowMs: open.windowMs,
      txCount: Math.min(
        quick ? QUICK_BASELINE_SATURATION_TXS_MAX : 300_000,
        Math.ceil((estimate * (open.warmupMs + open.windowMs)) / 1000),
      ),
      outstandingBatchesMax: BASELINE_SATURATION.batches,
      batchTxs: BASELINE_SATURATION.batchTxs,
      drainMs: BASELINE_DRAIN_MS,
    };
    const record = await runBaselinePhase(driver, spec, serverPids);
    phases.push(record);
    log(`  ${describe(record)}`);
  } finally {
    await driver.stop();
  }
  return { id, label: LABELS[id], kind: "baseline", processes, phases };
}

async function committedTotal(network: Network): Promise<number> {
  const text = await getText(`${network.nodes[0]!.apiUrl}/metrics`);
  const line = text.split("\n").find((item) => item.startsWith("cityledger_transactions_committed_total"));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * History scaling on one node (SQLite): consecutive closed-loop segments on the same chain, each
 * measured, until the history reaches SCALE_TARGET_TXS or the budget is spent. Cost per
 * transaction should stay flat as the history grows.
 */
async function benchScaling(): Promise<ScalingRecord[]> {
  log(
    `history scaling, one node (SQLite): toward ${SCALE_TARGET_TXS.toLocaleString("en-US")} txs, budget ${SCALE_BUDGET_MS / 1000} s`,
  );
  const network = await startNetwork(1, []);
  const records: ScalingRecord[] = [];
  const startMs = Date.now();
  try {
    const driver = await startGenerator(network);
    let rateEstimate = 2_000;
    let history = await committedTotal(network);
    // Bounded: each segment takes at least its window, and the loop stops at the budget.
    while (history < SCALE_TARGET_TXS && Date.now() - startMs < SCALE_BUDGET_MS && timeLeftMs() > 45_000) {
      const windowMs = Math.min(
        SCALE_SEGMENT_WINDOW_MS,
        Math.max(3_000, SCALE_BUDGET_MS - (Date.now() - startMs)),
      );
      const spec: PhaseSpec = {
        ...saturationSpec(1, rateEstimate),
        // Fewer outstanding than the saturation phase: a segment's window must see batches
        // sent and committed within it, or it measures no latency.
        outstandingBatchesMax: SCALE_OUTSTANDING_BATCHES,
        warmupMs: 1_000,
        windowMs,
        txCount: Math.min(
          SCALE_SEGMENT_TXS_MAX,
          Math.max(5_000, Math.ceil((rateEstimate * 1.5 * (windowMs + 1_000)) / 1000)),
          SCALE_TARGET_TXS - history + 5_000,
        ),
      };
      const figures = await runPhase(network, driver, spec);
      const record = recordOfCityLedger(figures);
      const after = await committedTotal(network);
      records.push({
        historyTxsAtStart: history,
        historyTxsAtEnd: after,
        committedTxPerSecond: record.committedTxPerSecond,
        latencyMs: record.latencyMs,
        serverCpuUsPerTx: record.serverCpuUsPerTx,
        rssMb: record.serverRssMb[0] ?? 0,
        loadAverage: record.loadAverage,
      });
      log(
        `  history ${history.toLocaleString("en-US")} → ${after.toLocaleString("en-US")}: ${describe(record)}`,
      );
      rateEstimate = Math.max(500, record.committedTxPerSecond);
      history = after;
    }
    if (history < SCALE_TARGET_TXS)
      skipped.push(
        `history scaling stopped at ${history.toLocaleString("en-US")} of ${SCALE_TARGET_TXS.toLocaleString("en-US")} txs (time budget ${SCALE_BUDGET_MS / 1000} s; --scale-budget-s raises it)`,
      );
    await driver.stop();
  } finally {
    await stopNetwork(network);
  }
  return records;
}

function machineDescription(): { text: string; nproc: number; model: string; memoryGiB: number } {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    model = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? model;
  } catch {
    // Not Linux: os.cpus() has it.
  }
  const nproc = cpus().length;
  const memoryGiB = Math.round(totalmem() / 2 ** 30);
  return { text: `${nproc} × ${model}, ${memoryGiB} GiB, Node ${process.version}`, nproc, model, memoryGiB };
}

async function main(): Promise<void> {
  const loadAverageStart = loadavg();
  const machine = machineDescription();
  const dateIso = new Date().toISOString();
  const versions = baselineVersions();
  // Others may commit or edit while we measure: the code state at both ends goes in the results.
  const codeAtStart = codeState();
  log(
    `npm run bench${quick ? " --quick" : ""}${long ? " --long" : ""}: ${machine.text}; load average ${loadAverageStart.map((value) => value.toFixed(2)).join(" ")}`,
  );
  log(`code under test: ${codeAtStart}; ${versions.postgres}; ${versions.etcd.split("\n")[0]}`);
  const systems: SystemResult[] = [];
  const unavailable = (id: SystemId, error: unknown): SystemResult => {
    const message =
      error instanceof BaselineUnavailableError ? error.message : `failed: ${(error as Error).message}`;
    log(`${LABELS[id]}: ${message}`);
    return {
      id,
      label: LABELS[id],
      kind: id.endsWith("baseline") ? "baseline" : "cityledger",
      processes: 0,
      phases: [],
      error: message,
    };
  };
  let postgres: PostgresBaseline | null = null;
  let etcd: EtcdCluster | null = null;
  const postgresPids = () => (postgres === null ? [] : processTree(postgres.postmasterPid));
  try {
    for (const id of ALL_SYSTEMS.filter((system) => systemsWanted.includes(system))) {
      if (timeLeftMs() < 60_000) {
        skipped.push(`${LABELS[id]} (run time limit)`);
        continue;
      }
      try {
        if (id === "sqlite") systems.push(await benchCityLedger(id, 1));
        else if (id === "validators4") systems.push(await benchCityLedger(id, 4));
        else if (id === "postgres" || id === "pg-baseline") {
          postgres ??= await startPostgres();
          const url = await postgres.cluster.createDatabase(
            id === "postgres" ? "cityledger_bench" : "baseline_bench",
          );
          systems.push(
            id === "postgres"
              ? await benchCityLedger(id, 1, () => ({ store: url }), postgresPids)
              : await benchBaseline(id, 1, { kind: "postgres", url }, () => [postgresPids()]),
          );
        } else {
          etcd ??= await startEtcdCluster(3);
          const cluster = etcd;
          systems.push(
            await benchBaseline(id, 3, { kind: "etcd", endpoints: cluster.endpoints }, () =>
              cluster.pids.map((pid) => [pid]),
            ),
          );
        }
      } catch (error) {
        systems.push(unavailable(id, error));
      }
    }
  } finally {
    await (postgres as PostgresBaseline | null)?.cluster.stop().catch(() => undefined);
    await (etcd as EtcdCluster | null)?.stop().catch(() => undefined);
  }
  let scaling: ScalingRecord[] = [];
  if (scalingWanted && timeLeftMs() > 60_000) {
    try {
      scaling = await benchScaling();
    } catch (error) {
      log(`history scaling failed: ${(error as Error).message}`);
      skipped.push(`history scaling: failed: ${(error as Error).message}`);
    }
  }
  const loadAverageEnd = loadavg();
  const verdicts = targetVerdicts(systems, TARGETS, RATIO_TARGETS, "sqlite");
  const context = {
    dateIso,
    machine: `${machine.text}`,
    loadAverageStart,
    loadAverageEnd,
    codeState: `at start ${codeAtStart}; at end ${codeState()}`,
    versions: `${versions.postgres}; ${versions.etcd.split("\n")[0]}`,
  };
  const markdown = renderMarkdown(context, systems, verdicts, scaling);
  const svg = renderSvg(
    systems,
    `Throughput against p99 latency, ${dateIso.slice(0, 16).replace("T", " ")} UTC, load ${loadAverageStart[0]!.toFixed(1)}→${loadAverageEnd[0]!.toFixed(1)}`,
  );
  mkdirSync(OUT_DIRECTORY, { recursive: true });
  const stamp = dateIso.replaceAll(":", "").replace(/\.\d+Z$/, "Z");
  const files = {
    json: join(OUT_DIRECTORY, `bench-${stamp}.json`),
    markdown: join(OUT_DIRECTORY, `bench-${stamp}.md`),
    svg: join(OUT_DIRECTORY, `bench-${stamp}.svg`),
  };
  writeFileSync(
    files.json,
    `${JSON.stringify(
      {
        date: dateIso,
        machine: {
          nproc: machine.nproc,
          model: machine.model,
          memoryGiB: machine.memoryGiB,
          node: process.version,
        },
        load: { start: loadAverageStart, end: loadAverageEnd },
        mode: quick ? "quick" : long ? "long" : "full",
        code: context.codeState,
        versions,
        systems,
        verdicts,
        scaling,
        skipped,
        durationS: Math.round((Date.now() - runStartMs) / 1000),
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(files.markdown, markdown);
  writeFileSync(files.svg, svg);
  for (const [name, path] of Object.entries(files))
    writeFileSync(join(OUT_DIRECTORY, `latest.${name === "markdown" ? "md" : name}`), readFileSync(path));
  console.log(`\n${markdown}`);
  if (skipped.length > 0) console.log(`Skipped:\n${skipped.map((item) => `- ${item}`).join("\n")}\n`);
  log(`written: ${Object.values(files).join(", ")} (and latest.* beside them)`);

  if (profileWanted && timeLeftMs() > 90_000) {
    const oneNode = systems.find((system) => system.id === "sqlite");
    const saturation = oneNode === undefined ? null : saturationOf(oneNode);
    log("CPU profile: one node's saturation again, under --cpu-prof");
    try {
      await profileNetwork(1, saturationSpec(1, saturation?.committedTxPerSecond ?? 1_000));
    } catch (error) {
      log(`the CPU profile failed: ${(error as Error).message}`);
    }
  } else if (profileWanted) log("the CPU profile is skipped (run time limit)");
}

process.on("SIGINT", () => {
  void cleanUp().finally(() => process.exit(130));
});
try {
  await main();
  await cleanUp();
} catch (error) {
  console.error(error);
  await cleanUp();
  process.exitCode = 1;
}
