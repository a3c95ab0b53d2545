/**
 * `npm run bench:network`: throughput and submit-to-commit latency of real node processes on
 * loopback, (a) one validator (like `cityledger dev`) and (b) four validators in four processes
 * (like `cityledger testnet`), driven by a load generator in a process of its own
 * (bench/load-generator.ts) that talks to the nodes only over HTTP and WebSocket.
 *
 * Per network: open-loop phases at fixed offered rates (a warm-up, then a measured window; the
 * ladder stops after the first rate the network cannot carry), then a saturation phase (closed
 * loop with a bounded number of outstanding batches). For each phase: offered, accepted and
 * committed rates, latency p50/p99/max, refusals by code, each node's CPU time over the window
 * and its resident memory at the end (from /proc). When a target is missed, the saturation
 * phase is run again on a fresh network whose nodes run with `--cpu-prof`, and the profiles'
 * top self-time functions are printed beside the node's /metrics histograms.
 *
 * Flags: --quick (short phases), --networks=1,4, --rates=500,1000 (open-loop rates, tx/s),
 * --no-profile, --profile-only (only the profiled saturation runs), --keep (keep the nodes'
 * folders: logs, data, profiles), --node-log=debug (the nodes' log level, for a diagnostic run),
 * --signature-workers=N (the nodes' signature worker threads; 0 checks on the main thread).
 *
 * The machine is shared: besides CPU time, each node's time spent waiting for a core
 * (/proc/<pid>/schedstat) is reported, and the load average with each phase.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePorts, TESTNET_CONSENSUS } from "../src/cli/node-commands.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import type { ToBaselineGenerator } from "./baseline-generator.ts";
import { printProfileSummary, summarizeProfiles } from "./cpu-profile.ts";
import { printTable } from "./harness.ts";
import type { FromGenerator, PhaseResult, PhaseSpec, ToGenerator } from "./load-generator.ts";

const quick = process.argv.includes("--quick");
const keep = process.argv.includes("--keep");
const profileWanted = !process.argv.includes("--no-profile");
const profileOnly = process.argv.includes("--profile-only");
const nodeLogLevel = process.argv.find((item) => item.startsWith("--node-log="))?.slice("--node-log=".length);
/** `--signature-workers=N`: the nodes' `mempool.signatureWorkers` (default: theirs, one per core less one). */
const signatureWorkersFlag = process.argv
  .find((item) => item.startsWith("--signature-workers="))
  ?.slice("--signature-workers=".length);
const signatureWorkers = signatureWorkersFlag === undefined ? undefined : Number(signatureWorkersFlag);
const listArgument = (name: string, fallback: number[]) => {
  const argument = process.argv.find((item) => item.startsWith(`--${name}=`));
  return argument === undefined
    ? fallback
    : argument
        .slice(name.length + 3)
        .split(",")
        .map(Number);
};
const networkSizes = listArgument("networks", [1, 4]);
const openRates = listArgument("rates", quick ? [1_000, 5_000, 10_000] : [500, 1_000, 2_000, 5_000, 10_000]);
const WARMUP_MS = quick ? 1_500 : 2_000;
const WINDOW_MS = quick ? 4_000 : 10_000;
const DRAIN_MS = 30_000;
/** Between phases: wait this long at most for every node's pool to empty. */
const SETTLE_MS_MAX = 60_000;
const NODE_START_TIMEOUT_MS = 90_000;
const NODE_STOP_TIMEOUT_MS = 20_000;
/**
 * Saturation: at most `batches` batches of `batchTxs` submitted and not yet committed. Chosen
 * near Little's law at the target (rate × p99: 2,000 for one node, 3,000 for four), with
 * headroom for one node; a deeper queue only lengthens the latency once the chain is saturated
 * (and, with four validators sharing two cores, its larger blocks make rounds time out).
 */
const SATURATION_WINDOW: Record<number, { batches: number; batchTxs: number }> = {
  1: { batches: 8, batchTxs: 500 },
  4: { batches: 12, batchTxs: 250 },
};
/** Saturation pre-signs this multiple of the best committed rate seen, within these bounds. */
const SATURATION_TXS_MIN = 20_000;
const SATURATION_TXS_MAX = quick ? 80_000 : 240_000;

export const TARGETS: Record<number, { txPerSecond: number; p99Ms: number }> = {
  1: { txPerSecond: 10_000, p99Ms: 200 },
  4: { txPerSecond: 3_000, p99Ms: 1_000 },
};

