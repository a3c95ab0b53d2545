/**
 * The API over a real one-node chain (real SQLite store, real consensus, real execution) on a
 * real loopback port: the SDK client submits, waits and verifies a receipt offline; a WebSocket
 * subscriber hears of the commit; and a fuzz over every route never gets a 5xx.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import WebSocket from "ws";
import { startApi } from "../src/api/index.ts";
import { bytesToHex } from "../src/base/bytes.ts";
import { ed25519Suite } from "../src/crypto/index.ts";
import { encodeTransaction, hashEncodedTransaction, signTransaction } from "../src/ledger/index.ts";
import { loadNodeConfig } from "../src/node/config.ts";
import { loadGenesisFile } from "../src/node/genesis-file.ts";
import { writeNetworkLayout } from "../src/node/network-layout.ts";
import { CityLedgerNode } from "../src/node/node.ts";
import { CityLedgerClient } from "../src/sdk/client.ts";
import { verifyReceipt } from "../src/sdk/receipt.ts";

const FUZZ_RUNS = 300;
const suite = ed25519Suite;

describe("the API over a real one-node chain", { timeout: 180_000 }, () => {
  let directory: string;
  let node: CityLedgerNode;
  let app: FastifyInstance;
  let baseUrl: string;
  let genesisFile: string;
  const sender = suite.keyPairFromSeed(randomBytes(32));
  let nonce = 0n;

  function anchor(title: string): Uint8Array {
    const transaction = signTransaction(suite, sender.privateKey, {
      chainId: "api-city",
      nonce: nonce++,
      expiryHeight: 1_000_000n,
      contract: "notary",
      method: "anchor",
      args: {
        algorithm: "sha256",
        documentHash: suite.hash(new TextEncoder().encode(`${title}/${randomBytes(8).toString("hex")}`)),
        title,
        documentType: "minutes",
      },
    });
    return encodeTransaction(transaction);
  }

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), "cityledger-api-node-"));
    const layout = writeNetworkLayout({
      out: directory,
      validators: 1,
      chainId: "api-city",
      suite: "ed25519",
      host: "127.0.0.1",
      p2pPortBase: 0,
      apiPortBase: 0,
      genesisTimeMs: BigInt(Date.now()),
      consensus: { emptyBlockIntervalMs: 300 },
    });
    genesisFile = join(directory, "genesis.json");
    node = await CityLedgerNode.start({
      config: loadNodeConfig(layout.nodes[0]!.configFile),
      logger: pino({ level: "silent" }),
    });
    app = await startApi(node, {
      logger: pino({ level: "silent" }),
      rateLimit: false,
      host: "127.0.0.1",
      port: 0,
    });
    const address = app.server.address();
    assert.ok(typeof address === "object" && address !== null);
    baseUrl = `http://127.0.0.1:${address.port}`;
  });

  after(async () => {
    await app?.close();
    await node?.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it("submits, waits for the commit, and verifies the receipt offline against the genesis", async () => {
    const client = new CityLedgerClient({ baseUrl, webSocket: null });
    const submitted = await client.submit(anchor("Council minutes"));
    const committed = await client.waitForCommit(submitted.hash, { timeoutMs: 30_000, pollIntervalMs: 50 });
    assert.equal(committed.status, "committed");
    const receipt = await client.receipt(submitted.hash);
    const { genesis } = loadGenesisFile(genesisFile);
    assert.deepEqual(
      verifyReceipt(receipt, { chainId: genesis.chainId, validatorSet: genesis.validatorSet }),
      {
        ok: true,
      },
    );
    const other = suite.keyPairFromSeed(randomBytes(32)).publicKey;
    const untrusted = verifyReceipt(receipt, {
      chainId: genesis.chainId,
      validatorSet: { suite: "ed25519", validators: [{ publicKey: other, power: 10n }] },
    });
    assert.equal(untrusted.ok, false);
  });

  it("pushes a transaction's commit to a WebSocket subscriber", async () => {
    const encoded = anchor("Subscribed");
    const hash = bytesToHex(hashEncodedTransaction(encoded, suite.hash));
    const socket = new WebSocket(`${baseUrl.replace("http", "ws")}/v1/ws`);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const pushed = new Promise<Record<string, unknown>>((resolve) => {
      socket.on("message", (data) => {
        const message = JSON.parse(String(data)) as Record<string, unknown>;
        if (JSON.stringify(message).includes(hash) && JSON.stringify(message).includes("committed"))
          resolve(message);
      });
    });
    socket.send(JSON.stringify({ subscribe: "tx", hash }));
    await new Promise((done) => setTimeout(done, 100));
    const response = await fetch(`${baseUrl}/v1/transactions`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from(encoded),
    });
    assert.equal(response.status, 202);
    const message = await pushed;
    assert.ok(JSON.stringify(message).includes(hash));
    socket.close();
  });

  it("never answers 5xx to anything, and every 4xx is problem+json", async () => {
    const latest = (await (await fetch(`${baseUrl}/v1/blocks/latest`)).json()) as {
      hash: string;
      height: string;
    };
    const segment = fc.oneof(
      fc.constantFrom(
        latest.hash,
        latest.height,
        "0",
        "1",
        "-1",
        "latest",
        "18446744073709551616",
        "%zz",
        "..",
        "ø",
      ),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex),
      fc.string({ maxLength: 40 }).map(encodeURIComponent),
    );
    const route = fc
      .tuple(
        fc.constantFrom(
          "/v1/transactions",
          "/v1/transactions/batch",
          "/v1/transactions/:x",
          "/v1/transactions/:x/receipt",
          "/v1/blocks/:x",
          "/v1/blocks/hash/:x",
          "/v1/validators?height=:x",
          "/v1/state/:x",
          "/v1/events?type=:x&contract=notary&limit=:x",
          "/v1/notary/:x",
          "/v1/status",
          "/health",
          "/metrics",
          "/:x",
        ),
        segment,
        segment,
      )
      .map(([template, first, second]) => template.replace(":x", first).replace(":x", second));
    const body = fc.oneof(
      fc.constant(undefined),
      fc.constant(null).map(() => JSON.stringify({ transaction: bytesToHex(anchor("fuzz")) })),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => JSON.stringify({ transaction: bytesToHex(bytes) })),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "DELETE"),
        route,
        body,
        fc.constantFrom("application/json", "application/octet-stream", "text/plain"),
        async (method, path, payload, contentType) => {
          const response = await app.inject({
            method,
            url: path,
            headers: { "content-type": contentType },
            ...(payload === undefined || method === "GET" ? {} : { payload }),
          });
          assert.ok(
            response.statusCode < 500,
            `${method} ${path}: ${response.statusCode} ${response.body.slice(0, 200)}`,
          );
          if (response.statusCode >= 400) {
            assert.match(
              String(response.headers["content-type"]),
              /^application\/problem\+json/,
              `${method} ${path}`,
            );
            const problem = JSON.parse(response.body) as { code?: unknown };
            assert.equal(typeof problem.code, "string");
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    assert.equal(node.ready(), true, "the node is still running");
  });
});
