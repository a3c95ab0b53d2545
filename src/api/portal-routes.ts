/**
 * Serves the built web portal (web/, docs/ARCHITECTURE.md "Portal") from the node's own origin:
 * its hashed assets with long cache lifetimes (pre-compressed .br/.gz when the build wrote them),
 * and index.html at `/` and at every client route (a single-page app's fallback). API paths keep
 * their own answers: an unknown `/v1/...` path, or any request that does not ask for HTML, still
 * gets the problem+json 404.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fastifyStatic from "@fastify/static";
import type { FastifyReply, FastifyRequest } from "fastify";
import { assert } from "../base/assert.ts";
import type { ApiApp } from "./server.ts";

/** Paths the portal never answers for: the API's own namespaces. */
const API_PREFIXES = ["/v1/", "/v1", "/docs", "/openapi.json", "/health", "/metrics"] as const;

/** Hashed file names change with their content, so browsers may keep them for a year. */
const ASSET_CACHE_CONTROL = "public, max-age=31536000, immutable";
/** index.html names the current assets: always revalidate it. */
const INDEX_CACHE_CONTROL = "no-cache";
/**
 * The portal loads only its own scripts and styles, talks only to its own origin (HTTP and
 * WebSocket), and draws QR codes and previews as data:/blob: images.
 */
export const PORTAL_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

export class PortalNotBuiltError extends Error {
  override name = "PortalNotBuiltError";
  constructor(readonly directory: string) {
    super(`the portal is not built: ${join(directory, "index.html")} is missing (run: npm run web:build)`);
  }
}

function isApiPath(url: string): boolean {
  const path = url.split("?")[0]!;
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? "";
  return accept.includes("text/html");
}

function sendIndex(reply: FastifyReply, indexHtml: string): FastifyReply {
  return reply
    .header("cache-control", INDEX_CACHE_CONTROL)
    .header("content-security-policy", PORTAL_CONTENT_SECURITY_POLICY)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .type("text/html; charset=utf-8")
    .send(indexHtml);
}

/** Registers the portal's routes; `directory` is the Vite build output (it holds index.html). */
export async function registerPortalRoutes(app: ApiApp, directory: string): Promise<void> {
  const indexFile = join(directory, "index.html");
  if (!existsSync(indexFile)) throw new PortalNotBuiltError(directory);
  // Read once: the build does not change under a running node, and index.html is small.
  const indexHtml = readFileSync(indexFile, "utf8");
  assert(indexHtml.includes("<html"), "registerPortalRoutes: index.html is an HTML document");

  await app.register(async (portal) => {
    // Encapsulated: swagger-ui brings its own copy of the static plugin and its decorators.
    await portal.register(fastifyStatic, {
      root: directory,
      prefix: "/",
      index: false,
      wildcard: false,
      decorateReply: false,
      preCompressed: true,
      // index.html is answered below, with its headers; the .gz/.br twins are found by preCompressed.
      globIgnore: ["index.html", "**/*.gz", "**/*.br"],
      schemaHide: true,
      cacheControl: false,
      setHeaders: (reply) => {
        reply.header("cache-control", ASSET_CACHE_CONTROL);
        reply.header("x-content-type-options", "nosniff");
      },
    });
    portal.get("/", { schema: { hide: true } }, (_request, reply) => sendIndex(reply, indexHtml));
    portal.get("/index.html", { schema: { hide: true } }, (_request, reply) => sendIndex(reply, indexHtml));
    // Client routes (/blocks/12, /receipts/<hash>) load the app, which routes in the browser.
    portal.get("/*", { schema: { hide: true } }, (request, reply) => {
      if (isApiPath(request.url) || !wantsHtml(request)) return reply.callNotFound();
      return sendIndex(reply, indexHtml);
    });
  });
}
