import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadSandboxEngine } from "./engine.ts";
import { TestTransaction, TestWorld } from "./test-context.ts";

const CONTRACT = `
const { state, emit } = CityLedger;
let kept = null;
export function tamper() { Object.prototype.toJSON = function () { return "x"; }; return 1n; }
export function afterTamper() { state.set("t", "a", { b: [1n, "c"] }); emit("after", { d: 2n }); return state.get("t", "a"); }
export function odd() { return ["a\\u0000b", { "k\\u0000": "\\ud83d\\ude00" }, -5n, 0, true, null, new Uint8Array([0, 255])]; }
export function keep(args, context) { if (kept === null) kept = context; return context.tx.index; }
export function kept_() { return [kept.tx.index, kept.tx.hash]; }
`;

describe("prelude", () => {
  it("serializes nothing through a contract's prototypes: a toJSON a contract adds is never called", async () => {
    // The tagged-JSON prelude JSON.stringify'd its answers: Object.prototype.toJSON replaced them
    // and the node failed an assertion (every node alike: the chain stopped).
    const engine = await loadSandboxEngine();
    const block = engine.openBlock();
    const world = new TestWorld();
    const loaded = block.load("c", new Uint8Array(32).fill(1), new TextEncoder().encode(CONTRACT));
    if (!loaded.ok) throw loaded.error;
    world.add(loaded.value);
    assert.deepEqual(new TestTransaction(world).run("c", "tamper", {}), { ok: true, value: 1n });
    const after = new TestTransaction(world);
    const result = after.run("c", "afterTamper", {});
    assert.ok(result.ok);
    assert.deepEqual(
      JSON.parse(JSON.stringify(result.value, (_key, item) => (typeof item === "bigint" ? `${item}` : item))),
      {
        b: ["1", "c"],
      },
    );
    assert.equal(after.events.length, 1);
    block.close();
  });

  it("carries zero characters, astral text, signs and bytes out of the VM, and a kept context's hash", async () => {
    const engine = await loadSandboxEngine();
    const block = engine.openBlock();
    const world = new TestWorld();
    const loaded = block.load("c", new Uint8Array(32).fill(1), new TextEncoder().encode(CONTRACT));
    if (!loaded.ok) throw loaded.error;
    world.add(loaded.value);
    const odd = new TestTransaction(world).run("c", "odd", {});
    assert.ok(odd.ok);
    const [text, map, negative, zero, yes, nothing, bytes] = odd.value as [
      string,
      Record<string, string>,
      bigint,
      bigint,
      boolean,
      null,
      Uint8Array,
    ];
    assert.equal(text, "a\u0000b");
    assert.equal(map["k\u0000"], "\ud83d\ude00");
    assert.deepEqual([negative, zero, yes, nothing], [-5n, 0n, true, null]);
    assert.deepEqual([...bytes], [0, 255]);
    assert.ok(new TestTransaction(world, { txIndex: 4 }).run("c", "keep", {}).ok);
    const kept = new TestTransaction(world, { txIndex: 9 }).run("c", "kept_", {});
    assert.ok(kept.ok);
    const [index, hash] = kept.value as [bigint, Uint8Array];
    assert.equal(index, 4n, "a kept context keeps its transaction");
    assert.deepEqual([...hash], new Array(32).fill(0x22));
    block.close();
  });
});
