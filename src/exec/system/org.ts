/**
 * The `org` system contract: the organizations of the city (bureaus, district governments,
 * agencies, community services), their admins and their department trees.
 *
 * An organization has an id (a slug, never reused, even after removal), a display name, a status
 * (`active`, `suspended`, `removed`) and 1 to ORG_ADMINS_MAX admins (key ids) who attest its
 * members (`member` contract) and manage its departments. Organizations are added, suspended,
 * reinstated, removed and given admins only by accepted governance proposals (calls from the
 * `governance` contract) or by the genesis initial state. Status moves: active → suspended
 * (`suspend`), suspended → active (`reinstate`), active or suspended → removed (`remove`, final).
 * While an organization is not active its members' transactions fail (IDENTITY_ORG_INACTIVE)
 * and its admins can neither attest nor change departments.
 *
 * Departments form a tree inside their organization (ids unique within it). Levels:
 *   - geographic: `city` > `district` > `street` > `community`. A geographic department is a
 *     root or sits under a geographic department of a strictly higher level (a street under a
 *     district or a city, never under a street or a community).
 *   - bureaus: `agency`, `department` (a bureau's offices and divisions): a root or under any
 *     department. A geographic department never sits under a bureau.
 * A department's level and parent are fixed when it is added (members and rules refer to it);
 * `updateDepartment` changes its name.
 *
 * Methods (arguments are maps; optional fields are omitted):
 *   add             {id, name, admins: [keyId], departments?: [{id, name, level, parent?}]}   governance
 *   suspend         {id, reason?}                                                              governance
 *   reinstate       {id}                                                                       governance
 *   remove          {id, reason?}                                                              governance
 *   setAdmins       {id, admins: [keyId]}                                                      governance
 *   addDepartment   {organization, id, name, level, parent?}          an admin of the organization
 *   updateDepartment {organization, id, name}                         an admin of the organization
 *   get             {id}                     → the organization record, or null (read only)
 *   getDepartment   {organization, id}       → the department record, or null (read only)
 *   list            {} or null               → {ids: [text]} sorted (read only)
 * Admin methods take a direct transaction from an admin's key (`caller.contract` null) or a
 * call from `governance`.
 *
 * Genesis section (`initialState.org`): `{organizations: [{id, name, admins, departments?}]}`,
 * each entry as the arguments of `add` (departments in order: a parent before its children).
 *
 * State (canonical-value maps, each with `version` 1):
 *   organization  / utf8(id)                 {version, id, name, status, admins, created: {height, timeMs},
 *                                             statusChanged?: {height, timeMs, reason?}}
 *   department    / utf8(org "/" id)         {version, organization, id, name, level, parent?,
 *                                             created: {height, timeMs}}
 *   org-list      / ""                       {version, ids: [text]} sorted, at most ORGS_MAX
 *   department-list / utf8(org)              {version, ids: [text]} sorted, at most ORG_DEPARTMENTS_MAX
 * Events (data = the record after the change): `added`, `suspended`, `reinstated`, `removed`,
 * `admins-set`, `department-added`, `department-updated`.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { equalBytes } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import type { HashFunction } from "../../crypto/suite.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { argsMapOf, optionalTextField, textField } from "../args.ts";
import type { ContractContext, NativeContract } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import {
  IDENTITY_REASON_BYTES_MAX,
  ORG_ADMINS_MAX,
  ORG_DEPARTMENTS_MAX,
  ORG_NAME_BYTES_MAX,
  ORGS_MAX,
  TX_STATE_WRITE_BYTES_MAX,
} from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";
import {
  GOVERNANCE_CALLER,
  I64_MAX,
  idBytesOf,
  keyIdSetField,
  mapListField,
  methodUnknown,
  optionalSlugField,
  RecordReader,
  requireGovernance,
  slugField,
} from "./codec.ts";

export const ORG_CONTRACT = "org";
export const ORG_TABLE = "organization";
export const DEPARTMENT_TABLE = "department";
export const ORG_LIST_TABLE = "org-list";
export const DEPARTMENT_LIST_TABLE = "department-list";
export const ORG_RECORD_VERSION = 1n;
export const ORG_STATUSES = ["active", "suspended", "removed"] as const;
export type OrganizationStatus = (typeof ORG_STATUSES)[number];
export const DEPARTMENT_LEVELS = ["city", "district", "street", "community", "agency", "department"] as const;
export type DepartmentLevel = (typeof DEPARTMENT_LEVELS)[number];
/** Geographic levels, highest first; the others are bureaus. */
const GEOGRAPHIC_RANKS: Readonly<Record<DepartmentLevel, number | null>> = {
  city: 0,
  district: 1,
  street: 2,
  community: 3,
  agency: null,
  department: null,
};
export const ORG_METHODS = [
  "add",
  "suspend",
  "reinstate",
  "remove",
  "setAdmins",
  "addDepartment",
  "updateDepartment",
  "get",
  "getDepartment",
  "list",
] as const;
/** Bound of one stored org or department record (names, admins, reason, structure). */
export const ORG_RECORD_BYTES_MAX = 4096;

