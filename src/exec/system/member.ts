/**
 * The `member` system contract: attestations that a key id belongs to a person or a service
 * holding roles in a department of an organization.
 *
 * An admin of an organization (`org`) attests `{keyId, organization, department, roles,
 * expiresAtMs?, label?}`. The label is a display or service name (at most
 * MEMBER_LABEL_BYTES_MAX bytes); no other personal data is kept on chain. A key is a member of
 * at most one organization: the record is keyed by the key id alone, and a second `add` fails
 * with MEMBER_EXISTS (a person serving two organizations uses two keys). Roles are slugs; the
 * conventional ones are MEMBER_ROLES_CONVENTIONAL, but any slug is allowed, and permission rules
 * name the roles they accept.
 *
 * Revocation takes effect at once (from the next transaction, in the same block too) and is
 * final: the record stays, with who revoked it, when and why; the key cannot be attested again
 * (a new key is attested instead), so the history of a key is never rewritten. Expiry is
 * `expiresAtMs` (block time): from that time on the key's transactions fail with
 * IDENTITY_MEMBER_EXPIRED until an admin extends it with `update`.
 *
 * Methods:
 *   add     {keyId, organization, department, roles, expiresAtMs?, label?}   an admin of the org
 *   update  {keyId, department?, roles?, expiresAtMs?, label?}               an admin of the key's org
 *   revoke  {keyId, reason?}                                 an admin of the key's org, or governance
 *   get     {keyId}   → the member record, or null (read only)
 * Admins act through a direct transaction (`caller.contract` null); the organization must be
 * active (ORG_NOT_ACTIVE) and the department must exist (ORG_DEPARTMENT_NOT_FOUND); a signer
 * who is not an admin gets MEMBER_NOT_ADMIN. `expiresAtMs` must be after the block's time
 * (MEMBER_EXPIRY_INVALID).
 *
 * Genesis section (`initialState.member`): `{members: [{keyId, organization, department, roles,
 * expiresAtMs?, label?}]}`, after `org` (its organizations and departments must exist).
 *
 * State: `member / keyId` → {version 1, keyId, organization, department, roles, expiresAtMs?,
 * label?, attested: provenance, updated?: provenance, revoked?: provenance + reason?}, where
 * provenance = {by: "admin" | "governance" | "genesis", signer?: bytes 32, txHash?: bytes 32,
 * height, timeMs} (signer and txHash absent at genesis).
 * Events (data = the record after the change): `added`, `updated`, `revoked`.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { bytesToHex, equalBytes } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import type { HashFunction } from "../../crypto/suite.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { KEY_ID_BYTES } from "../../ledger/key-id.ts";
import { argsMapOf, fixedBytesField, optionalTextField } from "../args.ts";
import type { ContractContext, MemberIdentity, NativeContract } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import { IDENTITY_REASON_BYTES_MAX, MEMBER_LABEL_BYTES_MAX, MEMBER_ROLES_MAX } from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";
import {
  GENESIS_CALLER,
  GOVERNANCE_CALLER,
  I64_MAX,
  mapListField,
  methodUnknown,
  optionalNaturalField,
  optionalSlugField,
  RecordReader,
  slugField,
  slugSetField,
} from "./codec.ts";
import {
  departmentOfValue,
  isOrganizationAdmin,
  ORG_CONTRACT,
  type Organization,
  organizationOfValue,
} from "./org.ts";

export const MEMBER_CONTRACT = "member";
export const MEMBER_TABLE = "member";
export const MEMBER_RECORD_VERSION = 1n;
export const MEMBER_RECORD_BYTES_MAX = 4096;
/** Members a genesis section may attest. */
export const MEMBERS_GENESIS_MAX = 4096;
/** Roles the portal and the demo city use; any slug is allowed. */
export const MEMBER_ROLES_CONVENTIONAL = [
  "resident",
  "official",
  "data-steward",
  "emergency-officer",
  "community-worker",
  "auditor",
  "admin",
  "service",
] as const;
export const MEMBER_METHODS = ["add", "update", "revoke", "get"] as const;
export const MEMBER_PROVENANCE_KINDS = ["admin", "governance", "genesis"] as const;
export type MemberProvenanceKind = (typeof MEMBER_PROVENANCE_KINDS)[number];
export type MemberStatus = "active" | "expired" | "revoked";

