/**
 * CORS for the web portal. Same-origin only by default: with no origins configured, no CORS
 * header is ever sent, so browsers let only pages served from the API's own origin read it. A
 * node that serves the portal from elsewhere lists the portal's exact origins (or `*` for a
 * public read-only deployment). Preflights of listed origins are answered 204; of other origins,
 * 403 CORS_ORIGIN_REFUSED.
 * @module
 */
import type { FastifyInstance } from "fastify";
import { assert } from "../base/assert.ts";
import { problemOf, sendProblem } from "./problem.ts";

/** How long a browser may cache a preflight answer. */
export const CORS_PREFLIGHT_MAX_AGE_S = 600;
/** Origins one node may list. */
export const CORS_ORIGINS_MAX = 64;
const ALLOWED_METHODS = "GET, POST, OPTIONS";
const ALLOWED_HEADERS = "content-type, accept";
/** Headers a page may read from a reply: the retry hints. */
const EXPOSED_HEADERS = "retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset";

/** An origin as browsers send it: scheme, host and optional port, nothing else. */
const ORIGIN_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/;

export function installCors(app: FastifyInstance, origins: readonly string[]): void {
  assert(origins.length <= CORS_ORIGINS_MAX, "installCors: at most CORS_ORIGINS_MAX origins");
  for (const origin of origins) {
    assert(origin === "*" || ORIGIN_PATTERN.test(origin), `installCors: not an origin: ${origin}`);
  }
  if (origins.length === 0) return;
  const anyOrigin = origins.includes("*");
  const allowed = new Set(origins);
  app.addHook("onRequest", async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined) return;
    const preflight =
      request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined;
    if (!anyOrigin && !allowed.has(origin)) {
      if (preflight) {
        return sendProblem(
          reply,
          problemOf("CORS_ORIGIN_REFUSED", 403, "this origin may not call the API from a browser"),
        );
      }
      return;
    }
    reply.header("access-control-allow-origin", anyOrigin ? "*" : origin);
    reply.header("vary", "origin");
    reply.header("access-control-expose-headers", EXPOSED_HEADERS);
    if (!preflight) return;
    return reply
      .code(204)
      .header("access-control-allow-methods", ALLOWED_METHODS)
      .header("access-control-allow-headers", ALLOWED_HEADERS)
      .header("access-control-max-age", String(CORS_PREFLIGHT_MAX_AGE_S))
      .send();
  });
}
