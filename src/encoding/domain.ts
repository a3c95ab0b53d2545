/**
 * Domain separation: every hashed or signed structure is prefixed with its own tag, so bytes
 * signed as one kind of structure can never be replayed as another. The message is
 *   u8 tag length || tag (ASCII) || encoded structure
 * Tags are listed in docs/PROTOCOL.md ("Domain tags"); changing one is a protocol change.
 * The RFC 9162 log and the state tree use their own one-byte prefixes instead (0x00 leaf,
 * 0x01 node, as the RFC prescribes), because their inputs are already typed by position.
 * @module
 */
import { assert } from "../base/assert.ts";

export const DOMAIN_TAGS = {
  /** Bytes a transaction's sender signs. */
  transactionSigning: "cityledger/tx-sign/v1",
  /** Transaction hash (its id, and the leaf data of the transparency log). */
  transactionHash: "cityledger/tx-hash/v1",
  /** Block header hash (the block's id, what a commit certificate signs through a vote). */
  blockHeader: "cityledger/block-header/v1",
  /** Bytes a validator signs for a prevote or precommit. */
  vote: "cityledger/vote/v1",
  /** Bytes a proposer signs for a block proposal. */
  proposal: "cityledger/proposal/v1",
  /** Hash of a validator set. */
  validatorSet: "cityledger/validator-set/v1",
  /** Identifier of a public key (sender ids, validator ids). */
  keyId: "cityledger/key-id/v1",
  /** Hash of a commit certificate. */
  commitCertificate: "cityledger/commit/v1",
  /** Hash of the genesis document (the chain's anchor). */
  genesis: "cityledger/genesis/v1",
  /** Hash of one piece of evidence. */
  evidence: "cityledger/evidence/v1",
  /** Hash of one state-snapshot chunk. */
  snapshotChunk: "cityledger/snapshot-chunk/v1",
  /** Hash of a state-snapshot manifest (how peers name the snapshot they offer). */
  snapshotManifest: "cityledger/snapshot-manifest/v1",
} as const;

export type DomainTag = (typeof DOMAIN_TAGS)[keyof typeof DOMAIN_TAGS];

const tagBytesCache = new Map<string, Uint8Array>();
function tagPrefix(tag: DomainTag): Uint8Array {
  let prefix = tagBytesCache.get(tag);
  if (prefix === undefined) {
    assert(/^[a-z0-9/-]+$/.test(tag), "domain tags are lower-case ASCII");
    assert(tag.length < 256, "domain tags fit a one-byte length");
    prefix = new Uint8Array(1 + tag.length);
    prefix[0] = tag.length;
    for (let index = 0; index < tag.length; index++) prefix[1 + index] = tag.charCodeAt(index);
    tagBytesCache.set(tag, prefix);
  }
  return prefix;
}

export function domainSeparated(tag: DomainTag, body: Uint8Array): Uint8Array {
  const prefix = tagPrefix(tag);
  const message = new Uint8Array(prefix.length + body.length);
  message.set(prefix, 0);
  message.set(body, prefix.length);
  return message;
}
