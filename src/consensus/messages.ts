/**
 * Signing bytes and wire encodings of consensus messages (docs/spec/consensus.md, "Messages").
 *
 * Proposal signing bytes:
 *   domain("cityledger/proposal/v1") ‖ u8 version (1) ‖ string≤64 chainId ‖ u64 height ‖
 *   u32 round ‖ bool hasPolRound ‖ [u32 polRound] ‖ bytes<32> valueHash
 * Vote signing bytes are the ledger's (`voteSigningBytes`, docs/PROTOCOL.md section 6), so the
 * precommits a decision collects form a CommitCertificate that `verifyCommit` accepts.
 *
 * Wire (and WAL) encodings, each ending where the structure ends (trailing bytes refused):
 *   vote:     u8 version (1) ‖ u8 type ‖ u64 height ‖ u32 round ‖ bool hasBlock ‖
 *             [bytes<32> blockHash] ‖ u32 validatorIndex ‖ bytes≤64 signature
 *   proposal: u8 version (1) ‖ u64 height ‖ u32 round ‖ bool hasPolRound ‖ [u32 polRound] ‖
 *             bytes<32> valueHash ‖ bytes≤VALUE_BYTES_MAX value ‖ bytes≤64 signature
 *   message:  u8 kind (1 proposal, 2 vote) ‖ the proposal or vote
 * @module
 */
import { CHAIN_ID_BYTES_MAX, SIGNATURE_BYTES_MAX, VALIDATORS_MAX } from "../base/limits.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { HASH_BYTES } from "../ledger/block.ts";
import { VOTE_TYPE, type VoteType, voteSigningBytes } from "../ledger/commit.ts";
import { VALUE_BYTES_MAX } from "./limits.ts";
import type { ConsensusMessage, ConsensusValue, SignedProposal, SignedVote } from "./types.ts";

export const PROPOSAL_VERSION = 1;
export const VOTE_WIRE_VERSION = 1;
export const PROPOSAL_WIRE_VERSION = 1;
export const MESSAGE_KIND = { proposal: 1, vote: 2 } as const;

export interface ProposalTarget {
  readonly height: bigint;
  readonly round: number;
  readonly polRound: number;
  readonly valueHash: Uint8Array;
}

export function proposalSigningBytes(chainId: string, proposal: ProposalTarget): Uint8Array {
  const writer = new Writer(128)
    .u8(PROPOSAL_VERSION)
    .string(chainId, CHAIN_ID_BYTES_MAX)
    .u64(proposal.height)
    .u32(proposal.round)
    .bool(proposal.polRound >= 0);
  if (proposal.polRound >= 0) writer.u32(proposal.polRound);
  writer.fixedBytes(proposal.valueHash, HASH_BYTES);
  return domainSeparated(DOMAIN_TAGS.proposal, writer.finish());
}

export function signedProposalSigningBytes(chainId: string, proposal: SignedProposal): Uint8Array {
  return proposalSigningBytes(chainId, {
    height: proposal.height,
    round: proposal.round,
    polRound: proposal.polRound,
    valueHash: proposal.value.hash,
  });
}

export function signedVoteSigningBytes(chainId: string, vote: SignedVote): Uint8Array {
  return voteSigningBytes({
    chainId,
    type: vote.type,
    height: vote.height,
    round: vote.round,
    blockHash: vote.blockHash,
  });
}

export function isVoteType(type: number): type is VoteType {
  return type === VOTE_TYPE.prevote || type === VOTE_TYPE.precommit;
}

export function writeVote(writer: Writer, vote: SignedVote): void {
  writer
    .u8(VOTE_WIRE_VERSION)
    .u8(vote.type)
    .u64(vote.height)
    .u32(vote.round)
    .bool(vote.blockHash !== null);
  if (vote.blockHash !== null) writer.fixedBytes(vote.blockHash, HASH_BYTES);
  writer.u32(vote.validatorIndex).bytes(vote.signature, SIGNATURE_BYTES_MAX);
}