export interface BlockMoment {
  readonly height: bigint;
  readonly timeMs: bigint;
}

export interface StatusChange extends BlockMoment {
  readonly reason: string | null;
}

export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly status: OrganizationStatus;
  /** Key ids, sorted by bytes. */
  readonly admins: readonly Uint8Array[];
  readonly created: BlockMoment;
  readonly statusChanged: StatusChange | null;
}

export interface Department {
  readonly organization: string;
  readonly id: string;
  readonly name: string;
  readonly level: DepartmentLevel;
  /** Parent department id in the same organization; null for a root. */
  readonly parent: string | null;
  readonly created: BlockMoment;
}

// ---- Records ----------------------------------------------------------------------------------

function momentValue(moment: BlockMoment): ValueMap {
  assert(moment.height >= 0n && moment.height <= I64_MAX, "heights fit a canonical integer");
  assert(moment.timeMs >= 0n && moment.timeMs <= I64_MAX, "times fit a canonical integer");
  return { height: moment.height, timeMs: moment.timeMs };
}

export function organizationValue(organization: Organization): ValueMap {
  assert(organization.admins.length <= ORG_ADMINS_MAX, "admins are bounded");
  const value: Record<string, Value> = {
    version: ORG_RECORD_VERSION,
    id: organization.id,
    name: organization.name,
    status: organization.status,
    admins: [...organization.admins],
    created: momentValue(organization.created),
  };
  if (organization.statusChanged !== null) {
    const change: Record<string, Value> = momentValue(organization.statusChanged);
    if (organization.statusChanged.reason !== null) change.reason = organization.statusChanged.reason;
    value.statusChanged = change;
  }
  return value;
}

export function departmentValue(department: Department): ValueMap {
  const value: Record<string, Value> = {
    version: ORG_RECORD_VERSION,
    organization: department.organization,
    id: department.id,
    name: department.name,
    level: department.level,
    created: momentValue(department.created),
  };
  if (department.parent !== null) value.parent = department.parent;
  return value;
}

function readMoment(value: Value, what: string): BlockMoment {
  const reader = new RecordReader(value, what, ["height", "timeMs"], []);
  return { height: reader.natural("height"), timeMs: reader.natural("timeMs") };
}

function isStatus(text: string): text is OrganizationStatus {
  return (ORG_STATUSES as readonly string[]).includes(text);
}

function isLevel(text: string): text is DepartmentLevel {
  return (DEPARTMENT_LEVELS as readonly string[]).includes(text);
}

/** Decodes a stored organization; any other bytes throw DecodeError. */
export function decodeOrganization(bytes: Uint8Array): Organization {
  return organizationOfValue(decodeValue(bytes, ORG_RECORD_BYTES_MAX));
}

