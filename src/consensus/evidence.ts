/**
 * Evidence of equivocation: two different messages a validator signed where an honest one
 * signs at most one (docs/spec/consensus.md, "Evidence"). Self-contained (it names the
 * validator by public key), at most EVIDENCE_SIZE_BYTES_MAX bytes, and verified by a pure
 * function against the validator set of its height.
 *
 *   u8 version (1) ‖ u8 kind ‖ string≤64 chainId ‖ bytes≤65 publicKey ‖ u64 height ‖ u32 round ‖
 *   kind 1 (duplicate vote):     u8 voteType ‖ 2 × (bool hasBlock ‖ [bytes<32> blockHash] ‖ bytes≤64 signature)
 *   kind 2 (duplicate proposal): 2 × (bool hasPolRound ‖ [u32 polRound] ‖ bytes<32> valueHash ‖ bytes≤64 signature)
 *
 * The two signed items are in strictly increasing order of their encoding without the
 * signature, so one equivocation has exactly one encoding.
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, compareBytes, equalBytes } from "../base/bytes.ts";
import { CHAIN_ID_BYTES_MAX, PUBLIC_KEY_BYTES_MAX, SIGNATURE_BYTES_MAX } from "../base/limits.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { EVIDENCE_SIZE_BYTES_MAX, HASH_BYTES } from "../ledger/block.ts";
import { type VoteType, voteSigningBytes } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";
import { EVIDENCE_AGE_HEIGHTS_MAX, EVIDENCE_POOL_MAX } from "./limits.ts";
import { isVoteType, proposalSigningBytes } from "./messages.ts";

export const EVIDENCE_VERSION = 1;
export const EVIDENCE_KIND = { duplicateVote: 1, duplicateProposal: 2 } as const;

export interface SignedVoteTarget {
  readonly blockHash: Uint8Array | null;
  readonly signature: Uint8Array;
}

export interface SignedProposalTarget {
  readonly polRound: number;
  readonly valueHash: Uint8Array;
  readonly signature: Uint8Array;
}

interface EvidenceCommon {
  readonly chainId: string;
  readonly publicKey: Uint8Array;
  readonly height: bigint;
  readonly round: number;
}

export interface DuplicateVoteEvidence extends EvidenceCommon {
  readonly kind: "duplicateVote";
  readonly voteType: VoteType;
  readonly first: SignedVoteTarget;
  readonly second: SignedVoteTarget;
}

export interface DuplicateProposalEvidence extends EvidenceCommon {
  readonly kind: "duplicateProposal";
  readonly first: SignedProposalTarget;
  readonly second: SignedProposalTarget;
}

export type Evidence = DuplicateVoteEvidence | DuplicateProposalEvidence;

function voteTargetBytes(target: SignedVoteTarget): Uint8Array {
  const writer = new Writer(40).bool(target.blockHash !== null);
  if (target.blockHash !== null) writer.fixedBytes(target.blockHash, HASH_BYTES);
  return writer.finish();
}

function proposalTargetBytes(target: SignedProposalTarget): Uint8Array {
  const writer = new Writer(40).bool(target.polRound >= 0);
  if (target.polRound >= 0) writer.u32(target.polRound);
  return writer.fixedBytes(target.valueHash, HASH_BYTES).finish();
}

/** Builds the canonical evidence for two conflicting votes (in either order). */
export function duplicateVoteEvidence(
  common: EvidenceCommon & { readonly voteType: VoteType },
  one: SignedVoteTarget,
  other: SignedVoteTarget,
): DuplicateVoteEvidence {
  const order = compareBytes(voteTargetBytes(one), voteTargetBytes(other));
  assert(order !== 0, "evidence needs two different votes");
  const [first, second] = order < 0 ? [one, other] : [other, one];
  return { kind: "duplicateVote", ...common, first, second };
}

/** Builds the canonical evidence for two conflicting proposals (in either order). */
export function duplicateProposalEvidence(
  common: EvidenceCommon,
  one: SignedProposalTarget,
  other: SignedProposalTarget,
): DuplicateProposalEvidence {
  const order = compareBytes(proposalTargetBytes(one), proposalTargetBytes(other));
  assert(order !== 0, "evidence needs two different proposals");
  const [first, second] = order < 0 ? [one, other] : [other, one];
  return { kind: "duplicateProposal", ...common, first, second };
}

