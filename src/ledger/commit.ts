/**
 * Votes and commit certificates (docs/PROTOCOL.md, "Vote", "Commit certificate").
 *
 * Vote signing bytes: domain("cityledger/vote/v1") || u8 version (1) | string chainId |
 *   u8 type (1 prevote, 2 precommit) | u64 height | u32 round | u8 hasBlock | [blockHash (32)]
 * A commit certificate for a block is a set of precommits for that block's hash at one round:
 *   u8 version (1) | u64 height | u32 round | blockHash (32) |
 *   u32 count | count × (u32 validatorIndex, bytes signature)   — indices strictly increasing
 * It is valid when its signatures come from distinct validators of the block's validator set
 * holding together more than 2/3 of that set's total voting power.
 * @module
 */
import { equalBytes } from "../base/bytes.ts";
import { CHAIN_ID_BYTES_MAX, SIGNATURE_BYTES_MAX, VALIDATORS_MAX } from "../base/limits.ts";
import type { HashFunction, SignatureSuite } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { type BlockHeader, blockHash, HASH_BYTES } from "./block.ts";
import { type ValidatorSet, validatorSetHash } from "./validator-set.ts";

export const VOTE_VERSION = 1;
export const COMMIT_CERTIFICATE_VERSION = 1;

export const VOTE_TYPE = { prevote: 1, precommit: 2 } as const;
export type VoteType = (typeof VOTE_TYPE)[keyof typeof VOTE_TYPE];

export interface VoteTarget {
  readonly chainId: string;
  readonly type: VoteType;
  readonly height: bigint;
  readonly round: number;
  /** The block voted for, or null for a nil vote. */
  readonly blockHash: Uint8Array | null;
}

export function voteSigningBytes(vote: VoteTarget): Uint8Array {
  const writer = new Writer(128)
    .u8(VOTE_VERSION)
    .string(vote.chainId, CHAIN_ID_BYTES_MAX)
    .u8(vote.type)
    .u64(vote.height)
    .u32(vote.round)
    .bool(vote.blockHash !== null);
  if (vote.blockHash !== null) writer.fixedBytes(vote.blockHash, HASH_BYTES);
  return domainSeparated(DOMAIN_TAGS.vote, writer.finish());
}

export interface CommitSignature {
  /** Position of the validator in the (canonically sorted) validator set. */
  readonly validatorIndex: number;
  readonly signature: Uint8Array;
}

export interface CommitCertificate {
  readonly height: bigint;
  readonly round: number;
  readonly blockHash: Uint8Array;
  readonly signatures: readonly CommitSignature[];
}

export function writeCommitCertificate(writer: Writer, certificate: CommitCertificate): void {
  writer
    .u8(COMMIT_CERTIFICATE_VERSION)
    .u64(certificate.height)
    .u32(certificate.round)
    .fixedBytes(certificate.blockHash, HASH_BYTES)
    .u32(certificate.signatures.length);
  for (const entry of certificate.signatures) {
    writer.u32(entry.validatorIndex).bytes(entry.signature, SIGNATURE_BYTES_MAX);
  }
}

export function readCommitCertificate(reader: Reader): CommitCertificate {
  const version = reader.u8("certificate version");
  if (version !== COMMIT_CERTIFICATE_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown commit certificate version", { version });
  }
  const height = reader.u64("height");
  const round = reader.u32("round");
  const hashOfBlock = reader.fixedBytes(HASH_BYTES, "blockHash");
  const count = reader.u32("signature count");
  if (count > VALIDATORS_MAX) throw new DecodeError("DECODE_TOO_LONG", "more signatures than validators");
  const signatures: CommitSignature[] = [];
  for (let index = 0; index < count; index++) {
    const validatorIndex = reader.u32("validatorIndex");
    if (index > 0 && validatorIndex <= signatures[index - 1]!.validatorIndex) {
      throw new DecodeError(
        "DECODE_NON_CANONICAL",
        "certificate signatures must be in increasing validator order",
      );
    }
    signatures.push({ validatorIndex, signature: reader.bytesField(SIGNATURE_BYTES_MAX, "signature") });
  }
  return { height, round, blockHash: hashOfBlock, signatures };
}

export function encodeCommitCertificate(certificate: CommitCertificate): Uint8Array {
  const writer = new Writer(64 + certificate.signatures.length * 72);
  writeCommitCertificate(writer, certificate);
  return writer.finish();
}

export function decodeCommitCertificate(bytes: Uint8Array): CommitCertificate {
  const reader = new Reader(bytes);
  const certificate = readCommitCertificate(reader);
  reader.end("commit certificate");
  return certificate;
}

export function commitCertificateHash(certificate: CommitCertificate, hash: HashFunction): Uint8Array {
  return hash(domainSeparated(DOMAIN_TAGS.commitCertificate, encodeCommitCertificate(certificate)));
}

/**
 * True only when the certificate carries valid precommit signatures over this exact header
 * from distinct validators of this set holding more than 2/3 of its voting power. Any invalid
 * signature, unknown or repeated validator, or mismatch makes it false. Never throws.
 */
export function verifyCommit(
  header: BlockHeader,
  certificate: CommitCertificate,
  validatorSet: ValidatorSet,
  suite: SignatureSuite,
): boolean {
  try {
    // The set's form is checked again with the signatures; here it keeps a bad set from being hashed.
    if (validatorSet.validators.length === 0 || validatorSet.validators.length > VALIDATORS_MAX) return false;
    if (!equalBytes(validatorSetHash(validatorSet, suite), header.validatorSetHash)) return false;
    const hashOfBlock = blockHash(header, suite.hash);
    if (!equalBytes(hashOfBlock, certificate.blockHash)) return false;
    return certificateSignaturesValid(header, hashOfBlock, certificate, validatorSet, suite);
  } catch {
    return false;
  }
}

/**
 * The signature part of verifyCommit, for a caller that has already checked the rest: the set
 * is the one `header.validatorSetHash` names, `hashOfBlock` is `blockHash(header)` and the
 * certificate's height, round and block hash match (src/sdk/receipt.ts checks each on its own
 * and saves hashing them twice). True when valid precommits of distinct validators hold more
 * than 2/3 of the power. Never throws.
 */
export function certificateSignaturesValid(
  header: BlockHeader,
  hashOfBlock: Uint8Array,
  certificate: CommitCertificate,
  validatorSet: ValidatorSet,
  suite: SignatureSuite,
): boolean {
  try {
    if (validatorSet.suite !== suite.name) return false;
    if (validatorSet.validators.length === 0 || validatorSet.validators.length > VALIDATORS_MAX) return false;
    if (certificate.height !== header.height || !equalBytes(hashOfBlock, certificate.blockHash)) return false;
    if (!Number.isInteger(certificate.round) || certificate.round < 0) return false;
    const message = voteSigningBytes({
      chainId: header.chainId,
      type: VOTE_TYPE.precommit,
      height: header.height,
      round: certificate.round,
      blockHash: hashOfBlock,
    });
    let totalPower = 0n;
    for (const validator of validatorSet.validators) totalPower += validator.power;
    let signedPower = 0n;
    let indexPrevious = -1;
    for (const entry of certificate.signatures) {
      if (!Number.isInteger(entry.validatorIndex) || entry.validatorIndex <= indexPrevious) return false;
      indexPrevious = entry.validatorIndex;
      const validator = validatorSet.validators[entry.validatorIndex];
      if (validator === undefined) return false;
      if (!suite.verify(validator.publicKey, message, entry.signature)) return false;
      signedPower += validator.power;
    }
    return signedPower * 3n > totalPower * 2n;
  } catch {
    return false;
  }
}
