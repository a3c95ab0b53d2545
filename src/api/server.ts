/**
 * The node's REST + WebSocket API (Fastify 5): `buildApi` wires the routes, their TypeBox
 * schemas, the OpenAPI document (/openapi.json) and its UI (/docs), problem+json errors, body and
 * time limits, per-address rate limits, CORS and the WebSocket hub over one NodeService; the API
 * reaches the node through that interface only. `startApi` also listens.
 *
 * Logging goes through the pino logger passed in, with Fastify's request serializers: method,
 * URL, status and timing; never a request body.
 *
 * @example
 * const app = await startApi(service, { logger: pino(), host: "127.0.0.1", port: 8080 });
 * await app.close();
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import websocket from "@fastify/websocket";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  type RawServerDefault,
} from "fastify";
import { assert } from "../base/assert.ts";
import type { NodeService } from "../node/service.ts";
import { registerBlockRoutes } from "./block-routes.ts";
import { installCors } from "./cors.ts";
import { registerGovernanceRoutes } from "./governance-routes.ts";
import {
  API_BODY_BYTES_MAX,
  API_CONNECTION_TIMEOUT_MS_DEFAULT,
  API_CONNECTIONS_MAX_DEFAULT,
  API_KEEP_ALIVE_TIMEOUT_MS_DEFAULT,
  API_RATE_LIMIT_CLIENTS_MAX,
  API_RATE_LIMIT_REQUESTS_DEFAULT,
  API_RATE_LIMIT_WINDOW_MS_DEFAULT,
  API_REQUEST_TIMEOUT_MS_DEFAULT,
  API_WS_MESSAGE_BYTES_MAX,
} from "./limits.ts";
import { registerNodeRoutes } from "./node-routes.ts";
import { registerPortalRoutes } from "./portal-routes.ts";
import { ApiError, frameworkErrorHandler, installProblemHandlers } from "./problem.ts";
import { registerQueryRoutes } from "./query-routes.ts";
import { OCTET_STREAM, RAW_BYTES_TITLE } from "./schemas.ts";
import { registerTransactionRoutes } from "./transaction-routes.ts";
import type { TypeBoxTypeProvider } from "./type-provider.ts";
import {
  registerWebSocketRoutes,
  WEBSOCKET_LIMITS_DEFAULT,
  WebSocketHub,
  type WebSocketLimits,
} from "./websocket-routes.ts";

/** The Fastify instance the routes are registered on: TypeBox types its requests and replies. */
export type ApiApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RateLimitOptions {
  /** Requests one client address may make per window; default API_RATE_LIMIT_REQUESTS_DEFAULT. */
  readonly requestsMax?: number;
  /** Default API_RATE_LIMIT_WINDOW_MS_DEFAULT. */
  readonly windowMs?: number;
  /** Exempt 127.0.0.0/8 and ::1 (local tools on the node's own host); default false. */
  readonly allowLoopback?: boolean;
}

export interface ApiOptions {
  /** The node's pino logger (or any Fastify-compatible logger); request bodies are never logged. */
  readonly logger: FastifyBaseLogger;
  /** Per-address rate limit; `false` turns it off (tests, or a gateway that limits already). */
  readonly rateLimit?: RateLimitOptions | false;
  /** Origins allowed to call the API from a browser (CORS); default none: same-origin only. */
  readonly corsOrigins?: readonly string[];
  /** Open connections (HTTP and WebSocket); default API_CONNECTIONS_MAX_DEFAULT. */
  readonly connectionsMax?: number;
  /** Idle socket timeout; default API_CONNECTION_TIMEOUT_MS_DEFAULT. */
  readonly connectionTimeoutMs?: number;
  /** Time to receive a whole request; default API_REQUEST_TIMEOUT_MS_DEFAULT. */
  readonly requestTimeoutMs?: number;
  /** Keep-alive idle time between requests; default API_KEEP_ALIVE_TIMEOUT_MS_DEFAULT. */
  readonly keepAliveTimeoutMs?: number;
  /**
   * Trust X-Forwarded-For from these proxies (Fastify's trustProxy), so rate limits apply to the
   * real client address; default false (the socket's address).
   */
  readonly trustProxy?: boolean | string | readonly string[];
  /** Serve the OpenAPI UI at /docs; default true. */
  readonly docs?: boolean;
  /** WebSocket limits; defaults in WEBSOCKET_LIMITS_DEFAULT (tests lower them). */
  readonly webSocket?: Partial<WebSocketLimits>;
  /**
   * The built web portal (a folder holding index.html, from `npm run web:build`), served at `/`
   * with a single-page-app fallback; default none (the API alone).
   */
  readonly portalDirectory?: string;
}

export interface ListenOptions {
  /** Default 127.0.0.1: a node exposes its API beyond the host only when told to. */
  readonly host?: string;
  /** Default 0: any free port (the address is on `app.server.address()`). */
  readonly port?: number;
}

