/**
 * Node routes: status, health (for load balancers and orchestrators), Prometheus metrics, and the
 * OpenAPI document generated from every route's schemas.
 * @module
 */
import { Type } from "@sinclair/typebox";
import type { NodeService } from "../node/service.ts";
import { HealthJson, NodeStatusJson } from "../sdk/wire.ts";
import { statusToJson } from "./json.ts";
import { jsonReply, PROBLEM_REPLIES } from "./schemas.ts";
import type { ApiApp } from "./server.ts";

export function registerNodeRoutes(app: ApiApp, service: NodeService): void {
  app.get(
    "/v1/status",
    {
      schema: {
        summary: "The node's view of the chain: height, head, roots, consensus, pool, peers",
        tags: ["node"],
        response: { 200: jsonReply(NodeStatusJson, "the node's status"), ...PROBLEM_REPLIES },
      },
    },
    async (_request, reply) => reply.code(200).send(statusToJson(service.status())),
  );

  app.get(
    "/health",
    {
      schema: {
        summary: "200 once storage is open and consensus runs, 503 before",
        tags: ["node"],
        response: {
          200: jsonReply(HealthJson, "ready"),
          503: jsonReply(HealthJson, "not ready"),
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (_request, reply) => {
      const ready = service.ready();
      return reply.code(ready ? 200 : 503).send({ ready });
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        summary: "Prometheus text exposition of every layer's metrics",
        tags: ["node"],
        response: {
          200: {
            description: "Prometheus text format",
            content: { "text/plain": { schema: Type.String() } },
          },
          ...PROBLEM_REPLIES,
        },
      },
    },
    async (_request, reply) => {
      const text = await service.metricsText();
      return reply.code(200).header("content-type", service.metricsContentType).send(text);
    },
  );

  app.get("/openapi.json", { schema: { hide: true } }, async (_request, reply) => {
    return reply.code(200).type("application/json").send(JSON.stringify(app.swagger()));
  });
}
