/**
 * A typed client for a node's API (docs/API.md), for browsers and Node alike: it uses the
 * platform's `fetch` and, when one is present or given, `WebSocket`. Every reply is checked
 * against the wire schema (./wire.ts) before it is returned; every failure is a ClientError with
 * the problem's stable `code`. Requests refused with 503 or 429 are retried a bounded number of
 * times, after the Retry-After the node asked for (capped).
 *
 * Time enters only through `ClientOptions.delay` and abort signals, never a clock read: the
 * default delay waits on `AbortSignal.timeout` (holding a MessageChannel open meanwhile, so a
 * Node process does not exit while it waits).
 *
 * @example
 * const client = new CityLedgerClient({ baseUrl: "http://127.0.0.1:8080" });
 * const { hash } = await client.submit(encodeTransaction(signed));
 * await client.waitForCommit(hash, { timeoutMs: 30_000 });
 * const receipt = await client.receipt(hash);
 * verifyReceipt(receipt, { chainId, validatorSet });
 * @module
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { assert } from "../base/assert.ts";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { type Value as CanonicalValue, valueFromJson, valueToJson } from "../encoding/index.ts";
import {
  checkWire,
  type StateRead,
  stateReadFromJson,
  u64FromDecimal,
  u64ToDecimal,
  WireFormatError,
} from "./json-codec.ts";
import { receiptFromJson, type TransactionReceipt } from "./receipt.ts";
import {
  BatchResultJson,
  BlockJson,
  EventsPageJson,
  NodeStatusJson,
  NotaryJson,
  ProblemJson,
  type ReceiptJson,
  SubmitAcceptedJson,
  type TransactionCommittedJson,
  TransactionStatusJson,
  ValidatorsJson,
  WsServerMessageJson,
} from "./wire.ts";

/** Retries after a 503 or 429, by default (so at most 4 requests for one call). */
export const CLIENT_RETRY_ATTEMPTS_DEFAULT = 3;
/** Retries a caller may ask for. */
export const CLIENT_RETRY_ATTEMPTS_MAX = 10;
/** Longest wait between two attempts, whatever Retry-After says. */
export const CLIENT_RETRY_DELAY_MS_MAX_DEFAULT = 30_000;
/** Wait before a retry when the node gives no Retry-After. */
export const CLIENT_RETRY_DELAY_MS_DEFAULT = 1_000;
/** Time one request may take, from sending to the last byte of the reply. */
export const CLIENT_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Bytes of one reply the client reads; a larger reply is an error (a block of 10,000 txs ≈ 700 KB). */
export const CLIENT_RESPONSE_BYTES_MAX = 16 * 1024 * 1024;
/** waitForCommit's defaults. */
export const CLIENT_WAIT_TIMEOUT_MS_DEFAULT = 60_000;
export const CLIENT_POLL_INTERVAL_MS_DEFAULT = 1_000;
export const CLIENT_POLL_INTERVAL_MS_MIN = 50;

/**
 * Either a problem code the node answered with (TX_BAD_SIGNATURE, MEMPOOL_FULL, NOT_FOUND, ...;
 * docs/API.md), `HTTP_<status>` when a reply carried no problem details, or one of the client's
 * own: CLIENT_NETWORK (the node was not reached or the connection broke), CLIENT_TIMEOUT (the
 * request or the wait took longer than allowed), CLIENT_ABORTED (the caller's signal fired),
 * CLIENT_BAD_RESPONSE (the reply is not what the API documents), CLIENT_INVALID_ARGUMENT (a hash
 * that is not 32 bytes of hex, say).
 */
export type ClientErrorCode = string;

/** Every failure of a client call. Match on `code`, never on the message. */
export class ClientError extends CityLedgerError<ClientErrorCode> {
  override name = "ClientError";
  /** The HTTP status, or null when there was no HTTP answer. */
  readonly status: number | null;
  /** How long the node asked to wait before trying again, when it said. */
  readonly retryAfterMs: number | null;
  /** The node's problem details, when it sent them. */
  readonly problem: ProblemJson | null;

  constructor(
    code: ClientErrorCode,
    message: string,
    fields: { status?: number | null; retryAfterMs?: number | null; problem?: ProblemJson | null } = {},
  ) {
    super(code, message);
    this.status = fields.status ?? null;
    this.retryAfterMs = fields.retryAfterMs ?? null;
    this.problem = fields.problem ?? null;
  }
}

