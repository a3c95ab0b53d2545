/**
 * `npm run bench:exec`: the contract sandbox's figures (docs/PERFORMANCE.md, "Contracts").
 *
 * - calls/s of contracts/counter `increment` (state read + write + event), executed in-process
 *   through the sandbox with the test context of src/exec/sandbox (no signatures, no executor
 *   around it), one block of calls; beside it the CPU time per call (the process's user +
 *   system time, less sensitive than wall time to the other processes sharing the cores);
 * - the same through the real executor: `executeBlock` on BLOCKS_PER_ROUND blocks of BLOCK_TXS
 *   counter transactions (pre-validated: no signature checks; one signer; the counter resolved as a
 *   deployed contract without a registry lookup), sandbox block open and close included; and on
 *   blocks of SMALL_BLOCK_TXS, where the block's fixed cost (the contract compiled into a
 *   template context, the memory restored: ADR 0010) weighs;
 * - the same work done by a native system contract, and the sandbox's overhead per call;
 * - memory per loaded contract (QuickJS heap, per contract loaded past the template contexts,
 *   each in a context of its own) and of the template contexts together;
 * - the cost of a block: open and first load (the counter compiled into a template context), and
 *   close (which restores the wasm memory) after CONTRACTS_LOADED more contracts.
 *
 * Each figure is the median of ROUNDS rounds in this process; machine load is printed.
 * `--wasm-inlining=off` compiles QuickJS without V8's wasm inlining (ADR 0009), and
 * `--read-cache=off` keeps no rows in the VM (ADR 0011), to compare.
 * @module
 */
import { execSync } from "node:child_process";
import path from "node:path";
import { fail, ok } from "../src/base/errors.ts";
import { bundleContract, CONTRACTS_DIRECTORY } from "../src/cli/contract-bundle.ts";
import { ed25519Suite } from "../src/crypto/ed25519.ts";
import { decodeValue, encodeValue } from "../src/encoding/value.ts";
import type { SystemContract } from "../src/exec/contract.ts";
import { ExecutionError } from "../src/exec/errors.ts";
import { type DeployedContract, executeBlock } from "../src/exec/execute-block.ts";
import { SANDBOX_TEMPLATE_CONTEXTS } from "../src/exec/limits.ts";
import { loadSandboxEngine } from "../src/exec/sandbox/engine.ts";
import { TestTransaction, TestWorld } from "../src/exec/sandbox/test-context.ts";
import type { ValidTransaction } from "../src/ledger/validate-transaction.ts";

const CALLS = 20_000;
const ROUNDS = 5;
const CONTRACTS_LOADED = 50;
const BLOCK_TXS = 1_000;
/** Blocks of BLOCK_TXS per round: one block (≈ 50 ms) let a single slow second move the median. */
const BLOCKS_PER_ROUND = 3;
const SMALL_BLOCK_TXS = 10;
const SMALL_BLOCKS = 20;
const CHAIN_ID = "bench-exec";

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

/** Calls per second of wall time, and CPU microseconds per call. */
function callsPerSecond(world: TestWorld, contract: string): { rate: number; cpuUs: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let call = 0; call < CALLS; call++) {
    const tx = new TestTransaction(world, { txIndex: call });
    const result = tx.run(contract, "increment", { by: 1n });
    if (!result.ok) throw result.error;
  }
  const used = process.cpuUsage(cpu);
  return { rate: CALLS / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / CALLS };
}

/** `count` `counter.increment` transactions of one signer, as validation leaves them. */
function counterBlock(count: number): ValidTransaction[] {
  const senderKeyId = new Uint8Array(32).fill(0x11);
  const transactions: ValidTransaction[] = [];
  for (let index = 0; index < count; index++) {
    const hash = new Uint8Array(32);
    new DataView(hash.buffer).setUint32(0, index + 1);
    transactions.push({
      transaction: {
        suiteCode: ed25519Suite.code,
        chainId: CHAIN_ID,
        senderPublicKey: new Uint8Array(32).fill(0x11),
        nonce: BigInt(index),
        expiryHeight: 1_000n,
        contract: "counter",
        method: "increment",
        args: { by: 1n },
        privateReferences: [],
        signature: new Uint8Array(64),
      },
      encoded: new Uint8Array(0),
      hash,
      senderKeyId,
    });
  }
  return transactions;
}

/** `--wasm-inlining=off`: QuickJS compiled without V8's wasm inlining (ADR 0009), for comparison. */
const wasmInlining = !process.argv.includes("--wasm-inlining=off");
/** `--read-cache=off`: every read crosses to the host (ADR 0011), for comparison. */
const readCache = !process.argv.includes("--read-cache=off");
const engine = await loadSandboxEngine({ wasmInlining, readCache });
const counter = await bundleContract(path.join(CONTRACTS_DIRECTORY, "counter", "index.ts"));
const codeHash = Buffer.from(counter.codeHashHex, "hex");

const deployedCounter: DeployedContract = { version: 1n, codeHash, frozen: false, code: counter.code };
const transactions = counterBlock(BLOCK_TXS);
const smallBlock = counterBlock(SMALL_BLOCK_TXS);
const emptyState = { get: () => undefined };

/**
 * executeBlock on `blocks` blocks of the counter's transactions: transactions per second (wall)
 * and CPU µs per transaction.
 */