const API_VERSION = "1.0.0";

function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

function trustProxyOf(trustProxy: ApiOptions["trustProxy"]): boolean | string | string[] {
  if (trustProxy === undefined) return false;
  if (typeof trustProxy === "boolean" || typeof trustProxy === "string") return trustProxy;
  return [...trustProxy];
}

/** OpenAPI shows raw-byte schemas (validated as anything) as binary strings. */
function documentRawBytes(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(documentRawBytes);
  if (typeof schema !== "object" || schema === null) return schema;
  const record = schema as Record<string, unknown>;
  if (record.title === RAW_BYTES_TITLE) {
    return { type: "string", format: "binary", description: record.description };
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) out[key] = documentRawBytes(value);
  return out;
}

/** Builds the API over a node service; call `listen` (or use startApi) to serve it. */
export async function buildApi(service: NodeService, options: ApiOptions): Promise<FastifyInstance> {
  const connectionTimeout = options.connectionTimeoutMs ?? API_CONNECTION_TIMEOUT_MS_DEFAULT;
  const requestTimeout = options.requestTimeoutMs ?? API_REQUEST_TIMEOUT_MS_DEFAULT;
  assert(connectionTimeout > 0, "buildApi: connectionTimeoutMs is positive");
  assert(requestTimeout > 0, "buildApi: requestTimeoutMs is positive");
  const base = Fastify({
    loggerInstance: options.logger,
    bodyLimit: API_BODY_BYTES_MAX,
    connectionTimeout,
    requestTimeout,
    keepAliveTimeout: options.keepAliveTimeoutMs ?? API_KEEP_ALIVE_TIMEOUT_MS_DEFAULT,
    trustProxy: trustProxyOf(options.trustProxy),
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler,
  });
  base.server.maxConnections = options.connectionsMax ?? API_CONNECTIONS_MAX_DEFAULT;
  assert(base.server.maxConnections > 0, "buildApi: connectionsMax is positive");
  const app: ApiApp = base.withTypeProvider<TypeBoxTypeProvider>();
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser(OCTET_STREAM, { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  installCors(app, options.corsOrigins ?? []);

  if (options.rateLimit !== false) {
    const limit = options.rateLimit ?? {};
    const allowLoopback = limit.allowLoopback ?? false;
    await app.register(rateLimit, {
      global: true,
      max: limit.requestsMax ?? API_RATE_LIMIT_REQUESTS_DEFAULT,
      timeWindow: limit.windowMs ?? API_RATE_LIMIT_WINDOW_MS_DEFAULT,
      cache: API_RATE_LIMIT_CLIENTS_MAX,
      ...(allowLoopback ? { allowList: (request: FastifyRequest) => isLoopback(request.ip) } : {}),
      errorResponseBuilder: (_request, context) =>
        new ApiError("RATE_LIMITED", 429, `too many requests: at most ${context.max} per ${context.after}`, {
          retryAfterMs: context.ttl,
        }),
    });
    installProblemHandlers(app, app.rateLimit());
  } else {
    installProblemHandlers(app, null);
  }

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "CityLedger node API",
        version: API_VERSION,
        description:
          "Bytes are lower-case hex, 64-bit integers decimal strings; errors are RFC 9457 problem " +
          "details with a stable `code` (docs/API.md).",
      },
      tags: [
        { name: "transactions" },
        { name: "blocks" },
        { name: "chain" },
        { name: "state" },
        { name: "events" },
        { name: "node" },
        { name: "websocket" },
      ],
    },
    transform: ({ schema, url }) => ({ schema: documentRawBytes(schema) as typeof schema, url }),
  });
  if (options.docs !== false) {
    await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: { docExpansion: "list" } });
  }
  await app.register(websocket, { options: { maxPayload: API_WS_MESSAGE_BYTES_MAX } });

  const hub = new WebSocketHub(service, app.log, { ...WEBSOCKET_LIMITS_DEFAULT, ...options.webSocket });
  app.addHook("onClose", async () => hub.close());

  registerTransactionRoutes(app, service);
  registerBlockRoutes(app, service);
  registerQueryRoutes(app, service);
  registerGovernanceRoutes(app, service);
  registerNodeRoutes(app, service);
  registerWebSocketRoutes(app, hub);
  if (options.portalDirectory !== undefined) await registerPortalRoutes(app, options.portalDirectory);
  return base;
}

/** buildApi, then listen; resolves once the server accepts connections. */
export async function startApi(
  service: NodeService,
  options: ApiOptions & ListenOptions,
): Promise<FastifyInstance> {
  const app = await buildApi(service, options);
  try {
    await app.listen({ host: options.host ?? "127.0.0.1", port: options.port ?? 0 });
  } catch (error) {
    // A port in use, say: release the node's block listener before the caller tries again.
    await app.close();
    throw error;
  }
  return app;
}
