/**
 * Query routes: validator sets, state values with their proofs, indexed events (paged) and the
 * notary contract's records. State lookups answer 200 whether or not the key exists: an absent
 * key comes with its non-membership proof, which is an answer too.
 * @module
 */
import type { NodeService } from "../node/service.ts";
import { EventsPageJson, NotaryJson, StateReadJson, ValidatorsJson } from "../sdk/wire.ts";
import { heightOf } from "./block-routes.ts";
import { eventToJson, recordToJson, stateReadToJson, validatorsToJson } from "./json.ts";
import { API_EVENTS_PAGE_DEFAULT, API_EVENTS_PAGE_MAX } from "./limits.ts";
import { ApiError } from "./problem.ts";
import {
  DocumentParams,
  EventsQuery,
  jsonReply,
  PROBLEM_REPLIES,
  StateKeyParams,
  ValidatorsQuery,
} from "./schemas.ts";
import type { ApiApp } from "./server.ts";
import { hashBytesOf } from "./transaction-routes.ts";

export function registerQueryRoutes(app: ApiApp, service: NodeService): void {
  app.get(
    "/v1/validators",
    {
      schema: {
        summary: "The validator set that signs blocks at a height (default: the next height)",
        tags: ["chain"],
        querystring: ValidatorsQuery,
        response: {
          200: jsonReply(ValidatorsJson, "the set, its hash and its total power"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (request, reply) => {
      const text = request.query.height;
      const set = await service.validators(text === undefined ? undefined : heightOf(text));
      if (set === undefined)
        throw new ApiError("NOT_FOUND", 404, "no validator set is known for this height");
      return reply.code(200).send(validatorsToJson(set));
    },
  );

  app.get(
    "/v1/state/:keyHex",
    {
      schema: {
        summary: "A state value at the current root, with its (non-)membership proof",
        tags: ["state"],
        params: StateKeyParams,
        response: { 200: jsonReply(StateReadJson, "value null when absent"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const read = await service.readState(hashBytesOf(request.params.keyHex));
      return reply.code(200).send(stateReadToJson(read));
    },
  );

  app.get(
    "/v1/events",
    {
      schema: {
        summary: "Indexed events, oldest first, one page at a time",
        description: `At most ${API_EVENTS_PAGE_MAX} a page; pass \`next\` as \`after\` for the next page.`,
        tags: ["events"],
        querystring: EventsQuery,
        response: { 200: jsonReply(EventsPageJson, "a page of events"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const { contract, type, key, after } = request.query;
      const limit = request.query.limit ?? API_EVENTS_PAGE_DEFAULT;
      const events = await service.events({
        limit,
        ...(contract === undefined ? {} : { contract }),
        ...(type === undefined ? {} : { type }),
        ...(key === undefined ? {} : { key }),
        ...(after === undefined ? {} : { afterLogIndex: after }),
      });
      // The service honours the limit; a longer answer is cut, so the page stays bounded.
      const page = events.slice(0, limit);
      const next = page.length === limit ? page[page.length - 1]!.logIndex : null;
      return reply.code(200).send({ events: page.map(eventToJson), next });
    },
  );

  app.get(
    "/v1/notary/:documentHash",
    {
      schema: {
        summary: "The notary contract's record of a document hash, with the state proof of its raw value",
        tags: ["state"],
        params: DocumentParams,
        response: { 200: jsonReply(NotaryJson, "record null when never notarized"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const { record, read } = await service.notaryRecord(hashBytesOf(request.params.documentHash));
      return reply.code(200).send({
        documentHash: request.params.documentHash.toLowerCase(),
        record: record === undefined ? null : recordToJson(record),
        read: stateReadToJson(read),
      });
    },
  );
}
