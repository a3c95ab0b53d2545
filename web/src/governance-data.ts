/**
 * Identity, governance and contract records as the portal uses them, read from the SDK's plain
 * JSON (docs/API.md: bytes as hex, 64-bit integers as decimal strings). The SDK hands these out
 * as untyped records, so each reader here checks the fields it uses and names the one missing:
 * a node that answers something else shows an error rather than a half-drawn page.
 */
import { client } from "./api.ts";
import { ClientError, hexToBytesOrNull } from "./sdk.ts";

export class RecordShapeError extends Error {
  override name = "RecordShapeError";
}

type Json = Readonly<Record<string, unknown>>;

function objectOf(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RecordShapeError(`${what} is not an object`);
  }
  return value as Json;
}

function text(record: Json, field: string): string {
  const value = record[field];
  if (typeof value !== "string") throw new RecordShapeError(`the field ${field} is missing`);
  return value;
}

function optionalText(record: Json, field: string): string | null {
  const value = record[field];
  return typeof value === "string" ? value : null;
}

function decimal(record: Json, field: string): bigint {
  const value = text(record, field);
  if (!/^[0-9]{1,20}$/.test(value)) throw new RecordShapeError(`the field ${field} is not a decimal`);
  return BigInt(value);
}

function optionalDecimal(record: Json, field: string): bigint | null {
  return typeof record[field] === "string" ? decimal(record, field) : null;
}

function list(record: Json, field: string): readonly unknown[] {
  const value = record[field];
  if (!Array.isArray(value)) throw new RecordShapeError(`the field ${field} is not a list`);
  return value;
}

function textList(record: Json, field: string): readonly string[] {
  return list(record, field).map((item) => {
    if (typeof item !== "string") throw new RecordShapeError(`${field} holds a non-text item`);
    return item;
  });
}

/**
 * One read from the node: the reply must be an object (`what` names it in the error otherwise),
 * and `decode` checks and reads the fields the portal uses.
 */
async function readRecord<Result>(
  reply: Promise<unknown>,
  what: string,
  decode: (record: Json) => Result,
): Promise<Result> {
  return decode(objectOf(await reply, what));
}

/** As readRecord, but null when the node has no such record (a lookup, not a failure). */
async function readRecordOrNull<Result>(
  reply: Promise<unknown>,
  what: string,
  decode: (record: Json) => Result,
): Promise<Result | null> {
  try {
    return await readRecord(reply, what, decode);
  } catch (error) {
    if (error instanceof ClientError && error.code === "NOT_FOUND") return null;
    throw error;
  }
}

/** When and by whom a record was made (`created`, `attested`). */
export interface Moment {
  readonly height: bigint;
  readonly timeMs: number;
  /** A key id (hex), or "genesis". */
  readonly by: string | null;
}

function momentOf(value: unknown, what: string): Moment {
  const record = objectOf(value, what);
  return {
    height: decimal(record, "height"),
    timeMs: Number(decimal(record, "timeMs")),
    by: optionalText(record, "by"),
  };
}

export interface Department {
  readonly id: string;
  readonly name: string;
  /** city, district, street, community, agency or department. */
  readonly level: string;
  readonly parent: string | null;
}

export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly status: string;
  readonly admins: readonly string[];
  readonly created: Moment;
  readonly departments: readonly Department[];
}

function organizationOf(record: Json): Organization {
  return {
    id: text(record, "id"),
    name: text(record, "name"),
    status: text(record, "status"),
    admins: textList(record, "admins"),
    created: momentOf(record.created, "created"),
    departments: list(record, "departments").map((item) => {
      const department = objectOf(item, "a department");
      return {
        id: text(department, "id"),
        name: text(department, "name"),
        level: text(department, "level"),
        parent: optionalText(department, "parent"),
      };
    }),
  };
}

export async function loadOrganizations(): Promise<readonly Organization[]> {
  return readRecord(client.organizations(), "the directory", (record) =>
    list(record, "organizations").map((item) => organizationOf(objectOf(item, "an organization"))),
  );
}

export async function loadOrganization(id: string): Promise<Organization | null> {
  return readRecordOrNull(client.organization(id), "an organization", organizationOf);
}

/** A department and the ones under it, for the tree (city → district → street → community). */
export interface DepartmentNode {
  readonly department: Department;
  readonly children: readonly DepartmentNode[];
}

