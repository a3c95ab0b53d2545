/**
 * A fuzz over every route: random methods, paths, path parameters, query strings, bodies and
 * headers. Whatever comes in, the API never answers 5xx, and every 4xx is a well-formed
 * problem+json document with a stable code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { bytesToHex } from "../base/bytes.ts";
import { buildApi } from "./index.ts";
import { FakeNodeService } from "./testing/fake-service.ts";

const FUZZ_RUNS = 400;

const TEMPLATES = [
  "/v1/transactions",
  "/v1/transactions/batch",
  "/v1/transactions/:x",
  "/v1/transactions/:x/receipt",
  "/v1/blocks/latest",
  "/v1/blocks/:x",
  "/v1/blocks/hash/:x",
  "/v1/validators",
  "/v1/state/:x",
  "/v1/events",
  "/v1/notary/:x",
  "/v1/status",
  "/v1/ws",
  "/health",
  "/metrics",
  "/openapi.json",
  "/docs",
  "/docs/:x",
  "/:x",
  "/v1/:x/:x",
] as const;

const hash = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
const segment = fc.oneof(
  hash,
  hash.map((hex) => hex.toUpperCase()),
  fc.constantFrom(
    "latest",
    "0",
    "1",
    "2",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999",
  ),
  fc.constantFrom("%zz", "%00", "%2F", "..", "%E0%A4%A", "a%20b", "ø", "static", "json", "index.html"),
  fc.string({ maxLength: 80 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9a-fA-F]{0,70}$/),
);
const path = fc
  .tuple(fc.constantFrom(...TEMPLATES), fc.array(segment, { minLength: 3, maxLength: 3 }))
  .map(([template, segments]) => {
    let index = 0;
    return template.replace(/:x/g, () => segments[index++]!);
  });
const queryValue = fc.oneof(
  fc.constantFrom(
    "raw",
    "json",
    "xml",
    "0",
    "1",
    "1000",
    "1001",
    "-5",
    "9007199254740993",
    "notary",
    "NOTARY",
    "",
  ),
  fc.string({ maxLength: 40 }),
);
const query = fc
  .array(
    fc.tuple(
      fc.constantFrom("format", "height", "contract", "type", "after", "limit", "x", "format[]"),
      queryValue,
    ),
    { maxLength: 4 },
  )
  .map((pairs) => (pairs.length === 0 ? "" : `?${new URLSearchParams(pairs).toString()}`));
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/octet-stream",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/problem+json",
  "nonsense",
);
const jsonish = fc.oneof(
  fc.record({ transaction: fc.oneof(fc.stringMatching(/^[0-9a-fA-F]{0,300}$/), fc.string(), fc.integer()) }),
  fc.record({
    transactions: fc.array(fc.oneof(fc.stringMatching(/^[0-9a-f]{0,200}$/), fc.jsonValue()), {
      maxLength: 5,
    }),
  }),
  fc.jsonValue({ maxDepth: 3 }),
);
const service = new FakeNodeService();
/** Real signed transactions (some will be duplicates or use spent nonces), and damaged copies. */
const signed = Array.from({ length: 6 }, (_, index) =>
  service.signedTransaction(index % 3, { nonce: BigInt(index) }),
);
const transaction = fc
  .tuple(fc.nat(signed.length - 1), fc.option(fc.nat(), { nil: undefined }))
  .map(([index, flip]) => {
    const bytes = new Uint8Array(signed[index]!);
    if (flip !== undefined) bytes[flip % bytes.length]! ^= 1 << (flip % 8);
    return bytes;
  });
const body = fc.oneof(
  fc.constant(undefined),
  transaction.map((bytes) => JSON.stringify({ transaction: bytesToHex(bytes) })),
  transaction.map((bytes) => Buffer.from(bytes)),
  fc
    .array(transaction, { minLength: 1, maxLength: 4 })
    .map((list) => JSON.stringify({ transactions: list.map((bytes) => bytesToHex(bytes)) })),
  jsonish.map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)),
);
const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD");
const headers = fc.record(
  {
    accept: fc.constantFrom("application/json", "application/octet-stream", "*/*", "text/html", "nonsense"),
    origin: fc.constantFrom("https://portal.city.example", "https://evil.example", "null"),
    "access-control-request-method": fc.constantFrom("POST", "GET", "DELETE"),
    "x-forwarded-for": fc.constantFrom("203.0.113.9", "not an address"),
  },
  { requiredKeys: [] },
);

describe("fuzz over every route", () => {
  let app: FastifyInstance;

  before(async () => {
    app = await buildApi(service, {
      logger: pino({ level: "silent" }),
      rateLimit: false,
      corsOrigins: ["https://portal.city.example"],
    });
    // Some history, so paths that name real hashes and heights reach the node.
    await app.inject({
      method: "POST",
      url: "/v1/transactions",
      payload: { transaction: bytesToHex(service.signedTransaction(0)) },
    });
    service.commitBlock();
  });
  after(async () => {
    await app.close();
  });

  it("never answers 5xx, and every 4xx is problem+json", async () => {
    const anyRequest = fc.tuple(method, path, query, body, contentType, headers);
    // A quarter of the runs aim at the submit routes with transaction-like bodies.
    const submitRequest = fc.tuple(
      fc.constant("POST"),
      fc.constantFrom("/v1/transactions", "/v1/transactions/batch"),
      fc.constant(""),
      body,
      fc.constantFrom("application/json", "application/octet-stream"),
      headers,
    );
    const request = fc.oneof({ weight: 3, arbitrary: anyRequest }, { weight: 1, arbitrary: submitRequest });
    await fc.assert(
      fc.asyncProperty(request, async ([verb, url, search, payload, type, extra]) => {
        const requestHeaders: Record<string, string> = { ...extra };
        if (type !== undefined) requestHeaders["content-type"] = type;
        const response = await app.inject({
          method: verb,
          url: `${url}${search}`,
          headers: requestHeaders,
          ...(payload === undefined || verb === "GET" || verb === "HEAD" ? {} : { payload }),
        });
        const where = `${verb} ${url}${search} (${type ?? "no content type"})`;
        assert.ok(
          response.statusCode < 500,
          `${where} answered ${response.statusCode}: ${response.body.slice(0, 200)}`,
        );
        if (response.statusCode < 400 || verb === "HEAD") return;
        assert.match(
          String(response.headers["content-type"]),
          /^application\/problem\+json/,
          `${where}: problem+json`,
        );
        const problem = JSON.parse(response.body) as Record<string, unknown>;
        assert.equal(problem.status, response.statusCode, `${where}: status in the body`);
        for (const field of ["type", "title", "detail", "code"]) {
          assert.equal(typeof problem[field], "string", `${where}: ${field} is a string`);
        }
        assert.match(String(problem.code), /^[A-Z][A-Z0-9_]*$/, `${where}: a stable code`);
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});