/** An organization record from its value (what `org.get` returns); anything else throws DecodeError. */
export function organizationOfValue(value: Value): Organization {
  const what = "organization record";
  const reader = new RecordReader(
    value,
    what,
    ["version", "id", "name", "status", "admins", "created"],
    ["statusChanged"],
  );
  reader.version(ORG_RECORD_VERSION);
  const status = reader.text("status");
  if (!isStatus(status)) throw reader.invalid("unknown status");
  let statusChanged: StatusChange | null = null;
  if (reader.has("statusChanged")) {
    const change = new RecordReader(reader.map("statusChanged"), what, ["height", "timeMs"], ["reason"]);
    statusChanged = {
      height: change.natural("height"),
      timeMs: change.natural("timeMs"),
      reason: change.optionalText("reason"),
    };
  }
  return {
    id: reader.slug("id"),
    name: reader.text("name"),
    status,
    admins: reader.keyIdSet("admins", ORG_ADMINS_MAX),
    created: readMoment(reader.map("created"), what),
    statusChanged,
  };
}

export function decodeDepartment(bytes: Uint8Array): Department {
  return departmentOfValue(decodeValue(bytes, ORG_RECORD_BYTES_MAX));
}

/** A department record from its value (what `org.getDepartment` returns). */
export function departmentOfValue(value: Value): Department {
  const what = "department record";
  const reader = new RecordReader(
    value,
    what,
    ["version", "organization", "id", "name", "level", "created"],
    ["parent"],
  );
  reader.version(ORG_RECORD_VERSION);
  const level = reader.text("level");
  if (!isLevel(level)) throw reader.invalid("unknown level");
  return {
    organization: reader.slug("organization"),
    id: reader.slug("id"),
    name: reader.text("name"),
    level,
    parent: reader.optionalSlug("parent"),
    created: readMoment(reader.map("created"), what),
  };
}

function encodeIdList(ids: readonly string[]): Uint8Array {
  for (let index = 1; index < ids.length; index++)
    assert(ids[index - 1]! < ids[index]!, "id lists are sorted");
  const encoded = encodeValue({ version: ORG_RECORD_VERSION, ids: [...ids] });
  assert(encoded.length <= TX_STATE_WRITE_BYTES_MAX, "id lists are bounded");
  return encoded;
}

function decodeIdList(bytes: Uint8Array, countMax: number): readonly string[] {
  const reader = new RecordReader(
    decodeValue(bytes, TX_STATE_WRITE_BYTES_MAX),
    "id list",
    ["version", "ids"],
    [],
  );
  reader.version(ORG_RECORD_VERSION);
  return reader.slugSet("ids", countMax);
}

export function encodeOrganization(organization: Organization): Uint8Array {
  return encodeRecord(organizationValue(organization));
}

export function encodeDepartment(department: Department): Uint8Array {
  return encodeRecord(departmentValue(department));
}

function encodeRecord(value: ValueMap): Uint8Array {
  const encoded = encodeValue(value);
  assert(encoded.length <= ORG_RECORD_BYTES_MAX, "field limits bound org records");
  return encoded;
}

const LIST_ID = new Uint8Array(0);

function departmentIdOf(organization: string, department: string): Uint8Array {
  return idBytesOf(`${organization}/${department}`);
}

// ---- Readers ----------------------------------------------------------------------------------

export function organizationKeyOf(hash: HashFunction, id: string): Uint8Array {
  return contractStateKeyOf(hash, ORG_CONTRACT, ORG_TABLE, idBytesOf(id));
}

export function departmentKeyOf(hash: HashFunction, organization: string, id: string): Uint8Array {
  return contractStateKeyOf(hash, ORG_CONTRACT, DEPARTMENT_TABLE, departmentIdOf(organization, id));
}

export function readOrganization(
  state: StateReader,
  hash: HashFunction,
  id: string,
): Organization | undefined {
  const bytes = state.get(organizationKeyOf(hash, id));
  if (bytes === undefined) return undefined;
  const organization = decodeOrganization(bytes);
  assert(organization.id === id, "an organization sits under its own id");
  return organization;
}