/** The departments as a forest by `parent`; a parent that is not listed makes its child a root. */
export function departmentTree(departments: readonly Department[]): readonly DepartmentNode[] {
  const ids = new Set(departments.map((department) => department.id));
  const childrenOf = (parent: string | null, seen: ReadonlySet<string>): DepartmentNode[] =>
    departments
      .filter((department) =>
        parent === null
          ? department.parent === null || !ids.has(department.parent)
          : department.parent === parent,
      )
      .filter((department) => !seen.has(department.id)) // A cycle in bad data ends here.
      .map((department) => ({
        department,
        children: childrenOf(department.id, new Set([...seen, department.id])),
      }));
  return childrenOf(null, new Set());
}

export interface Member {
  readonly keyId: string;
  readonly organization: string;
  readonly department: string;
  readonly roles: readonly string[];
  readonly label: string | null;
  readonly expiresAtMs: number | null;
  /** active, expired or revoked. */
  readonly status: string;
  readonly attested: Moment;
  readonly revokedReason: string | null;
}

/** The membership attested for a key id, or null when no organization attested it. */
export async function loadMember(keyId: string): Promise<Member | null> {
  return readRecordOrNull(client.member(keyId), "a member", (record) => {
    const revoked = record.revoked === undefined ? null : objectOf(record.revoked, "revoked");
    const expiresAtMs = optionalDecimal(record, "expiresAtMs");
    return {
      keyId: text(record, "keyId"),
      organization: text(record, "organization"),
      department: text(record, "department"),
      roles: textList(record, "roles"),
      label: optionalText(record, "label"),
      expiresAtMs: expiresAtMs === null ? null : Number(expiresAtMs),
      status: text(record, "status"),
      attested: momentOf(record.attested, "attested"),
      revokedReason: revoked === null ? null : optionalText(revoked, "reason"),
    };
  });
}

export interface Seat {
  readonly keyId: string;
  readonly weight: bigint;
}

export interface Committee {
  readonly seats: readonly Seat[];
  readonly quorumPercent: bigint;
  readonly thresholdPercent: bigint;
  readonly votingPeriodMs: bigint;
  /** The proposal that set it (0: genesis), and from which height. */
  readonly proposalId: bigint;
  readonly height: bigint;
}

function seatsOf(record: Json): readonly Seat[] {
  return list(record, "seats").map((item) => {
    const seat = objectOf(item, "a seat");
    return { keyId: text(seat, "keyId"), weight: decimal(seat, "weight") };
  });
}

export async function loadCommittee(): Promise<Committee | null> {
  return readRecordOrNull(client.committee(), "the committee", (record) => ({
    seats: seatsOf(record),
    quorumPercent: decimal(record, "quorumPercent"),
    thresholdPercent: decimal(record, "thresholdPercent"),
    votingPeriodMs: decimal(record, "votingPeriodMs"),
    proposalId: decimal(record, "proposalId"),
    height: decimal(record, "height"),
  }));
}

export interface Vote {
  readonly voter: string;
  /** yes, no or abstain. */
  readonly choice: string;
  readonly height: bigint;
  readonly timeMs: number;
}

export interface Tally {
  readonly yes: bigint;
  readonly no: bigint;
  readonly abstain: bigint;
  readonly total: bigint;
}

export interface Proposal {
  readonly id: bigint;
  readonly kind: string;
  readonly title: string;
  readonly description: string | null;
  readonly proposer: string;
  readonly height: bigint;
  readonly timeMs: number;
  readonly txHash: string;
  readonly deadlineMs: number;
  readonly seats: readonly Seat[];
  readonly quorumPercent: bigint;
  readonly thresholdPercent: bigint;
  readonly votes: readonly Vote[];
  readonly tally: Tally;
  /** open, executed, failed, rejected or expired. */
  readonly status: string;
  readonly decidedHeight: bigint | null;
  readonly decidedTimeMs: number | null;
  /** Why an accepted proposal failed to execute. */
  readonly errorCode: string | null;
  /** What it would do (plain JSON); only the single-proposal read carries it. */
  readonly payload: unknown;
}

