/**
 * Identity, governance and contract routes: organizations with their departments, members,
 * the committee, proposals with their votes, chain parameters, deployed contracts with every
 * version and their code, permission rules, and read-only contract queries. Everything is read
 * at the committed state (NodeService.governance); changes are signed transactions
 * (POST /v1/transactions) to the system contracts `org`, `member`, `governance`, `registry`.
 *
 * Records are served in the API's plain JSON (bytes as lower-case hex, 64-bit integers as
 * decimal strings); a query's arguments and result use the value JSON form of docs/PROTOCOL.md
 * 1.1.1, which keeps bytes and integers exact.
 * @module
 */
import { type Static, Type } from "@sinclair/typebox";
import { bytesToHex } from "../base/bytes.ts";
import { type Value, ValueJsonError, valueFromJson, valueToJson } from "../encoding/index.ts";
import { departmentValue, memberValue, organizationValue, permissionRuleValue } from "../exec/index.ts";
import { committeeValue, proposalJson } from "../exec/system/governance.ts";
import { activeContractJson, contractVersionJson } from "../exec/system/registry.ts";
import { CONTRACT_NAME_PATTERN, METHOD_NAME_PATTERN } from "../ledger/validate-transaction.ts";
import type { OrganizationRecord } from "../node/governance-reads.ts";
import type { NodeService } from "../node/service.ts";
import { ApiError, type ProblemCode } from "./problem.ts";
import { jsonReply, PROBLEM_REPLIES } from "./schemas.ts";
import type { ApiApp } from "./server.ts";
import { hashBytesOf } from "./transaction-routes.ts";

/** Proposals or contracts one page holds (the readers' own page bound). */
export const API_GOVERNANCE_PAGE_MAX = 100;
export const API_GOVERNANCE_PAGE_DEFAULT = 50;

const Slug = Type.String({ pattern: "^[a-z][a-z0-9-]{0,47}$", description: "an id such as `city-hall`" });
const ContractName = Type.String({ pattern: CONTRACT_NAME_PATTERN.source, maxLength: 64 });
const KeyIdHex = Type.String({ pattern: "^[0-9a-fA-F]{64}$", description: "a 32-byte key id (hex)" });
const Decimal = Type.String({ pattern: "^(0|[1-9][0-9]{0,19})$" });
const PageQuery = Type.Object(
  {
    from: Type.Optional(Decimal),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: API_GOVERNANCE_PAGE_MAX })),
  },
  { additionalProperties: false },
);
/** Records are documented in docs/API.md and docs/PROTOCOL.md 13.9–13.10; served as plain JSON. */
const Record_ = (description: string) => Type.Object({}, { additionalProperties: true, description });
const QueryBody = Type.Object(
  {
    // The transactions' own method form, so every method a transaction may call can be queried.
    method: Type.String({ pattern: METHOD_NAME_PATTERN.source }),
    args: Type.Optional(Type.Unknown({ description: "arguments in the value JSON form (PROTOCOL 1.1.1)" })),
    caller: Type.Optional(KeyIdHex),
  },
  { additionalProperties: false },
);
type QueryBody = Static<typeof QueryBody>;

/** A canonical record as plain JSON: bytes as hex, integers as decimal strings, no `version`. */
export function plainJsonOf(value: Value): unknown {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map(plainJsonOf);
  const json: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value as Record<string, Value>)) {
    if (key !== "version") json[key] = plainJsonOf(item);
  }
  return json;
}

function organizationJson(record: OrganizationRecord): unknown {
  return {
    ...(plainJsonOf(organizationValue(record.organization)) as Record<string, unknown>),
    departments: record.departments.map((department) => plainJsonOf(departmentValue(department))),
  };
}

function pageOf(query: { from?: string; limit?: number }, fromDefault: bigint) {
  return {
    from: query.from === undefined ? fromDefault : BigInt(query.from),
    limit: query.limit ?? API_GOVERNANCE_PAGE_DEFAULT,
  };
}

