/**
 * CityLedgerClient against the real API on a loopback port (over the fake node service): every
 * call, its typed errors, retries after 503/429 honouring Retry-After, and waitForCommit by
 * polling and by WebSocket. The receipt it fetches verifies offline.
 */
import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import WebSocket from "ws";
import { startApi } from "../api/index.ts";
import { FakeNodeService } from "../api/testing/fake-service.ts";
import { bytesToHex, utf8 } from "../base/bytes.ts";
import { sha256 } from "../crypto/index.ts";
import { verifyStateProof } from "../state/state-proof.ts";
import { CityLedgerClient, ClientError, type DelayFunction, type WebSocketConstructor } from "./client.ts";
import { verifyReceipt } from "./receipt.ts";

const logger = pino({ level: "silent" });

async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, `a ClientError, not ${String(error)}`);
    return error;
  }
  assert.fail("the call succeeded");
}

/** A delay that records what it was asked and waits only a moment. */
function recordingDelay(waits: number[], onWait: () => void = () => {}): DelayFunction {
  return async (ms) => {
    waits.push(ms);
    onWait();
    await new Promise((resolve) => setImmediate(resolve));
  };
}

describe("CityLedgerClient", () => {
  let service: FakeNodeService;
  let app: FastifyInstance;
  let baseUrl: string;
  let client: CityLedgerClient;

  before(async () => {
    service = new FakeNodeService();
    app = await startApi(service, { logger, rateLimit: false });
    baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    client = new CityLedgerClient({ baseUrl, webSocket: null });
  });
  after(async () => {
    await app.close();
  });

  it("submits, waits for the commit by polling, and gets a receipt that verifies", async () => {
    const encoded = service.signedTransaction(0);
    const { hash, status } = await client.submit(encoded);
    assert.equal(status, "pending");
    assert.equal((await client.transactionStatus(hash)).status, "pending");
    setTimeout(() => service.commitBlock(), 100);
    const committed = await client.waitForCommit(hash, { timeoutMs: 5_000, pollIntervalMs: 50 });
    assert.equal(committed.status, "committed");
    assert.equal(committed.hash, hash);
    const receipt = await client.receipt(hash);
    assert.deepEqual(
      verifyReceipt(receipt, { chainId: service.chainId, validatorSet: service.validatorSet }),
      {
        ok: true,
      },
    );
    const json = await client.receiptJson(hash);
    assert.equal(json.format, "cityledger/receipt/v2");
  });

  it("waits for the commit over the WebSocket when one is available", async () => {
    const pushing = new CityLedgerClient({
      baseUrl,
      webSocket: WebSocket as unknown as WebSocketConstructor,
    });
    const { hash } = await pushing.submit(service.signedTransaction(1));
    setTimeout(() => service.commitBlock(), 100);
    // A poll interval far longer than the wait: only the push can resolve it in time.
    const committed = await pushing.waitForCommit(hash, { timeoutMs: 3_000, pollIntervalMs: 60_000 });
    assert.equal(committed.hash, hash);
  });

  it("submits batches, reads status, blocks, validators, state, notary records and events", async () => {
    const document = sha256(utf8("zoning decision 42"));
    const batch = await client.submitBatch([
      service.signedTransaction(2, { contract: "notary", method: "record", args: { document } }),
      service.signedTransaction(0),
    ]);
    assert.equal(batch.acceptedCount, 2);
    service.commitBlock();
    const status = await client.status();
    assert.equal(status.chainId, service.chainId);
    const latest = await client.block("latest");
    assert.equal(latest.height, status.height);
    assert.deepEqual(await client.block(BigInt(status.height)), latest);
    assert.deepEqual(await client.blockByHash(latest.hash), latest);
    const validators = await client.validators();
    assert.equal(validators.validatorSet.validators.length, 4);
    const notary = await client.notary(document);
    assert.equal(notary.record?.label, "recorded");
    assert.ok(notary.read.value !== null);
    assert.ok(verifyStateProof(notary.read.stateRoot, notary.read.key, notary.read.value, notary.read.proof));
    const absent = await client.readState(sha256(utf8("nobody wrote this")));
    assert.equal(absent.value, null);
    assert.ok(verifyStateProof(absent.stateRoot, absent.key, null, absent.proof));
    const page = await client.events({ contract: "notary", limit: 5 });
    assert.equal(page.events[0]?.contract, "notary");
  });

  it("gives typed errors with the node's code and status", async () => {
    const bad = service.signedTransaction(0);
    bad[bad.length - 1]! ^= 1;
    const refused = await rejection(client.submit(bad));
    assert.equal(refused.code, "TX_BAD_SIGNATURE");
    assert.equal(refused.status, 422);
    assert.equal(refused.problem?.code, "TX_BAD_SIGNATURE");
    const missing = await rejection(client.receipt("44".repeat(32)));
    assert.equal(missing.code, "NOT_FOUND");
    assert.equal(missing.status, 404);
    assert.deepEqual(await client.transactionStatus("55".repeat(32)), {
      status: "unknown",
      hash: "55".repeat(32),
    });
    assert.equal((await rejection(client.block(10_000n))).code, "NOT_FOUND");
    assert.equal((await rejection(client.transactionStatus("xyz"))).code, "CLIENT_INVALID_ARGUMENT");
    assert.equal((await rejection(client.receipt(new Uint8Array(5)))).code, "CLIENT_INVALID_ARGUMENT");
  });

  it("times out waiting for a transaction that never commits", async () => {
    const error = await rejection(
      client.waitForCommit("66".repeat(32), { timeoutMs: 150, pollIntervalMs: 50 }),
    );
    assert.equal(error.code, "CLIENT_TIMEOUT");
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await rejection(
      client.waitForCommit("66".repeat(32), {
        timeoutMs: 5_000,
        pollIntervalMs: 50,
        signal: controller.signal,
      }),
    );
    assert.equal(aborted.code, "CLIENT_ABORTED");
  });

  it("reports an unreachable node as CLIENT_NETWORK", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const nowhere = new CityLedgerClient({ baseUrl: `http://127.0.0.1:${port}`, webSocket: null });
    assert.equal((await rejection(nowhere.status())).code, "CLIENT_NETWORK");
  });
});

