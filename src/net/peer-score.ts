/**
 * Peer scores and bans. A penalty adds points; points decay by half every half-life, so only
 * misbehaviour that keeps coming adds up; at the threshold the peer is banned for the ban
 * duration and its score starts again at zero when the ban ends. Records are kept for
 * NET_PEER_RECORDS_MAX peers (least recently touched go first), so a peer that disconnects and
 * returns keeps its score. Pure: time is an argument.
 * Also here: the reconnect backoff, a pure function of the attempt and a random fraction.
 * @module
 */
import { assert } from "../base/assert.ts";
import type { PeerKeyHex } from "./identity.ts";

export interface PeerScoreConfig {
  readonly banThreshold: number;
  readonly banDurationMs: number;
  readonly halfLifeMs: number;
  readonly recordsMax: number;
}

interface ScoreRecord {
  score: number;
  updatedAtMs: number;
  bannedUntilMs: number;
}

export interface PenaltyOutcome {
  readonly score: number;
  /** True when this penalty started a ban. */
  readonly bannedNow: boolean;
}

export class PeerScores {
  private readonly config: PeerScoreConfig;
  /** In order of last touch: the first entry is the least recently used. */
  private readonly records = new Map<PeerKeyHex, ScoreRecord>();

  constructor(config: PeerScoreConfig) {
    assert(config.banThreshold > 0, "a ban threshold is positive");
    assert(config.halfLifeMs > 0, "a half-life is positive");
    assert(config.banDurationMs >= 0, "a ban lasts zero or more milliseconds");
    assert(Number.isInteger(config.recordsMax) && config.recordsMax >= 1, "at least one record is kept");
    this.config = config;
  }

  get size(): number {
    return this.records.size;
  }

  score(peer: PeerKeyHex, nowMs: number): number {
    const record = this.records.get(peer);
    if (record === undefined) return 0;
    this.decay(record, nowMs);
    return record.score;
  }

  isBanned(peer: PeerKeyHex, nowMs: number): boolean {
    const record = this.records.get(peer);
    return record !== undefined && record.bannedUntilMs > nowMs;
  }

  /** When the ban ends, or null when the peer is not banned. */
  bannedUntilMs(peer: PeerKeyHex, nowMs: number): number | null {
    const record = this.records.get(peer);
    if (record === undefined || record.bannedUntilMs <= nowMs) return null;
    return record.bannedUntilMs;
  }

  penalize(peer: PeerKeyHex, points: number, nowMs: number): PenaltyOutcome {
    assert(Number.isFinite(points) && points > 0, "a penalty adds a positive number of points");
    const record = this.touch(peer, nowMs);
    if (record.bannedUntilMs > nowMs) return { score: record.score, bannedNow: false };
    record.score += points;
    if (record.score < this.config.banThreshold) return { score: record.score, bannedNow: false };
    record.bannedUntilMs = nowMs + this.config.banDurationMs;
    return { score: record.score, bannedNow: true };
  }

  private touch(peer: PeerKeyHex, nowMs: number): ScoreRecord {
    let record = this.records.get(peer);
    if (record === undefined) {
      record = { score: 0, updatedAtMs: nowMs, bannedUntilMs: 0 };
    } else {
      this.records.delete(peer);
      this.decay(record, nowMs);
    }
    this.records.set(peer, record);
    while (this.records.size > this.config.recordsMax) {
      const oldest = this.records.keys().next().value as PeerKeyHex;
      this.records.delete(oldest);
    }
    assert(this.records.size <= this.config.recordsMax, "records stay bounded");
    return record;
  }

  private decay(record: ScoreRecord, nowMs: number): void {
    if (record.bannedUntilMs !== 0 && record.bannedUntilMs <= nowMs) {
      // The ban is served: a clean start.
      record.score = 0;
      record.bannedUntilMs = 0;
      record.updatedAtMs = nowMs;
      return;
    }
    if (record.bannedUntilMs > nowMs) return; // a banned peer's score stays until the ban ends
    const elapsedMs = Math.max(0, nowMs - record.updatedAtMs);
    record.score *= 2 ** -(elapsedMs / this.config.halfLifeMs);
    record.updatedAtMs = nowMs;
    assert(record.score >= 0, "scores do not go negative");
  }
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first): the delay doubles from
 * `delayMsMin` up to `delayMsMax`, then takes a random point in its upper half ("equal jitter"),
 * so peers that lost each other at the same moment do not redial in lockstep.
 */
export function reconnectDelayMs(
  attempt: number,
  fraction: number,
  delayMsMin: number,
  delayMsMax: number,
): number {
  assert(Number.isInteger(attempt) && attempt >= 0, "attempts count from zero");
  assert(fraction >= 0 && fraction < 1, "a random fraction is in [0, 1)");
  assert(delayMsMin > 0 && delayMsMin <= delayMsMax, "backoff bounds are ordered");
  const ceiling = Math.min(delayMsMax, delayMsMin * 2 ** Math.min(attempt, 30));
  const delay = ceiling / 2 + (fraction * ceiling) / 2;
  assert(delay <= delayMsMax, "the backoff is bounded");
  return Math.ceil(delay);
}