export interface MemberProvenance {
  readonly by: MemberProvenanceKind;
  /** The transaction's signer; null at genesis. */
  readonly signer: Uint8Array | null;
  readonly txHash: Uint8Array | null;
  readonly height: bigint;
  readonly timeMs: bigint;
}

export interface MemberRevocation extends MemberProvenance {
  readonly reason: string | null;
}

export interface Member {
  readonly keyId: Uint8Array;
  readonly organization: string;
  readonly department: string;
  /** Sorted, unique, 1 to MEMBER_ROLES_MAX. */
  readonly roles: readonly string[];
  /** Block time from which the attestation no longer holds; null: no expiry. */
  readonly expiresAtMs: bigint | null;
  readonly label: string | null;
  readonly attested: MemberProvenance;
  readonly updated: MemberProvenance | null;
  readonly revoked: MemberRevocation | null;
}

/** What a member is at a block time: revocation first, then expiry. */
export function memberStatusAt(member: Member, timeMs: bigint): MemberStatus {
  if (member.revoked !== null) return "revoked";
  if (member.expiresAtMs !== null && timeMs >= member.expiresAtMs) return "expired";
  return "active";
}

export function memberIdentityOf(member: Member): MemberIdentity {
  return { organization: member.organization, department: member.department, roles: member.roles };
}

// ---- Records ----------------------------------------------------------------------------------

function provenanceValue(provenance: MemberProvenance): Record<string, Value> {
  assert(provenance.height >= 0n && provenance.height <= I64_MAX, "heights fit a canonical integer");
  assert(provenance.timeMs >= 0n && provenance.timeMs <= I64_MAX, "times fit a canonical integer");
  if (provenance.by === "genesis") assert(provenance.signer === null, "genesis has no signer");
  const value: Record<string, Value> = {
    by: provenance.by,
    height: provenance.height,
    timeMs: provenance.timeMs,
  };
  if (provenance.signer !== null) value.signer = provenance.signer;
  if (provenance.txHash !== null) value.txHash = provenance.txHash;
  return value;
}

export function memberValue(member: Member): ValueMap {
  assert(member.keyId.length === KEY_ID_BYTES, "members are key ids");
  assert(member.roles.length >= 1 && member.roles.length <= MEMBER_ROLES_MAX, "roles are bounded");
  const value: Record<string, Value> = {
    version: MEMBER_RECORD_VERSION,
    keyId: member.keyId,
    organization: member.organization,
    department: member.department,
    roles: [...member.roles],
    attested: provenanceValue(member.attested),
  };
  if (member.expiresAtMs !== null) value.expiresAtMs = member.expiresAtMs;
  if (member.label !== null) value.label = member.label;
  if (member.updated !== null) value.updated = provenanceValue(member.updated);
  if (member.revoked !== null) {
    const revoked = provenanceValue(member.revoked);
    if (member.revoked.reason !== null) revoked.reason = member.revoked.reason;
    value.revoked = revoked;
  }
  return value;
}

export function encodeMember(member: Member): Uint8Array {
  const encoded = encodeValue(memberValue(member));
  assert(encoded.length <= MEMBER_RECORD_BYTES_MAX, "field limits bound member records");
  return encoded;
}

const PROVENANCE_FIELDS = ["by", "height", "timeMs"];

function readProvenance(reader: RecordReader): MemberProvenance {
  const by = reader.text("by");
  if (!(MEMBER_PROVENANCE_KINDS as readonly string[]).includes(by))
    throw reader.invalid("unknown provenance");
  return {
    by: by as MemberProvenanceKind,
    signer: reader.optionalBytes("signer", KEY_ID_BYTES),
    txHash: reader.optionalBytes("txHash", 32),
    height: reader.natural("height"),
    timeMs: reader.natural("timeMs"),
  };
}

