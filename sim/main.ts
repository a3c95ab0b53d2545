/**
 * `npm run sim -- --seeds N [--from S]`: runs seeds S..S+N-1 and prints a summary (seeds run,
 * heights decided, faults injected, violations) and the seed of every failure.
 * `npm run sim -- --seed S --trace`: replays one seed with a readable trace.
 * `npm run sim:long`: 100,000 seeds in bounded, resumable batches (a progress file).
 *
 * Flags: --seeds N, --from S, --seed S, --trace, --real-signatures, --long,
 *   --progress FILE (default .sim-long-progress), --time-limit-s T (per invocation),
 *   --bug ignore-lock|count-duplicate-votes|quorum-two-thirds (a test-only bug, to watch it fail).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { TestOnlyBugs } from "../src/consensus/index.ts";
import { SAFETY_VIOLATIONS } from "./checker.ts";
import { swarmOptions } from "./options.ts";
import { runSimulation, type SimulationResult } from "./simulation.ts";
import { describeOptions } from "./trace.ts";
import { emptyFaultCounters, type FaultCounters } from "./types.ts";

interface Arguments {
  seeds: number;
  from: number;
  seed: number | null;
  trace: boolean;
  realSignatures: boolean;
  long: boolean;
  progressPath: string;
  timeLimitS: number;
  bug: TestOnlyBugs;
}

const BUGS: Readonly<Record<string, TestOnlyBugs>> = {
  "ignore-lock": { ignoreLock: true },
  "count-duplicate-votes": { countDuplicateVotes: true },
  "quorum-two-thirds": { quorumAtTwoThirds: true },
};

function fail(message: string): never {
  console.error(`error: ${message}\nsee the flags at the top of sim/main.ts`);
  process.exit(2);
}

function parseInteger(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (text === undefined || !Number.isSafeInteger(value) || value < 0)
    fail(`${flag} needs a non-negative integer`);
  return value;
}

function parseArguments(argv: readonly string[]): Arguments {
  const parsed: Arguments = {
    seeds: 100,
    from: 0,
    seed: null,
    trace: false,
    realSignatures: false,
    long: false,
    progressPath: ".sim-long-progress",
    timeLimitS: 0,
    bug: {},
  };
  for (let index = 0; index < argv.length; index++) {
    const flag = argv[index]!;
    const next = (): string | undefined => argv[++index];
    if (flag === "--seeds") parsed.seeds = parseInteger(next(), flag);
    else if (flag === "--from") parsed.from = parseInteger(next(), flag);
    else if (flag === "--seed") parsed.seed = parseInteger(next(), flag);
    else if (flag === "--trace") parsed.trace = true;
    else if (flag === "--real-signatures") parsed.realSignatures = true;
    else if (flag === "--long") parsed.long = true;
    else if (flag === "--progress") parsed.progressPath = next() ?? fail("--progress needs a file");
    else if (flag === "--time-limit-s") parsed.timeLimitS = parseInteger(next(), flag);
    else if (flag === "--bug") {
      const name = next() ?? "";
      parsed.bug = BUGS[name] ?? fail(`--bug must be one of ${Object.keys(BUGS).join(", ")}`);
    } else fail(`unknown flag ${flag}`);
  }
  return parsed;
}

interface Summary {
  seedsRun: number;
  heightsDecided: number;
  virtualTimeMs: number;
  eventsProcessed: number;
  messagesDropped: number;
  messagesDuplicated: number;
  faults: FaultCounters;
  failures: Array<{ seed: number; kinds: string[]; first: string }>;
}

function emptySummary(): Summary {
  return {
    seedsRun: 0,
    heightsDecided: 0,
    virtualTimeMs: 0,
    eventsProcessed: 0,
    messagesDropped: 0,
    messagesDuplicated: 0,
    faults: emptyFaultCounters(),
    failures: [],
  };
}

function addResult(summary: Summary, result: SimulationResult): void {
  summary.seedsRun += 1;
  summary.heightsDecided += result.heightsDecided;
  summary.virtualTimeMs += result.virtualTimeMs;
  summary.eventsProcessed += result.eventsProcessed;
  summary.messagesDropped += result.network.dropped + result.network.cutByPartition;
  summary.messagesDuplicated += result.network.duplicated;
  for (const key of Object.keys(summary.faults) as Array<keyof FaultCounters>) {
    summary.faults[key] += result.faults[key];
  }
  if (result.violations.length > 0) {
    summary.failures.push({
      seed: result.seed,
      kinds: [...new Set(result.violations.map((violation) => violation.kind))],
      first: result.violations[0]!.detail.split("\n")[0]!,
    });
  }
}

function printSummary(summary: Summary, wallMs: number): void {
  const safety = summary.failures.filter((failure) =>
    failure.kinds.some((kind) => SAFETY_VIOLATIONS.has(kind as never)),
  );
  console.log(`seeds run:           ${summary.seedsRun}`);
  console.log(`heights decided:     ${summary.heightsDecided}`);
  console.log(`virtual time:        ${(summary.virtualTimeMs / 1000).toFixed(0)} s`);
  console.log(`events processed:    ${summary.eventsProcessed}`);
  console.log(
    `messages dropped:    ${summary.messagesDropped} (partitions included), duplicated: ${summary.messagesDuplicated}`,
  );
  const faults = Object.entries(summary.faults)
    .map(([name, count]) => `${name} ${count}`)
    .join(", ");
  console.log(`faults injected:     ${faults}`);
  console.log(
    `violations:          ${summary.failures.length} seeds (${safety.length} with safety violations)`,
  );
  for (const failure of summary.failures.slice(0, 20)) {
    console.log(`  seed ${failure.seed}: ${failure.kinds.join(", ")}: ${failure.first}`);
    console.log(`    replay: npm run sim -- --seed ${failure.seed} --trace`);
  }
  console.log(`wall time:           ${(wallMs / 1000).toFixed(1)} s`);
}

function runOne(args: Arguments, seed: number): SimulationResult {
  const options = swarmOptions(seed, { realSignatures: args.realSignatures, testOnlyBugs: args.bug });
  const sink = args.trace ? (line: string) => console.log(line) : null;
  if (args.trace) for (const line of describeOptions(options)) console.log(`# ${line}`);
  return runSimulation(options, sink);
}

interface Progress {
  next: number;
  end: number;
  summary: Summary;
}

function runLong(args: Arguments): number {
  const start = performance.now();
  let progress: Progress = { next: args.from, end: args.from + 100_000, summary: emptySummary() };
  if (existsSync(args.progressPath)) {
    progress = JSON.parse(readFileSync(args.progressPath, "utf8")) as Progress;
    console.log(`resuming at seed ${progress.next} of ${progress.end} (${args.progressPath})`);
  }
  const save = (): void => writeFileSync(args.progressPath, `${JSON.stringify(progress, null, 1)}\n`);
  while (progress.next < progress.end) {
    addResult(progress.summary, runOne(args, progress.next));
    progress.next += 1;
    if (progress.next % 100 === 0) {
      save();
      console.log(`seed ${progress.next}: ${progress.summary.failures.length} failing seeds so far`);
      if (args.timeLimitS > 0 && performance.now() - start > args.timeLimitS * 1000) {
        console.log(`time limit reached; run again to resume at seed ${progress.next}`);
        break;
      }
    }
  }
  save();
  printSummary(progress.summary, performance.now() - start);
  return progress.summary.failures.length === 0 ? 0 : 1;
}

function main(): number {
  const args = parseArguments(process.argv.slice(2));
  if (args.long) return runLong(args);
  const start = performance.now();
  const summary = emptySummary();
  const seeds =
    args.seed === null ? Array.from({ length: args.seeds }, (_, index) => args.from + index) : [args.seed];
  for (const seed of seeds) {
    const result = runOne(args, seed);
    addResult(summary, result);
    if (args.trace) {
      for (const violation of result.violations) {
        console.log(`VIOLATION ${violation.kind} at ${violation.atMs}ms: ${violation.detail}`);
      }
    }
  }
  printSummary(summary, performance.now() - start);
  return summary.failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