export function registerGovernanceRoutes(app: ApiApp, service: NodeService): void {
  const governance = service.governance;

  app.get(
    "/v1/organizations",
    {
      schema: {
        summary: "Every organization with its departments",
        tags: ["identity"],
        response: {
          200: jsonReply(Record_("{ organizations: [...] }"), "the directory"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (_request, reply) => {
      const records = await governance.organizations();
      return reply.code(200).send({ organizations: records.map(organizationJson) });
    },
  );

  app.get(
    "/v1/organizations/:id",
    {
      schema: {
        summary: "One organization with its departments (tree by `parent`)",
        tags: ["identity"],
        params: Type.Object({ id: Slug }),
        response: { 200: jsonReply(Record_("the organization"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const record = await governance.organization(request.params.id);
      if (record === undefined) throw new ApiError("NOT_FOUND", 404, "no organization has this id");
      return reply.code(200).send(organizationJson(record));
    },
  );

  app.get(
    "/v1/members/:keyId",
    {
      schema: {
        summary: "The membership attested for a key: organization, department, roles, expiry, status",
        tags: ["identity"],
        params: Type.Object({ keyId: KeyIdHex }),
        response: { 200: jsonReply(Record_("the member and its status"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const record = await governance.member(hashBytesOf(request.params.keyId));
      if (record === undefined) throw new ApiError("NOT_FOUND", 404, "no organization attested this key");
      return reply
        .code(200)
        .send({ ...(plainJsonOf(memberValue(record.member)) as object), status: record.status });
    },
  );

  app.get(
    "/v1/committee",
    {
      schema: {
        summary: "The governance committee in office: seats with weights, quorum, threshold, voting period",
        tags: ["governance"],
        response: { 200: jsonReply(Record_("the committee"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (_request, reply) => {
      const committee = await governance.committee();
      if (committee === undefined) throw new ApiError("NOT_FOUND", 404, "this chain has no committee");
      return reply.code(200).send(plainJsonOf(committeeValue(committee)));
    },
  );

  app.get(
    "/v1/proposals",
    {
      schema: {
        summary: "Governance proposals by id, oldest first, with votes, tally and status",
        description: `At most ${API_GOVERNANCE_PAGE_MAX} a page; pass \`next\` as \`from\`.`,
        tags: ["governance"],
        querystring: PageQuery,
        response: { 200: jsonReply(Record_("{ proposals, total, next }"), "a page"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const { from, limit } = pageOf(request.query, 1n);
      const page = await governance.proposals(from, limit);
      return reply.code(200).send({
        proposals: page.proposals.map((proposal) => proposalJson(proposal, governance.nowMs)),
        total: page.total.toString(),
        next: page.nextId === null ? null : page.nextId.toString(),
      });
    },
  );

  app.get(
    "/v1/proposals/:id",
    {
      schema: {
        summary: "One proposal: kind, payload, votes (who, choice, when), status, execution result",
        tags: ["governance"],
        params: Type.Object({ id: Decimal }),
        response: { 200: jsonReply(Record_("the proposal"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const proposal = await governance.proposal(BigInt(request.params.id));
      if (proposal === undefined) throw new ApiError("NOT_FOUND", 404, "no proposal has this id");
      return reply
        .code(200)
        .send({ ...proposalJson(proposal, governance.nowMs), payload: plainJsonOf(proposal.payload) });
    },
  );

  app.get(
    "/v1/parameters",
    {
      schema: {
        summary: "Chain parameters set by governance (txGasMax, ...)",
        tags: ["governance"],
        response: {
          200: jsonReply(Record_("parameter name → decimal value"), "the parameters"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (_request, reply) => {
      const parameters = await governance.parameters();
      return reply
        .code(200)
        .send(
          Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, value.toString()])),
        );
    },
  );

  app.get(
    "/v1/contracts",
    {
      schema: {
        summary: "Deployed contracts in deployment order, with their active version",
        tags: ["contracts"],
        querystring: PageQuery,
        response: { 200: jsonReply(Record_("{ contracts, total, next }"), "a page"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const { from, limit } = pageOf(request.query, 0n);
      const page = await governance.contracts(from, limit);
      return reply.code(200).send({
        contracts: page.contracts.map(activeContractJson),
        total: page.total.toString(),
        next: page.nextPosition === null ? null : page.nextPosition.toString(),
      });
    },
  );

  app.get(
    "/v1/contracts/:name",
    {
      schema: {
        summary: "A deployed contract: its active version and every version (code hash, deployer, proposal)",
        tags: ["contracts"],
        params: Type.Object({ name: ContractName }),
        response: { 200: jsonReply(Record_("{ active, versions }"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const record = await governance.contract(request.params.name);
      if (record === undefined) throw new ApiError("NOT_FOUND", 404, "no contract of this name is deployed");
      return reply.code(200).send({
        active: activeContractJson(record.active),
        versions: record.versions.map(contractVersionJson),
      });
    },
  );

  app.get(
    "/v1/code/:codeHash",
    {
      schema: {
        summary: "Uploaded contract code by its hash (the bundled JavaScript module)",
        tags: ["contracts"],
        params: Type.Object({ codeHash: KeyIdHex }),
        response: {
          200: { description: "the code", content: { "text/javascript": { schema: Type.String() } } },
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (request, reply) => {
      const code = await governance.contractCode(hashBytesOf(request.params.codeHash));
      if (code === undefined) throw new ApiError("NOT_FOUND", 404, "no code with this hash was uploaded");
      return reply.code(200).type("text/javascript; charset=utf-8").send(new TextDecoder().decode(code));
    },
  );

  app.get(
    "/v1/permissions/:contract/:name",
    {
      schema: {
        summary: "The permission rule of a contract's method or named permission (roles, organizations)",
        tags: ["identity"],
        params: Type.Object({
          contract: ContractName,
          name: Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$" }),
        }),
        response: { 200: jsonReply(Record_("the rule"), "found"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const rule = await governance.permission(request.params.contract, request.params.name);
      if (rule === undefined) {
        throw new ApiError("NOT_FOUND", 404, "no rule: any signer in good standing may call it");
      }
      return reply.code(200).send(plainJsonOf(permissionRuleValue(rule)));
    },
  );

  app.post(
    "/v1/contracts/:name/query",
    {
      schema: {
        summary: "Run a contract method read-only at the committed state (nothing is kept)",
        description:
          "Arguments and result in the value JSON form (docs/PROTOCOL.md 1.1.1). `caller` is the key id the call runs as (default: anonymous). A failing call answers 422 with the contract's error code.",
        tags: ["contracts"],
        params: Type.Object({ name: ContractName }),
        body: QueryBody,
        response: { 200: jsonReply(Record_("{ value, gasUsed }"), "the result"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const body = request.body as QueryBody;
      let args: Value;
      try {
        args = valueFromJson(body.args ?? {});
      } catch (error) {
        if (error instanceof ValueJsonError)
          throw new ApiError("VALIDATION_FAILED", 400, `args${error.message}`);
        throw error;
      }
      const caller = body.caller === undefined ? null : hashBytesOf(body.caller);
      const result = await governance.query(request.params.name, body.method, args, caller);
      if (!result.ok) {
        throw new ApiError(result.error.code as ProblemCode, 422, result.error.message);
      }
      return reply
        .code(200)
        .send({ value: valueToJson(result.value.value), gasUsed: result.value.gasUsed.toString() });
    },
  );
}