/** Waits `ms` milliseconds; rejects when `signal` aborts first. */
export type DelayFunction = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The part of the WHATWG WebSocket the client uses (browsers' WebSocket, the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open" | "close" | "error", listener: () => void): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** The node's API, such as `http://127.0.0.1:8080` (paths are appended to it). */
  readonly baseUrl: string;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** For waitForCommit's push path; default: the global WebSocket when there is one; null: never. */
  readonly webSocket?: WebSocketConstructor | null;
  /** Retries after 503/429; default CLIENT_RETRY_ATTEMPTS_DEFAULT, at most CLIENT_RETRY_ATTEMPTS_MAX. */
  readonly retryAttempts?: number;
  /** Cap on one wait between attempts; default CLIENT_RETRY_DELAY_MS_MAX_DEFAULT. */
  readonly retryDelayMsMax?: number;
  /** Default CLIENT_REQUEST_TIMEOUT_MS_DEFAULT. */
  readonly requestTimeoutMs?: number;
  /** How the client waits (between retries and polls); tests pass a fake. */
  readonly delay?: DelayFunction;
  /** Extra headers on every request (an API key a gateway wants, say). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface WaitForCommitOptions extends CallOptions {
  /** Default CLIENT_WAIT_TIMEOUT_MS_DEFAULT. */
  readonly timeoutMs?: number;
  /** Default CLIENT_POLL_INTERVAL_MS_DEFAULT, at least CLIENT_POLL_INTERVAL_MS_MIN. */
  readonly pollIntervalMs?: number;
  /** Also listen on the WebSocket for the commit (when one is available); default true. */
  readonly useWebSocket?: boolean;
}

export interface EventQuery extends CallOptions {
  readonly contract?: string;
  readonly type?: string;
  /** The event's indexed key (its data's `key` field). */
  readonly key?: string;
  readonly after?: number;
  readonly limit?: number;
}

/** A record of identity or governance in the API's plain JSON (docs/API.md). */
export type RecordJson = Record<string, unknown>;

function pageQueryOf(page: { from?: bigint; limit?: number }): string {
  const parameters = new URLSearchParams();
  if (page.from !== undefined) parameters.set("from", u64ToDecimal(page.from));
  if (page.limit !== undefined) parameters.set("limit", String(page.limit));
  const text = parameters.toString();
  return text === "" ? "" : `?${text}`;
}

export interface NotaryRead {
  readonly documentHash: string;
  readonly record: Readonly<Record<string, unknown>> | null;
  readonly read: StateRead;
}

export type HashInput = string | Uint8Array;

/** The default DelayFunction: AbortSignal.timeout, with a MessageChannel keeping Node alive. */
export const platformDelay: DelayFunction = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const hold = new MessageChannel();
    hold.port1.onmessage = () => {};
    const timer = AbortSignal.timeout(Math.max(0, ms));
    const finish = () => {
      hold.port1.close();
      signal?.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      finish();
      reject(signal?.reason);
    };
    timer.addEventListener(
      "abort",
      () => {
        finish();
        resolve();
      },
      { once: true },
    );
    signal?.addEventListener("abort", onAbort, { once: true });
  });

const HASH_HEX = /^[0-9a-fA-F]{64}$/;
const JSON_TYPES = /^application\/(problem\+)?json\b/i;

/** The node's API, typed. One instance per node; safe to share between concurrent calls. */
export class CityLedgerClient {
  readonly baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #webSocket: WebSocketConstructor | null;
  readonly #retryAttempts: number;
  readonly #retryDelayMsMax: number;
  readonly #requestTimeoutMs: number;
  readonly #delay: DelayFunction;
  readonly #headers: Readonly<Record<string, string>>;

