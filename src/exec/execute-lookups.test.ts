import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fail, ok } from "../base/errors.ts";
import { decodeValue, type Value } from "../encoding/value.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import { createContractRegistry, type NativeContract } from "./contract.ts";
import { ExecutionError } from "./errors.ts";
import { encodeReceipt } from "./receipt.ts";
import { loadSandboxEngine } from "./sandbox/engine.ts";
import { contractStateKeyOf } from "./state-keys.ts";
import {
  CityChain,
  cityAdmin,
  cityInitialState,
  IDENTITY_TEST_CONTRACTS,
  official,
  resident,
  stranger,
} from "./system/identity-fixtures.ts";
import { anchorArgs, type Signer, suite, TestChain, validTransaction } from "./test-fixtures.ts";

/**
 * `undo.run {contract, method, args, fails}`: has governance make the call, then fails when asked,
 * so the call's writes are dropped with the transaction.
 */
const undo: NativeContract = {
  name: "undo",
  execute(context, _method, args) {
    const {
      contract,
      method,
      args: callArgs,
      fails,
    } = args as {
      contract: string;
      method: string;
      args: Value;
      fails: boolean;
    };
    const called = context.call(
      "governance",
      "execute",
      { contract, method, args: callArgs },
      { readOnly: false },
    );
    if (!called.ok) return called;
    return fails ? fail(new ExecutionError("EXEC_ARGS_FIELD_INVALID", "asked to fail")) : ok(null);
  },
};

const revoke = (signer: Signer, fails: boolean): Value => ({
  contract: "member",
  method: "revoke",
  args: { keyId: signer.keyId },
  fails,
});
const ruleSet = (fails: boolean): Value => ({
  contract: "permission",
  method: "set",
  args: { contract: "notary", name: "anchor", roles: ["auditor"] },
  fails,
});
const ruleClear = (fails: boolean): Value => ({
  contract: "permission",
  method: "clear",
  args: { contract: "notary", name: "anchor" },
  fails,
});

