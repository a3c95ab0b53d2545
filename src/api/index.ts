/**
 * The node's REST + WebSocket API (docs/API.md): Fastify routes with TypeBox schemas, an OpenAPI
 * document, problem+json errors and named limits, over the NodeService interface only.
 * @module
 */
export * from "./limits.ts";
export { PORTAL_CONTENT_SECURITY_POLICY, PortalNotBuiltError } from "./portal-routes.ts";
export {
  ApiError,
  type ApiProblemCode,
  PROBLEM_CONTENT_TYPE,
  type ProblemCode,
  problemOf,
  refusalStatusOf,
} from "./problem.ts";
export {
  type ApiApp,
  type ApiOptions,
  buildApi,
  type ListenOptions,
  type RateLimitOptions,
  startApi,
} from "./server.ts";
export {
  WEBSOCKET_LIMITS_DEFAULT,
  type WebSocketErrorCode,
  type WebSocketLimits,
} from "./websocket-routes.ts";
