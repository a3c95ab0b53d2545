/**
 * Fastify's type provider for TypeBox: a route's TypeBox schemas type its request (params,
 * querystring, body) and its reply, so a handler cannot read a field its schema does not declare
 * or return one its response schema does not allow.
 * @module
 */
import type { Static, TSchema } from "@sinclair/typebox";
import type { FastifyTypeProvider } from "fastify";

export interface TypeBoxTypeProvider extends FastifyTypeProvider {
  readonly validator: this["schema"] extends TSchema ? Static<this["schema"]> : unknown;
  readonly serializer: this["schema"] extends TSchema ? Static<this["schema"]> : unknown;
}
