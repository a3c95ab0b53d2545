/**
 * Transaction routes: submit one (hex in JSON, or raw bytes), submit a batch, a transaction's
 * status, and its receipt.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, hexToBytesOrNull } from "../base/bytes.ts";
import { TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import type { NodeService, SubmitResult } from "../node/service.ts";
import { receiptToJson } from "../sdk/receipt.ts";
import {
  type BatchItemJson,
  BatchResultJson,
  ReceiptJson,
  SubmitAcceptedJson,
  TransactionStatusJson,
} from "../sdk/wire.ts";
import { transactionStatusToJson } from "./json.ts";
import { API_BATCH_BODY_BYTES_MAX, API_TX_BODY_BYTES_MAX } from "./limits.ts";
import { ApiError, problemOf, refusalStatusOf, sendProblem } from "./problem.ts";
import {
  BatchBody,
  HashParams,
  JSON_TYPE,
  jsonReply,
  OCTET_STREAM,
  PROBLEM_REPLIES,
  RawBytes,
  SubmitBody,
} from "./schemas.ts";
import type { ApiApp } from "./server.ts";

/** Wait suggested to a client when the node refuses for load but names no wait itself. */
export const RETRY_AFTER_MS_DEFAULT = 1_000;

/** Bytes of a hex transaction from a request: the schema checked the alphabet and the length. */
function transactionBytesOf(hex: string): Uint8Array {
  const bytes = hexToBytesOrNull(hex);
  if (bytes === null) throw new ApiError("VALIDATION_FAILED", 400, "the transaction hex has an odd length");
  assert(bytes.length <= TX_SIZE_BYTES_MAX, "the schema bounds a hex transaction");
  return bytes;
}

/** The body of POST /v1/transactions: raw bytes (octet-stream) or `{transaction: hex}`. */
function submittedBytesOf(body: unknown): Uint8Array {
  if (body instanceof Uint8Array) {
    if (body.length === 0) throw new ApiError("VALIDATION_FAILED", 400, "the body holds no transaction");
    if (body.length > TX_SIZE_BYTES_MAX) {
      throw new ApiError("TX_OVERSIZED", 413, `a transaction is at most ${TX_SIZE_BYTES_MAX} bytes`);
    }
    return new Uint8Array(body);
  }
  if (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { transaction?: unknown }).transaction === "string"
  ) {
    return transactionBytesOf((body as { transaction: string }).transaction);
  }
  // Only the two content types with schemas reach here; anything else is a bug in the parsers.
  throw new ApiError("VALIDATION_FAILED", 400, "the body must be a transaction");
}

function retryAfterMsOf(
  result: Extract<SubmitResult, { accepted: false }>,
  status: number,
): number | undefined {
  if (result.retryAfterMs !== undefined) return result.retryAfterMs;
  return status === 503 || status === 429 ? RETRY_AFTER_MS_DEFAULT : undefined;
}

function detailsOf(result: Extract<SubmitResult, { accepted: false }>) {
  if (result.details === undefined) return undefined;
  const details: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(result.details)) {
    details[key.slice(0, 64)] = typeof value === "string" ? value.slice(0, 256) : value;
  }
  return details;
}