export function readDepartment(
  state: StateReader,
  hash: HashFunction,
  organization: string,
  id: string,
): Department | undefined {
  const bytes = state.get(departmentKeyOf(hash, organization, id));
  if (bytes === undefined) return undefined;
  const department = decodeDepartment(bytes);
  assert(department.organization === organization && department.id === id, "a department sits under its ids");
  return department;
}

/** Every organization id ever added (removed ones included), sorted. */
export function readOrganizationIds(state: StateReader, hash: HashFunction): readonly string[] {
  const bytes = state.get(contractStateKeyOf(hash, ORG_CONTRACT, ORG_LIST_TABLE, LIST_ID));
  return bytes === undefined ? [] : decodeIdList(bytes, ORGS_MAX);
}

/** The department ids of an organization, sorted. */
export function readDepartmentIds(
  state: StateReader,
  hash: HashFunction,
  organization: string,
): readonly string[] {
  const bytes = state.get(
    contractStateKeyOf(hash, ORG_CONTRACT, DEPARTMENT_LIST_TABLE, idBytesOf(organization)),
  );
  return bytes === undefined ? [] : decodeIdList(bytes, ORG_DEPARTMENTS_MAX);
}

export function isOrganizationAdmin(organization: Organization, keyId: Uint8Array): boolean {
  return organization.admins.some((admin) => equalBytes(admin, keyId));
}

// ---- The contract -----------------------------------------------------------------------------

type Outcome<Value> = Result<Value, ExecutionError>;

function refuse(
  code: ConstructorParameters<typeof ExecutionError>[0],
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError(code, message, details));
}

function momentOf(context: ContractContext): BlockMoment {
  return { height: context.height, timeMs: context.timeMs };
}

function loadOrganization(context: ContractContext, id: string): Outcome<Organization> {
  const bytes = context.state.get(ORG_TABLE, idBytesOf(id));
  if (bytes === undefined)
    return refuse("ORG_NOT_FOUND", "no organization has this id", { organization: id });
  return ok(decodeOrganization(bytes));
}

function loadDepartmentIds(context: ContractContext, organization: string): string[] {
  const bytes = context.state.get(DEPARTMENT_LIST_TABLE, idBytesOf(organization));
  return bytes === undefined ? [] : [...decodeIdList(bytes, ORG_DEPARTMENTS_MAX)];
}

function saveOrganization(context: ContractContext, organization: Organization, event: string): void {
  const value = organizationValue(organization);
  context.state.set(ORG_TABLE, idBytesOf(organization.id), encodeRecord(value));
  context.emit(event, value);
}

const nameRule = { bytesMax: ORG_NAME_BYTES_MAX };
const reasonRule = { bytesMax: IDENTITY_REASON_BYTES_MAX, newlinesAllowed: true };
const adminsRule = { countMin: 1, countMax: ORG_ADMINS_MAX };

interface DepartmentSpec {
  readonly id: string;
  readonly name: string;
  readonly level: DepartmentLevel;
  readonly parent: string | null;
}

function parseDepartmentSpec(
  args: Value,
  withOrganization: boolean,
): Outcome<DepartmentSpec & { organization: string }> {
  const fields = ["id", "name", "level", "parent"];
  const map = argsMapOf(args, withOrganization ? ["organization", ...fields] : fields);
  if (!map.ok) return map;
  const organization = withOrganization ? slugField(map.value, "organization") : ok("");
  if (!organization.ok) return organization;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const name = textField(map.value, "name", nameRule);
  if (!name.ok) return name;
  const level = textField(map.value, "level", { bytesMax: 16 });
  if (!level.ok) return level;
  if (!isLevel(level.value)) {
    return refuse("ORG_DEPARTMENT_LEVEL_INVALID", "unknown department level", {
      field: "level",
      levels: DEPARTMENT_LEVELS.join(","),
    });
  }
  const parent = optionalSlugField(map.value, "parent");
  if (!parent.ok) return parent;
  return ok({
    organization: organization.value,
    id: id.value,
    name: name.value,
    level: level.value,
    parent: parent.value,
  });
}

