/**
 * A Hyperledger Caliper connector for CityLedger: Caliper's ConnectorInterface
 * (packages/caliper-core/lib/common/core/connector-interface.js, 0.6/0.7) implemented without a
 * dependency on Caliper, so it is tested here against a real node (bench/caliper.test.ts) and
 * loaded by Caliper through bench/caliper/connector-factory.cjs when Caliper is installed.
 *
 * Caliper calls: init / installSmartContract / prepareWorkerArguments in the manager; then, per
 * worker, getContext(roundIndex, args), sendRequests(request | request[]) from the workload
 * module, releaseContext(). Like Caliper's ConnectorBase, sendRequests emits "txsSubmitted"
 * (a count) before and "txsFinished" (the statuses) after, which Caliper's tx observers count.
 *
 * A request: { contract: "notary", method: "anchor", args: {...} }. Argument strings of the form
 * "0x<hex>" become bytes (document hashes). Each request is signed with a fresh Ed25519 sender
 * (nonce 0), so concurrent requests never wait on each other's nonces; an array of requests goes
 * in one POST /v1/transactions/batch. A request is finished when the block holding it is
 * announced on the worker's WebSocket `blocks` subscription (the notice carries the block's
 * transaction hashes), or failed when the node refuses it or it is not committed in time.
 * @module
 */
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import WebSocket from "ws";
import { ed25519Suite } from "../../src/crypto/index.ts";
import type { Value } from "../../src/encoding/index.ts";
import { encodeTransaction, type TransactionBody, transactionSigningBytes } from "../../src/ledger/index.ts";
import { bytesToHex, CityLedgerClient, hashEncodedTransaction, hexToBytes } from "../../src/sdk/index.ts";

/** Caliper's event names (Constants.Events.Connector). */
export const CALIPER_EVENTS = { txsSubmitted: "txsSubmitted", txsFinished: "txsFinished" } as const;
export const CONNECTOR_TYPE = "cityledger";
/** Requests per POST at most (the API's batch limit). */
const BATCH_TXS_MAX = 500;
const COMMIT_TIMEOUT_MS_DEFAULT = 60_000;
const SUBSCRIBE_TIMEOUT_MS = 20_000;
const EXPIRY_HEIGHTS_AHEAD = 1_000_000_000n;

export interface CityLedgerNetworkConfig {
  /** API base URLs of the nodes; worker i talks to apiUrls[i mod n]. */
  readonly apiUrls: readonly string[];
  /** How long a request may wait for its commit before it counts as failed. */
  readonly commitTimeoutMs?: number;
  /**
   * After the commit, read each transaction's execution result (GET /v1/transactions/:hash) and
   * count a committed transaction whose contract call failed as failed (default true; false
   * saves the node one request per transaction in throughput runs).
   */
  readonly checkResults?: boolean;
}

/** Execution results read at once per batch (bounded: the node serves the benchmark too). */
const RESULT_READS_IN_FLIGHT_MAX = 8;

export interface CaliperRequest {
  readonly contract: string;
  readonly method: string;
  readonly args: { readonly [name: string]: unknown };
  /** Caliper's read-only flag: reads are not supported by this connector (every request is a transaction). */
  readonly readOnly?: boolean;
}

/** The part of Caliper's TxStatus that Caliper's observers and workload modules use. */
export interface TxStatusLike {
  GetID(): string;
  SetID(id: string): void;
  GetStatus(): string;
  IsCommitted(): boolean;
  SetStatusSuccess(time?: number): void;
  SetStatusFail(): void;
  GetTimeCreate(): number;
  SetTimeCreate(time: number): void;
  GetTimeFinal(): number;
  IsVerified(): boolean;
  SetVerification(verified: boolean): void;
  SetErrMsg(index: number, message: string): void;
  GetErrMsg(): { [index: number]: string };
  SetResult(result: unknown): void;
  GetResult(): unknown;
  Marshal(): object;
}

/** A stand-in for Caliper's TxStatus (same fields and methods) when Caliper is not installed. */
export class TxStatus implements TxStatusLike {
  readonly status: {
    id: string;
    status: string;
    time_create: number;
    time_final: number;
    result: unknown;
    verified: boolean;
    flags: number;
    error_messages: { [index: number]: string };
  };

