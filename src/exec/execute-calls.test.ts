import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "../base/bytes.ts";
import { fail, ok } from "../base/errors.ts";
import { encodeValue, type Value } from "../encoding/value.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import {
  createContractRegistry,
  type NativeContract,
  type SandboxBlock,
  type SandboxEngine,
  type SystemContract,
} from "./contract.ts";
import { ExecutionError } from "./errors.ts";
import { checkInitialState, type DeployedContract, executeBlock, queryContract } from "./execute-block.ts";
import { CALL_DEPTH_MAX, GAS_COSTS, TX_STATE_WRITES_MAX } from "./limits.ts";
import { readNonce } from "./nonce.ts";
import { notaryRecordKeyOf } from "./notary.ts";
import { encodeReceipt } from "./receipt.ts";
import { contractStateKeyOf } from "./state-keys.ts";
import {
  auditor,
  CityChain,
  cityAdmin,
  cityInitialState,
  IDENTITY_TEST_CONTRACTS,
  official,
  resident,
  stranger,
} from "./system/identity-fixtures.ts";
import { organizationValue, readOrganization } from "./system/org.ts";
import { anchorArgs, blockContext, suite, TestChain, validTransaction } from "./test-fixtures.ts";

const byte = (value: number) => new Uint8Array([value]);

/** `deep.dive {depth}` calls itself until it fails, and passes the failure up. */
const deep: NativeContract = {
  name: "deep",
  execute(context, _method, args) {
    const depth = (args as { depth: bigint }).depth;
    context.state.set("level", byte(Number(depth)), byte(1));
    return context.call("deep", "dive", { depth: depth + 1n }, { readOnly: false });
  },
};

/** `parent.run {childFails, readOnly}`: writes, calls child, writes again, ignoring a child failure. */
const parent: NativeContract = {
  name: "parent",
  execute(context, method, args) {
    const { readOnly, propagate } = args as { readOnly: boolean; propagate: boolean };
    context.state.set("t", byte(1), byte(1));
    context.emit("before", {});
    const child = context.call("child", method, null, { readOnly });
    if (!child.ok && propagate) return child;
    context.state.set("t", byte(3), byte(3));
    context.emit("after", { child: child.ok ? child.value : child.error.code });
    return ok(null);
  },
};

const child: NativeContract = {
  name: "child",
  execute(context, method) {
    const seen = context.state.get("t", byte(2));
    if (method === "read") return ok(seen === undefined ? "nothing" : "something");
    context.state.set("t", byte(2), byte(2));
    context.emit("child-wrote", {});
    if (method === "fail") return fail(new ExecutionError("EXEC_ARGS_FIELD_INVALID", "the child fails"));
    if (method === "many") {
      for (let index = 0; index < 40; index++) context.state.set("many", byte(index), byte(1));
    }
    return ok(null);
  },
};

/** Burns gas until it runs out, writing once first; returns ok regardless. */
const burner: NativeContract = {
  name: "burner",
  execute(context) {
    context.state.set("t", byte(1), byte(1));
    while (context.chargeGas(10_000n)) {
      /* spin until the gas runs out */
    }
    assert.equal(context.gasRemaining, 0n);
    return ok(null);
  },
};

/** Writes 40 entries, then lets `child.many` write 41 more. */
const hoarder: NativeContract = {
  name: "hoarder",
  execute(context) {
    for (let index = 0; index < 40; index++) context.state.set("many", byte(index), byte(1));
    return context.call("child", "many", null, { readOnly: false });
  },
};

const TEST_CONTRACTS = [deep, parent, child, burner, hoarder];

function cityChain(txGasMax?: bigint): CityChain {
  return new CityChain(cityInitialState(), TEST_CONTRACTS, txGasMax);
}

function tableValue(chain: TestChain, contract: string, table: string, id: number): Uint8Array | undefined {
  return chain.tree.get(contractStateKeyOf(suite.hash, contract, table, byte(id)));
}