  constructor(options: ClientOptions) {
    const fetchFunction = options.fetch ?? globalThis.fetch;
    assert(typeof fetchFunction === "function", "CityLedgerClient: no fetch in this environment; pass one");
    assert(/^https?:\/\//.test(options.baseUrl), "CityLedgerClient: baseUrl must be an http(s) URL");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    // Called as a plain function: browsers refuse `window.fetch` called as another object's method.
    this.#fetch = (input, init) => fetchFunction(input, init);
    this.#webSocket =
      options.webSocket === undefined
        ? ((globalThis as { WebSocket?: WebSocketConstructor }).WebSocket ?? null)
        : options.webSocket;
    this.#retryAttempts = options.retryAttempts ?? CLIENT_RETRY_ATTEMPTS_DEFAULT;
    assert(Number.isInteger(this.#retryAttempts), "retryAttempts is an integer");
    assert(this.#retryAttempts >= 0, "retryAttempts is not negative");
    assert(
      this.#retryAttempts <= CLIENT_RETRY_ATTEMPTS_MAX,
      "retryAttempts is at most CLIENT_RETRY_ATTEMPTS_MAX",
    );
    this.#retryDelayMsMax = options.retryDelayMsMax ?? CLIENT_RETRY_DELAY_MS_MAX_DEFAULT;
    assert(this.#retryDelayMsMax >= 0, "retryDelayMsMax is not negative");
    this.#requestTimeoutMs = options.requestTimeoutMs ?? CLIENT_REQUEST_TIMEOUT_MS_DEFAULT;
    assert(this.#requestTimeoutMs > 0, "requestTimeoutMs is positive");
    this.#delay = options.delay ?? platformDelay;
    this.#headers = options.headers ?? {};
  }

  /** Submits one encoded transaction; resolves once the node admitted it to its pool. */
  async submit(encodedTransaction: Uint8Array, options: CallOptions = {}) {
    assert(encodedTransaction instanceof Uint8Array, "submit: the transaction is bytes");
    const reply = await this.#call("POST", "/v1/transactions", options, {
      body: encodedTransaction,
      contentType: "application/octet-stream",
    });
    return parsed(SubmitAcceptedJson, reply, "the submit reply");
  }

  /** Submits transactions in one request (in order); each gets its own result. */
  async submitBatch(encodedTransactions: readonly Uint8Array[], options: CallOptions = {}) {
    const body = JSON.stringify({ transactions: encodedTransactions.map((bytes) => bytesToHex(bytes)) });
    const reply = await this.#call("POST", "/v1/transactions/batch", options, {
      body,
      contentType: "application/json",
    });
    const result = parsed(BatchResultJson, reply, "the batch reply");
    if (result.results.length !== encodedTransactions.length) {
      throw new ClientError("CLIENT_BAD_RESPONSE", "the batch reply has another count of results");
    }
    return result;
  }

  async status(options: CallOptions = {}) {
    return parsed(NodeStatusJson, await this.#call("GET", "/v1/status", options), "the status");
  }

  /** Where a transaction is; a hash the node does not know gives `{status: "unknown"}`. */
  async transactionStatus(hash: HashInput, options: CallOptions = {}) {
    const hashHex = hashHexOf(hash);
    try {
      const reply = await this.#call("GET", `/v1/transactions/${hashHex}`, options);
      return parsed(TransactionStatusJson, reply, "the transaction status");
    } catch (error) {
      if (error instanceof ClientError && error.status === 404 && error.code === "NOT_FOUND") {
        return { status: "unknown" as const, hash: hashHex };
      }
      throw error;
    }
  }

  /**
   * Resolves with the committed status once the transaction is in a block: polls every
   * `pollIntervalMs` and, when a WebSocket is available, also listens for the commit. Throws
   * ClientError CLIENT_TIMEOUT after `timeoutMs`, CLIENT_ABORTED when the signal fires.
   */
  async waitForCommit(
    hash: HashInput,
    options: WaitForCommitOptions = {},
  ): Promise<TransactionCommittedJson> {
    const hashHex = hashHexOf(hash);
    const timeoutMs = options.timeoutMs ?? CLIENT_WAIT_TIMEOUT_MS_DEFAULT;
    const pollIntervalMs = Math.max(
      CLIENT_POLL_INTERVAL_MS_MIN,
      options.pollIntervalMs ?? CLIENT_POLL_INTERVAL_MS_DEFAULT,
    );
    assert(timeoutMs > 0, "waitForCommit: timeoutMs is positive");
    const done = new AbortController();
    const deadline = AbortSignal.timeout(timeoutMs);
    const signals = [deadline, done.signal, ...(options.signal === undefined ? [] : [options.signal])];
    const signal = AbortSignal.any(signals);
    const waiters: Promise<TransactionCommittedJson>[] = [
      this.#pollForCommit(hashHex, pollIntervalMs, signal),
    ];
    if (options.useWebSocket !== false && this.#webSocket !== null) {
      waiters.push(this.#listenForCommit(hashHex, signal));
    }
    try {
      return await Promise.any(waiters);
    } catch (error) {
      if (options.signal?.aborted) throw new ClientError("CLIENT_ABORTED", "waitForCommit was aborted");
      if (deadline.aborted) {
        throw new ClientError("CLIENT_TIMEOUT", `the transaction was not committed within ${timeoutMs} ms`);
      }
      const first = error instanceof AggregateError ? error.errors[0] : error;
      throw first instanceof ClientError
        ? first
        : new ClientError("CLIENT_NETWORK", "waiting for the commit failed");
    } finally {
      done.abort();
    }
  }

  async #pollForCommit(hashHex: string, pollIntervalMs: number, signal: AbortSignal) {
    // Bounded by the deadline signal: every iteration either returns, waits or throws on abort.
    for (;;) {
      const status = await this.transactionStatus(hashHex, { signal });
      if (status.status === "committed") return status;
      await this.#delay(pollIntervalMs, signal);
    }
  }

  #listenForCommit(hashHex: string, signal: AbortSignal): Promise<TransactionCommittedJson> {
    const WebSocketClass = this.#webSocket;
    assert(WebSocketClass !== null, "listenForCommit: a WebSocket constructor");
    return new Promise((resolve, reject) => {
      const socket = new WebSocketClass(`${this.baseUrl.replace(/^http/, "ws")}/v1/ws`);
      const stop = () => {
        signal.removeEventListener("abort", stop);
        socket.close(1000, "done");
        reject(new ClientError("CLIENT_ABORTED", "stopped listening"));
      };
      signal.addEventListener("abort", stop, { once: true });
      socket.addEventListener("open", () => socket.send(JSON.stringify({ subscribe: "tx", hash: hashHex })));
      socket.addEventListener("error", () =>
        reject(new ClientError("CLIENT_NETWORK", "the WebSocket connection failed")),
      );
      socket.addEventListener("close", () =>
        reject(new ClientError("CLIENT_NETWORK", "the WebSocket closed")),
      );
      socket.addEventListener("message", (event) => {
        if (typeof event.data !== "string") return;
        let message: unknown;
        try {
          message = JSON.parse(event.data);
        } catch {
          return; // Not JSON: not a message of the documented protocol; polling still runs.
        }
        if (!Value.Check(WsServerMessageJson, message)) return;
        if (message.type === "tx" && message.status.hash === hashHex) {
          signal.removeEventListener("abort", stop);
          socket.close(1000, "done");
          resolve(message.status);
        }
      });
    });
  }

  /** The receipt's JSON form, as the node sent it (to store or hand on). */
  async receiptJson(hash: HashInput, options: CallOptions = {}): Promise<ReceiptJson> {
    const reply = await this.#call("GET", `/v1/transactions/${hashHexOf(hash)}/receipt`, options);
    try {
      receiptFromJson(reply);
    } catch (error) {
      throw badResponse(error, "the receipt");
    }
    return reply as ReceiptJson;
  }

  /** The receipt, decoded; check it with verifyReceipt before believing it. */
  async receipt(hash: HashInput, options: CallOptions = {}): Promise<TransactionReceipt> {
    const reply = await this.#call("GET", `/v1/transactions/${hashHexOf(hash)}/receipt`, options);
    try {
      return receiptFromJson(reply);
    } catch (error) {
      throw badResponse(error, "the receipt");
    }
  }

  /** A block's summary by height, or the latest block. */
  async block(height: bigint | "latest", options: CallOptions = {}) {
    const path = height === "latest" ? "/v1/blocks/latest" : `/v1/blocks/${u64ToDecimal(height)}`;
    return parsed(BlockJson, await this.#call("GET", path, options), "the block");
  }

  async blockByHash(hash: HashInput, options: CallOptions = {}) {
    const reply = await this.#call("GET", `/v1/blocks/hash/${hashHexOf(hash)}`, options);
    return parsed(BlockJson, reply, "the block");
  }

  /** The validator set that signs blocks at `height` (default: the next height). */
  async validators(height?: bigint, options: CallOptions = {}) {
    const query = height === undefined ? "" : `?height=${u64ToDecimal(height)}`;
    return parsed(
      ValidatorsJson,
      await this.#call("GET", `/v1/validators${query}`, options),
      "the validators",
    );
  }

  /** A state value with its proof (check with verifyStateProof against a trusted state root). */
  async readState(key: HashInput, options: CallOptions = {}): Promise<StateRead> {
    const reply = await this.#call("GET", `/v1/state/${hashHexOf(key)}`, options);
    try {
      return stateReadFromJson(reply);
    } catch (error) {
      throw badResponse(error, "the state read");
    }
  }

  /** The notary contract's record of a document hash (record null when never notarized). */
  async notary(documentHash: HashInput, options: CallOptions = {}): Promise<NotaryRead> {
    const reply = parsed(
      NotaryJson,
      await this.#call("GET", `/v1/notary/${hashHexOf(documentHash)}`, options),
      "the notary record",
    );
    try {
      return { documentHash: reply.documentHash, record: reply.record, read: stateReadFromJson(reply.read) };
    } catch (error) {
      throw badResponse(error, "the notary record");
    }
  }

  /** One page of indexed events; pass `next` back as `after` for the following page. */
  async events(query: EventQuery = {}) {
    const parameters = new URLSearchParams();
    if (query.contract !== undefined) parameters.set("contract", query.contract);
    if (query.type !== undefined) parameters.set("type", query.type);
    if (query.key !== undefined) parameters.set("key", query.key);
    if (query.after !== undefined) parameters.set("after", String(query.after));
    if (query.limit !== undefined) parameters.set("limit", String(query.limit));
    const text = parameters.toString();
    const reply = await this.#call("GET", `/v1/events${text === "" ? "" : `?${text}`}`, query);
    return parsed(EventsPageJson, reply, "the events page");
  }

  /** Every organization with its departments (identity at the committed state). */
  async organizations(options: CallOptions = {}): Promise<{ organizations: RecordJson[] }> {
    const reply = recordOf(await this.#call("GET", "/v1/organizations", options), "the organizations");
    return { organizations: recordsOf(reply.organizations, "the organizations") };
  }

  async organization(id: string, options: CallOptions = {}): Promise<RecordJson> {
    return recordOf(
      await this.#call("GET", `/v1/organizations/${encodeURIComponent(id)}`, options),
      "the organization",
    );
  }

  /** The membership attested for a key id (organization, department, roles, expiry, status). */
  async member(keyId: HashInput, options: CallOptions = {}): Promise<RecordJson> {
    return recordOf(await this.#call("GET", `/v1/members/${hashHexOf(keyId)}`, options), "the member");
  }

  async committee(options: CallOptions = {}): Promise<RecordJson> {
    return recordOf(await this.#call("GET", "/v1/committee", options), "the committee");
  }

  /** One page of proposals from id `from` (default 1); pass `next` back as `from`. */
  async proposals(
    page: { from?: bigint; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<{ proposals: RecordJson[]; total: string; next: string | null }> {
    const reply = recordOf(
      await this.#call("GET", `/v1/proposals${pageQueryOf(page)}`, options),
      "the proposals",
    );
    return {
      proposals: recordsOf(reply.proposals, "the proposals"),
      ...pageCursorOf(reply, "the proposals"),
    };
  }

  async proposal(id: bigint, options: CallOptions = {}): Promise<RecordJson> {
    return recordOf(await this.#call("GET", `/v1/proposals/${u64ToDecimal(id)}`, options), "the proposal");
  }

  async parameters(options: CallOptions = {}): Promise<Record<string, string>> {
    const reply = recordOf(await this.#call("GET", "/v1/parameters", options), "the parameters");
    for (const value of Object.values(reply)) {
      if (typeof value !== "string")
        throw new ClientError("CLIENT_BAD_RESPONSE", "a parameter is not a decimal");
    }
    return reply as Record<string, string>;
  }

  async contracts(
    page: { from?: bigint; limit?: number } = {},
    options: CallOptions = {},
  ): Promise<{ contracts: RecordJson[]; total: string; next: string | null }> {
    const reply = recordOf(
      await this.#call("GET", `/v1/contracts${pageQueryOf(page)}`, options),
      "the contracts",
    );
    return {
      contracts: recordsOf(reply.contracts, "the contracts"),
      ...pageCursorOf(reply, "the contracts"),
    };
  }

  /** A deployed contract: its active version and every version. */
  async contract(
    name: string,
    options: CallOptions = {},
  ): Promise<{ active: RecordJson; versions: RecordJson[] }> {
    const reply = recordOf(
      await this.#call("GET", `/v1/contracts/${encodeURIComponent(name)}`, options),
      "the contract",
    );
    return {
      active: recordOf(reply.active, "the contract's active version"),
      versions: recordsOf(reply.versions, "the contract's versions"),
    };
  }

  /** Uploaded contract code by its hash (the bundled module's bytes), or null when none was uploaded. */
  async contractCode(codeHash: HashInput, options: CallOptions = {}): Promise<Uint8Array | null> {
    const path = `/v1/code/${hashHexOf(codeHash)}`;
    const response = await this.#send("GET", path, options);
    if (response.ok) return new TextEncoder().encode(await this.#readText(response, options));
    const error = await this.#problemOf(response, options);
    if (error.status === 404 && error.code === "NOT_FOUND") return null;
    throw error;
  }

  /** The permission rule of a contract's method or named permission; NOT_FOUND when there is none. */
  async permission(contract: string, name: string, options: CallOptions = {}): Promise<RecordJson> {
    return recordOf(
      await this.#call(
        "GET",
        `/v1/permissions/${encodeURIComponent(contract)}/${encodeURIComponent(name)}`,
        options,
      ),
      "the permission rule",
    );
  }

  /**
   * Runs a contract method read-only at the committed state, as `caller` (a key id; default
   * anonymous). Arguments and result are canonical values; a failing call is a ClientError with
   * the contract's code.
   */
  async queryContract(
    name: string,
    method: string,
    args: CanonicalValue,
    caller?: HashInput,
    options: CallOptions = {},
  ): Promise<{ value: CanonicalValue; gasUsed: bigint }> {
    const body = JSON.stringify({
      method,
      args: valueToJson(args),
      ...(caller === undefined ? {} : { caller: hashHexOf(caller) }),
    });
    const reply = (await this.#call("POST", `/v1/contracts/${encodeURIComponent(name)}/query`, options, {
      body,
      contentType: "application/json",
    })) as { value?: unknown; gasUsed?: unknown };
    try {
      if (typeof reply.gasUsed !== "string") throw new Error("gasUsed");
      return { value: valueFromJson(reply.value), gasUsed: u64FromDecimal(reply.gasUsed, "gasUsed") };
    } catch (error) {
      throw badResponse(error, "the query result");
    }
  }

  /**
   * One call: sends the request, retries after 503/429 (bounded), and gives the parsed JSON of a
   * 2xx reply. Anything else is a ClientError.
   */
  async #call(
    method: "GET" | "POST",
    path: string,
    options: CallOptions,
    send?: { body: string | Uint8Array; contentType: string },
  ): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      assert(attempt <= this.#retryAttempts, "call: attempts stay within retryAttempts");
      const response = await this.#send(method, path, options, send);
      if (response.ok) return this.#readJson(response, options);
      const error = await this.#problemOf(response, options);
      const retryable = response.status === 503 || response.status === 429;
      if (!retryable || attempt === this.#retryAttempts) throw error;
      const waitMs = Math.min(error.retryAfterMs ?? CLIENT_RETRY_DELAY_MS_DEFAULT, this.#retryDelayMsMax);
      try {
        await this.#delay(waitMs, options.signal);
      } catch {
        throw new ClientError("CLIENT_ABORTED", "the call was aborted while waiting to retry");
      }
    }
  }

  async #send(
    method: "GET" | "POST",
    path: string,
    options: CallOptions,
    send?: { body: string | Uint8Array; contentType: string },
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.#requestTimeoutMs);
    const signal = options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]);
    const headers: Record<string, string> = { accept: "application/json", ...this.#headers };
    if (send !== undefined) headers["content-type"] = send.contentType;
    try {
      return await this.#fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: send?.body as BodyInit | undefined,
        signal,
      });
    } catch {
      if (options.signal?.aborted) throw new ClientError("CLIENT_ABORTED", `${method} ${path} was aborted`);
      if (timeout.aborted) {
        throw new ClientError("CLIENT_TIMEOUT", `${method} ${path} took over ${this.#requestTimeoutMs} ms`);
      }
      throw new ClientError("CLIENT_NETWORK", `${method} ${path} did not reach the node`);
    }
  }

  async #readJson(response: Response, options: CallOptions): Promise<unknown> {
    const text = await this.#readText(response, options);
    if (!JSON_TYPES.test(response.headers.get("content-type") ?? "")) {
      throw new ClientError("CLIENT_BAD_RESPONSE", "the node did not answer with JSON", {
        status: response.status,
      });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ClientError("CLIENT_BAD_RESPONSE", "the node's reply is not valid JSON", {
        status: response.status,
      });
    }
  }

  /** The reply's text, reading at most CLIENT_RESPONSE_BYTES_MAX bytes. */
  async #readText(response: Response, options: CallOptions): Promise<string> {
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > CLIENT_RESPONSE_BYTES_MAX) {
      await response.body?.cancel();
      throw new ClientError("CLIENT_BAD_RESPONSE", "the node's reply is larger than the client reads", {
        status: response.status,
      });
    }
    const reader = response.body?.getReader();
    if (reader === undefined) return "";
    const decoder = new TextDecoder();
    let text = "";
    let sizeBytes = 0;
    try {
      // Bounded: every chunk adds to sizeBytes, which may not pass CLIENT_RESPONSE_BYTES_MAX.
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        sizeBytes += value.length;
        if (sizeBytes > CLIENT_RESPONSE_BYTES_MAX) {
          await reader.cancel();
          throw new ClientError("CLIENT_BAD_RESPONSE", "the node's reply is larger than the client reads", {
            status: response.status,
          });
        }
        text += decoder.decode(value, { stream: true });
      }
    } catch (error) {
      if (error instanceof ClientError) throw error;
      if (options.signal?.aborted) throw new ClientError("CLIENT_ABORTED", "the call was aborted");
      throw new ClientError("CLIENT_NETWORK", "the reply was cut off", { status: response.status });
    }
    return text + decoder.decode();
  }