/** A member record from its value (what `member.get` returns); anything else throws DecodeError. */
export function memberOfValue(value: Value): Member {
  const what = "member record";
  const reader = new RecordReader(
    value,
    what,
    ["version", "keyId", "organization", "department", "roles", "attested"],
    ["expiresAtMs", "label", "updated", "revoked"],
  );
  reader.version(MEMBER_RECORD_VERSION);
  const roles = reader.slugSet("roles", MEMBER_ROLES_MAX);
  if (roles.length === 0) throw reader.invalid("a member has a role");
  const optionalProvenance = ["signer", "txHash"];
  const attested = readProvenance(
    new RecordReader(reader.map("attested"), what, PROVENANCE_FIELDS, optionalProvenance),
  );
  const updated = reader.has("updated")
    ? readProvenance(new RecordReader(reader.map("updated"), what, PROVENANCE_FIELDS, optionalProvenance))
    : null;
  let revoked: MemberRevocation | null = null;
  if (reader.has("revoked")) {
    const revokedReader = new RecordReader(reader.map("revoked"), what, PROVENANCE_FIELDS, [
      ...optionalProvenance,
      "reason",
    ]);
    revoked = { ...readProvenance(revokedReader), reason: revokedReader.optionalText("reason") };
  }
  return {
    keyId: reader.bytes("keyId", KEY_ID_BYTES),
    organization: reader.slug("organization"),
    department: reader.slug("department"),
    roles,
    expiresAtMs: reader.optionalNatural("expiresAtMs"),
    label: reader.optionalText("label"),
    attested,
    updated,
    revoked,
  };
}

export function decodeMember(bytes: Uint8Array): Member {
  return memberOfValue(decodeValue(bytes, MEMBER_RECORD_BYTES_MAX));
}

export function memberKeyOf(hash: HashFunction, keyId: Uint8Array): Uint8Array {
  assert(keyId.length === KEY_ID_BYTES, "members are keyed by key id");
  return contractStateKeyOf(hash, MEMBER_CONTRACT, MEMBER_TABLE, keyId);
}

/** The member record of a key id, revoked or expired ones included; undefined when never attested. */
export function readMember(state: StateReader, hash: HashFunction, keyId: Uint8Array): Member | undefined {
  const bytes = state.get(memberKeyOf(hash, keyId));
  if (bytes === undefined) return undefined;
  const member = decodeMember(bytes);
  assert(equalBytes(member.keyId, keyId), "a member record sits under its own key id");
  return member;
}

// ---- The contract -----------------------------------------------------------------------------

type Outcome<Parsed> = Result<Parsed, ExecutionError>;

function refuse(
  code: ConstructorParameters<typeof ExecutionError>[0],
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError(code, message, details));
}

function provenanceOf(context: ContractContext): MemberProvenance {
  const caller = context.caller.contract;
  if (caller === GENESIS_CALLER) {
    return { by: "genesis", signer: null, txHash: null, height: context.height, timeMs: context.timeMs };
  }
  return {
    by: caller === GOVERNANCE_CALLER ? "governance" : "admin",
    signer: context.caller.keyId,
    txHash: context.txHash,
    height: context.height,
    timeMs: context.timeMs,
  };
}

/** The organization, through `org.get` (read only): a contract reaches only its own tables. */
function organizationOf(context: ContractContext, organization: string): Outcome<Organization> {
  const result = context.call(ORG_CONTRACT, "get", { id: organization }, { readOnly: true });
  if (!result.ok) return result;
  if (result.value === null) return refuse("ORG_NOT_FOUND", "no organization has this id", { organization });
  return ok(organizationOfValue(result.value));
}

function checkDepartment(context: ContractContext, organization: string, department: string): Outcome<void> {
  const result = context.call(
    ORG_CONTRACT,
    "getDepartment",
    { organization, id: department },
    { readOnly: true },
  );
  if (!result.ok) return result;
  if (result.value === null) {
    return refuse("ORG_DEPARTMENT_NOT_FOUND", "the organization has no department with this id", {
      organization,
      department,
    });
  }
  assert(
    departmentOfValue(result.value).organization === organization,
    "org returns the department asked for",
  );
  return ok(undefined);
}