  constructor(id = "") {
    this.status = {
      id,
      status: "created",
      time_create: Date.now(),
      time_final: 0,
      result: null,
      verified: false,
      flags: 0,
      error_messages: {},
    };
  }
  GetID(): string {
    return this.status.id;
  }
  SetID(id: string): void {
    this.status.id = id;
  }
  GetStatus(): string {
    return this.status.status;
  }
  IsCommitted(): boolean {
    return this.status.status === "success";
  }
  SetStatusSuccess(time?: number): void {
    this.status.status = "success";
    this.status.time_final = time ?? Date.now();
  }
  SetStatusFail(): void {
    this.status.status = "failed";
    this.status.time_final = Date.now();
  }
  GetTimeCreate(): number {
    return this.status.time_create;
  }
  SetTimeCreate(time: number): void {
    this.status.time_create = time;
  }
  GetTimeFinal(): number {
    return this.status.time_final;
  }
  IsVerified(): boolean {
    return this.status.verified;
  }
  SetVerification(verified: boolean): void {
    this.status.verified = verified;
  }
  SetErrMsg(index: number, message: string): void {
    this.status.error_messages[index] = message;
  }
  GetErrMsg(): { [index: number]: string } {
    return this.status.error_messages;
  }
  SetResult(result: unknown): void {
    this.status.result = result;
  }
  GetResult(): unknown {
    return this.status.result;
  }
  Marshal(): object {
    return this.status;
  }
}

type TxStatusConstructor = new (id?: string) => TxStatusLike;

/** Caliper's own TxStatus when caliper-core can be resolved from the running program, else ours. */
function txStatusClass(): TxStatusConstructor {
  for (const from of [process.argv[1], import.meta.url]) {
    if (from === undefined) continue;
    try {
      const core = createRequire(from)("@hyperledger/caliper-core") as { TxStatus?: TxStatusConstructor };
      if (typeof core.TxStatus === "function") return core.TxStatus;
    } catch {
      // Caliper is not installed (or not beside this program): use the stand-in.
    }
  }
  return TxStatus;
}

/** A connector error with a code (Caliper logs the message). */
export class ConnectorError extends Error {
  override readonly name = "ConnectorError";
  constructor(
    readonly code: "NOT_CONFIGURED" | "NO_CONTEXT" | "UNREACHABLE" | "BAD_REQUEST" | "READ_ONLY",
    message: string,
  ) {
    super(message);
  }
}

/** "0x…" strings become bytes; arrays and objects recursively; numbers become integers. */
function toValue(input: unknown, path: string): Value {
  if (input === null || typeof input === "boolean" || typeof input === "bigint") return input;
  if (typeof input === "string") {
    return /^0x([0-9a-fA-F]{2})*$/.test(input) ? hexToBytes(input.slice(2)) : input;
  }
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) throw new ConnectorError("BAD_REQUEST", `${path}: only integers`);
    return BigInt(input);
  }
  if (input instanceof Uint8Array) return input;
  if (Array.isArray(input)) return input.map((item, index) => toValue(item, `${path}[${index}]`));
  if (typeof input === "object") {
    const map: { [key: string]: Value } = {};
    for (const [key, value] of Object.entries(input)) map[key] = toValue(value, `${path}.${key}`);
    return map;
  }
  throw new ConnectorError("BAD_REQUEST", `${path}: unsupported ${typeof input}`);
}

interface RoundContext {
  readonly chainId: string;
  readonly apiUrl: string;
  readonly client: CityLedgerClient;
  readonly socket: WebSocket;
  /** Transactions submitted and not yet committed: hash → settle. */
  readonly waiting: Map<string, (committedAtMs: number, height: string) => void>;
}

export class CityLedgerConnector extends EventEmitter {
  readonly #workerIndex: number;
  readonly #config: CityLedgerNetworkConfig;
  readonly #TxStatus: TxStatusConstructor;
  #context: RoundContext | null = null;

  constructor(workerIndex: number, config: CityLedgerNetworkConfig) {
    super();
    if (config.apiUrls.length === 0)
      throw new ConnectorError("NOT_CONFIGURED", "cityledger.apiUrls is empty");
    this.#workerIndex = workerIndex;
    this.#config = config;
    this.#TxStatus = txStatusClass();
  }

