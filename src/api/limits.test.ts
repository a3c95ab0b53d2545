/**
 * The API's protective limits: per-address rate limit (429 + Retry-After, loopback allow-list),
 * CORS (same-origin by default, listed origins only), and the OpenAPI document and its UI.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { buildApi, startApi } from "./index.ts";
import { FakeNodeService } from "./testing/fake-service.ts";

const logger = pino({ level: "silent" });

/** One app with the defaults (no CORS origins, docs on) for the tests that only read. */
let defaults: FastifyInstance;
before(async () => {
  defaults = await buildApi(new FakeNodeService(), { logger, rateLimit: false });
});
after(async () => {
  await defaults.close();
});

describe("rate limit", () => {
  it("answers past the limit with 429 RATE_LIMITED and Retry-After", async () => {
    const app = await buildApi(new FakeNodeService(), {
      logger,
      rateLimit: { requestsMax: 2, windowMs: 60_000 },
    });
    const statuses: number[] = [];
    let last = await app.inject({ method: "GET", url: "/v1/status" });
    for (let index = 0; index < 3; index++) {
      last = await app.inject({ method: "GET", url: "/v1/status" });
      statuses.push(last.statusCode);
    }
    const unknownPath = await app.inject({ method: "GET", url: "/v1/nothing-here" });
    await app.close();
    assert.deepEqual(statuses, [200, 429, 429]);
    assert.match(String(last.headers["content-type"]), /^application\/problem\+json/);
    const problem = last.json();
    assert.equal(problem.code, "RATE_LIMITED");
    assert.equal(problem.status, 429);
    const retryAfterS = Number(last.headers["retry-after"]);
    assert.ok(retryAfterS >= 1 && retryAfterS <= 60, `Retry-After ${retryAfterS} is within the window`);
    assert.equal(unknownPath.statusCode, 429, "unknown paths count against the client too");
  });

  it("exempts loopback when asked", async () => {
    const app = await buildApi(new FakeNodeService(), {
      logger,
      rateLimit: { requestsMax: 1, windowMs: 60_000, allowLoopback: true },
    });
    const statuses: number[] = [];
    for (let index = 0; index < 3; index++)
      statuses.push((await app.inject({ method: "GET", url: "/health" })).statusCode);
    const remote = [];
    for (let index = 0; index < 2; index++) {
      remote.push(
        (await app.inject({ method: "GET", url: "/health", remoteAddress: "203.0.113.7" })).statusCode,
      );
    }
    await app.close();
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.deepEqual(remote, [200, 429]);
  });
});

describe("CORS", () => {
  const portal = "https://portal.city.example";

  it("sends no CORS headers by default (same-origin only)", async () => {
    const response = await defaults.inject({ method: "GET", url: "/v1/status", headers: { origin: portal } });
    const preflight = await defaults.inject({
      method: "OPTIONS",
      url: "/v1/transactions",
      headers: { origin: portal, "access-control-request-method": "POST" },
    });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["access-control-allow-origin"], undefined);
    assert.equal(preflight.headers["access-control-allow-origin"], undefined);
    assert.ok(preflight.statusCode >= 400 && preflight.statusCode < 500);
  });

  it("allows listed origins, answers their preflights, refuses others' preflights", async () => {
    const app = await buildApi(new FakeNodeService(), { logger, rateLimit: false, corsOrigins: [portal] });
    const simple = await app.inject({ method: "GET", url: "/v1/status", headers: { origin: portal } });
    const preflight = await app.inject({
      method: "OPTIONS",
      url: "/v1/transactions",
      headers: { origin: portal, "access-control-request-method": "POST" },
    });
    const stranger = await app.inject({
      method: "OPTIONS",
      url: "/v1/transactions",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    const strangerGet = await app.inject({
      method: "GET",
      url: "/v1/status",
      headers: { origin: "https://evil.example" },
    });
    await app.close();
    assert.equal(simple.headers["access-control-allow-origin"], portal);
    assert.match(String(simple.headers["access-control-expose-headers"]), /retry-after/);
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], portal);
    assert.match(String(preflight.headers["access-control-allow-methods"]), /POST/);
    assert.equal(stranger.statusCode, 403);
    assert.equal(stranger.json().code, "CORS_ORIGIN_REFUSED");
    assert.equal(strangerGet.headers["access-control-allow-origin"], undefined);
  });
});