/**
 * Who may attest for an organization: its admin's direct transaction (or governance, for
 * `revoke`); genesis attests anyone. The organization must be active.
 */
function checkAuthority(
  context: ContractContext,
  organizationId: string,
  governanceAllowed: boolean,
): Outcome<void> {
  const organization = organizationOf(context, organizationId);
  if (!organization.ok) return organization;
  const caller = context.caller.contract;
  const byGenesis = caller === GENESIS_CALLER;
  const byGovernance = governanceAllowed && caller === GOVERNANCE_CALLER;
  const byAdmin = caller === null && isOrganizationAdmin(organization.value, context.caller.keyId);
  if (!byGenesis && !byGovernance && !byAdmin) {
    return refuse("MEMBER_NOT_ADMIN", "only an admin of the organization may attest or revoke its members", {
      organization: organizationId,
    });
  }
  // Governance may revoke in a suspended organization (that is often why it was suspended).
  if (!byGovernance && organization.value.status !== "active") {
    return refuse("ORG_NOT_ACTIVE", "the organization is not active", {
      organization: organizationId,
      status: organization.value.status,
    });
  }
  return ok(undefined);
}

function checkExpiry(context: ContractContext, expiresAtMs: bigint | null): Outcome<void> {
  if (expiresAtMs === null || expiresAtMs > context.timeMs) return ok(undefined);
  return refuse("MEMBER_EXPIRY_INVALID", "an attestation must expire after the block's time", {
    expiresAtMs,
    timeMs: context.timeMs,
  });
}

const rolesRule = { countMin: 1, countMax: MEMBER_ROLES_MAX };
const labelRule = { bytesMax: MEMBER_LABEL_BYTES_MAX };

function loadMember(context: ContractContext, keyId: Uint8Array): Member | undefined {
  const bytes = context.state.get(MEMBER_TABLE, keyId);
  return bytes === undefined ? undefined : decodeMember(bytes);
}

function saveMember(context: ContractContext, member: Member, event: string): void {
  context.state.set(MEMBER_TABLE, member.keyId, encodeMember(member));
  context.emit(event, memberValue(member));
}

function add(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["keyId", "organization", "department", "roles", "expiresAtMs", "label"]);
  if (!map.ok) return map;
  const keyId = fixedBytesField(map.value, "keyId", KEY_ID_BYTES);
  if (!keyId.ok) return keyId;
  const organization = slugField(map.value, "organization");
  if (!organization.ok) return organization;
  const department = slugField(map.value, "department");
  if (!department.ok) return department;
  const roles = slugSetField(map.value, "roles", rolesRule);
  if (!roles.ok) return roles;
  assert(roles.value !== null, "roles are required");
  const expiresAtMs = optionalNaturalField(map.value, "expiresAtMs");
  if (!expiresAtMs.ok) return expiresAtMs;
  const label = optionalTextField(map.value, "label", labelRule);
  if (!label.ok) return label;
  const authority = checkAuthority(context, organization.value, false);
  if (!authority.ok) return authority;
  const departmentChecked = checkDepartment(context, organization.value, department.value);
  if (!departmentChecked.ok) return departmentChecked;
  // At genesis, an expiry already past just makes the member expired: block 1's time is not
  // known when the node checks its genesis, and the check must hold for any time.
  if (context.caller.contract !== GENESIS_CALLER) {
    const expiry = checkExpiry(context, expiresAtMs.value);
    if (!expiry.ok) return expiry;
  }
  const existing = loadMember(context, keyId.value);
  if (existing !== undefined) {
    return refuse("MEMBER_EXISTS", "this key is already attested (a key belongs to one organization, once)", {
      keyId: bytesToHex(keyId.value),
      organization: existing.organization,
      status: memberStatusAt(existing, context.timeMs),
    });
  }
  saveMember(
    context,
    {
      keyId: keyId.value,
      organization: organization.value,
      department: department.value,
      roles: roles.value,
      expiresAtMs: expiresAtMs.value,
      label: label.value,
      attested: provenanceOf(context),
      updated: null,
      revoked: null,
    },
    "added",
  );
  return ok(null);
}