  /** The ClientError for a non-2xx reply: the problem's code when the node sent problem+json. */
  async #problemOf(response: Response, options: CallOptions): Promise<ClientError> {
    const retryAfterHeader = retryAfterMsOf(response.headers.get("retry-after"));
    let body: unknown = null;
    try {
      const text = await this.#readText(response, options);
      body = JSON_TYPES.test(response.headers.get("content-type") ?? "") ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (Value.Check(ProblemJson, body)) {
      return new ClientError(body.code, body.detail, {
        status: response.status,
        retryAfterMs: body.retryAfterMs ?? retryAfterHeader,
        problem: body,
      });
    }
    return new ClientError(`HTTP_${response.status}`, `the node answered ${response.status}`, {
      status: response.status,
      retryAfterMs: retryAfterHeader,
    });
  }
}

/** A reply that must be a JSON object (the API's identity and governance records). */
function recordOf(json: unknown, what: string): RecordJson {
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ClientError("CLIENT_BAD_RESPONSE", `${what}: not a JSON object`);
  }
  return json as RecordJson;
}

function recordsOf(json: unknown, what: string): RecordJson[] {
  if (!Array.isArray(json)) throw new ClientError("CLIENT_BAD_RESPONSE", `${what}: not a list`);
  return json.map((item) => recordOf(item, what));
}

