/**
 * `npm run bench:exec`: the contract sandbox's figures (docs/PERFORMANCE.md, "Contracts").
 *
 * - calls/s of contracts/counter `increment` (state read + write + event), executed in-process
 *   through the sandbox with the test context of src/exec/sandbox (no signatures, no executor
 *   around it), one block of calls;
 * - the same work done by a native system contract, and the sandbox's overhead per call;
 * - memory per loaded contract (QuickJS heap of the block's runtime, per extra context);
 * - the cost of a block: open, first load (compile) and close (which restores the wasm memory).
 *
 * Each figure is the median of ROUNDS rounds in this process; machine load is printed.
 * @module
 */
import { execSync } from "node:child_process";
import path from "node:path";
import { fail, ok } from "../src/base/errors.ts";
import { bundleContract, CONTRACTS_DIRECTORY } from "../src/cli/contract-bundle.ts";
import { decodeValue, encodeValue } from "../src/encoding/value.ts";
import type { SystemContract } from "../src/exec/contract.ts";
import { ExecutionError } from "../src/exec/errors.ts";
import { loadSandboxEngine } from "../src/exec/sandbox/engine.ts";
import { TestTransaction, TestWorld } from "../src/exec/sandbox/test-context.ts";

const CALLS = 20_000;
const ROUNDS = 5;
const CONTRACTS_LOADED = 50;

/** The counter as a native contract: the same reads, writes and event. */
const nativeCounter: SystemContract = {
  name: "native-counter",
  execute(context, method, args) {
    if (method !== "increment") return fail(new ExecutionError("EXEC_METHOD_UNKNOWN", "no such method"));
    const by =
      args !== null && typeof args === "object" && "by" in args && typeof args.by === "bigint" ? args.by : 1n;
    const id = new TextEncoder().encode("value");
    const stored = context.state.get("counter", id);
    const value = (stored === undefined ? 0n : (decodeValue(stored) as bigint)) + by;
    context.state.set("counter", id, encodeValue(value));
    context.emit("incremented", { by, value, height: context.height });
    return ok(value);
  },
};

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function callsPerSecond(world: TestWorld, contract: string): number {
  const started = performance.now();
  for (let call = 0; call < CALLS; call++) {
    const tx = new TestTransaction(world, { txIndex: call });
    const result = tx.run(contract, "increment", { by: 1n });
    if (!result.ok) throw result.error;
  }
  return CALLS / ((performance.now() - started) / 1000);
}

const engine = await loadSandboxEngine();
const counter = await bundleContract(path.join(CONTRACTS_DIRECTORY, "counter", "index.ts"));
const codeHash = Buffer.from(counter.codeHashHex, "hex");

const sandboxRates: number[] = [];
const nativeRates: number[] = [];
const blockMs: number[] = [];
const loadMs: number[] = [];
let bytesPerContract = 0;
for (let round = 0; round < ROUNDS; round++) {
  const openedAt = performance.now();
  const block = engine.openBlock();
  const loaded = block.load("counter", codeHash, counter.code);
  if (!loaded.ok) throw loaded.error;
  loadMs.push(performance.now() - openedAt);
  const world = new TestWorld();
  world.add(loaded.value);
  world.add(nativeCounter);
  callsPerSecond(world, "counter"); // warm-up of both paths
  callsPerSecond(world, "native-counter");
  sandboxRates.push(callsPerSecond(world, "counter"));
  nativeRates.push(callsPerSecond(world, "native-counter"));
  const before = block.memoryUsage().runtimeBytes;
  for (let index = 0; index < CONTRACTS_LOADED; index++) {
    const extra = block.load(`counter-${index}`, codeHash, counter.code);
    if (!extra.ok) throw extra.error;
  }
  bytesPerContract = (block.memoryUsage().runtimeBytes - before) / CONTRACTS_LOADED;
  const closedAt = performance.now();
  block.close();
  blockMs.push(performance.now() - closedAt);
}

const sandboxRate = median(sandboxRates);
const nativeRate = median(nativeRates);
const overheadUs = (1 / sandboxRate - 1 / nativeRate) * 1e6;
const rows: Array<[string, string]> = [
  ["counter.increment via sandbox (calls/s)", Math.round(sandboxRate).toLocaleString("en-US")],
  ["same work, native contract (calls/s)", Math.round(nativeRate).toLocaleString("en-US")],
  ["sandbox overhead per call (µs)", overheadUs.toFixed(1)],
  ["memory per loaded contract (KiB, QuickJS heap)", (bytesPerContract / 1024).toFixed(1)],
  ["open block + first load of counter (ms)", median(loadMs).toFixed(2)],
  ["close block: free runtime + restore wasm memory (ms)", median(blockMs).toFixed(2)],
];
const width = Math.max(...rows.map(([name]) => name.length));
process.stdout.write(`bench:exec — ${CALLS.toLocaleString("en-US")} calls × ${ROUNDS} rounds, medians\n`);
for (const [name, value] of rows) process.stdout.write(`${name.padEnd(width)}  ${value}\n`);
process.stdout.write(`target ≥ 20,000 calls/s: ${sandboxRate >= 20_000 ? "met" : "NOT met"}\n`);
process.stdout.write(`machine load: ${execSync("uptime").toString().trim()}\n`);