function existingMember(context: ContractContext, keyId: Uint8Array): Outcome<Member> {
  const member = loadMember(context, keyId);
  if (member === undefined)
    return refuse("MEMBER_NOT_FOUND", "this key was never attested", { keyId: bytesToHex(keyId) });
  if (member.revoked !== null) {
    return refuse("MEMBER_REVOKED", "this key's attestation was revoked", {
      keyId: bytesToHex(keyId),
      revokedAtHeight: member.revoked.height,
    });
  }
  return ok(member);
}

function update(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["keyId", "department", "roles", "expiresAtMs", "label"]);
  if (!map.ok) return map;
  const keyId = fixedBytesField(map.value, "keyId", KEY_ID_BYTES);
  if (!keyId.ok) return keyId;
  const department = optionalSlugField(map.value, "department");
  if (!department.ok) return department;
  const roles = slugSetField(map.value, "roles", rolesRule, false);
  if (!roles.ok) return roles;
  const expiresAtMs = optionalNaturalField(map.value, "expiresAtMs");
  if (!expiresAtMs.ok) return expiresAtMs;
  const label = optionalTextField(map.value, "label", labelRule);
  if (!label.ok) return label;
  const member = existingMember(context, keyId.value);
  if (!member.ok) return member;
  const authority = checkAuthority(context, member.value.organization, false);
  if (!authority.ok) return authority;
  if (department.value !== null) {
    const checked = checkDepartment(context, member.value.organization, department.value);
    if (!checked.ok) return checked;
  }
  const expiry = checkExpiry(context, expiresAtMs.value);
  if (!expiry.ok) return expiry;
  saveMember(
    context,
    {
      ...member.value,
      department: department.value ?? member.value.department,
      roles: roles.value ?? member.value.roles,
      expiresAtMs: expiresAtMs.value ?? member.value.expiresAtMs,
      label: label.value ?? member.value.label,
      updated: provenanceOf(context),
    },
    "updated",
  );
  return ok(null);
}

function revoke(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["keyId", "reason"]);
  if (!map.ok) return map;
  const keyId = fixedBytesField(map.value, "keyId", KEY_ID_BYTES);
  if (!keyId.ok) return keyId;
  const reason = optionalTextField(map.value, "reason", {
    bytesMax: IDENTITY_REASON_BYTES_MAX,
    newlinesAllowed: true,
  });
  if (!reason.ok) return reason;
  const member = existingMember(context, keyId.value);
  if (!member.ok) return member;
  const authority = checkAuthority(context, member.value.organization, true);
  if (!authority.ok) return authority;
  saveMember(
    context,
    { ...member.value, revoked: { ...provenanceOf(context), reason: reason.value } },
    "revoked",
  );
  return ok(null);
}

function get(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["keyId"]);
  if (!map.ok) return map;
  const keyId = fixedBytesField(map.value, "keyId", KEY_ID_BYTES);
  if (!keyId.ok) return keyId;
  const member = loadMember(context, keyId.value);
  return ok(member === undefined ? null : memberValue(member));
}

function initialize(context: ContractContext, section: Value): Outcome<Value> {
  assert(context.caller.contract === GENESIS_CALLER, "initialize runs at genesis");
  const map = argsMapOf(section, ["members"]);
  if (!map.ok) return map;
  const members = mapListField(map.value, "members", { countMin: 0, countMax: MEMBERS_GENESIS_MAX });
  if (!members.ok) return members;
  for (const entry of members.value) {
    const added = add(context, entry);
    if (!added.ok) return added;
  }
  return ok(null);
}

export const memberContract: NativeContract = {
  name: MEMBER_CONTRACT,
  initialize,
  execute(context, method, args) {
    switch (method) {
      case "add":
        return add(context, args);
      case "update":
        return update(context, args);
      case "revoke":
        return revoke(context, args);
      case "get":
        return get(context, args);
      default:
        return methodUnknown(MEMBER_CONTRACT, method, MEMBER_METHODS);
    }
  },
};