/** `total` (a decimal) and `next` (a decimal or null) of a page. */
function pageCursorOf(reply: RecordJson, what: string): { total: string; next: string | null } {
  const { total, next } = reply;
  if (typeof total !== "string" || !(next === null || typeof next === "string")) {
    throw new ClientError("CLIENT_BAD_RESPONSE", `${what}: total or next is missing`);
  }
  return { total, next };
}

function parsed<Schema extends TSchema>(schema: Schema, json: unknown, what: string) {
  try {
    checkWire(schema, json, what);
  } catch (error) {
    throw badResponse(error, what);
  }
  return json as Static<Schema>;
}

function badResponse(error: unknown, what: string): ClientError {
  if (error instanceof WireFormatError) return new ClientError("CLIENT_BAD_RESPONSE", error.message);
  return new ClientError("CLIENT_BAD_RESPONSE", `${what} could not be read`);
}

function hashHexOf(hash: HashInput): string {
  if (hash instanceof Uint8Array) {
    if (hash.length !== 32) throw new ClientError("CLIENT_INVALID_ARGUMENT", "a hash is 32 bytes");
    return bytesToHex(hash);
  }
  if (typeof hash !== "string" || !HASH_HEX.test(hash)) {
    throw new ClientError("CLIENT_INVALID_ARGUMENT", "a hash is 64 hex characters");
  }
  return hash.toLowerCase();
}

/** Retry-After as delay-seconds (RFC 9110 section 10.2.3); HTTP dates are not used by the API. */
function retryAfterMsOf(header: string | null): number | null {
  if (header === null || !/^[0-9]{1,6}$/.test(header.trim())) return null;
  return Number(header.trim()) * 1000;
}