describe("executor: nested calls", () => {
  it("calls nest to CALL_DEPTH_MAX; one more fails with EXEC_CALL_DEPTH_EXCEEDED and nothing is kept", () => {
    const chain = cityChain();
    const { codes, outcome } = chain.run([chain.tx(stranger, "deep", "dive", { depth: 1n })]);
    assert.deepEqual(codes, ["EXEC_CALL_DEPTH_EXCEEDED"]);
    assert.equal(outcome.errors[0]?.details.callDepthMax, CALL_DEPTH_MAX);
    assert.equal(tableValue(chain, "deep", "level", 1), undefined);
    assert.equal(readNonce(chain.tree, suite.hash, stranger.keyId), 1n);
    assert.equal(outcome.receipts[0]!.gasUsed >= GAS_COSTS.callBase * BigInt(CALL_DEPTH_MAX), true);
  });

  it("a failed nested call is rolled back; the caller goes on, and its writes and events are kept", () => {
    const chain = cityChain();
    const { codes, outcome } = chain.run([
      chain.tx(stranger, "parent", "fail", { readOnly: false, propagate: false }),
    ]);
    assert.deepEqual(codes, ["ok"]);
    assert.ok(tableValue(chain, "parent", "t", 1) !== undefined);
    assert.equal(tableValue(chain, "child", "t", 2), undefined, "the child's write is dropped");
    assert.ok(tableValue(chain, "parent", "t", 3) !== undefined);
    assert.deepEqual(
      outcome.events.map((event) => `${event.contract}.${event.type}`),
      ["parent.before", "parent.after"],
    );
  });

  it("a successful nested call's writes and events join the caller's, in order", () => {
    const chain = cityChain();
    const { codes, outcome } = chain.run([
      chain.tx(stranger, "parent", "ok", { readOnly: false, propagate: true }),
    ]);
    assert.deepEqual(codes, ["ok"]);
    assert.ok(tableValue(chain, "child", "t", 2) !== undefined);
    assert.deepEqual(
      outcome.events.map((event) => [event.eventIndex, `${event.contract}.${event.type}`]),
      [
        [0, "parent.before"],
        [1, "child.child-wrote"],
        [2, "parent.after"],
      ],
    );
  });

  it("read-only calls: reads are fine, a write or an emit fails the call with EXEC_READ_ONLY", () => {
    const chain = cityChain();
    const { codes, outcome } = chain.run([
      chain.tx(stranger, "parent", "read", { readOnly: true, propagate: true }),
      chain.tx(stranger, "parent", "ok", { readOnly: true, propagate: true }),
      chain.tx(stranger, "parent", "ok", { readOnly: true, propagate: false }),
    ]);
    assert.deepEqual(codes, ["ok", "EXEC_READ_ONLY", "ok"]);
    const after = outcome.events.filter((event) => event.type === "after");
    assert.deepEqual(
      after.map((event) => bytesToHex(event.data)),
      [bytesToHex(encodeValue({ child: "nothing" })), bytesToHex(encodeValue({ child: "EXEC_READ_ONLY" }))],
    );
  });

  it("limits count across the whole transaction, nested calls included", () => {
    const chain = cityChain();
    const { codes } = chain.run([chain.tx(stranger, "hoarder", "run", null)]);
    assert.ok(40 + 41 > TX_STATE_WRITES_MAX);
    assert.deepEqual(codes, ["EXEC_STATE_WRITES_TOO_MANY"]);
    assert.equal(tableValue(chain, "hoarder", "many", 0), undefined);
  });
});

describe("executor: gas", () => {
  it("out of gas: EXEC_OUT_OF_GAS, writes dropped, gasUsed = txGasMax", () => {
    const chain = cityChain(100_000n);
    chain.run([]);
    const { codes, outcome } = chain.run([chain.tx(stranger, "burner", "run", null)]);
    assert.deepEqual(codes, ["EXEC_OUT_OF_GAS"]);
    assert.equal(outcome.receipts[0]!.gasUsed, 100_000n);
    assert.equal(tableValue(chain, "burner", "t", 1), undefined);
    assert.equal(outcome.updates.length, 1, "only the nonce");
  });

  it("gas of a notary anchor is the sum of its host operations; refusals cost the call's base", () => {
    const chain = cityChain();
    const { codes, outcome } = chain.run([
      chain.tx(stranger, "notary", "anchor", anchorArgs(1)),
      chain.tx(stranger, "nowhere", "run", null),
      chain.tx(stranger, "notary", "anchor", anchorArgs(1)),
    ]);
    assert.deepEqual(codes, ["ok", "EXEC_CONTRACT_UNKNOWN", "NOTARY_ALREADY_ANCHORED"]);
    const event = outcome.receipts[0]!.events[0]!;
    const eventBytes = BigInt(event.data.length);
    const recordBytes = BigInt(
      chain.tree.get(
        notaryRecordKeyOf(suite.hash, (anchorArgs(1) as { documentHash: Uint8Array }).documentHash),
      )!.length,
    );
    assert.equal(
      outcome.receipts[0]!.gasUsed,
      GAS_COSTS.callBase +
        GAS_COSTS.stateRead +
        GAS_COSTS.stateWrite +
        GAS_COSTS.stateWritePerByte * recordBytes +
        GAS_COSTS.event +
        GAS_COSTS.eventPerByte * eventBytes,
      "the record is written, and emitted with its key",
    );
    assert.equal(outcome.receipts[1]!.gasUsed, GAS_COSTS.callBase);
    assert.equal(
      outcome.receipts[2]!.gasUsed,
      GAS_COSTS.callBase + GAS_COSTS.stateRead + GAS_COSTS.stateReadPerByte * recordBytes,
    );
    for (const receipt of outcome.receipts) assert.ok(encodeReceipt(receipt).length > 0);
  });
});