export function readVote(reader: Reader): SignedVote {
  const version = reader.u8("vote version");
  if (version !== VOTE_WIRE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown vote version", { version });
  }
  const type = reader.u8("vote type");
  if (!isVoteType(type)) throw new DecodeError("DECODE_INVALID_VALUE", "unknown vote type", { type });
  const height = reader.u64("height");
  const round = reader.u32("round");
  const blockHash = reader.bool("hasBlock") ? reader.fixedBytes(HASH_BYTES, "blockHash") : null;
  const validatorIndex = reader.u32("validatorIndex");
  if (validatorIndex >= VALIDATORS_MAX) {
    throw new DecodeError("DECODE_INVALID_VALUE", "validator index beyond any set", { validatorIndex });
  }
  const signature = reader.bytesField(SIGNATURE_BYTES_MAX, "signature");
  return { type, height, round, blockHash, validatorIndex, signature };
}

export function writeProposal(writer: Writer, proposal: SignedProposal): void {
  writer
    .u8(PROPOSAL_WIRE_VERSION)
    .u64(proposal.height)
    .u32(proposal.round)
    .bool(proposal.polRound >= 0);
  if (proposal.polRound >= 0) writer.u32(proposal.polRound);
  writeValue(writer, proposal.value);
  writer.bytes(proposal.signature, SIGNATURE_BYTES_MAX);
}

export function readProposal(reader: Reader): SignedProposal {
  const version = reader.u8("proposal version");
  if (version !== PROPOSAL_WIRE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown proposal version", { version });
  }
  const height = reader.u64("height");
  const round = reader.u32("round");
  const polRound = reader.bool("hasPolRound") ? reader.u32("polRound") : -1;
  if (polRound >= round) {
    throw new DecodeError("DECODE_INVALID_VALUE", "polRound must be below the round", { polRound, round });
  }
  const value = readValue(reader);
  const signature = reader.bytesField(SIGNATURE_BYTES_MAX, "signature");
  return { height, round, polRound, value, signature };
}

/** A value on the wire: bytes<32> hash ‖ bytes≤VALUE_BYTES_MAX bytes. */
export function writeValue(writer: Writer, value: ConsensusValue): void {
  writer.fixedBytes(value.hash, HASH_BYTES).bytes(value.bytes, VALUE_BYTES_MAX);
}

export function readValue(reader: Reader): ConsensusValue {
  const hash = reader.fixedBytes(HASH_BYTES, "valueHash");
  const bytes = reader.bytesField(VALUE_BYTES_MAX, "value");
  return { hash, bytes };
}

export function encodeConsensusMessage(message: ConsensusMessage): Uint8Array {
  const sizeBytes = message.kind === "proposal" ? message.proposal.value.bytes.length + 256 : 160;
  const writer = new Writer(sizeBytes);
  if (message.kind === "proposal") {
    writer.u8(MESSAGE_KIND.proposal);
    writeProposal(writer, message.proposal);
  } else {
    writer.u8(MESSAGE_KIND.vote);
    writeVote(writer, message.vote);
  }
  return writer.finish();
}

/** Decodes one message; input longer than any message is refused before parsing. */
export function decodeConsensusMessage(bytes: Uint8Array): ConsensusMessage {
  if (bytes.length > VALUE_BYTES_MAX + 256) {
    throw new DecodeError("DECODE_TOO_LONG", "consensus message exceeds its limit", {
      sizeBytes: bytes.length,
    });
  }
  const reader = new Reader(bytes);
  const kind = reader.u8("message kind");
  let message: ConsensusMessage;
  if (kind === MESSAGE_KIND.proposal) message = { kind: "proposal", proposal: readProposal(reader) };
  else if (kind === MESSAGE_KIND.vote) message = { kind: "vote", vote: readVote(reader) };
  else throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown consensus message kind", { kind });
  reader.end("consensus message");
  return message;
}