/** Whether a department of `level` may sit under a department of `parentLevel`. */
export function departmentPlacementAllowed(
  level: DepartmentLevel,
  parentLevel: DepartmentLevel | null,
): boolean {
  if (parentLevel === null) return true;
  const rank = GEOGRAPHIC_RANKS[level];
  const parentRank = GEOGRAPHIC_RANKS[parentLevel];
  if (rank === null) return true;
  if (parentRank === null) return false;
  return parentRank < rank;
}

/**
 * Adds departments to an organization, checking each against those before it; writes the
 * department list once (its size is then written once, not once per department).
 */
function addDepartments(
  context: ContractContext,
  organization: string,
  specs: readonly DepartmentSpec[],
): Outcome<readonly Department[]> {
  const ids = loadDepartmentIds(context, organization);
  if (ids.length + specs.length > ORG_DEPARTMENTS_MAX) {
    return refuse("ORG_DEPARTMENT_LIMIT_REACHED", "the organization has as many departments as allowed", {
      organization,
      departmentsMax: ORG_DEPARTMENTS_MAX,
    });
  }
  const added: Department[] = [];
  const levelOf = (id: string): DepartmentLevel | undefined => {
    const fresh = added.find((department) => department.id === id);
    if (fresh !== undefined) return fresh.level;
    const bytes = context.state.get(DEPARTMENT_TABLE, departmentIdOf(organization, id));
    return bytes === undefined ? undefined : decodeDepartment(bytes).level;
  };
  for (const spec of specs) {
    if (levelOf(spec.id) !== undefined) {
      return refuse("ORG_DEPARTMENT_EXISTS", "the organization already has a department with this id", {
        organization,
        department: spec.id,
      });
    }
    let parentLevel: DepartmentLevel | null = null;
    if (spec.parent !== null) {
      const level = levelOf(spec.parent);
      if (level === undefined) {
        return refuse("ORG_DEPARTMENT_NOT_FOUND", "the parent department does not exist", {
          organization,
          department: spec.parent,
        });
      }
      parentLevel = level;
    }
    if (!departmentPlacementAllowed(spec.level, parentLevel)) {
      return refuse(
        "ORG_DEPARTMENT_LEVEL_INVALID",
        "a department of this level cannot sit under its parent",
        {
          organization,
          department: spec.id,
          level: spec.level,
          parentLevel: parentLevel ?? "none",
        },
      );
    }
    added.push({ organization, ...spec, created: momentOf(context) });
  }
  for (const department of added) {
    const value = departmentValue(department);
    context.state.set(DEPARTMENT_TABLE, departmentIdOf(organization, department.id), encodeRecord(value));
    context.emit("department-added", value);
    ids.push(department.id);
  }
  if (added.length > 0) {
    ids.sort();
    context.state.set(DEPARTMENT_LIST_TABLE, idBytesOf(organization), encodeIdList(ids));
  }
  return ok(added);
}

function parseDepartmentSpecs(map: ValueMap): Outcome<readonly DepartmentSpec[]> {
  const list = mapListField(map, "departments", { countMin: 0, countMax: ORG_DEPARTMENTS_MAX });
  if (!list.ok) return list;
  const specs: DepartmentSpec[] = [];
  for (const item of list.value) {
    const spec = parseDepartmentSpec(item, false);
    if (!spec.ok) return spec;
    specs.push({
      id: spec.value.id,
      name: spec.value.name,
      level: spec.value.level,
      parent: spec.value.parent,
    });
  }
  return ok(specs);
}

