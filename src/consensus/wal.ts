/**
 * The consensus write-ahead log (docs/spec/consensus.md, "Write-ahead log"). Before a
 * validator sends anything it signed, the record of it is durable; after a crash the
 * machine is rebuilt from the records of its current height (restoreState), so it re-sends
 * what it signed and never signs a different vote for the same height, round and step.
 *
 * Record encoding (canonical, versioned):
 *   u8 version (1) ‖ u8 kind ‖ body
 *   kind 1 proposal: the proposal's wire encoding (messages.ts), value included
 *   kind 2 vote:     the vote's wire encoding (messages.ts)
 *   kind 3 lock:     u64 height ‖ u32 round ‖ bytes<32> valueHash ‖ bytes≤VALUE_BYTES_MAX value ‖
 *                    u32 count (≤ VALIDATORS_MAX) ‖ count × vote (wire encoding): the prevotes
 *                    for the value at that round that justified the lock (its proof of lock).
 *                    Written before the precommit that locks. The proof is kept because it may
 *                    hold a Byzantine vote other correct nodes never received: after a crash
 *                    this node must still be able to show them why it is locked.
 * @module
 */
import { assert } from "../base/assert.ts";
import { VALIDATORS_MAX } from "../base/limits.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { WAL_RECORD_BYTES_MAX } from "./limits.ts";
import { readProposal, readValue, readVote, writeProposal, writeValue, writeVote } from "./messages.ts";
import type { ConsensusValue, SignedProposal, SignedVote } from "./types.ts";

/** Implemented by the storage back ends (SQLite, PostgreSQL) and by MemoryWal. */
export interface ConsensusWal {
  /** Resolves once the record is durable. Records of one height are read back in append order. */
  walAppend(height: bigint, record: Uint8Array): Promise<void>;
  /** Every durable record of `fromHeight` and above, in append order. */
  walRead(fromHeight: bigint): Promise<Array<{ height: bigint; record: Uint8Array }>>;
  /** Forgets records of heights below `belowHeight` (after the block is durable). */
  walPrune(belowHeight: bigint): Promise<void>;
}

export const WAL_RECORD_VERSION = 1;
export const WAL_RECORD_KIND = { proposal: 1, vote: 2, lock: 3 } as const;

export type WalRecord =
  | { readonly kind: "proposal"; readonly proposal: SignedProposal }
  | { readonly kind: "vote"; readonly vote: SignedVote }
  | {
      readonly kind: "lock";
      readonly height: bigint;
      readonly round: number;
      readonly value: ConsensusValue;
      readonly proofOfLock: readonly SignedVote[];
    };

export function walRecordHeight(record: WalRecord): bigint {
  switch (record.kind) {
    case "proposal":
      return record.proposal.height;
    case "vote":
      return record.vote.height;
    case "lock":
      return record.height;
  }
}

export function encodeWalRecord(record: WalRecord): Uint8Array {
  const sizeBytes =
    record.kind === "vote"
      ? 160
      : (record.kind === "proposal" ? record.proposal.value : record.value).bytes.length + 256;
  const writer = new Writer(sizeBytes).u8(WAL_RECORD_VERSION).u8(WAL_RECORD_KIND[record.kind]);
  switch (record.kind) {
    case "proposal":
      writeProposal(writer, record.proposal);
      break;
    case "vote":
      writeVote(writer, record.vote);
      break;
    case "lock":
      assert(record.proofOfLock.length <= VALIDATORS_MAX, "one prevote per validator");
      writer.u64(record.height).u32(record.round);
      writeValue(writer, record.value);
      writer.u32(record.proofOfLock.length);
      for (const vote of record.proofOfLock) writeVote(writer, vote);
      break;
  }
  const encoded = writer.finish();
  assert(encoded.length <= WAL_RECORD_BYTES_MAX, "WAL records fit their limit");
  return encoded;
}

export function decodeWalRecord(bytes: Uint8Array): WalRecord {
  if (bytes.length > WAL_RECORD_BYTES_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "WAL record exceeds its limit", { sizeBytes: bytes.length });
  }
  const reader = new Reader(bytes);
  const version = reader.u8("WAL record version");
  if (version !== WAL_RECORD_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown WAL record version", { version });
  }
  const kind = reader.u8("WAL record kind");
  let record: WalRecord;
  if (kind === WAL_RECORD_KIND.proposal) record = { kind: "proposal", proposal: readProposal(reader) };
  else if (kind === WAL_RECORD_KIND.vote) record = { kind: "vote", vote: readVote(reader) };
  else if (kind === WAL_RECORD_KIND.lock) {
    const height = reader.u64("height");
    const round = reader.u32("round");
    const value = readValue(reader);
    const count = reader.u32("proof of lock count");
    if (count > VALIDATORS_MAX)
      throw new DecodeError("DECODE_TOO_LONG", "more prevotes than validators", { count });
    const proofOfLock: SignedVote[] = [];
    for (let index = 0; index < count; index++) proofOfLock.push(readVote(reader));
    record = { kind: "lock", height, round, value, proofOfLock };
  } else throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown WAL record kind", { kind });
  reader.end("WAL record");
  return record;
}

interface WalEntry {
  readonly height: bigint;
  readonly record: Uint8Array;
}

/**
 * An in-memory ConsensusWal. With `syncMode: "immediate"` every append is durable when it
 * resolves. With `syncMode: "manual"` (the simulator's fault mode) appends stay pending until
 * `sync()`; `crash(keep)` then loses every pending append but the first `keep`, like a disk
 * that tears a batch of unsynced writes. Pending appends' promises resolve at `sync()` and
 * never after a crash.
 */
export class MemoryWal implements ConsensusWal {
  private durable: WalEntry[] = [];
  private pending: Array<WalEntry & { resolve: (() => void) | null }> = [];

  constructor(
    private readonly options: { readonly syncMode: "immediate" | "manual" } = { syncMode: "immediate" },
  ) {}

  walAppend(height: bigint, record: Uint8Array): Promise<void> {
    if (this.options.syncMode === "immediate") {
      this.durable.push({ height, record: record.slice() });
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.pending.push({ height, record: record.slice(), resolve });
    });
  }

  async walRead(fromHeight: bigint): Promise<Array<{ height: bigint; record: Uint8Array }>> {
    return this.readDurable(fromHeight);
  }

  async walPrune(belowHeight: bigint): Promise<void> {
    this.pruneDurable(belowHeight);
  }

  /** Fault mode: an append that is not durable until `sync()`. */
  appendUnsynced(height: bigint, record: Uint8Array): void {
    this.pending.push({ height, record: record.slice(), resolve: null });
  }

  /** Makes every pending append durable, in order. */
  sync(): void {
    const synced = this.pending;
    this.pending = [];
    for (const entry of synced) {
      this.durable.push({ height: entry.height, record: entry.record });
      entry.resolve?.();
    }
  }

  /** Loses pending appends, keeping only the first `keep` of them (a torn write). */
  crash(keep = 0): void {
    assert(keep >= 0 && keep <= this.pending.length, "keep a prefix of the pending appends");
    for (const entry of this.pending.slice(0, keep))
      this.durable.push({ height: entry.height, record: entry.record });
    this.pending = [];
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  readDurable(fromHeight: bigint): Array<{ height: bigint; record: Uint8Array }> {
    return this.durable
      .filter((entry) => entry.height >= fromHeight)
      .map((entry) => ({ height: entry.height, record: entry.record.slice() }));
  }

  pruneDurable(belowHeight: bigint): void {
    this.durable = this.durable.filter((entry) => entry.height >= belowHeight);
  }
}
