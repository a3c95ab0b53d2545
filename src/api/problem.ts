/**
 * Errors as RFC 9457 problem details (`application/problem+json`), mapped in this one place: the
 * node's refusal codes, Fastify's own errors (validation, bad JSON, oversized bodies, unknown
 * routes, bad URLs) and the rate limiter's all become a problem with a stable `code`. Bad input
 * never gives a 5xx; a 500 means a bug, and its detail says nothing about the internals.
 * @module
 */
import { STATUS_CODES } from "node:http";
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from "fastify";
import { assert } from "../base/assert.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { SubmitRefusalCode } from "../node/service.ts";
import type { ProblemJson } from "../sdk/wire.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
const PROBLEM_TYPE_PREFIX = "urn:cityledger:problem:";
/** Longest `detail` a problem carries (validation messages can quote long patterns). */
const PROBLEM_DETAIL_LENGTH_MAX = 512;

/** The API's own codes, beside the node's refusal codes (SubmitRefusalCode). */
export type ApiProblemCode =
  | "NOT_FOUND"
  | "VALIDATION_FAILED"
  | "MALFORMED_JSON"
  | "BODY_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "BAD_REQUEST"
  | "RATE_LIMITED"
  | "CORS_ORIGIN_REFUSED"
  | "WEBSOCKET_UPGRADE_REQUIRED"
  | "INTERNAL";

/** A read-only contract query failed: the contract's or the executor's code (src/exec/errors.ts). */
export type QueryProblemCode = `EXEC_${string}` | `CONTRACT_${string}` | `${string}_${string}`;

export type ProblemCode = ApiProblemCode | SubmitRefusalCode | QueryProblemCode;

/** An error a route throws on purpose: it becomes exactly this problem. */
export class ApiError extends CityLedgerError<ProblemCode> {
  override name = "ApiError";
  readonly statusCode: number;
  readonly retryAfterMs: number | undefined;
  readonly hash: string | undefined;

  constructor(
    code: ProblemCode,
    statusCode: number,
    message: string,
    extras: { retryAfterMs?: number; hash?: string } = {},
  ) {
    super(code, message);
    assert(statusCode >= 400 && statusCode <= 599, "ApiError: a 4xx or 5xx status");
    this.statusCode = statusCode;
    this.retryAfterMs = extras.retryAfterMs;
    this.hash = extras.hash;
  }
}

/**
 * The HTTP status of a refused submit: 400 for bytes that are not a transaction, 413 for an
 * oversized one, 409 for a conflict with what the chain or pool already holds, 422 for a
 * well-formed transaction the chain will not take, 429 when the sender's share of the pool is
 * full, 503 when the pool is full or the node is not ready (both with Retry-After).
 */
export function refusalStatusOf(code: SubmitRefusalCode): number {
  switch (code) {
    case "TX_MALFORMED":
      return 400;
    case "TX_OVERSIZED":
      return 413;
    case "TX_NONCE_TOO_LOW":
    case "MEMPOOL_DUPLICATE":
    case "MEMPOOL_NONCE_TOO_LOW":
      return 409;
    case "MEMPOOL_SENDER_FULL":
      return 429;
    case "MEMPOOL_FULL":
    case "NODE_NOT_READY":
      return 503;
    case "PERMISSION_DENIED":
      return 403;
    default:
      // A revoked or expired membership, an inactive organization: the signer may not act.
      if (code.startsWith("IDENTITY_")) return 403;
      // Every other TX_* code (bad signature, wrong chain or suite, expired, nonce too far ahead).
      assert(code.startsWith("TX_"), "refusalStatusOf: refusal codes are TX_* or listed above");
      return 422;
  }
}

export function problemOf(
  code: ProblemCode,
  status: number,
  detail: string,
  extras: { instance?: string; retryAfterMs?: number; hash?: string; details?: ProblemJson["details"] } = {},
): ProblemJson {
  assert(status >= 400 && status <= 599, "problemOf: a 4xx or 5xx status");
  const problem: ProblemJson = {
    type: `${PROBLEM_TYPE_PREFIX}${code}`,
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail:
      detail.length > PROBLEM_DETAIL_LENGTH_MAX ? `${detail.slice(0, PROBLEM_DETAIL_LENGTH_MAX)}…` : detail,
    code,
  };
  if (extras.instance !== undefined) problem.instance = extras.instance;
  if (extras.hash !== undefined) problem.hash = extras.hash;
  if (extras.retryAfterMs !== undefined) problem.retryAfterMs = Math.max(0, Math.ceil(extras.retryAfterMs));
  if (extras.details !== undefined && Object.keys(extras.details).length > 0)
    problem.details = extras.details;
  return problem;
}

/** Sends a problem; sets Retry-After (whole seconds, at least 1) when the problem has a wait. */
export function sendProblem(reply: FastifyReply, problem: ProblemJson): FastifyReply {
  if (problem.retryAfterMs !== undefined) {
    reply.header("retry-after", String(Math.max(1, Math.ceil(problem.retryAfterMs / 1000))));
  }
  // Serialized here, so a problem never depends on a route's response schema.
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

function instanceOf(request: FastifyRequest): string {
  const path = request.url.split("?")[0] ?? "/";
  return path.length > 256 ? `${path.slice(0, 256)}…` : path;
}

/** The problem for any error that reaches Fastify's error handler. */
export function problemOfError(error: FastifyError | Error, request: FastifyRequest): ProblemJson {
  const instance = instanceOf(request);
  if (error instanceof ApiError) {
    return problemOf(error.code, error.statusCode, error.message, {
      instance,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      ...(error.hash === undefined ? {} : { hash: error.hash }),
    });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return problemOf("VALIDATION_FAILED", 400, fastifyError.message, { instance });
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return problemOf("BODY_TOO_LARGE", 413, "the request body is larger than this route accepts", {
        instance,
      });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return problemOf("UNSUPPORTED_MEDIA_TYPE", 415, "this content type is not accepted here", { instance });
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return problemOf("MALFORMED_JSON", 400, fastifyError.message, { instance });
    default:
      break;
  }
  const statusCode = fastifyError.statusCode;
  if (statusCode === 429) return problemOf("RATE_LIMITED", 429, "too many requests", { instance });
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    // Fastify's other client errors (bad URL, content length, ...): their messages name the cause.
    return problemOf("BAD_REQUEST", statusCode, fastifyError.message, { instance });
  }
  return problemOf("INTERNAL", 500, "the node failed to answer this request", { instance });
}

/**
 * Installs the error handler and the 404 handler (behind the rate limit's hook, when there is
 * one, so unknown paths count against a client too).
 */
export function installProblemHandlers(
  app: FastifyInstance,
  rateLimitHook: preHandlerAsyncHookHandler | null,
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = problemOfError(error, request);
    if (problem.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.debug({ code: problem.code, status: problem.status }, "request refused");
    return sendProblem(reply, problem);
  });
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const instance = instanceOf(request);
    return sendProblem(
      reply,
      problemOf("NOT_FOUND", 404, `no route for ${request.method} ${instance}`, { instance }),
    );
  };
  if (rateLimitHook === null) app.setNotFoundHandler(notFound);
  else app.setNotFoundHandler({ preHandler: rateLimitHook }, notFound);
}

/** Fastify's `frameworkErrors` option: bad URLs and similar, answered as problems too. */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  sendProblem(reply, problemOfError(error, request));
}
