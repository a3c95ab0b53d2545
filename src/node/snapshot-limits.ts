/**
 * Limits and durations of snapshot sync (docs/adr/0005-snapshot-sync.md), serving and joining,
 * each documented in docs/LIMITS.md ("Snapshot sync"). Limits that depend on the transport's and
 * the store's are checked against them when this module loads.
 * @module
 */
import { assert } from "../base/assert.ts";
import { VALIDATORS_MAX } from "../base/limits.ts";
import { LOG_LEVELS_MAX } from "../ledger/merkle-proof.ts";
import { NET_PEERS_MAX, NET_SCORE_BAN_THRESHOLD, NET_SNAPSHOT_MESSAGE_BYTES_MAX } from "../net/index.ts";
import {
  SNAPSHOT_CHUNK_BYTES_MAX,
  SNAPSHOT_CHUNKS_MAX,
  SNAPSHOT_MANIFEST_BYTES_MAX,
} from "../storage/index.ts";

const KIB = 1024;

/** Serving: a snapshot is exported at every height that is a multiple of this (config: sync.snapshotIntervalHeights). */
export const SNAPSHOT_INTERVAL_HEIGHTS_DEFAULT = 1_000;
/** The largest interval a config may set (0 turns exports off). */
export const SNAPSHOT_INTERVAL_HEIGHTS_MAX = 10_000_000;
/** Serving: snapshots kept (the newest), to offer and serve (config: sync.snapshotsKept). */
export const SNAPSHOTS_KEPT_DEFAULT = 2;
export const SNAPSHOTS_KEPT_MAX = 8;
/** Offers in one offers message: every kept snapshot. */
export const SNAPSHOT_OFFERS_MAX = SNAPSHOTS_KEPT_MAX;
/** An encoded block header inside an offer (a header is under 500 bytes). */
export const SNAPSHOT_HEADER_BYTES_MAX = 1 * KIB;
/** A commit certificate inside an offer: 128 signatures of 64 bytes with their indexes, and the rest. */
export const SNAPSHOT_CERTIFICATE_BYTES_MAX = 64 + VALIDATORS_MAX * (4 + 4 + 64);
/** Frontier hashes in one frontier message: one per level. */
export const SNAPSHOT_FRONTIER_HASHES_MAX = LOG_LEVELS_MAX;
/** The envelope of any snapshot message besides its largest field (version, kind, heights, hashes, indexes). */
export const SNAPSHOT_MESSAGE_ENVELOPE_BYTES_MAX = 1 * KIB;

/** Serving: requests one peer may make per second on average (a token bucket refilled at this rate). */
export const SNAPSHOT_SERVE_REQUESTS_PER_SECOND = 16;
/** Serving: requests one peer may make back to back (the bucket's size). */
export const SNAPSHOT_SERVE_REQUESTS_BURST_MAX = 32;
/** Serving: chunks being made at once, for all peers together (each up to SNAPSHOT_CHUNK_BYTES_MAX). */
export const SNAPSHOT_SERVE_CHUNKS_IN_FLIGHT_MAX = 4;
/** Serving: chunks being made at once for one peer. */
export const SNAPSHOT_SERVE_PEER_CHUNKS_IN_FLIGHT_MAX = 2;
/** Serving: peers whose request budget is remembered (least recently seen forgotten first). */
export const SNAPSHOT_SERVE_PEERS_TRACKED_MAX = NET_PEERS_MAX;