describe("executor: deployed contracts", () => {
  interface Probe {
    opened: number;
    closed: number;
    loads: number;
  }

  function sandboxWith(probe: Probe): SandboxEngine {
    return {
      openBlock(): SandboxBlock {
        probe.opened += 1;
        return {
          load(name): ReturnType<SandboxBlock["load"]> {
            probe.loads += 1;
            const contract: SystemContract = {
              name,
              execute(context) {
                context.state.set("hits", byte(0), byte(1));
                return ok(name);
              },
            };
            return ok(contract);
          },
          close() {
            probe.closed += 1;
          },
        };
      },
    };
  }

  const deployedContracts: Record<string, DeployedContract> = {
    counter: { version: 1n, codeHash: new Uint8Array(32).fill(7), frozen: false, code: byte(1) },
    icebox: { version: 2n, codeHash: new Uint8Array(32).fill(8), frozen: true, code: byte(1) },
  };

  function chainWithSandbox(probe: Probe): TestChain {
    return new TestChain({
      contracts: createContractRegistry(IDENTITY_TEST_CONTRACTS),
      sandbox: sandboxWith(probe),
      deployed: { resolve: (name) => deployedContracts[name] },
    });
  }

  it("dispatch: natives by name, else the registry's active version in the block's sandbox", () => {
    const probe = { opened: 0, closed: 0, loads: 0 };
    const chain = chainWithSandbox(probe);
    const transactions: ValidTransaction[] = [
      validTransaction(stranger, { nonce: 0n, contract: "counter", method: "hit" }),
      validTransaction(stranger, { nonce: 1n, contract: "counter", method: "hit" }),
      validTransaction(stranger, { nonce: 2n, contract: "icebox", method: "hit" }),
      validTransaction(stranger, { nonce: 3n, contract: "nowhere", method: "hit" }),
      validTransaction(stranger, { nonce: 4n, args: anchorArgs(1) }),
    ];
    const outcome = chain.execute(transactions);
    assert.deepEqual(
      outcome.receipts.map((receipt) => receipt.errorCode ?? "ok"),
      ["ok", "ok", "EXEC_CONTRACT_FROZEN", "EXEC_CONTRACT_UNKNOWN", "ok"],
    );
    assert.deepEqual(probe, { opened: 1, closed: 1, loads: 1 }, "one sandbox per block, one load per code");
    chain.execute([]);
    assert.deepEqual(probe, { opened: 1, closed: 1, loads: 1 }, "a block without deployed calls opens none");
  });

  it("the sandbox is closed when the block is invalid too", () => {
    const probe = { opened: 0, closed: 0, loads: 0 };
    const chain = chainWithSandbox(probe);
    const outcome = chain.tryExecute([
      validTransaction(stranger, { nonce: 0n, contract: "counter", method: "hit" }),
      validTransaction(stranger, { nonce: 5n, contract: "counter", method: "hit" }),
    ]);
    assert.ok(!outcome.ok);
    assert.equal(outcome.error.code, "BLOCK_NONCE_MISMATCH");
    assert.deepEqual(probe, { opened: 1, closed: 1, loads: 1 });
  });
});

