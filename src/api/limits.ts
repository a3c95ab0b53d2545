/**
 * Every limit of the API, named here, checked against the core's limits when this module loads,
 * and documented in docs/LIMITS.md ("API"). Defaults a node's configuration may change end in
 * `_DEFAULT`; the others are fixed.
 * @module
 */
import { assert } from "../base/assert.ts";
import { BLOCK_TXS_MAX, TX_SIZE_BYTES_MAX } from "../base/limits.ts";
import { EVENT_DATA_BYTES_MAX as WIRE_EVENT_DATA_BYTES_MAX } from "../sdk/wire.ts";
import { EVENT_DATA_BYTES_MAX, QUERY_RESULTS_MAX } from "../storage/limits.ts";

/** JSON envelope around one hex transaction: `{"transaction":"…"}` plus whitespace. */
const TX_JSON_ENVELOPE_BYTES = 1024;

/** Body of POST /v1/transactions: one transaction as hex in JSON (two characters a byte). */
export const API_TX_BODY_BYTES_MAX = 2 * TX_SIZE_BYTES_MAX + TX_JSON_ENVELOPE_BYTES;
/** Transactions in one POST /v1/transactions/batch. */
export const API_BATCH_TXS_MAX = 500;
/**
 * Body of a batch: caps the bytes a batch carries, whatever its count. 500 transactions of up to
 * 4 KiB each (hex) fit; so does one transaction of TX_SIZE_BYTES_MAX.
 */
export const API_BATCH_BODY_BYTES_MAX = 4 * 1024 * 1024;
/** Body of every other request (they take none; a body sent anyway is refused past this). */
export const API_BODY_BYTES_MAX = API_TX_BODY_BYTES_MAX;
/** Events in one page of GET /v1/events (the store's own page bound). */
export const API_EVENTS_PAGE_MAX = QUERY_RESULTS_MAX;
export const API_EVENTS_PAGE_DEFAULT = 100;

/** Open TCP connections (HTTP and WebSocket) per node; more are refused (Node's maxConnections). */
export const API_CONNECTIONS_MAX_DEFAULT = 1_024;
/** Idle time after which the server closes a socket (Node's server.timeout). */
export const API_CONNECTION_TIMEOUT_MS_DEFAULT = 60_000;
/** Time to receive a whole request, headers and body (Node's server.requestTimeout): slow loris. */
export const API_REQUEST_TIMEOUT_MS_DEFAULT = 30_000;
/** Idle time of a kept-alive connection between requests. */
export const API_KEEP_ALIVE_TIMEOUT_MS_DEFAULT = 5_000;

/** Requests one client address may make per window. */
export const API_RATE_LIMIT_REQUESTS_DEFAULT = 600;
export const API_RATE_LIMIT_WINDOW_MS_DEFAULT = 60_000;
/** Client addresses the rate limiter remembers (least recently seen are forgotten first). */
export const API_RATE_LIMIT_CLIENTS_MAX = 10_000;

/** Open WebSocket connections per node; more are closed at once with API_WS_CLOSE_OVERLOADED. */
export const API_WS_CONNECTIONS_MAX = 512;
/** Subscriptions one socket may hold. */
export const API_WS_SUBSCRIPTIONS_PER_SOCKET_MAX = 32;
/** One message a client sends: a submit carries one hex transaction. */
export const API_WS_MESSAGE_BYTES_MAX = API_TX_BODY_BYTES_MAX;
/**
 * Bytes queued to one socket and not yet sent: past this the client is too slow and is closed
 * with API_WS_CLOSE_SLOW_CONSUMER rather than buffered without bound.
 */
export const API_WS_SEND_BUFFER_BYTES_MAX = 1024 * 1024;
/** Submits of one socket waiting for the node's answer; more are refused with RATE_LIMITED. */
export const API_WS_SUBMITS_IN_FLIGHT_MAX = 64;
/** Events one push carries; a block with more matching events pushes the first and `truncated`. */
export const API_WS_EVENTS_PER_PUSH_MAX = 256;
/** Bytes of one push; events past it are left out and the push says `truncated`. */
export const API_WS_PUSH_BYTES_MAX = 256 * 1024;
/** A socket that has not answered a ping within this interval is dropped. */
export const API_WS_PING_INTERVAL_MS = 30_000;
/** Close codes (RFC 6455 section 7.4.1). */
export const API_WS_CLOSE_SLOW_CONSUMER = 1013;
export const API_WS_CLOSE_OVERLOADED = 1013;

assert(
  API_BATCH_BODY_BYTES_MAX >= API_TX_BODY_BYTES_MAX,
  "a batch carries a transaction of the largest size",
);
assert(API_BATCH_TXS_MAX <= BLOCK_TXS_MAX, "a batch is at most a block of transactions");
assert(API_BATCH_TXS_MAX * 2 * 1024 <= API_BATCH_BODY_BYTES_MAX, "a full batch of 1 KiB transactions fits");
assert(API_WS_PUSH_BYTES_MAX >= 2 * EVENT_DATA_BYTES_MAX + 4096, "a push carries at least one event");
assert(2 * API_WS_PUSH_BYTES_MAX <= API_WS_SEND_BUFFER_BYTES_MAX, "a healthy client takes a burst of pushes");
assert(API_EVENTS_PAGE_DEFAULT <= API_EVENTS_PAGE_MAX, "the default page is a valid page");
assert(
  API_REQUEST_TIMEOUT_MS_DEFAULT <= API_CONNECTION_TIMEOUT_MS_DEFAULT,
  "a request ends before the socket",
);
assert(WIRE_EVENT_DATA_BYTES_MAX === EVENT_DATA_BYTES_MAX, "the wire bound on event data is the store's");