export function encodeEvidence(evidence: Evidence): Uint8Array {
  const writer = new Writer(EVIDENCE_SIZE_BYTES_MAX)
    .u8(EVIDENCE_VERSION)
    .u8(EVIDENCE_KIND[evidence.kind])
    .string(evidence.chainId, CHAIN_ID_BYTES_MAX)
    .bytes(evidence.publicKey, PUBLIC_KEY_BYTES_MAX)
    .u64(evidence.height)
    .u32(evidence.round);
  if (evidence.kind === "duplicateVote") {
    writer.u8(evidence.voteType);
    for (const target of [evidence.first, evidence.second]) {
      writer.bool(target.blockHash !== null);
      if (target.blockHash !== null) writer.fixedBytes(target.blockHash, HASH_BYTES);
      writer.bytes(target.signature, SIGNATURE_BYTES_MAX);
    }
  } else {
    for (const target of [evidence.first, evidence.second]) {
      writer.bool(target.polRound >= 0);
      if (target.polRound >= 0) writer.u32(target.polRound);
      writer.fixedBytes(target.valueHash, HASH_BYTES).bytes(target.signature, SIGNATURE_BYTES_MAX);
    }
  }
  const encoded = writer.finish();
  assert(encoded.length <= EVIDENCE_SIZE_BYTES_MAX, "evidence fits its limit by construction");
  return encoded;
}

function readVoteTarget(reader: Reader): SignedVoteTarget {
  const blockHash = reader.bool("hasBlock") ? reader.fixedBytes(HASH_BYTES, "blockHash") : null;
  return { blockHash, signature: reader.bytesField(SIGNATURE_BYTES_MAX, "signature") };
}

function readProposalTarget(reader: Reader): SignedProposalTarget {
  const polRound = reader.bool("hasPolRound") ? reader.u32("polRound") : -1;
  const valueHash = reader.fixedBytes(HASH_BYTES, "valueHash");
  return { polRound, valueHash, signature: reader.bytesField(SIGNATURE_BYTES_MAX, "signature") };
}

/** Decodes evidence; anything but the one canonical encoding is a DecodeError. */
export function decodeEvidence(bytes: Uint8Array): Evidence {
  if (bytes.length > EVIDENCE_SIZE_BYTES_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", "evidence exceeds its limit", { sizeBytes: bytes.length });
  }
  const reader = new Reader(bytes);
  const version = reader.u8("evidence version");
  if (version !== EVIDENCE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown evidence version", { version });
  }
  const kind = reader.u8("evidence kind");
  const common = {
    chainId: reader.string(CHAIN_ID_BYTES_MAX, "chainId"),
    publicKey: reader.bytesField(PUBLIC_KEY_BYTES_MAX, "publicKey"),
    height: reader.u64("height"),
    round: reader.u32("round"),
  };
  let evidence: Evidence;
  let firstBytes: Uint8Array;
  let secondBytes: Uint8Array;
  if (kind === EVIDENCE_KIND.duplicateVote) {
    const voteType = reader.u8("voteType");
    if (!isVoteType(voteType)) throw new DecodeError("DECODE_INVALID_VALUE", "unknown vote type");
    const first = readVoteTarget(reader);
    const second = readVoteTarget(reader);
    evidence = { kind: "duplicateVote", ...common, voteType, first, second };
    firstBytes = voteTargetBytes(first);
    secondBytes = voteTargetBytes(second);
  } else if (kind === EVIDENCE_KIND.duplicateProposal) {
    const first = readProposalTarget(reader);
    const second = readProposalTarget(reader);
    evidence = { kind: "duplicateProposal", ...common, first, second };
    firstBytes = proposalTargetBytes(first);
    secondBytes = proposalTargetBytes(second);
  } else {
    throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown evidence kind", { kind });
  }
  reader.end("evidence");
  if (compareBytes(firstBytes, secondBytes) >= 0) {
    throw new DecodeError("DECODE_NON_CANONICAL", "evidence items must differ and be in increasing order");
  }
  return evidence;
}

export interface EvidenceContext {
  readonly chainId: string;
  /** The validator set of the evidence's height. */
  readonly validatorSet: ValidatorSet;
  readonly suite: SignatureSuite;
}

