import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ok } from "../../base/errors.ts";
import type { Value } from "../../encoding/value.ts";
import type { NativeContract } from "../contract.ts";
import { anchorArgs, suite } from "../test-fixtures.ts";
import {
  auditor,
  CityChain,
  cityInitialState,
  committee,
  official,
  resident,
  stranger,
} from "./identity-fixtures.ts";
import { checkPermission, type PermissionRule, readPermissionRule } from "./permission.ts";

/** `vault.open` asks for the named permission `open-vault`; `vault.anchor` calls notary. */
const vault: NativeContract = {
  name: "vault",
  execute(context, method, args) {
    if (method === "anchor") return context.call("notary", "anchor", args, { readOnly: false });
    const permitted = context.require("open-vault");
    return permitted.ok ? ok(null) : permitted;
  },
};

function cityWithRules(rules: Value[]): CityChain {
  return new CityChain(cityInitialState({ permission: { rules } }), [vault]);
}

describe("permission: rules before execution", () => {
  it("a genesis rule on notary.anchor: the role holder passes, others get PERMISSION_DENIED", () => {
    const chain = cityWithRules([{ contract: "notary", name: "anchor", roles: ["official"] }]);
    const { codes } = chain.run([
      chain.tx(official, "notary", "anchor", anchorArgs(1)),
      chain.tx(resident, "notary", "anchor", anchorArgs(2)),
      chain.tx(stranger, "notary", "anchor", anchorArgs(3)),
      chain.tx(resident, "notary", "revoke", { documentHash: anchorArgs(1).documentHash! }),
    ]);
    assert.deepEqual(codes, ["ok", "PERMISSION_DENIED", "PERMISSION_DENIED", "NOTARY_NOT_SIGNER"]);
    assert.equal(readPermissionRule(chain.tree, suite.hash, "notary", "anchor")?.set.by, "genesis");
  });

  it("a rule by organization, and 'members only' (both lists empty)", () => {
    const chain = cityWithRules([
      { contract: "notary", name: "anchor", organizations: ["water-bureau"] },
      { contract: "notary", name: "revoke" },
    ]);
    const { codes } = chain.run([
      chain.tx(auditor, "notary", "anchor", anchorArgs(1)),
      chain.tx(official, "notary", "anchor", anchorArgs(2)),
      chain.tx(stranger, "notary", "revoke", { documentHash: anchorArgs(1).documentHash! }),
      chain.tx(auditor, "notary", "revoke", { documentHash: anchorArgs(1).documentHash! }),
    ]);
    assert.deepEqual(codes, ["ok", "PERMISSION_DENIED", "PERMISSION_DENIED", "ok"]);
  });

  it("nested calls are held to the callee's rule, except calls made by governance", () => {
    const chain = cityWithRules([{ contract: "notary", name: "anchor", roles: ["official"] }]);
    const { codes } = chain.run([
      chain.tx(resident, "vault", "anchor", anchorArgs(1)),
      chain.tx(official, "vault", "anchor", anchorArgs(2)),
      chain.governance("notary", "anchor", anchorArgs(3)),
    ]);
    assert.deepEqual(codes, ["PERMISSION_DENIED", "ok", "ok"]);
  });

  it("context.require checks a named permission of the calling contract", () => {
    const chain = cityWithRules([{ contract: "vault", name: "open-vault", roles: ["auditor"] }]);
    const { codes } = chain.run([
      chain.tx(auditor, "vault", "open", null),
      chain.tx(official, "vault", "open", null),
      chain.governance("vault", "open", null),
    ]);
    assert.deepEqual(codes, ["ok", "PERMISSION_DENIED", "ok"]);
  });
});

describe("permission: set and clear", () => {
  it("only governance sets and clears; clearing a missing rule is PERMISSION_RULE_NOT_FOUND", () => {
    const chain = cityWithRules([]);
    const rule = { contract: "notary", name: "anchor", roles: ["auditor"] };
    const { codes } = chain.run([
      chain.tx(official, "permission", "set", rule),
      chain.governance("permission", "set", rule),
      chain.tx(official, "notary", "anchor", anchorArgs(1)),
      chain.tx(official, "permission", "clear", { contract: "notary", name: "anchor" }),
      chain.governance("permission", "clear", { contract: "notary", name: "anchor" }),
      chain.tx(official, "notary", "anchor", anchorArgs(1)),
      chain.governance("permission", "clear", { contract: "notary", name: "anchor" }),
      chain.governance("permission", "set", { contract: "notary", name: "an/chor" }),
      chain.governance("permission", "set", { ...rule, roles: ["Auditor"] }),
    ]);
    assert.deepEqual(codes, [
      "PERMISSION_DENIED",
      "ok",
      "PERMISSION_DENIED",
      "PERMISSION_DENIED",
      "ok",
      "ok",
      "PERMISSION_RULE_NOT_FOUND",
      "EXEC_ARGS_FIELD_INVALID",
      "EXEC_ARGS_FIELD_INVALID",
    ]);
    assert.equal(readPermissionRule(chain.tree, suite.hash, "notary", "anchor"), undefined);
  });

  it("checkPermission: no rule is open; a rule needs a member with an allowed role and organization", () => {
    const rule: PermissionRule = {
      contract: "c",
      name: "m",
      roles: ["auditor", "official"],
      organizations: ["city-hall"],
      set: { by: "governance", height: 1n, timeMs: 0n },
    };
    const caller = (roles: string[], organization = "city-hall") => ({
      keyId: committee.keyId,
      contract: null,
      member: { organization, department: "d", roles },
    });
    assert.ok(checkPermission(undefined, { keyId: committee.keyId, contract: null, member: null }).ok);
    assert.ok(checkPermission(rule, caller(["official"])).ok);
    assert.ok(!checkPermission(rule, caller(["resident"])).ok);
    assert.ok(!checkPermission(rule, caller(["official"], "water-bureau")).ok);
    assert.ok(!checkPermission(rule, { keyId: committee.keyId, contract: null, member: null }).ok);
    const denied = checkPermission({ ...rule, roles: [] }, caller(["resident"], "parks"));
    assert.ok(!denied.ok);
    assert.equal(denied.error.code, "PERMISSION_DENIED");
  });
});