describe("CityLedgerClient retries", () => {
  it("retries a full pool after its Retry-After, a bounded number of times", async () => {
    const service = new FakeNodeService({ poolCapacity: 0, poolFullRetryAfterMs: 1_500 });
    const app = await startApi(service, { logger, rateLimit: false });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const waits: number[] = [];
      const giveUp = new CityLedgerClient({
        baseUrl,
        webSocket: null,
        retryAttempts: 2,
        delay: recordingDelay(waits),
      });
      const error = await rejection(giveUp.submit(service.signedTransaction(0)));
      assert.equal(error.code, "MEMPOOL_FULL");
      assert.equal(error.status, 503);
      assert.equal(error.retryAfterMs, 1_500);
      assert.deepEqual(waits, [1_500, 1_500]);

      const capped: number[] = [];
      const patient = new CityLedgerClient({
        baseUrl,
        webSocket: null,
        retryAttempts: 3,
        retryDelayMsMax: 1_000,
        delay: recordingDelay(capped, () => {
          service.poolCapacity = 10;
        }),
      });
      const { status } = await patient.submit(service.signedTransaction(0));
      assert.equal(status, "pending");
      assert.deepEqual(capped, [1_000], "one wait, capped at retryDelayMsMax");
    } finally {
      await app.close();
    }
  });

  it("retries a rate limit (429) after Retry-After, then gives up with RATE_LIMITED", async () => {
    const service = new FakeNodeService();
    const app = await startApi(service, { logger, rateLimit: { requestsMax: 1, windowMs: 60_000 } });
    const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const waits: number[] = [];
      const client = new CityLedgerClient({
        baseUrl,
        webSocket: null,
        retryAttempts: 1,
        delay: recordingDelay(waits),
      });
      await client.status();
      const error = await rejection(client.status());
      assert.equal(error.code, "RATE_LIMITED");
      assert.equal(error.status, 429);
      assert.equal(waits.length, 1);
      assert.ok(waits[0]! >= 1_000 && waits[0]! <= 60_000, `waited ${waits[0]} ms as told`);
    } finally {
      await app.close();
    }
  });
});

describe("CityLedgerClient against a node that misbehaves", () => {
  it("refuses replies that are not in the documented form", async () => {
    const replies: Array<{ status: number; type: string; body: string }> = [
      { status: 200, type: "application/json", body: JSON.stringify({ chainId: 5 }) },
      { status: 200, type: "text/html", body: "<html>" },
      { status: 200, type: "application/json", body: "{truncated" },
      { status: 500, type: "text/plain", body: "oops" },
    ];
    const codes: string[] = [];
    for (const reply of replies) {
      const fake: typeof fetch = async () =>
        new Response(reply.body, { status: reply.status, headers: { "content-type": reply.type } });
      const client = new CityLedgerClient({ baseUrl: "http://node.invalid", fetch: fake, webSocket: null });
      codes.push((await rejection(client.status())).code);
    }
    assert.deepEqual(codes, [
      "CLIENT_BAD_RESPONSE",
      "CLIENT_BAD_RESPONSE",
      "CLIENT_BAD_RESPONSE",
      "HTTP_500",
    ]);
    const hash = bytesToHex(sha256(utf8("x")));
    const wrongReceipt: typeof fetch = async () =>
      new Response(JSON.stringify({ format: "cityledger/receipt/v2" }), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    const client = new CityLedgerClient({
      baseUrl: "http://node.invalid",
      fetch: wrongReceipt,
      webSocket: null,
    });
    assert.equal((await rejection(client.receipt(hash))).code, "CLIENT_BAD_RESPONSE");
  });
});