/** `add` and the genesis section: a new organization, active, with its departments. */
function addOrganization(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["id", "name", "admins", "departments"]);
  if (!map.ok) return map;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const name = textField(map.value, "name", nameRule);
  if (!name.ok) return name;
  const admins = keyIdSetField(map.value, "admins", adminsRule);
  if (!admins.ok) return admins;
  const departments = parseDepartmentSpecs(map.value);
  if (!departments.ok) return departments;
  if (context.state.get(ORG_TABLE, idBytesOf(id.value)) !== undefined) {
    return refuse("ORG_EXISTS", "an organization with this id exists or existed", { organization: id.value });
  }
  const listBytes = context.state.get(ORG_LIST_TABLE, LIST_ID);
  const ids = listBytes === undefined ? [] : [...decodeIdList(listBytes, ORGS_MAX)];
  if (ids.length >= ORGS_MAX) {
    return refuse("ORG_LIMIT_REACHED", "the chain has as many organizations as allowed", {
      organizationsMax: ORGS_MAX,
    });
  }
  assert(!ids.includes(id.value), "the list holds only existing organizations");
  const organization: Organization = {
    id: id.value,
    name: name.value,
    status: "active",
    admins: admins.value,
    created: momentOf(context),
    statusChanged: null,
  };
  saveOrganization(context, organization, "added");
  ids.push(id.value);
  ids.sort();
  context.state.set(ORG_LIST_TABLE, LIST_ID, encodeIdList(ids));
  const added = addDepartments(context, id.value, departments.value);
  if (!added.ok) return added;
  return ok(null);
}

const STATUS_MOVES: Readonly<
  Record<
    "suspend" | "reinstate" | "remove",
    { from: readonly OrganizationStatus[]; to: OrganizationStatus; event: string }
  >
> = {
  suspend: { from: ["active"], to: "suspended", event: "suspended" },
  reinstate: { from: ["suspended"], to: "active", event: "reinstated" },
  remove: { from: ["active", "suspended"], to: "removed", event: "removed" },
};

function changeStatus(
  context: ContractContext,
  method: "suspend" | "reinstate" | "remove",
  args: Value,
): Outcome<Value> {
  const map = argsMapOf(args, method === "reinstate" ? ["id"] : ["id", "reason"]);
  if (!map.ok) return map;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const reason = optionalTextField(map.value, "reason", reasonRule);
  if (!reason.ok) return reason;
  const organization = loadOrganization(context, id.value);
  if (!organization.ok) return organization;
  const move = STATUS_MOVES[method];
  if (!move.from.includes(organization.value.status)) {
    return refuse(
      "ORG_STATUS_INVALID",
      `an organization that is ${organization.value.status} cannot be ${move.event}`,
      {
        organization: id.value,
        status: organization.value.status,
      },
    );
  }
  saveOrganization(
    context,
    { ...organization.value, status: move.to, statusChanged: { ...momentOf(context), reason: reason.value } },
    move.event,
  );
  return ok(null);
}

function setAdmins(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["id", "admins"]);
  if (!map.ok) return map;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const admins = keyIdSetField(map.value, "admins", adminsRule);
  if (!admins.ok) return admins;
  const organization = loadOrganization(context, id.value);
  if (!organization.ok) return organization;
  if (organization.value.status === "removed") {
    return refuse("ORG_STATUS_INVALID", "a removed organization has no admins to set", {
      organization: id.value,
    });
  }
  saveOrganization(context, { ...organization.value, admins: admins.value }, "admins-set");
  return ok(null);
}

/** An admin's direct transaction, or governance; and the organization is active. */
function requireAdmin(context: ContractContext, organizationId: string): Outcome<Organization> {
  const organization = loadOrganization(context, organizationId);
  if (!organization.ok) return organization;
  const direct =
    context.caller.contract === null && isOrganizationAdmin(organization.value, context.caller.keyId);
  if (!direct && context.caller.contract !== GOVERNANCE_CALLER) {
    return refuse("ORG_NOT_ADMIN", "only an admin of the organization may do this", {
      organization: organizationId,
    });
  }
  if (organization.value.status !== "active") {
    return refuse("ORG_NOT_ACTIVE", "the organization is not active", {
      organization: organizationId,
      status: organization.value.status,
    });
  }
  return organization;
}