/**
 * True only when the evidence proves that a validator of `validatorSet` signed two different
 * votes (or proposals) for one height, round (and vote type) on this chain. Never throws.
 */
export function verifyEvidence(evidence: Evidence, context: EvidenceContext): boolean {
  try {
    if (evidence.chainId !== context.chainId) return false;
    if (
      !context.validatorSet.validators.some((validator) =>
        equalBytes(validator.publicKey, evidence.publicKey),
      )
    ) {
      return false;
    }
    const messages: Uint8Array[] = [];
    const signatures: Uint8Array[] = [];
    if (evidence.kind === "duplicateVote") {
      if (compareBytes(voteTargetBytes(evidence.first), voteTargetBytes(evidence.second)) >= 0) return false;
      for (const target of [evidence.first, evidence.second]) {
        messages.push(
          voteSigningBytes({
            chainId: evidence.chainId,
            type: evidence.voteType,
            height: evidence.height,
            round: evidence.round,
            blockHash: target.blockHash,
          }),
        );
        signatures.push(target.signature);
      }
    } else {
      if (compareBytes(proposalTargetBytes(evidence.first), proposalTargetBytes(evidence.second)) >= 0) {
        return false;
      }
      for (const target of [evidence.first, evidence.second]) {
        if (target.polRound >= evidence.round) return false;
        messages.push(
          proposalSigningBytes(evidence.chainId, {
            height: evidence.height,
            round: evidence.round,
            polRound: target.polRound,
            valueHash: target.valueHash,
          }),
        );
        signatures.push(target.signature);
      }
    }
    for (let index = 0; index < 2; index++) {
      if (!context.suite.verify(evidence.publicKey, messages[index]!, signatures[index]!)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Identity of an offence: the same equivocation reported twice is one piece of evidence. */
export function evidenceOffenceKey(evidence: Evidence): string {
  const type = evidence.kind === "duplicateVote" ? evidence.voteType : 0;
  return `${evidence.kind}/${bytesToHex(evidence.publicKey)}/${evidence.height}/${evidence.round}/${type}`;
}

/**
 * Pending evidence awaiting inclusion in a block, bounded by EVIDENCE_POOL_MAX and deduplicated
 * by offence. Insertion order is kept, so what a proposer takes is deterministic.
 */
export class EvidencePool {
  private readonly items = new Map<string, { height: bigint; encoded: Uint8Array }>();
  private readonly committed = new Set<string>();

  get size(): number {
    return this.items.size;
  }

  /** Adds encoded evidence; false when it is malformed, known, committed or the pool is full. */
  add(encoded: Uint8Array): boolean {
    let evidence: Evidence;
    try {
      evidence = decodeEvidence(encoded);
    } catch {
      return false;
    }
    const key = evidenceOffenceKey(evidence);
    if (this.items.has(key) || this.committed.has(key)) return false;
    if (this.items.size >= EVIDENCE_POOL_MAX) return false;
    this.items.set(key, { height: evidence.height, encoded });
    assert(this.items.size <= EVIDENCE_POOL_MAX, "pool stays bounded");
    return true;
  }

  /** Up to `countMax` items not older than EVIDENCE_AGE_HEIGHTS_MAX at `height`. */
  pending(countMax: number, height: bigint): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const item of this.items.values()) {
      if (out.length >= countMax) break;
      if (item.height + EVIDENCE_AGE_HEIGHTS_MAX >= height && item.height < height) out.push(item.encoded);
    }
    return out;
  }

  /** Forgets evidence included in a decided block, so it is never proposed again. */
  markCommitted(encoded: readonly Uint8Array[]): void {
    for (const bytes of encoded) {
      const key = evidenceOffenceKey(decodeEvidence(bytes));
      this.items.delete(key);
      if (this.committed.size >= EVIDENCE_POOL_MAX * 4) this.committed.clear();
      this.committed.add(key);
    }
  }

  /** Drops evidence too old to be included at `height`. */
  prune(height: bigint): void {
    for (const [key, item] of this.items) {
      if (item.height + EVIDENCE_AGE_HEIGHTS_MAX < height) this.items.delete(key);
    }
  }
}