describe("OpenAPI", () => {
  const documented: ReadonlyArray<[string, string]> = [
    ["post", "/v1/transactions"],
    ["post", "/v1/transactions/batch"],
    ["get", "/v1/transactions/{hash}"],
    ["get", "/v1/transactions/{hash}/receipt"],
    ["get", "/v1/blocks/latest"],
    ["get", "/v1/blocks/{height}"],
    ["get", "/v1/blocks/hash/{hash}"],
    ["get", "/v1/validators"],
    ["get", "/v1/state/{keyHex}"],
    ["get", "/v1/events"],
    ["get", "/v1/notary/{documentHash}"],
    ["get", "/v1/organizations"],
    ["get", "/v1/organizations/{id}"],
    ["get", "/v1/members/{keyId}"],
    ["get", "/v1/committee"],
    ["get", "/v1/proposals"],
    ["get", "/v1/proposals/{id}"],
    ["get", "/v1/parameters"],
    ["get", "/v1/contracts"],
    ["get", "/v1/contracts/{name}"],
    ["post", "/v1/contracts/{name}/query"],
    ["get", "/v1/code/{codeHash}"],
    ["get", "/v1/permissions/{contract}/{name}"],
    ["get", "/v1/status"],
    ["get", "/v1/ws"],
    ["get", "/health"],
    ["get", "/metrics"],
  ];

  it("serves a valid OpenAPI 3.1 document with every route, its schemas and problem replies", async () => {
    const response = await defaults.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(response.statusCode, 200);
    const document = JSON.parse(response.body);
    assert.equal(document.openapi, "3.1.0");
    assert.equal(typeof document.info.title, "string");
    const paths = Object.keys(document.paths).sort();
    assert.deepEqual(paths, [...new Set(documented.map(([, path]) => path))].sort());
    for (const [method, path] of documented) {
      const operation = document.paths[path]?.[method];
      assert.ok(operation !== undefined, `${method} ${path} is documented`);
      assert.equal(typeof operation.summary, "string", `${method} ${path} has a summary`);
      assert.ok(operation.responses["4XX"] !== undefined, `${method} ${path} documents its problems`);
      const problem = operation.responses["4XX"].content["application/problem+json"].schema;
      assert.deepEqual(problem.required, ["type", "title", "status", "detail", "code"]);
      for (const parameter of operation.parameters ?? []) {
        assert.equal(
          typeof parameter.schema.type,
          "string",
          `${method} ${path} ${parameter.name} has a type`,
        );
      }
    }
    const submit = document.paths["/v1/transactions"].post.requestBody.content;
    assert.deepEqual(submit["application/octet-stream"].schema.format, "binary");
    assert.equal(submit["application/json"].schema.properties.transaction.type, "string");
    const receipt =
      document.paths["/v1/transactions/{hash}/receipt"].get.responses["200"].content["application/json"];
    assert.ok(receipt.schema.required.includes("inclusionProof"));
  });

  it("serves the UI and its assets from the package, without the internet", async () => {
    const page = await defaults.inject({ method: "GET", url: "/docs/" });
    const script = await defaults.inject({ method: "GET", url: "/docs/static/swagger-ui-bundle.js" });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /swagger/i);
    assert.equal(script.statusCode, 200);
    assert.ok(script.body.length > 100_000);
  });
});

describe("startApi", () => {
  it("fails on a port in use and leaves no block listener behind", async () => {
    const service = new FakeNodeService();
    const first = await startApi(service, { logger, rateLimit: false });
    const port = (first.server.address() as AddressInfo).port;
    await assert.rejects(startApi(service, { logger, rateLimit: false, port }), { code: "EADDRINUSE" });
    assert.equal(service.listenerCount, 1, "only the running API listens");
    await first.close();
    assert.equal(service.listenerCount, 0);
  });
});
