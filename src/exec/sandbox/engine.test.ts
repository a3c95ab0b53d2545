import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { QuickJSWASMModule } from "quickjs-emscripten-core";
import { bytesToHex } from "../../base/bytes.ts";
import type { Value } from "../../encoding/value.ts";
import type { SystemContract } from "../contract.ts";
import { SANDBOX_TEMPLATE_CONTEXTS } from "../limits.ts";
import { loadSandboxEngine, type QuickJsSandboxBlock, type QuickJsSandboxEngine } from "./engine.ts";
import { SANDBOX_GLOBALS_REMOVED } from "./prelude.ts";
import { TestTransaction, type TestTransactionOptions, TestWorld } from "./test-context.ts";
import { GOOD_CONTRACT, HOSTILE_CONTRACT, INVALID_CONTRACTS } from "./testdata/hostile.ts";

const encoder = new TextEncoder();
const hashOf = (byte: number) => new Uint8Array(32).fill(byte);

function loadInto(
  block: QuickJsSandboxBlock,
  world: TestWorld,
  name: string,
  code: string,
  hash: number,
): SystemContract {
  const loaded = block.load(name, hashOf(hash), encoder.encode(code));
  if (!loaded.ok) throw loaded.error;
  world.add(loaded.value);
  return loaded.value;
}

function run(
  world: TestWorld,
  contract: string,
  method: string,
  args: Value = {},
  options: TestTransactionOptions = {},
) {
  const tx = new TestTransaction(world, { gasLimit: 2_000_000n, ...options });
  const result = tx.run(contract, method, args);
  return { result, tx, code: result.ok ? null : result.error.code };
}

