/**
 * Block routes: the latest block, a block by height or by hash. JSON summaries by default; the
 * encoded block (header, transactions, evidence, certificate) with `?format=raw` or
 * `Accept: application/octet-stream`.
 * @module
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { BlockSummary, NodeService } from "../node/service.ts";
import { BlockJson, U64_MAX } from "../sdk/wire.ts";
import { blockToJson } from "./json.ts";
import { ApiError } from "./problem.ts";
import {
  BlockQuery,
  HashParams,
  HeightParams,
  JSON_TYPE,
  OCTET_STREAM,
  PROBLEM_REPLIES,
  RawBytes,
} from "./schemas.ts";
import type { ApiApp } from "./server.ts";
import { hashBytesOf } from "./transaction-routes.ts";

const BLOCK_REPLY = {
  description: "the block's summary (JSON) or the encoded block (octet-stream)",
  content: {
    [JSON_TYPE]: { schema: BlockJson },
    [OCTET_STREAM]: { schema: RawBytes("the encoded block (docs/PROTOCOL.md, 'Block')") },
  },
};

function wantsRaw(request: FastifyRequest, format: "json" | "raw" | undefined): boolean {
  if (format !== undefined) return format === "raw";
  const accept = request.headers.accept ?? "";
  return accept.includes(OCTET_STREAM) && !accept.includes(JSON_TYPE);
}

async function sendBlock(
  service: NodeService,
  request: FastifyRequest,
  reply: FastifyReply,
  block: BlockSummary | undefined,
  format: "json" | "raw" | undefined,
) {
  if (block === undefined) throw new ApiError("NOT_FOUND", 404, "no such block");
  if (!wantsRaw(request, format)) return reply.code(200).type(JSON_TYPE).send(blockToJson(block));
  const encoded = await service.encodedBlock(block.height);
  if (encoded === undefined) throw new ApiError("NOT_FOUND", 404, "no such block");
  return reply
    .code(200)
    .type(OCTET_STREAM)
    .send(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
}

/** A height from a parameter the schema checked as decimal digits; 400 beyond u64. */
export function heightOf(text: string): bigint {
  const height = BigInt(text);
  if (height > U64_MAX) throw new ApiError("VALIDATION_FAILED", 400, "a height is at most 2^64 - 1");
  return height;
}

export function registerBlockRoutes(app: ApiApp, service: NodeService): void {
  app.get(
    "/v1/blocks/latest",
    {
      schema: {
        summary: "The latest committed block",
        tags: ["blocks"],
        querystring: BlockQuery,
        response: { 200: BLOCK_REPLY, ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const height = service.status().height;
      const block = height === 0n ? undefined : await service.blockByHeight(height);
      return sendBlock(service, request, reply, block, request.query.format);
    },
  );

  app.get(
    "/v1/blocks/:height",
    {
      schema: {
        summary: "A block by height",
        tags: ["blocks"],
        params: HeightParams,
        querystring: BlockQuery,
        response: { 200: BLOCK_REPLY, ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const block = await service.blockByHeight(heightOf(request.params.height));
      return sendBlock(service, request, reply, block, request.query.format);
    },
  );

  app.get(
    "/v1/blocks/hash/:hash",
    {
      schema: {
        summary: "A block by its hash",
        tags: ["blocks"],
        params: HashParams,
        querystring: BlockQuery,
        response: { 200: BLOCK_REPLY, ...PROBLEM_REPLIES },
      },
    },
    async (request, reply) => {
      const block = await service.blockByHash(hashBytesOf(request.params.hash));
      return sendBlock(service, request, reply, block, request.query.format);
    },
  );
}