  getType(): string {
    return CONNECTOR_TYPE;
  }

  getWorkerIndex(): number {
    return this.#workerIndex;
  }

  #apiUrl(): string {
    const urls = this.#config.apiUrls;
    return urls[Math.max(0, this.#workerIndex) % urls.length]!;
  }

  /** Checks that every node answers (the manager calls this once, workers with workerInit = true). */
  async init(_workerInit?: boolean): Promise<void> {
    await Promise.all(
      this.#config.apiUrls.map(async (apiUrl) => {
        try {
          await new CityLedgerClient({ baseUrl: apiUrl }).status();
        } catch (error) {
          throw new ConnectorError("UNREACHABLE", `${apiUrl}: ${(error as Error).message}`);
        }
      }),
    );
  }

  /** The notary contract is built into every node: nothing to deploy. */
  async installSmartContract(): Promise<void> {}

  async prepareWorkerArguments(workers: number): Promise<object[]> {
    return Array.from({ length: workers }, () => ({}));
  }

  /** Subscribes to the worker's node's block notices for the round. */
  async getContext(_roundIndex: number, _args?: unknown): Promise<{ chainId: string; apiUrl: string }> {
    await this.releaseContext();
    const apiUrl = this.#apiUrl();
    const client = new CityLedgerClient({ baseUrl: apiUrl });
    const { chainId } = await client.status();
    const waiting = new Map<string, (committedAtMs: number, height: string) => void>();
    const socket = new WebSocket(`${apiUrl.replace(/^http/, "ws")}/v1/ws`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ConnectorError("UNREACHABLE", `${apiUrl}: no WebSocket subscription`)),
        SUBSCRIBE_TIMEOUT_MS,
      );
      socket.once("error", (error) => {
        clearTimeout(timer);
        reject(new ConnectorError("UNREACHABLE", `${apiUrl}: ${error.message}`));
      });
      socket.on("open", () => socket.send(JSON.stringify({ subscribe: "blocks", id: 1 })));
      socket.on("message", (data) => {
        const receivedMs = Date.now();
        let message: { type?: string; block?: { height?: string; transactionHashes?: string[] } };
        try {
          message = JSON.parse(String(data));
        } catch {
          return;
        }
        if (message.type === "subscribed") {
          clearTimeout(timer);
          resolve();
        } else if (message.type === "block") {
          for (const hash of message.block?.transactionHashes ?? []) {
            const settle = waiting.get(hash);
            if (settle === undefined) continue;
            waiting.delete(hash);
            settle(receivedMs, message.block?.height ?? "");
          }
        }
      });
    });
    this.#context = { chainId, apiUrl, client, socket, waiting };
    return { chainId, apiUrl };
  }

  async releaseContext(): Promise<void> {
    const context = this.#context;
    this.#context = null;
    if (context === null) return;
    context.socket.close(1000, "round done");
    // Anything still waiting fails now rather than at its timeout.
    for (const settle of context.waiting.values()) settle(Number.NaN, "");
    context.waiting.clear();
  }

  /** One request → one status; an array → an array of statuses (sent as batches of ≤ 500). */
  async sendRequests(
    requests: CaliperRequest | readonly CaliperRequest[],
  ): Promise<TxStatusLike | TxStatusLike[]> {
    const list = Array.isArray(requests) ? requests : [requests as CaliperRequest];
    this.emit(CALIPER_EVENTS.txsSubmitted, list.length);
    const results: TxStatusLike[] = [];
    for (let start = 0; start < list.length; start += BATCH_TXS_MAX) {
      results.push(...(await this.#sendBatch(list.slice(start, start + BATCH_TXS_MAX))));
    }
    this.emit(CALIPER_EVENTS.txsFinished, Array.isArray(requests) ? results : results[0]);
    return Array.isArray(requests) ? results : results[0]!;
  }

  async #sendBatch(requests: readonly CaliperRequest[]): Promise<TxStatusLike[]> {
    const context = this.#context;
    if (context === null) throw new ConnectorError("NO_CONTEXT", "sendRequests before getContext");
    const createdMs = Date.now();
    const statuses: TxStatusLike[] = [];
    const encoded: Uint8Array[] = [];
    for (const request of requests) {
      const status = new this.#TxStatus();
      status.SetTimeCreate(createdMs);
      statuses.push(status);
      if (request.readOnly === true)
        throw new ConnectorError("READ_ONLY", "read-only requests are not supported (use the REST API)");
      const sender = ed25519Suite.keyPairFromSeed(crypto.getRandomValues(new Uint8Array(32)));
      const body: TransactionBody = {
        suiteCode: ed25519Suite.code,
        chainId: context.chainId,
        senderPublicKey: sender.publicKey,
        nonce: 0n,
        expiryHeight: EXPIRY_HEIGHTS_AHEAD,
        contract: request.contract,
        method: request.method,
        args: toValue(request.args, "args"),
        privateReferences: [],
      };
      const bytes = encodeTransaction({
        ...body,
        signature: ed25519Suite.sign(sender.privateKey, transactionSigningBytes(body)),
      });
      status.SetID(bytesToHex(hashEncodedTransaction(bytes, ed25519Suite.hash)));
      encoded.push(bytes);
    }
    const commitTimeoutMs = this.#config.commitTimeoutMs ?? COMMIT_TIMEOUT_MS_DEFAULT;
    // Listen before submitting: a one-node chain may announce the block before the reply.
    const commits = statuses.map(
      (status) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            context.waiting.delete(status.GetID());
            status.SetStatusFail();
            status.SetErrMsg(0, `not committed within ${commitTimeoutMs} ms`);
            resolve();
          }, commitTimeoutMs);
          context.waiting.set(status.GetID(), (committedAtMs, height) => {
            clearTimeout(timer);
            if (Number.isNaN(committedAtMs)) {
              status.SetStatusFail();
              status.SetErrMsg(0, "the round ended before the commit");
            } else {
              status.SetStatusSuccess(committedAtMs);
              status.SetVerification(true);
              status.SetResult({ height });
            }
            resolve();
          });
        }),
    );
    const refuse = (index: number, message: string) => {
      const status = statuses[index]!;
      const settle = context.waiting.get(status.GetID());
      context.waiting.delete(status.GetID());
      settle?.(Number.NaN, "");
      status.SetStatusFail();
      status.SetErrMsg(0, message);
    };
    try {
      const reply = await context.client.submitBatch(encoded);
      reply.results.forEach((result, index) => {
        if (!result.accepted) refuse(index, `refused: ${"code" in result ? String(result.code) : "unknown"}`);
      });
    } catch (error) {
      for (let index = 0; index < statuses.length; index++) refuse(index, (error as Error).message);
    }
    await Promise.all(commits);
    if (this.#config.checkResults !== false) await this.#checkResults(context, statuses);
    return statuses;
  }

  /** A committed transaction whose contract call failed is final, but failed for Caliper. */
  async #checkResults(context: RoundContext, statuses: readonly TxStatusLike[]): Promise<void> {
    const committed = statuses.filter((status) => status.IsCommitted());
    let next = 0;
    const reader = async () => {
      // Bounded: each iteration takes the next committed status, until none is left.
      for (let index = next++; index < committed.length; index = next++) {
        const status = committed[index]!;
        try {
          const read = await context.client.transactionStatus(status.GetID());
          if (read.status === "committed" && !read.result.ok) {
            const committedAtMs = status.GetTimeFinal();
            status.SetStatusFail();
            (status.Marshal() as { time_final: number }).time_final = committedAtMs;
            status.SetErrMsg(0, `${read.result.errorCode ?? "FAILED"}: ${read.result.errorMessage ?? ""}`);
          }
        } catch (error) {
          status.SetVerification(false);
          status.SetErrMsg(1, `result not read: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: RESULT_READS_IN_FLIGHT_MAX }, reader));
  }
}

/** What connector-factory.cjs calls for Caliper's ConnectorFactory(workerIndex). */
export function createConnector(workerIndex: number, config: CityLedgerNetworkConfig): CityLedgerConnector {
  return new CityLedgerConnector(workerIndex, config);
}