describe("QuickJS sandbox", () => {
  let engine: QuickJsSandboxEngine;
  let block: QuickJsSandboxBlock;
  let world: TestWorld;

  before(async () => {
    engine = await loadSandboxEngine();
  });
  after(() => {
    block?.close();
  });

  it("runs a state-writing contract: value, writes, events, gas", () => {
    block = engine.openBlock();
    world = new TestWorld();
    loadInto(block, world, "good", GOOD_CONTRACT, 1);
    loadInto(block, world, "hostile", HOSTILE_CONTRACT, 2);
    const first = run(world, "good", "increment", { by: 5n });
    assert.deepEqual(first.result, { ok: true, value: 5n });
    const second = run(world, "good", "increment", {});
    assert.deepEqual(second.result, { ok: true, value: 6n });
    assert.equal(second.tx.events.length, 1);
    assert.equal(second.tx.events[0]!.type, "incremented");
    assert.ok(second.tx.gasUsed > 1000n, "the call base, the state operations and the steps are charged");
    assert.ok(second.tx.writes.some((write) => write.startsWith("set good/counter/")));
  });

  it("gives the contract its caller, block and transaction", () => {
    const { result } = run(world, "good", "whoami", {}, { height: 42n, txIndex: 3 });
    assert.ok(result.ok);
    const context = result.value as Record<string, Record<string, Value>>;
    assert.equal(context.block!.height, 42n);
    assert.equal(context.tx!.index, 3n);
    assert.equal(context.caller!.keyIdHex, "11".repeat(32));
    assert.deepEqual(normalize(context.caller!.member!), {
      department: "works",
      organization: "city",
      roles: ["official"],
    });
  });

  it("maps ContractError to CONTRACT_<code>, and refuses malformed codes", () => {
    assert.equal(run(world, "good", "closed").code, "CONTRACT_SERVICE_CLOSED");
    assert.equal(run(world, "good", "badCode").code, "EXEC_CONTRACT_THREW");
    assert.equal(run(world, "good", "nope").code, "EXEC_METHOD_UNKNOWN");
    assert.equal(run(world, "good", "constructor").code, "EXEC_METHOD_UNKNOWN");
    assert.equal(run(world, "good", "__proto__").code, "EXEC_METHOD_UNKNOWN");
  });

  it("passes require() and call() failures through with their codes", () => {
    assert.deepEqual(run(world, "good", "guarded").result, { ok: true, value: "allowed" });
    assert.equal(
      run(world, "good", "guarded", {}, { permissionsDenied: ["open-requests"] }).code,
      "PERMISSION_DENIED",
    );
    const called = run(world, "good", "callOther", { contract: "hostile", method: "ok" });
    assert.deepEqual(called.result, { ok: true, value: "fine" });
    assert.equal(
      run(world, "good", "callOther", { contract: "hostile", method: "throwString" }).code,
      "EXEC_CONTRACT_THREW",
    );
    assert.deepEqual(run(world, "good", "catchCall", { contract: "hostile", method: "returnFloat" }).result, {
      ok: true,
      value: "EXEC_VALUE_INVALID",
    });
    assert.equal(run(world, "hostile", "forgeLedgerError").code, "EXEC_CONTRACT_THREW");
  });

  it("re-enters a contract through call() with separate budgets", () => {
    const nested = run(world, "good", "callOther", {
      contract: "good",
      method: "increment",
      args: { by: 1n },
    });
    assert.ok(nested.result.ok);
    assert.equal(nested.tx.events.length, 1);
  });

  it("scans rows by prefix, in id order, with continuation", () => {
    const rows: Record<string, Value> = {};
    for (let number = 0; number < 30; number++) rows[`r-${String(number).padStart(2, "0")}`] = BigInt(number);
    rows.other = 0n;
    assert.ok(run(world, "good", "put", { rows }).result.ok);
    const page = run(world, "good", "scan", { prefix: "r-", limit: 10n });
    assert.ok(page.result.ok);
    const value = page.result.value as { rows: Array<{ text: string }>; more: boolean };
    assert.deepEqual(
      value.rows.map((row) => row.text),
      Array.from({ length: 10 }, (_, index) => `r-${String(index).padStart(2, "0")}`),
    );
    assert.equal(value.more, true);
    const next = run(world, "good", "scan", { prefix: "r-", after: "r-27" });
    assert.ok(next.result.ok);
    assert.deepEqual(
      (next.result.value as { rows: Array<{ text: string }> }).rows.map((row) => row.text),
      ["r-28", "r-29"],
    );
    assert.ok(run(world, "good", "remove", { id: "r-28" }).result.ok);
    const afterRemove = run(world, "good", "scan", { prefix: "r-2" });
    assert.equal((afterRemove.result as unknown as { value: { rows: unknown[] } }).value.rows.length, 9);
  });

  const hostileCases: Array<[string, string]> = [
    ["infiniteLoop", "EXEC_OUT_OF_GAS"],
    ["whileTrue", "EXEC_OUT_OF_GAS"],
    ["recursion", "EXEC_STACK_OVERFLOW"],
    ["mutualRecursion", "EXEC_STACK_OVERFLOW"],
    ["allocateGiB", "EXEC_OUT_OF_MEMORY"],
    ["allocateForever", "EXEC_OUT_OF_MEMORY"],
    ["hugeEvent", "EXEC_EVENTS_TOO_LARGE"],
    ["manyEvents", "EXEC_EVENTS_TOO_MANY"],
    ["missingHost", "EXEC_CONTRACT_THREW"],
    ["processGlobal", "EXEC_CONTRACT_THREW"],
    ["requireGlobal", "EXEC_CONTRACT_THREW"],
    ["fetchGlobal", "EXEC_CONTRACT_THREW"],
    ["dateNow", "EXEC_CONTRACT_THREW"],
    ["mathRandom", "EXEC_CONTRACT_THREW"],
    ["functionConstructor", "EXEC_CONTRACT_THREW"],
    ["generatorConstructor", "EXEC_CONTRACT_THREW"],
    ["stringMatch", "EXEC_CONTRACT_THREW"],
    ["catchOutOfGas", "EXEC_OUT_OF_GAS"],
    ["catchWithoutBinding", "EXEC_OUT_OF_GAS"],
    ["finallyReturn", "EXEC_OUT_OF_GAS"],
    ["catchStack", "EXEC_STACK_OVERFLOW"],
    ["catchMemory", "EXEC_OUT_OF_MEMORY"],
    ["returnFunction", "EXEC_VALUE_INVALID"],
    ["returnFloat", "EXEC_VALUE_INVALID"],
    ["returnUndefinedInList", "EXEC_VALUE_INVALID"],
    ["returnSymbol", "EXEC_VALUE_INVALID"],
    ["returnCycle", "EXEC_VALUE_INVALID"],
    ["returnDeep", "EXEC_VALUE_INVALID"],
    ["returnDate", "EXEC_VALUE_INVALID"],
    ["throwString", "EXEC_CONTRACT_THREW"],
    ["setFloat", "EXEC_VALUE_INVALID"],
    ["badTable", "EXEC_STATE_ID_INVALID"],
    ["longId", "EXEC_STATE_ID_INVALID"],
  ];
  for (const [method, code] of hostileCases) {
    it(`fails only its own transaction: ${method} → ${code}`, () => {
      const before = world.dump();
      const hostile = run(world, "hostile", method);
      assert.equal(hostile.code, code, hostile.result.ok ? "succeeded" : hostile.result.error.message);
      assert.ok(hostile.tx.gasUsed > 0n, "gas is charged for a failed transaction");
      assert.deepEqual(world.dump(), before, "its writes are rolled back");
      assert.equal(hostile.tx.events.length, 0);
      const good = run(world, "good", "echo", { after: method });
      assert.ok(good.result.ok);
      assert.deepEqual(normalize(good.result.value), { after: method });
    });
  }

  it("charges the whole gas limit for running out of it", () => {
    const { tx } = run(world, "hostile", "infiniteLoop", {}, { gasLimit: 300_000n });
    assert.equal(tx.gasUsed, 300_000n);
  });

  it("leaves only the contract API and the standard, deterministic globals", () => {
    const { result } = run(world, "hostile", "globalsSeen");
    assert.ok(result.ok);
    const names = result.value as string[];
    assert.ok(names.includes("CityLedger"));
    for (const name of [
      ...SANDBOX_GLOBALS_REMOVED,
      "process",
      "require",
      "fetch",
      "setTimeout",
      "console",
      "performance",
    ]) {
      assert.ok(!names.includes(name), `${name} is absent`);
    }
  });

  it("refuses code that breaks the rules with EXEC_CONTRACT_INVALID", () => {
    let hash = 100;
    for (const [reason, code] of Object.entries(INVALID_CONTRACTS)) {
      const loaded = block.load(`bad-${hash}`, hashOf(hash++), encoder.encode(code));
      assert.equal(loaded.ok, false, reason);
      if (!loaded.ok)
        assert.equal(loaded.error.code, "EXEC_CONTRACT_INVALID", `${reason}: ${loaded.error.message}`);
    }
  });

  it("round-trips canonical values without loss", () => {
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
      fc.string({ unit: "grapheme" }),
      fc.uint8Array({ maxLength: 40 }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("list"), tie("map")),
      list: fc.array(tie("node"), { maxLength: 5 }),
      map: fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }), tie("node"), { maxKeys: 5 }),
    })).node as fc.Arbitrary<Value>;
    fc.assert(
      fc.property(value, (input) => {
        const { result } = run(world, "good", "echo", input);
        if (
          input === null ||
          typeof input !== "object" ||
          Array.isArray(input) ||
          input instanceof Uint8Array
        ) {
          assert.ok(result.ok);
        }
        assert.ok(result.ok, result.ok ? "" : result.error.message);
        assert.deepEqual(normalize(result.value), normalize(input));
      }),
      { numRuns: 150 },
    );
  });

  it("is deterministic: two engines, and a runtime recreated after running out of memory", async () => {
    block.close();
    const other = await loadSandboxEngine();
    const script: Array<[string, string, Value]> = [
      ["good", "increment", { by: 3n }],
      ["good", "work", { n: 500n }],
      ["hostile", "infiniteLoop", {}],
      ["good", "counted", {}],
      ["hostile", "allocateForever", {}],
      ["good", "counted", {}],
      ["good", "increment", {}],
      ["hostile", "recursion", {}],
      ["good", "closed", {}],
      ["good", "put", { rows: { a: 1n, b: [2n, "x", new Uint8Array([1, 2])] } }],
      ["good", "scan", {}],
    ];
    const transcripts: string[] = [];
    for (const sandboxEngine of [engine, other, engine]) {
      const runBlock = sandboxEngine.openBlock();
      const runWorld = new TestWorld();
      loadInto(runBlock, runWorld, "good", GOOD_CONTRACT, 1);
      loadInto(runBlock, runWorld, "hostile", HOSTILE_CONTRACT, 2);
      const lines: string[] = [];
      for (const [contract, method, args] of script) {
        const tx = new TestTransaction(runWorld, { gasLimit: 3_000_000n });
        const result = tx.run(contract, method, args);
        lines.push(
          JSON.stringify({
            method,
            result: result.ok ? normalizeJson(result.value) : result.error.code,
            gas: tx.gasUsed.toString(),
            events: tx.events,
            writes: tx.writes,
          }),
        );
      }
      lines.push(JSON.stringify(runWorld.dump()), `recreated ${runBlock.runtimesRecreated}`);
      runBlock.close();
      transcripts.push(lines.join("\n"));
    }
    assert.ok(transcripts[0]!.includes("EXEC_OUT_OF_MEMORY"));
    assert.ok(transcripts[0]!.includes("recreated 1"));
    const counted = transcripts[0]!.split("\n").filter((line) => line.includes('"method":"counted"'));
    assert.equal(counted.length, 2);
    for (const line of counted) {
      assert.ok(
        line.includes('"result":"\\"1n\\""'),
        `module-level state starts over in a new runtime: ${line}`,
      );
    }
    assert.equal(transcripts[1], transcripts[0]);
    assert.equal(transcripts[2], transcripts[0]);
    // Closing restores only the memory below the heap's break: after blocks that ran out of
    // memory, the whole wasm memory must still be byte for byte that of a freshly loaded engine.
    const memoryOf = (sandboxEngine: QuickJsSandboxEngine) =>
      new Uint8Array(
        (sandboxEngine as unknown as { module: QuickJSWASMModule }).module.getWasmMemory().buffer,
      );
    assert.ok(Buffer.compare(memoryOf(engine), memoryOf(await loadSandboxEngine())) === 0);
    block = engine.openBlock();
  });

  it("starts every block from the same template: nothing a block leaves reaches the next (ADR 0010)", async () => {
    block.close();
    // More contracts than template contexts: the last ones compile the prelude in new contexts.
    const contracts = SANDBOX_TEMPLATE_CONTEXTS + 2;
    const leaver = (index: number) => `
      export function leave() {
        const seen = [typeof globalThis.left, typeof Object.prototype.left, Array.prototype.length];
        globalThis.left = ${index};
        Object.prototype.left = ${index};
        Array.prototype.push(${index});
        return seen.map(String).join(",");
      }`;
    for (let round = 0; round < 3; round++) {
      const roundBlock = engine.openBlock();
      const roundWorld = new TestWorld();
      for (let index = 0; index < contracts; index++) {
        loadInto(roundBlock, roundWorld, `leaver-${index}`, leaver(index), 10 + index);
      }
      for (let index = 0; index < contracts; index++) {
        const { result } = run(roundWorld, `leaver-${index}`, "leave");
        assert.ok(result.ok, `round ${round}, contract ${index}`);
        assert.equal(
          result.value,
          "undefined,undefined,0",
          `round ${round}, contract ${index}: a clean context`,
        );
      }
      roundBlock.close();
    }
    // Two engines made at different moments are the same bytes: each context's clock-seeded
    // Math.random state (never read: Math.random is gone) is made with the clock at zero.
    const memoryOf = (sandboxEngine: QuickJsSandboxEngine) =>
      new Uint8Array(
        (sandboxEngine as unknown as { module: QuickJSWASMModule }).module.getWasmMemory().buffer,
      );
    const first = await loadSandboxEngine();
    const startedMs = Date.now();
    while (Date.now() < startedMs + 5) {
      // The clock moves on between the two engines.
    }
    const second = await loadSandboxEngine();
    assert.ok(Buffer.compare(memoryOf(first), memoryOf(second)) === 0, "two fresh engines: the same memory");
    assert.ok(
      Buffer.compare(memoryOf(engine), memoryOf(second)) === 0,
      "after blocks: a fresh engine's memory",
    );
    block = engine.openBlock();
    world = new TestWorld();
    loadInto(block, world, "good", GOOD_CONTRACT, 1);
    loadInto(block, world, "hostile", HOSTILE_CONTRACT, 2);
  });
});

/** Plain-prototype copies for deepEqual (the sandbox returns null-prototype maps). */
function normalize(value: Value): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return { bytes: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(normalize);
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, normalize((value as Record<string, Value>)[key]!)]),
  );
}

function normalizeJson(value: Value): string {
  return JSON.stringify(normalize(value), (_key, item) => (typeof item === "bigint" ? `${item}n` : item));
}
