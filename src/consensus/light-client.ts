/**
 * A light client's check of a run of headers (the SDK re-exports it): starting from a
 * validator set it trusts, it follows validator-set changes through each header's
 * `nextValidatorSetHash`, so it never needs anything but the headers, their certificates and
 * the sets they announce. Pure, never throws, browser-safe (no node: imports).
 *
 * Rule (docs/spec/consensus.md, "Validator set changes"): a change decided in block H takes
 * effect at height H+2. Header H+1 announces it as `nextValidatorSetHash`; header H+2 is
 * signed by it.
 * @module
 */
import { equalBytes } from "../base/bytes.ts";
import type { SignatureSuite } from "../crypto/suite.ts";
import { type BlockHeader, blockHash } from "../ledger/block.ts";
import { type CommitCertificate, verifyCommit } from "../ledger/commit.ts";
import { checkValidatorSet, type ValidatorSet, validatorSetHash } from "../ledger/validator-set.ts";
import { HEADER_CHAIN_LINKS_MAX } from "./limits.ts";

export interface HeaderLink {
  readonly header: BlockHeader;
  readonly certificate: CommitCertificate;
  /** The set that signed this header (its hash is the header's validatorSetHash). */
  readonly validatorSet: ValidatorSet;
}

/**
 * True only when `links` are consecutive headers of one chain, the first signed by
 * `trustedSet`, each next one by the set its predecessor announced, each carrying a valid
 * commit certificate (> 2/3 of its set's power) and naming its predecessor's hash.
 */
export function verifyHeaderChain(
  trustedSet: ValidatorSet,
  links: readonly HeaderLink[],
  suite: SignatureSuite,
): boolean {
  try {
    if (links.length === 0 || links.length > HEADER_CHAIN_LINKS_MAX) return false;
    let expectedSetHash = validatorSetHash(trustedSet, suite);
    let previous: BlockHeader | null = null;
    for (const link of links) {
      const header = link.header;
      checkValidatorSet(link.validatorSet, suite);
      if (!equalBytes(validatorSetHash(link.validatorSet, suite), expectedSetHash)) return false;
      if (!equalBytes(header.validatorSetHash, expectedSetHash)) return false;
      if (previous !== null) {
        if (header.chainId !== previous.chainId) return false;
        if (header.height !== previous.height + 1n) return false;
        if (!equalBytes(header.previousBlockHash, blockHash(previous, suite.hash))) return false;
      }
      if (!verifyCommit(header, link.certificate, link.validatorSet, suite)) return false;
      expectedSetHash = header.nextValidatorSetHash;
      previous = header;
    }
    return true;
  } catch {
    return false;
  }
}