/** Joining: how long to look for offers before starting from genesis instead. */
export const SNAPSHOT_SYNC_DISCOVERY_TIMEOUT_MS = 10_000;
/** Joining: after the first valid offer, how long to wait for better ones from other peers. */
export const SNAPSHOT_SYNC_OFFER_WAIT_MS = 1_000;
/** Joining: how often a peer that has not answered is asked for its offers again. */
export const SNAPSHOT_SYNC_OFFER_REQUEST_INTERVAL_MS = 1_000;
/** Joining: one request (manifest, frontier, block, chunk) before it is asked of another peer. */
export const SNAPSHOT_SYNC_REQUEST_TIMEOUT_MS = 15_000;
/** Joining: chunk requests in flight, all peers together. */
export const SNAPSHOT_SYNC_CHUNKS_IN_FLIGHT_MAX = 4;
/** Joining: chunk requests in flight to one peer (what a server accepts). */
export const SNAPSHOT_SYNC_PEER_CHUNKS_IN_FLIGHT_MAX = SNAPSHOT_SERVE_PEER_CHUNKS_IN_FLIGHT_MAX;
/** Joining: chunks received ahead of the next one to apply (the reorder window), bounding memory. */
export const SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX = 8;
/** Joining: how long a peer that answered "busy" is left alone before it is asked again. */
export const SNAPSHOT_SYNC_BUSY_BACKOFF_MS = 500;
/** Joining: failures (timeouts, refusals) after which a peer is not asked again in this attempt. */
export const SNAPSHOT_SYNC_PEER_FAILURES_MAX = 3;
/** Joining: whole attempts (discovery to import) before starting from genesis instead. */
export const SNAPSHOT_SYNC_ATTEMPTS_MAX = 3;
/** Joining: offers remembered in one discovery (every peer's, each with up to SNAPSHOT_OFFERS_MAX). */
export const SNAPSHOT_SYNC_OFFERS_MAX = NET_PEERS_MAX * SNAPSHOT_OFFERS_MAX;

/** Points for a provable lie (a certificate that does not verify, bytes that do not match their hash): a ban. */
export const PENALTY_POINTS_SNAPSHOT_FORGED = NET_SCORE_BAN_THRESHOLD;
/** Points for a request no honest joiner makes (a chunk index past the manifest's count). */
export const PENALTY_POINTS_SNAPSHOT_INVALID = 20;
/** Points for a snapshot message that does not decode. */
export const PENALTY_POINTS_SNAPSHOT_MALFORMED = 50;
/** Points for a request over the rate limit, or an answer nobody asked for. */
export const PENALTY_POINTS_SNAPSHOT_RATE = 5;

assert(
  SNAPSHOT_CHUNK_BYTES_MAX + SNAPSHOT_MESSAGE_ENVELOPE_BYTES_MAX <= NET_SNAPSHOT_MESSAGE_BYTES_MAX,
  "a chunk message fits the snapshot channel",
);
assert(
  SNAPSHOT_MANIFEST_BYTES_MAX + SNAPSHOT_MESSAGE_ENVELOPE_BYTES_MAX <= NET_SNAPSHOT_MESSAGE_BYTES_MAX,
  "a manifest message fits the snapshot channel",
);
assert(
  SNAPSHOT_OFFERS_MAX * (SNAPSHOT_HEADER_BYTES_MAX + SNAPSHOT_CERTIFICATE_BYTES_MAX + 64) +
    SNAPSHOT_MESSAGE_ENVELOPE_BYTES_MAX <=
    NET_SNAPSHOT_MESSAGE_BYTES_MAX,
  "an offers message fits the snapshot channel",
);
assert(SNAPSHOT_CHUNKS_MAX <= 0xffff_ffff, "a chunk index fits its u32");
assert(SNAPSHOTS_KEPT_DEFAULT <= SNAPSHOTS_KEPT_MAX, "the default keeps at most the maximum");
assert(
  SNAPSHOT_SYNC_CHUNKS_AHEAD_MAX >= SNAPSHOT_SYNC_CHUNKS_IN_FLIGHT_MAX,
  "the window holds what is in flight",
);
assert(
  SNAPSHOT_SYNC_PEER_CHUNKS_IN_FLIGHT_MAX <= SNAPSHOT_SERVE_PEER_CHUNKS_IN_FLIGHT_MAX,
  "a joiner never asks more of a peer than a server serves at once",
);
assert(
  SNAPSHOT_SERVE_REQUESTS_BURST_MAX >= SNAPSHOT_SERVE_REQUESTS_PER_SECOND,
  "a burst holds a second's requests",
);
assert(
  SNAPSHOT_SYNC_OFFER_WAIT_MS < SNAPSHOT_SYNC_DISCOVERY_TIMEOUT_MS,
  "waiting for better offers ends first",
);
assert(PENALTY_POINTS_SNAPSHOT_FORGED >= NET_SCORE_BAN_THRESHOLD, "a forgery bans");
