/**
 * The `permission` system contract: who may call a contract's method, or hold a named
 * permission a contract asks for with `context.require(name)`.
 *
 * A rule is `{contract, name, roles: [slug], organizations: [slug]}`; `name` is a method name or
 * a permission name of that contract (one namespace). A signer satisfies a rule when it is a
 * member in good standing (the executor refuses revoked and expired members, and members of
 * inactive organizations, before any rule) and
 *   - `roles` is empty or the member holds at least one of them, and
 *   - `organizations` is empty or the member's organization is one of them.
 * So a rule with both lists empty means "members only". No rule means open to any signer in
 * good standing, members or not. The executor checks the rule of (contract, method) before a
 * transaction runs and before every nested call (except calls made by `governance`, whose acts
 * the committee approved), and `context.require(name)` checks (this contract, name); a refusal
 * is PERMISSION_DENIED.
 *
 * Rules are set and cleared only by accepted governance proposals (or at genesis). Methods that
 * only governance may call (`org.add`, `permission.set`, ...) check that in their own code and
 * need no rule. The demo city, for example: `notary.anchor` has no rule (any signer); `notary.revoke`
 * has none either (the contract itself allows only the anchoring key); a city data contract's
 * `publish` is limited to `{roles: [data-steward]}`; an emergency contract's `declare` to
 * `{roles: [emergency-officer], organizations: [emergency-bureau]}`.
 *
 * Methods:
 *   set    {contract, name, roles?, organizations?}   governance; replaces any rule of (contract, name)
 *   clear  {contract, name}                           governance; PERMISSION_RULE_NOT_FOUND when none
 *   get    {contract, name}   → the rule, or null (read only)
 * Genesis section (`initialState.permission`): `{rules: [{contract, name, roles?, organizations?}]}`.
 *
 * State: `rule / utf8(contract "/" name)` → {version 1, contract, name, roles, organizations,
 * set: {by: "governance" | "genesis", height, timeMs}}. Events: `set` (data = the rule),
 * `cleared` (data = {contract, name}).
 * @module
 */
import { assert } from "../../base/assert.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import type { HashFunction } from "../../crypto/suite.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { CONTRACT_NAME_PATTERN } from "../../ledger/validate-transaction.ts";
import { argsMapOf, textField } from "../args.ts";
import type { CallerIdentity, ContractContext, NativeContract } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import { PERMISSION_RULE_ORGANIZATIONS_MAX, PERMISSION_RULE_ROLES_MAX } from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";
import {
  GENESIS_CALLER,
  I64_MAX,
  idBytesOf,
  mapListField,
  methodUnknown,
  RecordReader,
  requireGovernance,
  slugSetField,
} from "./codec.ts";

export const PERMISSION_CONTRACT = "permission";
export const PERMISSION_RULE_TABLE = "rule";
export const PERMISSION_RULE_VERSION = 1n;
/** Method names (section 3 of PROTOCOL.md) and permission names share one namespace. */
export const PERMISSION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
export const PERMISSION_RULE_BYTES_MAX = 8192;
/** Rules a genesis section may set. */
export const PERMISSION_RULES_GENESIS_MAX = 1024;
export const PERMISSION_METHODS = ["set", "clear", "get"] as const;

export interface PermissionRule {
  readonly contract: string;
  readonly name: string;
  /** Sorted; empty: any role. */
  readonly roles: readonly string[];
  /** Sorted; empty: any organization. */
  readonly organizations: readonly string[];
  readonly set: { readonly by: "governance" | "genesis"; readonly height: bigint; readonly timeMs: bigint };
}