export function registerTransactionRoutes(app: ApiApp, service: NodeService): void {
  app.post(
    "/v1/transactions",
    {
      bodyLimit: API_TX_BODY_BYTES_MAX,
      schema: {
        summary: "Submit one transaction",
        description:
          "The encoded transaction as `{transaction: hex}` or as raw application/octet-stream bytes. " +
          "202 once admitted to the node's pool; refusals carry the node's code (400, 409, 413, 422), " +
          "and 429/503 carry Retry-After.",
        tags: ["transactions"],
        body: {
          content: {
            [JSON_TYPE]: { schema: SubmitBody },
            [OCTET_STREAM]: { schema: RawBytes("the encoded transaction") },
          },
        },
        response: { 202: jsonReply(SubmitAcceptedJson, "admitted to the pool"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const bytes = submittedBytesOf(request.body);
      const result = await service.submitTransaction(bytes);
      if (result.accepted) return reply.code(202).send({ hash: bytesToHex(result.hash), status: "pending" });
      const status = refusalStatusOf(result.code);
      const retryAfterMs = retryAfterMsOf(result, status);
      const details = detailsOf(result);
      return sendProblem(
        reply,
        problemOf(result.code, status, result.message, {
          instance: "/v1/transactions",
          ...(result.hash === null ? {} : { hash: bytesToHex(result.hash) }),
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
          ...(details === undefined ? {} : { details }),
        }),
      );
    },
  );

  app.post(
    "/v1/transactions/batch",
    {
      bodyLimit: API_BATCH_BODY_BYTES_MAX,
      schema: {
        summary: "Submit transactions in one request",
        description:
          "Submitted in order (so one sender's nonces may follow each other); each gets its own result, " +
          "with the status a single submit would give.",
        tags: ["transactions"],
        body: BatchBody,
        response: {
          200: jsonReply(BatchResultJson, "one result per transaction, in order"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (request, reply) => {
      const hexes = request.body.transactions;
      const results: BatchItemJson[] = [];
      let acceptedCount = 0;
      // Bounded by the schema's maxItems (API_BATCH_TXS_MAX). The well-formed hex goes to the
      // node as one batch (its signatures are checked together, off the main thread).
      const decoded = hexes.map((hex) => hexToBytesOrNull(hex));
      const submitted = await service.submitTransactions(
        decoded.filter((bytes): bytes is Uint8Array => bytes !== null),
      );
      let submittedIndex = 0;
      for (let index = 0; index < hexes.length; index++) {
        if (decoded[index] === null) {
          results.push({
            index,
            accepted: false,
            hash: null,
            code: "VALIDATION_FAILED",
            status: 400,
            message: "the transaction hex has an odd length",
          });
          continue;
        }
        const result = submitted[submittedIndex++]!;
        if (result.accepted) {
          acceptedCount++;
          results.push({ index, accepted: true, hash: bytesToHex(result.hash), status: "pending" });
          continue;
        }
        const status = refusalStatusOf(result.code);
        const retryAfterMs = retryAfterMsOf(result, status);
        results.push({
          index,
          accepted: false,
          hash: result.hash === null ? null : bytesToHex(result.hash),
          code: result.code,
          status,
          message: result.message,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        });
      }
      assert(results.length === hexes.length, "one result per transaction");
      assert(submittedIndex === submitted.length, "every submitted transaction has its result");
      return reply.code(200).send({ acceptedCount, results });
    },
  );

  app.get(
    "/v1/transactions/:hash",
    {
      schema: {
        summary: "Where a transaction is: pending in this node's pool, or committed (404 when unknown)",
        tags: ["transactions"],
        params: HashParams,
        response: { 200: jsonReply(TransactionStatusJson, "pending or committed"), ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const hash = hashBytesOf(request.params.hash);
      const status = await service.transactionStatus(hash);
      if (status.status === "unknown") {
        throw new ApiError("NOT_FOUND", 404, "this node knows no transaction with this hash");
      }
      return reply.code(200).send(transactionStatusToJson(status));
    },
  );

  app.get(
    "/v1/transactions/:hash/receipt",
    {
      schema: {
        summary: "The receipt of a committed transaction (docs/PROTOCOL.md, 'Receipts')",
        tags: ["transactions"],
        params: HashParams,
        response: {
          200: jsonReply(ReceiptJson, "verify offline with the SDK's verifyReceipt"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (request, reply) => {
      const receipt = await service.receipt(hashBytesOf(request.params.hash));
      if (receipt === undefined) {
        throw new ApiError("NOT_FOUND", 404, "no committed transaction with this hash (yet)");
      }
      return reply.code(200).send(receiptToJson(receipt));
    },
  );
}

/** A 32-byte hash from a path parameter the schema already checked (64 hex characters). */
export function hashBytesOf(hex: string): Uint8Array {
  const bytes = hexToBytesOrNull(hex);
  assert(bytes !== null, "the schema admits only hex");
  assert(bytes.length === 32, "the schema admits only 32-byte hashes");
  return bytes;
}
