/**
 * Every route of the API in-process (`app.inject`), over the fake node service: the happy path
 * and the errors, each answered as problem+json with its stable code.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { bytesToHex, hexToBytes, utf8 } from "../base/bytes.ts";
import { TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { sha256 } from "../crypto/index.ts";
import { decodeBlock, hashEncodedTransaction } from "../ledger/index.ts";
import { receiptFromJson, verifyReceipt } from "../sdk/receipt.ts";
import { decodeStateProof, verifyStateProof } from "../state/index.ts";
import { API_BATCH_TXS_MAX, API_TX_BODY_BYTES_MAX, buildApi } from "./index.ts";
import { FakeNodeService, notaryKeyOf } from "./testing/fake-service.ts";

/** Every log line the API writes, to check that no request body reaches the log. */
const logLines: string[] = [];
const logger = pino({ level: "debug" }, { write: (line: string) => logLines.push(line) });

function problemOf(response: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.match(String(response.headers["content-type"]), /^application\/problem\+json/);
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  assert.equal(problem.status, response.statusCode);
  assert.equal(typeof problem.title, "string");
  assert.equal(typeof problem.detail, "string");
  assert.equal(problem.type, `urn:cityledger:problem:${problem.code}`);
  return problem;
}

describe("API routes", () => {
  let service: FakeNodeService;
  let app: FastifyInstance;

  before(async () => {
    service = new FakeNodeService();
    app = await buildApi(service, { logger, rateLimit: false });
  });
  after(async () => {
    await app.close();
  });

  describe("POST /v1/transactions", () => {
    it("admits hex in JSON with 202 and the hash", async () => {
      const encoded = service.signedTransaction(0);
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      assert.equal(response.statusCode, 202);
      assert.deepEqual(response.json(), {
        hash: bytesToHex(hashEncodedTransaction(encoded, sha256)),
        status: "pending",
      });
    });

    it("admits raw octet-stream bytes", async () => {
      const encoded = service.signedTransaction(1);
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: { "content-type": "application/octet-stream" },
        payload: Buffer.from(encoded),
      });
      assert.equal(response.statusCode, 202);
      assert.equal(response.json().status, "pending");
    });

    it("refuses a bad signature with 422 TX_BAD_SIGNATURE", async () => {
      const encoded = service.signedTransaction(2);
      encoded[encoded.length - 1]! ^= 1;
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      assert.equal(response.statusCode, 422);
      assert.equal(problemOf(response).code, "TX_BAD_SIGNATURE");
    });

    it("refuses another chain's transaction with 422 TX_WRONG_CHAIN", async () => {
      const encoded = service.signedTransaction(2, { chainId: "other-city-1" });
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      assert.equal(response.statusCode, 422);
      assert.equal(problemOf(response).code, "TX_WRONG_CHAIN");
    });

    it("refuses bytes that are not a transaction with 400 TX_MALFORMED", async () => {
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: "00ff" },
      });
      assert.equal(response.statusCode, 400);
      assert.equal(problemOf(response).code, "TX_MALFORMED");
    });

    it("refuses a duplicate with 409 MEMPOOL_DUPLICATE and names the hash", async () => {
      const encoded = service.signedTransaction(2);
      const first = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      assert.equal(first.statusCode, 202);
      const second = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      assert.equal(second.statusCode, 409);
      const problem = problemOf(second);
      assert.equal(problem.code, "MEMPOOL_DUPLICATE");
      assert.equal(problem.hash, first.json().hash);
    });

    it("answers a full pool with 503 MEMPOOL_FULL and Retry-After in seconds", async () => {
      const full = new FakeNodeService({ poolCapacity: 0, poolFullRetryAfterMs: 2_500 });
      const fullApp = await buildApi(full, { logger, rateLimit: false });
      const response = await fullApp.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(full.signedTransaction(0)) },
      });
      await fullApp.close();
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers["retry-after"], "3");
      const problem = problemOf(response);
      assert.equal(problem.code, "MEMPOOL_FULL");
      assert.equal(problem.retryAfterMs, 2_500);
    });

    it("answers a node that is not ready with 503 NODE_NOT_READY", async () => {
      service.isReady = false;
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(service.signedTransaction(0)) },
      });
      service.isReady = true;
      assert.equal(response.statusCode, 503);
      assert.equal(problemOf(response).code, "NODE_NOT_READY");
      assert.ok(Number(response.headers["retry-after"]) >= 1);
    });

    it("refuses odd-length hex, a missing field and bad JSON with 400", async () => {
      const odd = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: "abc" },
      });
      assert.equal(odd.statusCode, 400);
      assert.equal(problemOf(odd).code, "VALIDATION_FAILED");
      const missing = await app.inject({ method: "POST", url: "/v1/transactions", payload: {} });
      assert.equal(problemOf(missing).code, "VALIDATION_FAILED");
      const badJson = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: { "content-type": "application/json" },
        payload: "{not json",
      });
      assert.equal(badJson.statusCode, 400);
      assert.equal(problemOf(badJson).code, "MALFORMED_JSON");
    });

    it("refuses other content types with 415 and oversized bodies with 413", async () => {
      const text = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: { "content-type": "text/plain" },
        payload: "00",
      });
      assert.equal(text.statusCode, 415);
      assert.equal(problemOf(text).code, "UNSUPPORTED_MEDIA_TYPE");
      const huge = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: "00".repeat(API_TX_BODY_BYTES_MAX) },
      });
      assert.equal(huge.statusCode, 413);
      assert.equal(problemOf(huge).code, "BODY_TOO_LARGE");
      const raw = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        headers: { "content-type": "application/octet-stream" },
        payload: Buffer.alloc(TX_SIZE_BYTES_MAX + 1),
      });
      assert.equal(raw.statusCode, 413);
      assert.equal(problemOf(raw).code, "TX_OVERSIZED");
    });
  });

  describe("POST /v1/transactions/batch", () => {
    it("submits in order and answers per item", async () => {
      const first = service.signedTransaction(0);
      const bad = service.signedTransaction(1);
      bad[bad.length - 1]! ^= 1;
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions/batch",
        payload: { transactions: [bytesToHex(first), bytesToHex(bad), "abc", bytesToHex(first)] },
      });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.acceptedCount, 1);
      assert.deepEqual(
        body.results.map(
          (item: { index: number; accepted: boolean; code?: string; status: string | number }) => [
            item.index,
            item.accepted,
            item.code ?? null,
            item.status,
          ],
        ),
        [
          [0, true, null, "pending"],
          [1, false, "TX_BAD_SIGNATURE", 422],
          [2, false, "VALIDATION_FAILED", 400],
          [3, false, "MEMPOOL_DUPLICATE", 409],
        ],
      );
    });

    it("refuses more than API_BATCH_TXS_MAX transactions and an empty batch", async () => {
      const tooMany = await app.inject({
        method: "POST",
        url: "/v1/transactions/batch",
        payload: { transactions: Array.from({ length: API_BATCH_TXS_MAX + 1 }, () => "00") },
      });
      assert.equal(tooMany.statusCode, 400);
      assert.equal(problemOf(tooMany).code, "VALIDATION_FAILED");
      const empty = await app.inject({
        method: "POST",
        url: "/v1/transactions/batch",
        payload: { transactions: [] },
      });
      assert.equal(problemOf(empty).code, "VALIDATION_FAILED");
    });
  });

  describe("transactions, receipts and blocks after a commit", () => {
    let hashHex: string;
    let documentHash: Uint8Array;

    before(async () => {
      documentHash = sha256(utf8("a building permit, scanned"));
      const encoded = service.signedTransaction(0, {
        contract: "notary",
        method: "record",
        args: { document: documentHash },
      });
      const response = await app.inject({
        method: "POST",
        url: "/v1/transactions",
        payload: { transaction: bytesToHex(encoded) },
      });
      hashHex = response.json().hash;
      const pending = await app.inject({ method: "GET", url: `/v1/transactions/${hashHex}` });
      assert.deepEqual(pending.json(), { status: "pending", hash: hashHex });
      service.commitBlock();
    });

    it("GET /v1/transactions/:hash gives the committed status, in either hex case", async () => {
      const response = await app.inject({ method: "GET", url: `/v1/transactions/${hashHex.toUpperCase()}` });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.status, "committed");
      assert.equal(body.height, "1");
      assert.deepEqual(body.result, { ok: true, errorCode: null, errorMessage: null });
    });

    it("GET /v1/transactions/:hash is 404 NOT_FOUND for an unknown hash, 400 for a bad one", async () => {
      const unknown = await app.inject({ method: "GET", url: `/v1/transactions/${"11".repeat(32)}` });
      assert.equal(unknown.statusCode, 404);
      assert.equal(problemOf(unknown).code, "NOT_FOUND");
      const bad = await app.inject({ method: "GET", url: "/v1/transactions/xyz" });
      assert.equal(bad.statusCode, 400);
      assert.equal(problemOf(bad).code, "VALIDATION_FAILED");
    });

    it("GET /v1/transactions/:hash/receipt gives a receipt that verifies offline", async () => {
      const response = await app.inject({ method: "GET", url: `/v1/transactions/${hashHex}/receipt` });
      assert.equal(response.statusCode, 200);
      const json = response.json();
      assert.equal(json.format, "cityledger/receipt/v2");
      assert.equal(json.height, "1");
      const receipt = receiptFromJson(json);
      assert.deepEqual(
        verifyReceipt(receipt, { chainId: service.chainId, validatorSet: service.validatorSet }),
        {
          ok: true,
        },
      );
      const missing = await app.inject({ method: "GET", url: `/v1/transactions/${"22".repeat(32)}/receipt` });
      assert.equal(problemOf(missing).code, "NOT_FOUND");
    });

    it("GET /v1/blocks/latest, /:height and /hash/:hash agree", async () => {
      const latest = (await app.inject({ method: "GET", url: "/v1/blocks/latest" })).json();
      const byHeight = (await app.inject({ method: "GET", url: "/v1/blocks/1" })).json();
      const byHash = (await app.inject({ method: "GET", url: `/v1/blocks/hash/${latest.hash}` })).json();
      assert.deepEqual(latest, byHeight);
      assert.deepEqual(latest, byHash);
      assert.equal(latest.height, "1");
      assert.ok(latest.transactionHashes.includes(hashHex));
      assert.match(latest.header.timeMs, /^[0-9]+$/);
    });

    it("gives the encoded block with ?format=raw or Accept: application/octet-stream", async () => {
      const raw = await app.inject({ method: "GET", url: "/v1/blocks/1?format=raw" });
      assert.equal(raw.statusCode, 200);
      assert.equal(raw.headers["content-type"], "application/octet-stream");
      const block = decodeBlock(new Uint8Array(raw.rawPayload));
      assert.equal(block.header.height, 1n);
      const accepted = await app.inject({
        method: "GET",
        url: "/v1/blocks/latest",
        headers: { accept: "application/octet-stream" },
      });
      assert.deepEqual(accepted.rawPayload, raw.rawPayload);
    });

    it("block errors: 404 past the head, 400 for a non-number or a height beyond u64", async () => {
      assert.equal(problemOf(await app.inject({ method: "GET", url: "/v1/blocks/99" })).code, "NOT_FOUND");
      assert.equal(
        problemOf(await app.inject({ method: "GET", url: "/v1/blocks/-1" })).code,
        "VALIDATION_FAILED",
      );
      const huge = await app.inject({ method: "GET", url: "/v1/blocks/99999999999999999999" });
      assert.equal(huge.statusCode, 400);
      assert.equal(problemOf(huge).code, "VALIDATION_FAILED");
      const format = await app.inject({ method: "GET", url: "/v1/blocks/1?format=xml" });
      assert.equal(problemOf(format).code, "VALIDATION_FAILED");
    });

    it("GET /v1/validators gives the set, its hash and its power; 404 far ahead", async () => {
      const response = await app.inject({ method: "GET", url: "/v1/validators?height=1" });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.validatorSet.validators.length, 4);
      assert.equal(body.totalPower, "40");
      assert.equal(body.validatorSet.validators[0].power, "10");
      const ahead = await app.inject({ method: "GET", url: "/v1/validators?height=1000" });
      assert.equal(problemOf(ahead).code, "NOT_FOUND");
    });

    it("GET /v1/state/:keyHex gives the value and a proof that verifies", async () => {
      const key = notaryKeyOf(documentHash);
      const response = await app.inject({ method: "GET", url: `/v1/state/${bytesToHex(key)}` });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.notEqual(body.value, null);
      const proof = decodeStateProof(hexToBytes(body.proof));
      assert.ok(verifyStateProof(hexToBytes(body.stateRoot), key, hexToBytes(body.value), proof));
      const absentKey = sha256(utf8("nothing here"));
      const absent = (await app.inject({ method: "GET", url: `/v1/state/${bytesToHex(absentKey)}` })).json();
      assert.equal(absent.value, null);
      assert.ok(
        verifyStateProof(
          hexToBytes(absent.stateRoot),
          absentKey,
          null,
          decodeStateProof(hexToBytes(absent.proof)),
        ),
      );
    });

    it("GET /v1/notary/:documentHash gives the record as JSON (bigints as strings)", async () => {
      const response = await app.inject({ method: "GET", url: `/v1/notary/${bytesToHex(documentHash)}` });
      assert.equal(response.statusCode, 200);
      const body = response.json();
      assert.equal(body.record.height, "1");
      assert.match(body.record.owner, /^[0-9a-f]{64}$/);
      assert.notEqual(body.read.value, null);
      const never = (await app.inject({ method: "GET", url: `/v1/notary/${"33".repeat(32)}` })).json();
      assert.equal(never.record, null);
      assert.equal(never.read.value, null);
    });

    it("GET /v1/events pages with a bounded limit and filters by contract", async () => {
      const page = (await app.inject({ method: "GET", url: "/v1/events?contract=notary&limit=10" })).json();
      assert.equal(page.events.length, 1);
      assert.equal(page.events[0].type, "notary.record");
      assert.equal(page.next, null);
      const one = (await app.inject({ method: "GET", url: "/v1/events?limit=1" })).json();
      assert.equal(one.events.length, 1);
      assert.equal(one.next, one.events[0].logIndex);
      const nextPage = (
        await app.inject({ method: "GET", url: `/v1/events?limit=1&after=${one.next}` })
      ).json();
      assert.ok(nextPage.events.every((event: { logIndex: number }) => event.logIndex > one.next));
      const tooMany = await app.inject({ method: "GET", url: "/v1/events?limit=100000" });
      assert.equal(problemOf(tooMany).code, "VALIDATION_FAILED");
      const badContract = await app.inject({ method: "GET", url: "/v1/events?contract=NOT%20A%20NAME" });
      assert.equal(problemOf(badContract).code, "VALIDATION_FAILED");
    });
  });

  describe("node routes", () => {
    it("GET /v1/status gives decimal strings and hex", async () => {
      const body = (await app.inject({ method: "GET", url: "/v1/status" })).json();
      assert.equal(body.chainId, service.chainId);
      assert.match(body.height, /^[0-9]+$/);
      assert.match(body.stateRoot, /^[0-9a-f]{64}$/);
    });

    it("GET /health is 200 when ready and 503 when not", async () => {
      assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
      service.isReady = false;
      const down = await app.inject({ method: "GET", url: "/health" });
      service.isReady = true;
      assert.equal(down.statusCode, 503);
      assert.deepEqual(down.json(), { ready: false });
    });

    it("GET /metrics gives the service's text with its content type", async () => {
      const response = await app.inject({ method: "GET", url: "/metrics" });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers["content-type"], service.metricsContentType);
      assert.match(response.body, /cityledger_fake_blocks_total/);
    });

    it("unknown routes are 404 NOT_FOUND problems; a plain GET of /v1/ws is 426", async () => {
      assert.equal(problemOf(await app.inject({ method: "GET", url: "/v2/anything" })).code, "NOT_FOUND");
      assert.equal(problemOf(await app.inject({ method: "DELETE", url: "/v1/status" })).code, "NOT_FOUND");
      const ws = await app.inject({ method: "GET", url: "/v1/ws" });
      assert.equal(ws.statusCode, 426);
      assert.equal(problemOf(ws).code, "WEBSOCKET_UPGRADE_REQUIRED");
    });

    it("logs requests without their bodies", async () => {
      const encoded = service.signedTransaction(1, {
        args: { note: "a body that must stay out of the log" },
      });
      const hex = bytesToHex(encoded);
      await app.inject({ method: "POST", url: "/v1/transactions", payload: { transaction: hex } });
      await app.inject({ method: "POST", url: "/v1/transactions/batch", payload: { transactions: [hex] } });
      assert.ok(
        logLines.some((line) => line.includes("/v1/transactions")),
        "requests are logged",
      );
      const body = hex.slice(hex.length - 128);
      assert.ok(!logLines.some((line) => line.includes(body) || line.includes("stay out of the log")));
    });

    it("a failing node gives a 500 problem that reveals nothing", async () => {
      service.broken = true;
      const response = await app.inject({ method: "GET", url: "/v1/status" });
      service.broken = false;
      assert.equal(response.statusCode, 500);
      const problem = problemOf(response);
      assert.equal(problem.code, "INTERNAL");
      assert.doesNotMatch(response.body, /secret|storage unreadable/);
    });
  });
});