function executorRate(block: readonly ValidTransaction[], blocks = 1): { rate: number; cpuUs: number } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let round = 0; round < blocks; round++) {
    const outcome = executeBlock(
      {
        chainId: CHAIN_ID,
        height: 1n,
        timeMs: 1_767_225_600_000n,
        suite: ed25519Suite,
        txGasMax: 10_000_000n,
        sandbox: engine,
        deployed: { resolve: (name) => (name === "counter" ? deployedCounter : undefined) },
      },
      block,
      emptyState,
    );
    if (!outcome.ok) throw outcome.error;
    const failed = outcome.value.errors.find((error) => error !== null);
    if (failed !== undefined) throw failed;
  }
  const used = process.cpuUsage(cpu);
  const elapsedMs = performance.now() - started;
  const count = block.length * blocks;
  return { rate: count / (elapsedMs / 1000), cpuUs: (used.user + used.system) / count };
}

const sandboxRates: number[] = [];
const sandboxCpuUs: number[] = [];
const nativeRates: number[] = [];
const nativeCpuUs: number[] = [];
const executorRates: number[] = [];
const executorCpuUs: number[] = [];
const smallRates: number[] = [];
const smallCpuUs: number[] = [];
const blockMs: number[] = [];
const loadMs: number[] = [];
let bytesPerContract = 0;
let templateBytes = 0;
for (let round = 0; round < ROUNDS; round++) {
  const openedAt = performance.now();
  const block = engine.openBlock();
  // The template contexts, with the prelude run in each (the runtime's heap before any load).
  if (round === 0) templateBytes = block.memoryUsage().runtimeBytes;
  const loaded = block.load("counter", codeHash, counter.code);
  if (!loaded.ok) throw loaded.error;
  loadMs.push(performance.now() - openedAt);
  const world = new TestWorld();
  world.add(loaded.value);
  world.add(nativeCounter);
  callsPerSecond(world, "counter"); // warm-up of both paths
  callsPerSecond(world, "native-counter");
  const sandbox = callsPerSecond(world, "counter");
  const native = callsPerSecond(world, "native-counter");
  sandboxRates.push(sandbox.rate);
  sandboxCpuUs.push(sandbox.cpuUs);
  nativeRates.push(native.rate);
  nativeCpuUs.push(native.cpuUs);
  // The other template contexts first: the contracts measured each make a context of their own.
  for (let index = 1; index < SANDBOX_TEMPLATE_CONTEXTS; index++) {
    const filler = block.load(`filler-${index}`, codeHash, counter.code);
    if (!filler.ok) throw filler.error;
  }
  const before = block.memoryUsage().runtimeBytes;
  for (let index = 0; index < CONTRACTS_LOADED; index++) {
    const extra = block.load(`counter-${index}`, codeHash, counter.code);
    if (!extra.ok) throw extra.error;
  }
  bytesPerContract = (block.memoryUsage().runtimeBytes - before) / CONTRACTS_LOADED;
  const closedAt = performance.now();
  block.close();
  blockMs.push(performance.now() - closedAt);
  if (round === 0) executorRate(transactions); // warm-up
  const executor = executorRate(transactions, BLOCKS_PER_ROUND);
  executorRates.push(executor.rate);
  executorCpuUs.push(executor.cpuUs);
  const small = executorRate(smallBlock, SMALL_BLOCKS);
  smallRates.push(small.rate);
  smallCpuUs.push(small.cpuUs);
}

const sandboxRate = median(sandboxRates);
const nativeRate = median(nativeRates);
const overheadUs = (1 / sandboxRate - 1 / nativeRate) * 1e6;
const executorMedian = median(executorRates);
const rows: Array<[string, string]> = [
  ["counter.increment via sandbox (calls/s)", Math.round(sandboxRate).toLocaleString("en-US")],
  ["  CPU per call (µs)", median(sandboxCpuUs).toFixed(1)],
  ["same work, native contract (calls/s)", Math.round(nativeRate).toLocaleString("en-US")],
  ["  CPU per call (µs)", median(nativeCpuUs).toFixed(1)],
  ["sandbox overhead per call (µs)", overheadUs.toFixed(1)],
  [
    `executeBlock, blocks of ${BLOCK_TXS.toLocaleString("en-US")} counter txs (tx/s)`,
    Math.round(executorMedian).toLocaleString("en-US"),
  ],
  ["  CPU per tx (µs)", median(executorCpuUs).toFixed(1)],
  [
    `executeBlock, blocks of ${SMALL_BLOCK_TXS} counter txs (tx/s)`,
    Math.round(median(smallRates)).toLocaleString("en-US"),
  ],
  ["  CPU per tx (µs)", median(smallCpuUs).toFixed(1)],
  ["memory per loaded contract (KiB, QuickJS heap)", (bytesPerContract / 1024).toFixed(1)],
  [
    `the ${SANDBOX_TEMPLATE_CONTEXTS} template contexts (KiB, QuickJS heap)`,
    (templateBytes / 1024).toFixed(1),
  ],
  ["open block + first load of counter (ms)", median(loadMs).toFixed(2)],
  [
    `close block after ${CONTRACTS_LOADED + SANDBOX_TEMPLATE_CONTEXTS} loads: restore wasm memory (ms)`,
    median(blockMs).toFixed(2),
  ],
];
const width = Math.max(...rows.map(([name]) => name.length));
process.stdout.write(
  `bench:exec — ${CALLS.toLocaleString("en-US")} calls × ${ROUNDS} rounds, medians; QuickJS wasm inlining ${
    wasmInlining ? "on" : "off"
  } (ADR 0009), rows kept in the VM ${readCache ? "on" : "off"} (ADR 0011)\n`,
);
for (const [name, value] of rows) process.stdout.write(`${name.padEnd(width)}  ${value}\n`);
process.stdout.write(
  `target ≥ 20,000 calls/s: sandbox ${sandboxRate >= 20_000 ? "met" : "NOT met"}, through executeBlock ${
    executorMedian >= 20_000 ? "met" : "NOT met"
  }\n`,
);
process.stdout.write(`machine load: ${execSync("uptime").toString().trim()}\n`);
