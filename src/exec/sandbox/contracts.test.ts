import assert from "node:assert/strict";
import path from "node:path";
import { before, describe, it } from "node:test";
import { bundleContract, CONTRACTS_DIRECTORY } from "../../cli/contract-bundle.ts";
import type { Value } from "../../encoding/value.ts";
import { loadSandboxEngine } from "./engine.ts";
import { TestTransaction, type TestTransactionOptions, TestWorld } from "./test-context.ts";

const DISPATCHER = new Uint8Array(32).fill(0xd1);
const WORKER = new Uint8Array(32).fill(0xee);
const RESIDENT = new Uint8Array(32).fill(0x33);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("contracts/ bundled and run in the sandbox", () => {
  const world = new TestWorld();
  const run = (contract: string, method: string, args: Value, options: TestTransactionOptions = {}) => {
    const tx = new TestTransaction(world, { gasLimit: 5_000_000n, ...options });
    const result = tx.run(contract, method, args);
    return { result, tx, code: result.ok ? null : result.error.code };
  };

  before(async () => {
    const engine = await loadSandboxEngine();
    const block = engine.openBlock();
    for (const name of ["counter", "service-requests"]) {
      const bundled = await bundleContract(path.join(CONTRACTS_DIRECTORY, name, "index.ts"));
      const loaded = block.load(name, Buffer.from(bundled.codeHashHex, "hex"), bundled.code);
      if (!loaded.ok) throw loaded.error;
      world.add(loaded.value);
    }
  });

  it("counter increments, emits and refuses a bad step", () => {
    assert.deepEqual(run("counter", "increment", { by: 2n }).result, { ok: true, value: 2n });
    const second = run("counter", "increment", {});
    assert.deepEqual(second.result, { ok: true, value: 3n });
    assert.equal(second.tx.events[0]!.type, "incremented");
    assert.deepEqual(run("counter", "get", {}).result, { ok: true, value: 3n });
    assert.equal(run("counter", "increment", { by: 0n }).code, "CONTRACT_BY_INVALID");
  });

  it("service-requests: catalog, open, assign, update, close, list; refusals with codes", () => {
    const dispatcher = { keyId: DISPATCHER };
    const resident = { keyId: RESIDENT, permissionsDenied: ["manage-catalog", "assign"] };
    const worker = { keyId: WORKER, permissionsDenied: ["manage-catalog", "assign"] };
    assert.equal(
      run(
        "service-requests",
        "defineService",
        { community: "north", serviceCode: "pothole", name: "Pothole" },
        resident,
      ).code,
      "PERMISSION_DENIED",
    );
    assert.ok(
      run(
        "service-requests",
        "defineService",
        { community: "north", serviceCode: "pothole", name: "Pothole" },
        dispatcher,
      ).result.ok,
    );
    assert.ok(
      run(
        "service-requests",
        "defineService",
        { community: "north", serviceCode: "graffiti", name: "Graffiti", open: false },
        dispatcher,
      ).result.ok,
    );
    assert.equal(
      run(
        "service-requests",
        "openRequest",
        { community: "north", serviceCode: "graffiti", description: "wall" },
        resident,
      ).code,
      "CONTRACT_SERVICE_CLOSED",
    );
    assert.equal(
      run(
        "service-requests",
        "openRequest",
        { community: "north", serviceCode: "snow", description: "x" },
        resident,
      ).code,
      "CONTRACT_SERVICE_UNKNOWN",
    );
    assert.equal(
      run(
        "service-requests",
        "openRequest",
        { community: "North!", serviceCode: "pothole", description: "x" },
        resident,
      ).code,
      "CONTRACT_ARGS_INVALID",
    );
    const ids: string[] = [];
    for (let number = 0; number < 3; number++) {
      const opened = run(
        "service-requests",
        "openRequest",
        { community: "north", serviceCode: "pothole", description: `hole ${number}`, location: "Elm St" },
        resident,
      );
      assert.ok(opened.result.ok);
      assert.equal(opened.tx.events[0]!.type, "request.opened");
      ids.push(opened.result.value as string);
    }
    assert.deepEqual(ids, ["north/00000001", "north/00000002", "north/00000003"]);
    const requestId = ids[0]!;
    assert.equal(
      run("service-requests", "assign", { requestId, assigneeKeyIdHex: hex(WORKER) }, resident).code,
      "PERMISSION_DENIED",
    );
    assert.ok(
      run("service-requests", "assign", { requestId, assigneeKeyIdHex: hex(WORKER) }, dispatcher).result.ok,
    );
    assert.equal(
      run("service-requests", "updateStatus", { requestId, status: "in_progress" }, resident).code,
      "PERMISSION_DENIED",
    );
    assert.ok(
      run(
        "service-requests",
        "updateStatus",
        { requestId, status: "in_progress", note: "crew on site" },
        worker,
      ).result.ok,
    );
    assert.equal(
      run("service-requests", "updateStatus", { requestId, status: "done" }, worker).code,
      "CONTRACT_ARGS_INVALID",
    );
    const closed = run("service-requests", "close", { requestId, resolution: "filled" }, worker);
    assert.ok(closed.result.ok);
    assert.equal(closed.tx.events[0]!.type, "request.closed");
    assert.equal(
      run("service-requests", "close", { requestId, resolution: "again" }, dispatcher).code,
      "CONTRACT_REQUEST_CLOSED",
    );
    assert.equal(run("service-requests", "get", { requestId: "north/99999999" }, resident).result.ok, true);
    const listed = run("service-requests", "listByCommunity", { community: "north", limit: 2n }, resident);
    assert.ok(listed.result.ok);
    const page = listed.result.value as {
      requests: Array<{ requestId: string; status: string }>;
      more: boolean;
    };
    assert.deepEqual(
      page.requests.map((request) => [request.requestId, request.status]),
      [
        ["north/00000001", "closed"],
        ["north/00000002", "open"],
      ],
    );
    assert.equal(page.more, true);
    const rest = run(
      "service-requests",
      "listByCommunity",
      { community: "north", after: "north/00000002" },
      resident,
    );
    assert.deepEqual(
      (rest.result as unknown as { value: { requests: Array<{ requestId: string }> } }).value.requests.map(
        (request) => request.requestId,
      ),
      ["north/00000003"],
    );
  });
});
