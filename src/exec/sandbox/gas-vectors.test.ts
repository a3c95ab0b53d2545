import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import path from "node:path";
import { describe, it } from "node:test";
import { bundleContract, CONTRACTS_DIRECTORY } from "../../cli/contract-bundle.ts";
import { loadSandboxEngine } from "./engine.ts";
import { TestTransaction, TestWorld } from "./test-context.ts";
import { EXPECTED_VECTOR_LINES } from "./testdata/gas-vectors.ts";
import { GOOD_CONTRACT, HOSTILE_CONTRACT } from "./testdata/hostile.ts";
import { bundledCalls, VECTOR_CONTRACT, vectorCalls, vectorLineOf } from "./testdata/vectors.ts";

const digest = (text: string) => createHash("sha256").update(text).digest("hex");

describe("sandbox gas vectors", () => {
  it("gives every pinned call the gas, result, events and writes of the tagged-JSON sandbox", async () => {
    const engine = await loadSandboxEngine();
    const block = engine.openBlock();
    const world = new TestWorld();
    const encoder = new TextEncoder();
    const sources: Array<[string, string, number]> = [
      ["good", GOOD_CONTRACT, 1],
      ["hostile", HOSTILE_CONTRACT, 2],
      ["vector", VECTOR_CONTRACT, 3],
      ["vector2", VECTOR_CONTRACT, 4],
    ];
    for (const [name, code, byte] of sources) {
      const loaded = block.load(name, new Uint8Array(32).fill(byte), encoder.encode(code));
      if (!loaded.ok) throw loaded.error;
      world.add(loaded.value);
    }
    for (const name of ["counter", "service-requests"]) {
      const bundled = await bundleContract(path.join(CONTRACTS_DIRECTORY, name, "index.ts"));
      const loaded = block.load(name, Buffer.from(bundled.codeHashHex, "hex"), bundled.code);
      if (!loaded.ok) throw loaded.error;
      world.add(loaded.value);
    }
    const calls = [...vectorCalls(), ...bundledCalls()];
    assert.equal(calls.length + 1, EXPECTED_VECTOR_LINES.length, "one line per call, then the world");
    for (let index = 0; index < calls.length; index++) {
      const call = calls[index]!;
      const tx = new TestTransaction(world, {
        gasLimit: call.gasLimit ?? 3_000_000n,
        ...(call.readOnly === undefined ? {} : { readOnly: call.readOnly }),
        txIndex: call.txIndex ?? 0,
        ...(call.permissionsDenied === undefined ? {} : { permissionsDenied: call.permissionsDenied }),
        ...(call.keyId === undefined ? {} : { keyId: call.keyId }),
      });
      const result = tx.run(call.contract, call.method, call.args);
      const events = JSON.parse(JSON.stringify(tx.events)) as unknown[];
      const line = vectorLineOf({ result, gasUsed: tx.gasUsed, events, writes: tx.writes }, digest);
      assert.equal(line, EXPECTED_VECTOR_LINES[index], `call ${index}: ${call.contract}.${call.method}`);
    }
    const worldLine = `world ${digest(JSON.stringify(world.dump())).slice(0, 16)} recreated ${block.runtimesRecreated}`;
    assert.equal(worldLine, EXPECTED_VECTOR_LINES[calls.length]);
    block.close();
  });
});