const bin = resolve(import.meta.dirname, "../bin/cityledger.js");
const generatorScript = resolve(import.meta.dirname, "load-generator.ts");
const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

export interface ProcSample {
  readonly cpuMs: number;
  /** Time the main thread was runnable but waited for a core (/proc/<pid>/schedstat). */
  readonly runQueueMs: number;
  readonly rssMb: number;
  readonly peakRssMb: number;
}

/** CPU time (user + system) and resident memory of a process, from /proc. */
export function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0);
  let runQueueMs = 0;
  try {
    runQueueMs = Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    // No schedstat in this kernel: the column shows 0.
  }
  return {
    cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND,
    runQueueMs,
    rssMb: kb("VmRSS") / 1024,
    peakRssMb: kb("VmHWM") / 1024,
  };
}

export class NodeRunner {
  child: ChildProcess | null = null;
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    readonly directory: string,
    readonly apiUrl: string,
  ) {}

  get pid(): number {
    const pid = this.child?.pid;
    if (pid === undefined) throw new Error(`${this.name} is not running`);
    return pid;
  }

  /** `nodeFlags` go to node itself (--cpu-prof is not allowed in NODE_OPTIONS). */
  start(nodeFlags: readonly string[]): void {
    const log = openSync(join(this.directory, "node.log"), "a");
    const child = spawn(
      process.execPath,
      [...nodeFlags, bin, "node", "start", "--config", join(this.directory, "config.json")],
      { stdio: ["ignore", log, log] },
    );
    this.child = child;
    this.exited = new Promise((done) => child.once("exit", (code) => done(code)));
    void this.exited.then(() => {
      if (this.child === child) this.child = null;
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), NODE_STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** GET with up to three attempts (a kept-alive connection may be closed by the node as idle). */
export async function getText(url: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return await response.text();
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

export async function getJson<Type>(url: string): Promise<Type> {
  return JSON.parse(await getText(url)) as Type;
}

interface StatusJson {
  readonly height: string;
  readonly peers: number;
  readonly mempool: { readonly count: number };
}

/** A node process exited while the benchmark waited for it: the message has its last log line. */
export class NodeExitedError extends Error {
  override readonly name = "NodeExitedError";
  constructor(node: string, lastLine: string) {
    super(`${node} exited: ${lastLine}`);
  }
}

/** The last line of a node's log (its fatal error, when it stopped). */
function lastLogLine(directory: string): string {
  try {
    const lines = readFileSync(join(directory, "node.log"), "utf8").trimEnd().split("\n");
    return lines[lines.length - 1] ?? "";
  } catch {
    return "(no log)";
  }
}

/** Waits (bounded) until `check` holds; a NodeExitedError from `check` ends the wait at once. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof NodeExitedError) throw error;
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

/** A histogram from the node's /metrics text: cumulative buckets, sum and count. */
export interface Histogram {
  readonly buckets: Array<[number, number]>;
  readonly sum: number;
  readonly count: number;
}

const HISTOGRAMS = [
  "cityledger_execution_seconds",
  "cityledger_store_commit_seconds",
  "cityledger_store_wal_append_seconds",
  "cityledger_commit_latency_seconds",
  "cityledger_block_interval_seconds",
] as const;

function parseHistograms(text: string): Map<string, Histogram> {
  const result = new Map<string, Histogram>();
  for (const name of HISTOGRAMS) {
    const buckets: Array<[number, number]> = [];
    let sum = 0;
    let count = 0;
    for (const line of text.split("\n")) {
      if (line.startsWith(`${name}_bucket{`)) {
        const le = /le="([^"]+)"/.exec(line)?.[1];
        const value = Number(line.slice(line.lastIndexOf(" ") + 1));
        buckets.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value]);
      } else if (line.startsWith(`${name}_sum`)) sum = Number(line.slice(line.lastIndexOf(" ") + 1));
      else if (line.startsWith(`${name}_count`)) count = Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    result.set(name, { buckets, sum, count });
  }
  return result;
}

