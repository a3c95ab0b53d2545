/**
 * Drives the crash tests: starts the writer (crash-writer.ts), kills it with SIGKILL at random
 * moments drawn from a seeded generator, restarts it, and collects every height it printed (a
 * printed height was durable). Then `checkAfterCrashes` checks the store against a replay of the
 * chain from genesis in memory. Every loop is bounded in count and in time.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assert } from "../../base/assert.ts";
import { equalBytes } from "../../base/bytes.ts";
import { PersistentLedger } from "../persistent-ledger.ts";
import type { Store } from "../store.ts";
import { verifyStore } from "../verify.ts";
import { replayInMemory, type TestChain } from "./test-chain.ts";

const WRITER_PATH = join(dirname(fileURLToPath(import.meta.url)), "crash-writer.ts");
const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
/** A writer that neither prints nor exits for this long is killed and the run fails. */
const WRITER_READY_TIMEOUT_MS = 60_000;
const WRITER_EXIT_TIMEOUT_MS = 10_000;

/** mulberry32: a small seeded generator, so any failing run replays with its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CrashRunOptions {
  readonly location: string;
  readonly seed: number;
  readonly chainSeed: number;
  readonly txsPerBlock: number;
  /** How many times the writer is killed. */
  readonly kills: number;
  /** Kills land up to this long after the writer said it is ready (or, sometimes, during startup). */
  readonly killDelayMsMax: number;
  /** The run stops (and the test fails on too few kills) after this long. */
  readonly timeLimitMs: number;
  /** SQLite: the writer's deferred-index batch size (small, so kills land inside batches). */
  readonly indexBatchRows?: number;
  /** Called while the writer of `cycle` runs, before it is killed (PostgreSQL restarts here). */
  readonly duringCycle?: (cycle: number) => Promise<void>;
  readonly log?: (line: string) => void;
}

export interface CrashRunResult {
  readonly kills: number;
  readonly printed: ReadonlySet<bigint>;
  readonly printedMax: bigint;
  readonly writerFailures: number;
}

interface RunningWriter {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

function startWriter(options: CrashRunOptions, printed: Set<bigint>, stderr: string[]): RunningWriter {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      WRITER_PATH,
      "--location",
      options.location,
      "--seed",
      String(options.chainSeed),
      "--txs-per-block",
      String(options.txsPerBlock),
      ...(options.indexBatchRows === undefined ? [] : ["--index-batch-rows", String(options.indexBatchRows)]),
    ],
    { cwd: REPOSITORY_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let buffered = "";
  let onReady: () => void = () => {};
  const ready = new Promise<void>((resolveReady) => {
    onReady = resolveReady;
  });
  child.stdout!.setEncoding("utf8");
  child.stdout!.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith("ready ")) onReady();
      const match = /^committed (\d+)$/.exec(line);
      if (match !== null) printed.add(BigInt(match[1]!));
    }
  });
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (chunk: string) => {
    if (stderr.join("").length < 64 * 1024) stderr.push(chunk);
  });
  const exited = new Promise<number | null>((resolveExit) => {
    child.on("close", (code) => {
      onReady();
      resolveExit(code);
    });
  });
  return { child, ready, exited };
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, milliseconds));
}

async function withTimeout<Value>(
  promise: Promise<Value>,
  milliseconds: number,
  what: string,
): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${milliseconds} ms`)), milliseconds);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function runCrashCycles(options: CrashRunOptions): Promise<CrashRunResult> {
  const random = seededRandom(options.seed);
  const printed = new Set<bigint>();
  const startedAt = Date.now();
  let kills = 0;
  let writerFailures = 0;
  for (let cycle = 0; cycle < options.kills && Date.now() - startedAt < options.timeLimitMs; cycle++) {
    const stderr: string[] = [];
    const writer = startWriter(options, printed, stderr);
    try {
      if (random() < 0.2) {
        // A kill during startup: opening, migrating, reloading the log frontier.
        await sleep(Math.floor(random() * 400));
      } else {
        await withTimeout(writer.ready, WRITER_READY_TIMEOUT_MS, "the writer's startup");
        await options.duringCycle?.(cycle);
        await sleep(Math.floor(random() * options.killDelayMsMax));
      }
    } finally {
      writer.child.kill("SIGKILL");
    }
    const code = await withTimeout(writer.exited, WRITER_EXIT_TIMEOUT_MS, "the killed writer's exit");
    if (writer.child.signalCode === "SIGKILL") kills++;
    else {
      writerFailures++;
      options.log?.(`cycle ${cycle}: the writer exited with ${code}: ${stderr.join("").slice(-2000)}`);
    }
  }
  let printedMax = 0n;
  for (const height of printed) if (height > printedMax) printedMax = height;
  return { kills, printed, printedMax, writerFailures };
}

/**
 * After the kills: every printed height is present and intact (its hash and body checked), no
 * partial block is visible (rows match the head exactly; verifyStore walks everything), and the
 * log root and state root equal a replay of the chain from genesis in memory.
 */
export async function checkAfterCrashes(
  store: Store,
  chain: TestChain,
  result: CrashRunResult,
): Promise<bigint> {
  const head = await store.head();
  assert(head !== null, "the writer committed at least one block");
  assert(head.height >= result.printedMax, "every printed height is in the store");
  const replay = replayInMemory(chain, head.height);
  for (const height of result.printed) {
    const block = await store.blockByHeight(height);
    assert(block !== undefined, `printed height ${height} is present`);
    assert(
      equalBytes(block.certificate.blockHash, replay.blockHashes[Number(height) - 1]!),
      `block ${height} is the replay's`,
    );
  }
  const report = await verifyStore(store);
  if (!report.ok) throw new Error(`verifyStore: height ${report.height}: ${report.reason}`);
  assert(report.height === head.height, "verifyStore walked up to the head");
  const statistics = await store.statistics();
  assert(statistics.blocks === Number(head.height), "one block row per height, none above the head");
  assert(
    statistics.transactions === Number(head.height) * chain.txsPerBlock,
    "no partial block's transactions",
  );
  const ledger = await PersistentLedger.open(store);
  assert(equalBytes(ledger.log.root(), replay.logRoot), "the log root equals the replay's");
  assert(equalBytes(ledger.tree.root, replay.stateRoot), "the state root equals the replay's");
  assert(equalBytes(head.stateRoot, replay.stateRoot), "the head's state root equals the replay's");
  return head.height;
}