/** Ok when the caller satisfies the rule (or there is none); else PERMISSION_DENIED. */
export function checkPermission(
  rule: PermissionRule | undefined,
  caller: CallerIdentity,
): Result<void, ExecutionError> {
  if (rule === undefined) return ok(undefined);
  const member = caller.member;
  if (member === null) return permissionDenied(rule, "only members of an organization may do this");
  if (rule.roles.length > 0 && !rule.roles.some((role) => member.roles.includes(role))) {
    return permissionDenied(rule, "the signer holds none of the roles allowed");
  }
  if (rule.organizations.length > 0 && !rule.organizations.includes(member.organization)) {
    return permissionDenied(rule, "the signer's organization is not among those allowed");
  }
  return ok(undefined);
}

function permissionDenied(rule: PermissionRule, why: string): { ok: false; error: ExecutionError } {
  return fail(
    new ExecutionError("PERMISSION_DENIED", `${rule.contract}.${rule.name}: ${why}`, {
      contract: rule.contract,
      name: rule.name,
      roles: rule.roles.join(","),
      organizations: rule.organizations.join(","),
    }),
  );
}

// ---- Records ----------------------------------------------------------------------------------

function ruleIdOf(contract: string, name: string): Uint8Array {
  assert(CONTRACT_NAME_PATTERN.test(contract), "rules name a valid contract");
  assert(PERMISSION_NAME_PATTERN.test(name), "rules have a valid name");
  return idBytesOf(`${contract}/${name}`);
}

export function permissionRuleValue(rule: PermissionRule): ValueMap {
  assert(rule.set.height >= 0n && rule.set.height <= I64_MAX, "heights fit a canonical integer");
  assert(rule.set.timeMs >= 0n && rule.set.timeMs <= I64_MAX, "times fit a canonical integer");
  return {
    version: PERMISSION_RULE_VERSION,
    contract: rule.contract,
    name: rule.name,
    roles: [...rule.roles],
    organizations: [...rule.organizations],
    set: { by: rule.set.by, height: rule.set.height, timeMs: rule.set.timeMs },
  };
}

export function permissionRuleOfValue(value: Value): PermissionRule {
  const what = "permission rule";
  const reader = new RecordReader(
    value,
    what,
    ["version", "contract", "name", "roles", "organizations", "set"],
    [],
  );
  reader.version(PERMISSION_RULE_VERSION);
  const contract = reader.text("contract");
  const name = reader.text("name");
  if (!CONTRACT_NAME_PATTERN.test(contract)) throw reader.invalid("contract is not a contract name");
  if (!PERMISSION_NAME_PATTERN.test(name)) throw reader.invalid("name is not a permission name");
  const set = new RecordReader(reader.map("set"), what, ["by", "height", "timeMs"], []);
  const by = set.text("by");
  if (by !== "governance" && by !== "genesis") throw reader.invalid("unknown setter");
  return {
    contract,
    name,
    roles: reader.slugSet("roles", PERMISSION_RULE_ROLES_MAX),
    organizations: reader.slugSet("organizations", PERMISSION_RULE_ORGANIZATIONS_MAX),
    set: { by, height: set.natural("height"), timeMs: set.natural("timeMs") },
  };
}

export function decodePermissionRule(bytes: Uint8Array): PermissionRule {
  return permissionRuleOfValue(decodeValue(bytes, PERMISSION_RULE_BYTES_MAX));
}

export function permissionRuleKeyOf(hash: HashFunction, contract: string, name: string): Uint8Array {
  return contractStateKeyOf(hash, PERMISSION_CONTRACT, PERMISSION_RULE_TABLE, ruleIdOf(contract, name));
}

/** The rule of (contract, method or permission name), or undefined when there is none. */
export function readPermissionRule(
  state: StateReader,
  hash: HashFunction,
  contract: string,
  name: string,
): PermissionRule | undefined {
  if (!PERMISSION_NAME_PATTERN.test(name)) return undefined;
  const bytes = state.get(permissionRuleKeyOf(hash, contract, name));
  if (bytes === undefined) return undefined;
  const rule = decodePermissionRule(bytes);
  assert(rule.contract === contract && rule.name === name, "a rule sits under its own names");
  return rule;
}