describe("executor: lookups remembered for a block", () => {
  it("a signer's standing follows writes in the block, and not the writes of a failed transaction", () => {
    const chain = new CityChain(cityInitialState(), [undo]);
    const { codes } = chain.run([
      chain.tx(resident, "notary", "anchor", anchorArgs(1)),
      chain.tx(stranger, "undo", "run", revoke(resident, true)),
      chain.tx(resident, "notary", "anchor", anchorArgs(2)),
      chain.tx(stranger, "undo", "run", revoke(resident, false)),
      chain.tx(resident, "notary", "anchor", anchorArgs(3)),
      chain.tx(official, "notary", "anchor", anchorArgs(4)),
    ]);
    assert.deepEqual(codes, ["ok", "EXEC_ARGS_FIELD_INVALID", "ok", "ok", "IDENTITY_MEMBER_REVOKED", "ok"]);
  });

  it("a method's permission rule follows governance's writes in the block, kept or dropped", () => {
    const chain = new CityChain(cityInitialState(), [undo]);
    const { codes } = chain.run([
      chain.tx(official, "notary", "anchor", anchorArgs(1)),
      chain.tx(stranger, "undo", "run", ruleSet(true)),
      chain.tx(official, "notary", "anchor", anchorArgs(2)),
      chain.tx(stranger, "undo", "run", ruleSet(false)),
      chain.tx(official, "notary", "anchor", anchorArgs(3)),
      chain.tx(stranger, "undo", "run", ruleClear(true)),
      chain.tx(official, "notary", "anchor", anchorArgs(4)),
      chain.tx(stranger, "undo", "run", ruleClear(false)),
      chain.tx(official, "notary", "anchor", anchorArgs(5)),
    ]);
    assert.deepEqual(codes, [
      "ok",
      "EXEC_ARGS_FIELD_INVALID",
      "ok",
      "ok",
      "PERMISSION_DENIED",
      "EXEC_ARGS_FIELD_INVALID",
      "PERMISSION_DENIED",
      "ok",
      "ok",
    ]);
  });

  it("a deployed contract's resolution follows the registry's writes in the block", async () => {
    const encoder = new TextEncoder();
    const codeOf = (name: string) =>
      encoder.encode(
        `export function which() { CityLedger.emit("ran", { code: "${name}" }); return "${name}"; }`,
      );
    const codes = [codeOf("A"), codeOf("B")];
    /** A stand-in registry: `switch {to: 1 | 2, fails}` makes version `to` of `app` active. */
    const registry: NativeContract = {
      name: "registry",
      execute(context, _method, args) {
        const { to, fails } = args as { to: bigint; fails: boolean };
        context.state.set("active", encoder.encode("app"), new Uint8Array([Number(to)]));
        return fails ? fail(new ExecutionError("EXEC_ARGS_FIELD_INVALID", "asked to fail")) : ok(null);
      },
    };
    const chain = new TestChain({
      contracts: createContractRegistry([registry]),
      sandbox: await loadSandboxEngine(),
      deployed: {
        resolve(name, state, hash) {
          const active = state.get(contractStateKeyOf(hash, "registry", "active", encoder.encode(name)));
          if (active === undefined) return undefined;
          const version = active[0]!;
          return {
            version: BigInt(version),
            codeHash: new Uint8Array(32).fill(version),
            frozen: false,
            code: codes[version - 1],
          };
        },
      },
    });
    const nonces = new Map<Signer, bigint>();
    const tx = (signer: Signer, contract: string, method: string, args: Value): ValidTransaction => {
      const nonce = nonces.get(signer) ?? 0n;
      nonces.set(signer, nonce + 1n);
      return validTransaction(signer, { nonce, contract, method, args });
    };
    const outcome = chain.execute([
      tx(stranger, "registry", "switch", { to: 1n, fails: false }),
      tx(official, "app", "which", null),
      tx(stranger, "registry", "switch", { to: 2n, fails: true }),
      tx(official, "app", "which", null),
      tx(stranger, "registry", "switch", { to: 2n, fails: false }),
      tx(official, "app", "which", null),
      tx(stranger, "registry", "switch", { to: 1n, fails: false }),
      tx(official, "app", "which", null),
    ]);
    const ran = outcome.receipts
      .filter((receipt) => receipt.events.length > 0)
      .map((receipt) => (decodeValue(receipt.events[0]!.data) as { code: string }).code);
    assert.deepEqual(ran, ["A", "A", "B", "A"]);
    assert.equal(outcome.receipts[2]!.errorCode, "EXEC_ARGS_FIELD_INVALID");
  });

  it("random blocks give the same receipts and updates whether each lookup is checked or not", () => {
    const step = fc.oneof(
      fc.constantFrom(resident, official).map((signer) => ({ kind: "anchor" as const, signer })),
      fc.tuple(fc.constantFrom(resident, official), fc.boolean()).map(([signer, fails]) => ({
        kind: "revoke" as const,
        signer,
        fails,
      })),
      fc.tuple(fc.boolean(), fc.boolean()).map(([set, fails]) => ({ kind: "rule" as const, set, fails })),
      fc.constantFrom(["official"], ["auditor"]).map((roles) => ({ kind: "roles" as const, roles })),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 14 }), (steps) => {
        const transcripts = [true, false].map((verifyLookups) => {
          const chain = new TestChain({
            contracts: createContractRegistry([...IDENTITY_TEST_CONTRACTS, undo]),
            initialState: cityInitialState(),
            verifyLookups,
          });
          const nonces = new Map<Signer, bigint>();
          const tx = (signer: Signer, contract: string, method: string, args: Value) => {
            const nonce = nonces.get(signer) ?? 0n;
            nonces.set(signer, nonce + 1n);
            return validTransaction(signer, { nonce, contract, method, args });
          };
          let document = 0;
          const transactions = steps.map((item) => {
            switch (item.kind) {
              case "anchor":
                document += 1;
                return tx(item.signer, "notary", "anchor", anchorArgs(document));
              case "revoke":
                return tx(stranger, "undo", "run", revoke(item.signer, item.fails));
              case "rule":
                return tx(stranger, "undo", "run", item.set ? ruleSet(item.fails) : ruleClear(item.fails));
              default:
                return tx(cityAdmin, "member", "update", { keyId: official.keyId, roles: item.roles });
            }
          });
          const outcome = chain.execute(transactions);
          return JSON.stringify({
            receipts: outcome.receipts.map((receipt) => Buffer.from(encodeReceipt(receipt)).toString("hex")),
            updates: outcome.updates.map((update) => [
              Buffer.from(update.key).toString("hex"),
              update.value === null ? null : Buffer.from(update.value).toString("hex"),
            ]),
          });
        });
        assert.equal(transcripts[0], transcripts[1]);
      }),
      { numRuns: 60 },
    );
  });

  it("remembered state keys are the keys derived afresh, and each caller gets its own copy", () => {
    const id = new Uint8Array([1, 2, 3]);
    const first = contractStateKeyOf(suite.hash, "counter", "counter", id);
    first.fill(0);
    const second = contractStateKeyOf(suite.hash, "counter", "counter", id);
    assert.notDeepEqual(second, first, "a caller's change does not reach the remembered key");
    assert.deepEqual(second, contractStateKeyOf(suite.hash, "counter", "counter", id.slice()));
  });
});