function addDepartment(context: ContractContext, args: Value): Outcome<Value> {
  const spec = parseDepartmentSpec(args, true);
  if (!spec.ok) return spec;
  const admin = requireAdmin(context, spec.value.organization);
  if (!admin.ok) return admin;
  const { organization, ...department } = spec.value;
  const added = addDepartments(context, organization, [department]);
  if (!added.ok) return added;
  return ok(null);
}

function updateDepartment(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["organization", "id", "name"]);
  if (!map.ok) return map;
  const organization = slugField(map.value, "organization");
  if (!organization.ok) return organization;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const name = textField(map.value, "name", nameRule);
  if (!name.ok) return name;
  const admin = requireAdmin(context, organization.value);
  if (!admin.ok) return admin;
  const bytes = context.state.get(DEPARTMENT_TABLE, departmentIdOf(organization.value, id.value));
  if (bytes === undefined) {
    return refuse("ORG_DEPARTMENT_NOT_FOUND", "the organization has no department with this id", {
      organization: organization.value,
      department: id.value,
    });
  }
  const value = departmentValue({ ...decodeDepartment(bytes), name: name.value });
  context.state.set(DEPARTMENT_TABLE, departmentIdOf(organization.value, id.value), encodeRecord(value));
  context.emit("department-updated", value);
  return ok(null);
}

function getOrganization(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["id"]);
  if (!map.ok) return map;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const bytes = context.state.get(ORG_TABLE, idBytesOf(id.value));
  return ok(bytes === undefined ? null : organizationValue(decodeOrganization(bytes)));
}

function getDepartment(context: ContractContext, args: Value): Outcome<Value> {
  const map = argsMapOf(args, ["organization", "id"]);
  if (!map.ok) return map;
  const organization = slugField(map.value, "organization");
  if (!organization.ok) return organization;
  const id = slugField(map.value, "id");
  if (!id.ok) return id;
  const bytes = context.state.get(DEPARTMENT_TABLE, departmentIdOf(organization.value, id.value));
  return ok(bytes === undefined ? null : departmentValue(decodeDepartment(bytes)));
}

function listOrganizations(context: ContractContext, args: Value): Outcome<Value> {
  if (args !== null) {
    const map = argsMapOf(args, ["none"]);
    if (!map.ok) return map;
  }
  const bytes = context.state.get(ORG_LIST_TABLE, LIST_ID);
  return ok({ ids: bytes === undefined ? [] : [...decodeIdList(bytes, ORGS_MAX)] });
}

function initialize(context: ContractContext, section: Value): Outcome<Value> {
  const map = argsMapOf(section, ["organizations"]);
  if (!map.ok) return map;
  const organizations = mapListField(map.value, "organizations", { countMin: 0, countMax: ORGS_MAX });
  if (!organizations.ok) return organizations;
  for (const entry of organizations.value) {
    const added = addOrganization(context, entry);
    if (!added.ok) return added;
  }
  return ok(null);
}

export const orgContract: NativeContract = {
  name: ORG_CONTRACT,
  initialize,
  execute(context, method, args) {
    switch (method) {
      case "add": {
        const governance = requireGovernance(context, ORG_CONTRACT, method);
        return governance.ok ? addOrganization(context, args) : governance;
      }
      case "suspend":
      case "reinstate":
      case "remove": {
        const governance = requireGovernance(context, ORG_CONTRACT, method);
        return governance.ok ? changeStatus(context, method, args) : governance;
      }
      case "setAdmins": {
        const governance = requireGovernance(context, ORG_CONTRACT, method);
        return governance.ok ? setAdmins(context, args) : governance;
      }
      case "addDepartment":
        return addDepartment(context, args);
      case "updateDepartment":
        return updateDepartment(context, args);
      case "get":
        return getOrganization(context, args);
      case "getDepartment":
        return getDepartment(context, args);
      case "list":
        return listOrganizations(context, args);
      default:
        return methodUnknown(ORG_CONTRACT, method, ORG_METHODS);
    }
  },
};