describe("executor: queries", () => {
  it("queryContract runs read-only with the caller's identity and keeps nothing", () => {
    const chain = cityChain();
    chain.run([chain.tx(cityAdmin, "member", "revoke", { keyId: resident.keyId })]);
    const rootBefore = chain.tree.root;
    const context = blockContext(2n, chain.context);
    const organization = queryContract(context, chain.tree, null, "org", "get", { id: "city-hall" });
    assert.ok(organization.ok);
    const stored = readOrganization(chain.tree, suite.hash, "city-hall")!;
    assert.deepEqual(encodeValue(organization.value.value), encodeValue(organizationValue(stored)));
    assert.ok(organization.value.gasUsed > GAS_COSTS.callBase);
    const write = queryContract(context, chain.tree, official.keyId, "notary", "anchor", anchorArgs(9));
    assert.ok(!write.ok);
    assert.equal(write.error.code, "EXEC_READ_ONLY");
    const revoked = queryContract(context, chain.tree, resident.keyId, "org", "list", null);
    assert.ok(!revoked.ok);
    assert.equal(revoked.error.code, "IDENTITY_MEMBER_REVOKED");
    const unknown = queryContract(context, chain.tree, auditor.keyId, "nowhere", "get", null);
    assert.ok(!unknown.ok);
    assert.equal(unknown.error.code, "EXEC_CONTRACT_UNKNOWN");
    assert.deepEqual(chain.tree.root, rootBefore);
  });
});

describe("executor: genesis initial state", () => {
  it("checkInitialState accepts the demo city and names the first refused section", () => {
    const contracts = createContractRegistry(IDENTITY_TEST_CONTRACTS);
    assert.ok(checkInitialState(cityInitialState(), suite, { contracts }).ok);
    assert.ok(checkInitialState({}, suite).ok);
    const cases: Array<[Record<string, Value>, string, string]> = [
      [{ votes: {} }, "EXEC_INITIAL_STATE_INVALID", "votes"],
      [{ ...cityInitialState(), org: { organizations: [{ id: "x" }] } }, "EXEC_ARGS_FIELD_MISSING", "org"],
      [
        cityInitialState({
          member: {
            members: [{ keyId: stranger.keyId, organization: "parks", department: "hq", roles: ["x"] }],
          },
        }),
        "ORG_NOT_FOUND",
        "member",
      ],
      [
        cityInitialState({ permission: { rules: [{ contract: "notary" }] } }),
        "EXEC_ARGS_FIELD_MISSING",
        "permission",
      ],
    ];
    for (const [initialState, code, section] of cases) {
      const checked = checkInitialState(initialState, suite, { contracts });
      assert.ok(!checked.ok, code);
      assert.equal(checked.error.code, code);
      assert.equal(checked.error.details.section, section.slice(0, 64));
    }
  });

  it("the initial state is applied at height 1 only", () => {
    const chain = cityChain();
    chain.run([]);
    const later = executeBlock(
      { ...blockContext(2n, chain.context), initialState: cityInitialState() },
      [],
      chain.tree,
    );
    assert.ok(later.ok);
    assert.deepEqual(later.value.updates, []);
  });
});

describe("executor: determinism", () => {
  function blocks(chain: CityChain): ValidTransaction[][] {
    return [
      [
        chain.tx(official, "notary", "anchor", anchorArgs(1)),
        chain.tx(cityAdmin, "member", "revoke", { keyId: resident.keyId }),
        chain.tx(resident, "notary", "anchor", anchorArgs(2)),
        chain.tx(stranger, "deep", "dive", { depth: 1n }),
        chain.tx(stranger, "burner", "run", null),
        chain.tx(stranger, "parent", "ok", { readOnly: true, propagate: true }),
        chain.tx(stranger, "parent", "fail", { readOnly: false, propagate: false }),
      ],
      [
        chain.governance("org", "suspend", { id: "water-bureau" }),
        chain.tx(auditor, "notary", "anchor", anchorArgs(3)),
      ],
      [chain.tx(stranger, "hoarder", "run", null), chain.tx(official, "notary", "revoke", anchorArgs(1))],
    ];
  }

  function replay(): Array<{ root: string; receipts: string; gas: string }> {
    const chain = cityChain(200_000n);
    return blocks(chain).map((transactions) => {
      const outcome = chain.execute(transactions);
      return {
        root: bytesToHex(chain.tree.root),
        receipts: outcome.receipts.map((receipt) => bytesToHex(encodeReceipt(receipt))).join(","),
        gas: outcome.receipts.map((receipt) => receipt.gasUsed).join(","),
      };
    });
  }

  it("two fresh nodes replaying from genesis reach the same roots, receipts and gas, failures included", () => {
    const first = replay();
    const second = replay();
    assert.deepEqual(first, second);
    assert.equal(first.length, 3);
    assert.ok(first[0]!.receipts.length > 0);
  });
});