function diffHistogram(after: Histogram, before: Histogram | undefined): Histogram {
  if (before === undefined) return after;
  return {
    buckets: after.buckets.map(([le, value], index) => [le, value - (before.buckets[index]?.[1] ?? 0)]),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The bucket bound under which a fraction of observations fall ("≤ x s"). */
function bucketQuantile(histogram: Histogram, fraction: number): string {
  if (histogram.count === 0) return "-";
  for (const [le, value] of histogram.buckets) {
    if (value >= fraction * histogram.count)
      return le === Number.POSITIVE_INFINITY ? "> max bucket" : `≤ ${le}`;
  }
  return "-";
}

export interface PhaseFigures {
  readonly network: number;
  readonly spec: PhaseSpec;
  readonly result: PhaseResult;
  /** Per node: CPU ms over the window, RSS and peak RSS at the end. */
  readonly nodes: ReadonlyArray<{ cpuMs: number; runQueueMs: number; rssMb: number; peakRssMb: number }>;
  readonly generatorCpuMs: number;
  /** CPU ms over the window of the caller's extra processes (e.g. the PostgreSQL server a node uses). */
  readonly extraCpuMs: number;
  readonly extraRssMb: number;
  readonly loadAverage: number;
  /** Per node: /metrics histograms over the window. */
  readonly histograms: ReadonlyArray<Map<string, Histogram>>;
  /** The window on the monotonic clock, in microseconds (to cut CPU profiles to it). */
  readonly windowUs: readonly [number, number];
}

/** Drives one generator process: phases in order, the nodes' /proc read at the window edges. */
export class GeneratorDriver {
  readonly child: ChildProcess;
  #waiting: ((message: FromGenerator) => void) | null = null;
  readonly #inbox: FromGenerator[] = [];
  onWindow: ((edge: "start" | "end") => void) | null = null;

  /** `script`: bench/load-generator.ts, or bench/baseline-generator.ts (the same protocol). */
  constructor(script = generatorScript) {
    this.child = spawn(process.execPath, ["--import", "tsx", script], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (message: FromGenerator) => {
      if (message.type === "window") {
        this.onWindow?.(message.edge);
        return;
      }
      if (
        message.type === "error" &&
        !message.message.startsWith("phase") &&
        !message.message.startsWith("connect")
      ) {
        console.error(`  generator: ${message.message}`);
        return;
      }
      if (this.#waiting !== null) {
        const waiting = this.#waiting;
        this.#waiting = null;
        waiting(message);
      } else this.#inbox.push(message);
    });
  }

  send(message: ToGenerator | ToBaselineGenerator): void {
    this.child.send(message);
  }

  next(timeoutMs: number): Promise<FromGenerator> {
    const queued = this.#inbox.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = null;
        reject(new Error(`the generator said nothing for ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }

  async expect<Type extends FromGenerator["type"]>(
    type: Type,
    timeoutMs: number,
  ): Promise<Extract<FromGenerator, { type: Type }>> {
    const message = await this.next(timeoutMs);
    if (message.type === "error") throw new Error(`generator: ${message.message}`);
    if (message.type !== type) throw new Error(`generator: expected ${type}, got ${message.type}`);
    return message as Extract<FromGenerator, { type: Type }>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((done) => this.child.once("exit", done));
    this.send({ type: "stop" });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface Network {
  readonly size: number;
  readonly directory: string;
  readonly chainId: string;
  readonly nodes: readonly NodeRunner[];
}

const started: NodeRunner[] = [];
export const generators: GeneratorDriver[] = [];

/** Extra settings written into every node's config (e.g. `store: "postgres://…"`, one per node). */
export type NodeConfigOverrides = (nodeIndex: number) => Record<string, unknown>;

export async function startNetwork(
  size: number,
  nodeFlags: readonly string[],
  overrides?: NodeConfigOverrides,
): Promise<Network> {
  const directory = mkdtempSync(join(tmpdir(), `cityledger-bench-${size}-`));
  const ports = await freePorts(size * 2);
  const layout = writeNetworkLayout({
    out: directory,
    validators: size,
    chainId: "bench-network",
    suite: "ed25519",
    host: "127.0.0.1",
    p2pPortBase: 1,
    apiPortBase: 1,
    p2pPorts: ports.slice(0, size),
    apiPorts: ports.slice(size),
    genesisTimeMs: BigInt(Date.now()),
    // One validator: the defaults, as `cityledger dev`; four: the loopback timeouts of `testnet`.
    ...(size === 1 ? {} : { consensus: TESTNET_CONSENSUS }),
  });
  if (nodeLogLevel !== undefined || signatureWorkers !== undefined || overrides !== undefined) {
    // A diagnostic run (the nodes log at this level, or another number of signature workers), or another store.
    layout.nodes.forEach((node, index) => {
      const config = JSON.parse(readFileSync(node.configFile, "utf8")) as Record<string, unknown>;
      const extra = {
        ...(nodeLogLevel === undefined ? {} : { log: { level: nodeLogLevel } }),
        ...(signatureWorkers === undefined ? {} : { mempool: { signatureWorkers } }),
        ...overrides?.(index),
      };
      writeFileSync(node.configFile, `${JSON.stringify({ ...config, ...extra }, null, 2)}\n`);
    });
  }
  const nodes = layout.nodes.map((node) => new NodeRunner(node.name, node.directory, node.apiUrl));
  for (const node of nodes) {
    node.start(nodeFlags);
    started.push(node);
  }
  const exitedCheck = () => {
    const exited = nodes.find((node) => node.child === null);
    if (exited !== undefined) throw new NodeExitedError(exited.name, lastLogLine(exited.directory));
  };
  try {
    await Promise.all(
      nodes.map((node) =>
        waitFor(`${node.name} /health`, NODE_START_TIMEOUT_MS, async () => {
          exitedCheck();
          return (await fetch(`${node.apiUrl}/health`)).ok;
        }),
      ),
    );
    await waitFor("every node connected and a first block", NODE_START_TIMEOUT_MS, async () => {
      exitedCheck();
      const statuses = await Promise.all(
        nodes.map((node) => getJson<StatusJson>(`${node.apiUrl}/v1/status`)),
      );
      return statuses.every((status) => status.peers >= size - 1 && BigInt(status.height) >= 1n);
    });
  } catch (error) {
    // A network that did not start leaves nothing running (and its folder only with --keep).
    await stopNetwork({ size, directory, chainId: layout.genesis.chainId, nodes });
    throw error;
  }
  return { size, directory, chainId: layout.genesis.chainId, nodes };
}

export async function stopNetwork(network: Network): Promise<void> {
  await Promise.all(network.nodes.map((node) => node.stop()));
  if (!keep) rmSync(network.directory, { recursive: true, force: true });
}

async function scrapeHistograms(network: Network): Promise<Array<Map<string, Histogram>>> {
  return Promise.all(
    network.nodes.map(async (node) => {
      try {
        return parseHistograms(await getText(`${node.apiUrl}/metrics`));
      } catch (error) {
        console.error(`  ${node.name} /metrics: ${(error as Error).message}`);
        return new Map<string, Histogram>();
      }
    }),
  );
}

/** Waits (bounded) until every node's pool is empty: the next phase starts from a quiet chain. */
async function settle(network: Network): Promise<number> {
  const deadline = Date.now() + SETTLE_MS_MAX;
  let waiting = 0;
  for (;;) {
    const statuses = await Promise.all(
      network.nodes.map((node) => getJson<StatusJson>(`${node.apiUrl}/v1/status`)),
    );
    waiting = Math.max(...statuses.map((status) => status.mempool.count));
    if (waiting === 0 || Date.now() > deadline) return waiting;
    await new Promise((done) => setTimeout(done, 250));
  }
}

/** `extraProcesses`: pids whose CPU time is also read at the window's edges (summed). */
export async function runPhase(
  network: Network,
  driver: GeneratorDriver,
  spec: PhaseSpec,
  extraProcesses?: () => readonly number[],
): Promise<PhaseFigures> {
  driver.send({ type: "phase", phase: spec, chainId: network.chainId });
  const ready = await driver.expect("ready", 600_000);
  process.stdout.write(
    `  ${network.size} node(s), ${spec.name}: signed ${ready.signedCount.toLocaleString("en-US")} txs in ` +
      `${(ready.signMs / 1000).toFixed(1)} s (${Math.round((ready.signedCount * 1000) / ready.signMs).toLocaleString("en-US")}/s); running… `,
  );
  let before: ProcSample[] = [];
  let after: ProcSample[] = [];
  let generatorBefore = 0;
  let extraBefore = 0;
  let extraAfter = 0;
  let extraRssMb = 0;
  const sampleExtra = () => {
    let cpuMs = 0;
    let rssMb = 0;
    for (const pid of extraProcesses?.() ?? []) {
      try {
        const sample = procSample(pid);
        cpuMs += sample.cpuMs;
        rssMb += sample.rssMb;
      } catch {
        // A backend that ended: its CPU time is lost to the sum (short-lived ones are few).
      }
    }
    return { cpuMs, rssMb };
  };
  let generatorAfter = 0;
  let metricsBefore: Promise<Array<Map<string, Histogram>>> = Promise.resolve([]);
  let metricsAfter: Promise<Array<Map<string, Histogram>>> = Promise.resolve([]);
  const windowUs: [number, number] = [0, 0];
  driver.onWindow = (edge) => {
    windowUs[edge === "start" ? 0 : 1] = Number(process.hrtime.bigint() / 1000n);
    const samples = network.nodes.map((node) => procSample(node.pid));
    const generatorCpu = procSample(driver.child.pid!).cpuMs;
    if (edge === "start") {
      before = samples;
      generatorBefore = generatorCpu;
      extraBefore = sampleExtra().cpuMs;
      metricsBefore = scrapeHistograms(network);
    } else {
      after = samples;
      generatorAfter = generatorCpu;
      const extra = sampleExtra();
      extraAfter = extra.cpuMs;
      extraRssMb = extra.rssMb;
      metricsAfter = scrapeHistograms(network);
    }
  };
  driver.send({ type: "go" });
  const { result } = await driver.expect("result", spec.warmupMs + spec.windowMs + spec.drainMs + 120_000);
  driver.onWindow = null;
  const end = network.nodes.map((node) => procSample(node.pid));
  const [histogramsBefore, histogramsAfter] = await Promise.all([metricsBefore, metricsAfter]);
  const histograms = histogramsAfter.map((afterMap, index) => {
    const diffed = new Map<string, Histogram>();
    for (const [name, histogram] of afterMap)
      diffed.set(name, diffHistogram(histogram, histogramsBefore[index]?.get(name)));
    return diffed;
  });
  const figures: PhaseFigures = {
    network: network.size,
    spec,
    result,
    nodes: network.nodes.map((_, index) => ({
      cpuMs: (after[index]?.cpuMs ?? 0) - (before[index]?.cpuMs ?? 0),
      runQueueMs: (after[index]?.runQueueMs ?? 0) - (before[index]?.runQueueMs ?? 0),
      rssMb: end[index]!.rssMb,
      peakRssMb: end[index]!.peakRssMb,
    })),
    generatorCpuMs: generatorAfter - generatorBefore,
    extraCpuMs: extraAfter - extraBefore,
    extraRssMb,
    loadAverage: loadavg()[0]!,
    histograms,
    windowUs,
  };
  const committedRate = (result.committedInWindow * 1000) / result.windowMs;
  console.log(
    `committed ${Math.round(committedRate).toLocaleString("en-US")} tx/s, p99 ${formatMs(result.latencyMs?.p99)}` +
      ` (generator: send lag p99 ${formatMs(result.sendLagMs.p99)}, at most ${result.requestsInFlightMax} requests` +
      ` in flight to a node, ${result.blockFetches} block fetches, p50 ${formatMs(result.blockFetchMs?.p50)})`,
  );
  if (result.notCommitted > 0 || result.notCommittedHeads > 0) {
    console.log(
      `  ${result.notCommitted} accepted transactions of the window not seen committed after the drain; ` +
        `${result.notCommittedHeads} accepted transactions of the phase not committed although their ` +
        "sender's previous one was (or they are its first):",
    );
    for (const sample of result.notCommittedSamples) console.log(`    ${sample}`);
  }
  const refusedAll = Object.entries(result.refusedAllByCode);
  if (refusedAll.length > 0) {
    console.log(
      `  refused over the whole phase: ${refusedAll.map(([code, count]) => `${code}: ${count}`).join("; ")}`,
    );
  }
  const waiting = await settle(network);
  if (waiting > 0)
    console.log(`  (${waiting} transactions still waited in a pool after ${SETTLE_MS_MAX} ms)`);
  return figures;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || Number.isNaN(ms)) return "-";
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function openSpec(rate: number, warmupMs = WARMUP_MS, windowMs = WINDOW_MS): PhaseSpec {
  return {
    name: `open ${rate.toLocaleString("en-US")}/s`,
    mode: "open",
    rateTxPerSecond: rate,
    warmupMs,
    windowMs,
    txCount: 0,
    outstandingBatchesMax: 0,
    batchTxs: 0,
    drainMs: DRAIN_MS,
  };
}

export function saturationSpec(size: number, bestCommittedRate: number): PhaseSpec {
  const estimate = Math.max(bestCommittedRate, TARGETS[size]?.txPerSecond ?? 1_000) * 1.5;
  const txCount = Math.min(
    SATURATION_TXS_MAX,
    Math.max(SATURATION_TXS_MIN, Math.ceil((estimate * (WARMUP_MS + WINDOW_MS)) / 1000)),
  );
  const { batches, batchTxs } = SATURATION_WINDOW[size] ?? { batches: 4 * size, batchTxs: 250 };
  return {
    name: `saturation (closed loop, ${batches} batches × ${batchTxs} outstanding)`,
    mode: "closed",
    rateTxPerSecond: 0,
    warmupMs: WARMUP_MS,
    windowMs: WINDOW_MS,
    txCount,
    outstandingBatchesMax: batches,
    batchTxs,
    drainMs: DRAIN_MS,
  };
}

/** Carried: committed ≥ 95 % of offered, accepted ≥ 99 % of sent, ≤ 0.1 % not committed. */
export function carried(figures: PhaseFigures): boolean {
  const { result } = figures;
  const offered = (result.sentInWindow * 1000) / result.windowMs;
  const committed = (result.committedInWindow * 1000) / result.windowMs;
  return (
    committed >= 0.95 * offered &&
    result.acceptedInWindow >= 0.99 * result.sentInWindow &&
    result.notCommitted <= 0.001 * Math.max(1, result.acceptedInWindow)
  );
}

export async function startGenerator(network: Network): Promise<GeneratorDriver> {
  const driver = new GeneratorDriver();
  generators.push(driver);
  driver.send({
    type: "init",
    nodes: network.nodes.map((node) => ({ name: node.name, apiUrl: node.apiUrl })),
  });
  await driver.expect("connected", 60_000);
  return driver;
}

async function benchNetwork(size: number): Promise<PhaseFigures[]> {
  console.log(`\n${size === 1 ? "one validator" : `${size} validators in ${size} processes`}: starting…`);
  const network = await startNetwork(size, []);
  const figures: PhaseFigures[] = [];
  try {
    const driver = await startGenerator(network);
    let best = 0;
    for (const rate of openRates) {
      const phase = await runPhase(network, driver, openSpec(rate));
      figures.push(phase);
      best = Math.max(best, (phase.result.committedInWindow * 1000) / phase.result.windowMs);
      if (!carried(phase)) {
        console.log(`  ${rate.toLocaleString("en-US")} tx/s is not carried: higher open-loop rates skipped`);
        break;
      }
    }
    figures.push(await runPhase(network, driver, saturationSpec(size, best)));
    await driver.stop();
  } finally {
    await stopNetwork(network);
  }
  return figures;
}

/** The saturation phase again on a fresh network whose nodes write CPU profiles. */
export async function profileNetwork(size: number, spec: PhaseSpec): Promise<PhaseFigures> {
  console.log(`\n${size} validator(s) with --cpu-prof: saturation only`);
  const profileDirectory = mkdtempSync(join(tmpdir(), `cityledger-bench-profile-${size}-`));
  mkdirSync(profileDirectory, { recursive: true });
  const network = await startNetwork(size, ["--cpu-prof", `--cpu-prof-dir=${profileDirectory}`]);
  let figures: PhaseFigures;
  try {
    const driver = await startGenerator(network);
    figures = await runPhase(network, driver, spec);
    await driver.stop();
  } finally {
    await stopNetwork(network);
  }
  // CPU.<date>.<time>.<pid>.<thread>.<sequence>.cpuprofile: thread 0 is the main thread (the
  // others are tsx's module-loading thread).
  const files = readdirSync(profileDirectory)
    .filter((file) => file.endsWith(".cpuprofile") && file.split(".")[4] === "0")
    .map((file) => join(profileDirectory, file));
  if (files.length === 0) console.log("  no .cpuprofile written (did the nodes exit cleanly?)");
  else {
    printProfileSummary(
      summarizeProfiles(files, 25, figures.windowUs),
      `CPU profile of ${files.length} node process(es), the measured window only`,
    );
  }
  if (keep) console.log(`  profiles kept in ${profileDirectory}`);
  else rmSync(profileDirectory, { recursive: true, force: true });
  return figures;
}

export function row(figures: PhaseFigures): Record<string, string> {
  const { result, nodes } = figures;
  const seconds = result.windowMs / 1000;
  const offered = result.sentInWindow / seconds;
  const accepted = result.acceptedInWindow / seconds;
  const committed = result.committedInWindow / seconds;
  const target = TARGETS[figures.network];
  const refused = Object.entries(result.refusedByCode)
    .map(([code, count]) => `${code}: ${count}`)
    .join("; ");
  const cpuTotalMs = nodes.reduce((sum, node) => sum + node.cpuMs, 0);
  const latency = result.latencyMs;
  let verdict = "";
  if (
    target !== undefined &&
    (result.mode === "closed" || figures.spec.rateTxPerSecond >= target.txPerSecond)
  ) {
    const rateOk = committed >= (result.mode === "closed" ? 1 : 0.95) * target.txPerSecond;
    const latencyOk = latency !== null && latency.p99 <= target.p99Ms && result.notCommitted === 0;
    verdict =
      `${rateOk ? "ok" : "MISSED"} (≥ ${target.txPerSecond.toLocaleString("en-US")}), ` +
      `p99 ${latencyOk ? "ok" : "MISSED"} (≤ ${target.p99Ms} ms)`;
  }
  return {
    validators: String(figures.network),
    load:
      result.mode === "open"
        ? `open ${figures.spec.rateTxPerSecond.toLocaleString("en-US")}/s`
        : `saturation ${figures.spec.outstandingBatchesMax}×${figures.spec.batchTxs}`,
    "offered tx/s": Math.round(offered).toLocaleString("en-US"),
    "accepted tx/s": Math.round(accepted).toLocaleString("en-US"),
    "committed tx/s": Math.round(committed).toLocaleString("en-US"),
    "p50 / p99 / max": `${formatMs(latency?.p50)} / ${formatMs(latency?.p99)} / ${formatMs(latency?.max)}`,
    "not committed": String(result.notCommitted),
    "txs/block":
      result.blocksInWindow === 0
        ? "-"
        : Math.round(result.committedInWindow / result.blocksInWindow).toLocaleString("en-US"),
    "node CPU % (each)": nodes.map((node) => Math.round((node.cpuMs / result.windowMs) * 100)).join("/"),
    "waiting for a core %": nodes
      .map((node) => Math.round((node.runQueueMs / result.windowMs) * 100))
      .join("/"),
    "CPU µs/tx/validator":
      result.committedInWindow === 0
        ? "-"
        : Math.round((cpuTotalMs * 1000) / result.committedInWindow / nodes.length).toLocaleString("en-US"),
    "RSS MB (each)": nodes.map((node) => Math.round(node.rssMb)).join("/"),
    "gen CPU %": String(Math.round((figures.generatorCpuMs / result.windowMs) * 100)),
    load1: figures.loadAverage.toFixed(1),
    refused: refused === "" ? "0" : refused,
    target: verdict,
  };
}

export function printHistograms(figures: PhaseFigures, label: string): void {
  console.log(`\n/metrics over the window, ${label} (bucket bounds, seconds):`);
  const rows: Record<string, string>[] = [];
  figures.histograms.forEach((histograms, index) => {
    for (const [name, histogram] of histograms) {
      if (histogram.count === 0) continue;
      rows.push({
        node: `node-${index + 1}`,
        histogram: name.replace("cityledger_", ""),
        count: String(histogram.count),
        "mean s": (histogram.sum / histogram.count).toFixed(4),
        p50: bucketQuantile(histogram, 0.5),
        p99: bucketQuantile(histogram, 0.99),
        "sum s": histogram.sum.toFixed(2),
      });
    }
  });
  printTable(rows);
}

function printSummary(size: number, figures: readonly PhaseFigures[]): boolean {
  const target = TARGETS[size];
  if (target === undefined) return true;
  const sustained = figures
    .filter((phase) => phase.result.mode === "open" && carried(phase))
    .filter((phase) => (phase.result.latencyMs?.p99 ?? Number.POSITIVE_INFINITY) <= target.p99Ms)
    .map((phase) => phase.spec.rateTxPerSecond);
  const best = sustained.length === 0 ? 0 : Math.max(...sustained);
  const saturation = figures.find((phase) => phase.result.mode === "closed");
  const saturationRate =
    saturation === undefined ? 0 : (saturation.result.committedInWindow * 1000) / saturation.result.windowMs;
  const met = best >= target.txPerSecond;
  console.log(
    `${size === 1 ? "one validator" : `${size} validators`}: highest open-loop rate carried with p99 ≤ ${target.p99Ms} ms: ` +
      `${best.toLocaleString("en-US")} tx/s; saturation ${Math.round(saturationRate).toLocaleString("en-US")} tx/s` +
      ` (p99 ${formatMs(saturation?.result.latencyMs?.p99)}); target ≥ ${target.txPerSecond.toLocaleString("en-US")} tx/s` +
      ` with p99 ≤ ${target.p99Ms} ms: ${met ? "ok" : "MISSED"}`,
  );
  return met;
}

/** The commit the nodes run, and how many files under src/ differ from it (others edit as we measure). */
export function codeState(): string {
  try {
    const root = resolve(import.meta.dirname, "..");
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root }).toString().trim();
    const changed = execFileSync("git", ["status", "--porcelain", "--", "src"], { cwd: root })
      .toString()
      .split("\n")
      .filter((line) => line.trim() !== "").length;
    return `${head}, ${changed} files under src/ changed or new in the working tree`;
  } catch {
    return "unknown (no git)";
  }
}

async function main(): Promise<void> {
  const load = loadavg();
  console.log(
    `network benchmark: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, ` +
      `load average ${load.map((value) => value.toFixed(2)).join(" ")} at start, ${new Date().toISOString()}`,
  );
  console.log(`code under test: ${codeState()}`);
  console.log(
    `open loop: ${WARMUP_MS / 1000} s warm-up + ${WINDOW_MS / 1000} s window per rate; ` +
      `latency = generator's HTTP submit → WebSocket block notice (first node to announce)`,
  );
  const all: PhaseFigures[] = [];
  const missed: Array<{ size: number; spec: PhaseSpec }> = [];
  if (profileOnly) {
    for (const size of networkSizes) missed.push({ size, spec: saturationSpec(size, 0) });
  }
  for (const size of profileOnly ? [] : networkSizes) {
    const figures = await benchNetwork(size);
    all.push(...figures);
    const saturation = figures.find((phase) => phase.result.mode === "closed");
    const target = TARGETS[size];
    const met =
      target !== undefined &&
      figures.some(
        (phase) =>
          phase.result.mode === "open" &&
          phase.spec.rateTxPerSecond >= target.txPerSecond &&
          carried(phase) &&
          (phase.result.latencyMs?.p99 ?? Number.POSITIVE_INFINITY) <= target.p99Ms,
      );
    if (!met && saturation !== undefined) missed.push({ size, spec: saturation.spec });
  }

  if (!profileOnly) printResults(all);
  if (profileWanted) {
    for (const { size, spec } of missed) {
      const figures = await profileNetwork(size, spec);
      printTable([row(figures)]);
      printHistograms(figures, `${size} validator(s), saturation under --cpu-prof`);
    }
  }
  console.log(
    "\nColumns: rates over the measured window; latency from the generator's HTTP submit of a batch to the" +
      " first WebSocket `blocks` notice of the block holding the transaction (the generator then GETs the" +
      " block for its hashes); node CPU % = process CPU time (/proc/<pid>/stat) over the window; CPU µs/tx/validator =" +
      " all nodes' CPU time / committed txs / validators; waiting for a core % = time each node's main thread was" +
      " runnable but not running (/proc/<pid>/schedstat), over the window: the share the shared machine took; RSS from /proc/<pid>/status VmRSS at the end of the phase;" +
      " gen CPU % = the load generator's own CPU over the window (it shares the cores).",
  );
}

function printResults(all: readonly PhaseFigures[]): void {
  console.log(
    `\nnetwork benchmark, ${new Date().toISOString()}, load average ${loadavg()
      .map((value) => value.toFixed(2))
      .join(" ")} at end`,
  );
  printTable(all.map(row));
  for (const figures of all.filter((phase) => phase.result.mode === "closed")) {
    printHistograms(figures, `${figures.network} validator(s), saturation`);
  }
  console.log("");
  for (const size of networkSizes)
    printSummary(
      size,
      all.filter((phase) => phase.network === size),
    );
}

export async function cleanUp(): Promise<void> {
  await Promise.all(generators.map((driver) => driver.stop().catch(() => undefined)));
  await Promise.all(started.map((node) => node.stop().catch(() => undefined)));
}

/** Run as `npm run bench:network`; imported by bench/bench.ts for its node processes. */
const runAsScript = process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename;
if (runAsScript) {
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
}