function proposalOf(record: Json): Proposal {
  const tally = objectOf(record.tally, "the tally");
  const decidedTimeMs = optionalDecimal(record, "decidedTimeMs");
  return {
    id: decimal(record, "id"),
    kind: text(record, "kind"),
    title: text(record, "title"),
    description: optionalText(record, "description"),
    proposer: text(record, "proposer"),
    height: decimal(record, "height"),
    timeMs: Number(decimal(record, "timeMs")),
    txHash: text(record, "txHash"),
    deadlineMs: Number(decimal(record, "deadlineMs")),
    seats: seatsOf(record),
    quorumPercent: decimal(record, "quorumPercent"),
    thresholdPercent: decimal(record, "thresholdPercent"),
    votes: list(record, "votes").map((item) => {
      const vote = objectOf(item, "a vote");
      return {
        voter: text(vote, "voter"),
        choice: text(vote, "choice"),
        height: decimal(vote, "height"),
        timeMs: Number(decimal(vote, "timeMs")),
      };
    }),
    tally: {
      yes: decimal(tally, "yes"),
      no: decimal(tally, "no"),
      abstain: decimal(tally, "abstain"),
      total: decimal(tally, "total"),
    },
    status: text(record, "status"),
    decidedHeight: optionalDecimal(record, "decidedHeight"),
    decidedTimeMs: decidedTimeMs === null ? null : Number(decidedTimeMs),
    errorCode: optionalText(record, "errorCode"),
    payload: record.payload ?? null,
  };
}

/** Proposals on one page of the governance list. */
export const PROPOSALS_PAGE_SIZE = 20;

export interface ProposalPage {
  readonly proposals: readonly Proposal[];
  readonly total: bigint;
  /** The id the next page starts from, or null at the end. */
  readonly next: bigint | null;
}

export async function loadProposals(from: bigint): Promise<ProposalPage> {
  return readRecord(
    client.proposals({ from, limit: PROPOSALS_PAGE_SIZE }),
    "the proposals page",
    (record) => ({
      proposals: list(record, "proposals").map((item) => proposalOf(objectOf(item, "a proposal"))),
      total: decimal(record, "total"),
      next: optionalDecimal(record, "next"),
    }),
  );
}

export async function loadProposal(id: bigint): Promise<Proposal | null> {
  return readRecordOrNull(client.proposal(id), "a proposal", proposalOf);
}

export interface ContractSummary {
  readonly name: string;
  readonly version: bigint;
  readonly codeHash: string;
  readonly frozen: boolean;
}

export interface ContractVersion {
  readonly version: bigint;
  readonly codeHash: string;
  readonly deployer: string;
  /** The proposal that approved it (0: genesis). */
  readonly proposalId: bigint;
  readonly height: bigint;
  readonly timeMs: number;
  readonly txHash: string;
}

function contractSummaryOf(value: unknown): ContractSummary {
  const record = objectOf(value, "a contract");
  return {
    name: text(record, "name"),
    version: decimal(record, "version"),
    codeHash: text(record, "codeHash"),
    frozen: record.frozen === true,
  };
}

export const CONTRACTS_PAGE_SIZE = 50;

export async function loadContracts(
  from: bigint,
): Promise<{ contracts: readonly ContractSummary[]; total: bigint; next: bigint | null }> {
  return readRecord(client.contracts({ from, limit: CONTRACTS_PAGE_SIZE }), "the contracts", (record) => ({
    contracts: list(record, "contracts").map(contractSummaryOf),
    total: decimal(record, "total"),
    next: optionalDecimal(record, "next"),
  }));
}

export async function loadContract(
  name: string,
): Promise<{ active: ContractSummary; versions: readonly ContractVersion[] } | null> {
  return readRecordOrNull(client.contract(name), "the contract", (record) => ({
    active: contractSummaryOf(record.active),
    versions: list(record, "versions").map((value) => {
      const item = objectOf(value, "a version");
      return {
        version: decimal(item, "version"),
        codeHash: text(item, "codeHash"),
        deployer: text(item, "deployer"),
        proposalId: decimal(item, "proposalId"),
        height: decimal(item, "height"),
        timeMs: Number(decimal(item, "timeMs")),
        txHash: text(item, "txHash"),
      };
    }),
  }));
}

/** Chain parameters set by governance, by name. */
export async function loadParameters(): Promise<readonly (readonly [string, bigint])[]> {
  return readRecord(client.parameters(), "the parameters", (record) =>
    Object.keys(record)
      .sort()
      .map((name) => [name, decimal(record, name)] as const),
  );
}

/** A key id typed or pasted: 64 hex characters, any case. */
export function isKeyIdText(value: string): boolean {
  return hexToBytesOrNull(value.trim().toLowerCase())?.length === 32;
}