// ---- The contract -----------------------------------------------------------------------------

type Outcome<Parsed> = Result<Parsed, ExecutionError>;

function parseTarget(map: ValueMap): Outcome<{ contract: string; name: string }> {
  const contract = textField(map, "contract", { bytesMax: 64, pattern: CONTRACT_NAME_PATTERN });
  if (!contract.ok) return contract;
  const name = textField(map, "name", { bytesMax: 64, pattern: PERMISSION_NAME_PATTERN });
  if (!name.ok) return name;
  return ok({ contract: contract.value, name: name.value });
}

function setRule(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["contract", "name", "roles", "organizations"]);
  if (!map.ok) return map;
  const target = parseTarget(map.value);
  if (!target.ok) return target;
  const roles = slugSetField(map.value, "roles", { countMin: 0, countMax: PERMISSION_RULE_ROLES_MAX }, false);
  if (!roles.ok) return roles;
  const organizations = slugSetField(
    map.value,
    "organizations",
    { countMin: 0, countMax: PERMISSION_RULE_ORGANIZATIONS_MAX },
    false,
  );
  if (!organizations.ok) return organizations;
  const rule: PermissionRule = {
    ...target.value,
    roles: roles.value ?? [],
    organizations: organizations.value ?? [],
    set: {
      by: context.caller.contract === GENESIS_CALLER ? "genesis" : "governance",
      height: context.height,
      timeMs: context.timeMs,
    },
  };
  const value = permissionRuleValue(rule);
  const encoded = encodeValue(value);
  assert(encoded.length <= PERMISSION_RULE_BYTES_MAX, "field limits bound a rule");
  context.state.set(PERMISSION_RULE_TABLE, ruleIdOf(rule.contract, rule.name), encoded);
  context.emit("set", value);
  return ok(null);
}

function clearRule(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["contract", "name"]);
  if (!map.ok) return map;
  const target = parseTarget(map.value);
  if (!target.ok) return target;
  const id = ruleIdOf(target.value.contract, target.value.name);
  if (context.state.get(PERMISSION_RULE_TABLE, id) === undefined) {
    return fail(new ExecutionError("PERMISSION_RULE_NOT_FOUND", "no rule of this name exists", target.value));
  }
  context.state.delete(PERMISSION_RULE_TABLE, id);
  context.emit("cleared", { contract: target.value.contract, name: target.value.name });
  return ok(null);
}

function getRule(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["contract", "name"]);
  if (!map.ok) return map;
  const target = parseTarget(map.value);
  if (!target.ok) return target;
  const bytes = context.state.get(PERMISSION_RULE_TABLE, ruleIdOf(target.value.contract, target.value.name));
  return ok(bytes === undefined ? null : permissionRuleValue(decodePermissionRule(bytes)));
}

function initialize(context: ContractContext, section: Value): Outcome<Value> {
  assert(context.caller.contract === GENESIS_CALLER, "initialize runs at genesis");
  const map = argsMapOf(section, ["rules"]);
  if (!map.ok) return map;
  const rules = mapListField(map.value, "rules", { countMin: 0, countMax: PERMISSION_RULES_GENESIS_MAX });
  if (!rules.ok) return rules;
  for (const entry of rules.value) {
    const set = setRule(context, entry);
    if (!set.ok) return set;
  }
  return ok(null);
}

export const permissionContract: NativeContract = {
  name: PERMISSION_CONTRACT,
  initialize,
  execute(context, method, args) {
    switch (method) {
      case "set":
      case "clear": {
        const governance = requireGovernance(context, PERMISSION_CONTRACT, method);
        if (!governance.ok) return governance;
        return method === "set" ? setRule(context, args) : clearRule(context, args);
      }
      case "get":
        return getRule(context, args);
      default:
        return methodUnknown(PERMISSION_CONTRACT, method, PERMISSION_METHODS);
    }
  },
};
