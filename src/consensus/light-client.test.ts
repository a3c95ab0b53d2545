import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BlockHeader, blockHash, evidenceRoot, transactionRoot } from "../ledger/block.ts";
import { type CommitCertificate, VOTE_TYPE } from "../ledger/commit.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import { type ValidatorSet, validatorSetHash } from "../ledger/validator-set.ts";
import { type HeaderLink, verifyHeaderChain } from "./light-client.ts";
import { CHAIN_ID, makeSet, signVote, suite } from "./test-fixtures.ts";

const first = makeSet([1n, 1n, 1n, 1n]);
const second = makeSet([1n, 1n, 1n, 1n, 1n, 1n]); // shares the first four keys, adds two

function certify(
  header: BlockHeader,
  keyed: ReturnType<typeof makeSet>,
  signers: number[],
): CommitCertificate {
  const hash = blockHash(header, suite.hash);
  return {
    height: header.height,
    round: 0,
    blockHash: hash,
    signatures: signers.map((index) => ({
      validatorIndex: index,
      signature: signVote(keyed.keys[index]!, index, VOTE_TYPE.precommit, header.height, 0, hash).signature,
    })),
  };
}

/** Heights 1..5; block 2 changes the set, so height 4 on is signed by the second set. */
function chain(): HeaderLink[] {
  const setAt = (height: bigint) => (height >= 4n ? second : first);
  const links: HeaderLink[] = [];
  let previous: Uint8Array = new Uint8Array(32).fill(7);
  for (let height = 1n; height <= 5n; height++) {
    const keyed = setAt(height);
    const header: BlockHeader = {
      chainId: CHAIN_ID,
      height,
      timeMs: 1_800_000_000_000n + height,
      previousBlockHash: previous,
      previousCommitHash: new Uint8Array(32),
      txRoot: transactionRoot([], suite.hash),
      txCount: 0,
      logRoot: new Uint8Array(32),
      logSize: 0n,
      stateRoot: new Uint8Array(32),
      receiptRoot: new Uint8Array(32).fill(9),
      validatorSetHash: validatorSetHash(keyed.set, suite),
      nextValidatorSetHash: validatorSetHash(setAt(height + 1n).set, suite),
      evidenceRoot: evidenceRoot([], suite.hash),
      proposer: keyIdOf(suite, keyed.set.validators[0]!.publicKey),
    };
    const signers = keyed.set.validators.map((_, index) => index).slice(0, keyed === first ? 3 : 5);
    links.push({ header, certificate: certify(header, keyed, signers), validatorSet: keyed.set });
    previous = blockHash(header, suite.hash);
  }
  return links;
}

describe("verifyHeaderChain", () => {
  it("follows a validator-set change announced by nextValidatorSetHash", () => {
    assert.ok(verifyHeaderChain(first.set, chain(), suite));
    // Starting later, from the set it trusts at that height.
    assert.ok(verifyHeaderChain(second.set, chain().slice(3), suite));
  });

  it("refuses a wrong trusted set, an unannounced set, a gap, a broken link or a weak certificate", () => {
    const links = chain();
    assert.equal(verifyHeaderChain(second.set, links, suite), false, "height 1 was signed by the first set");
    const swapped = links.map((link, index) => (index === 3 ? { ...link, validatorSet: first.set } : link));
    assert.equal(verifyHeaderChain(first.set, swapped, suite), false);
    assert.equal(verifyHeaderChain(first.set, [links[0]!, links[2]!], suite), false, "a gap");
    const broken = links.map((link, index) =>
      index === 2 ? { ...link, header: { ...link.header, previousBlockHash: new Uint8Array(32) } } : link,
    );
    assert.equal(verifyHeaderChain(first.set, broken, suite), false);
    const weak = links.map((link, index) =>
      index === 1 ? { ...link, certificate: certify(link.header, first, [0, 1]) } : link,
    );
    assert.equal(verifyHeaderChain(first.set, weak, suite), false, "2 of 4 is not more than 2/3");
    assert.equal(verifyHeaderChain(first.set, [], suite), false);
  });

  it("never throws on nonsense", () => {
    const nonsense = { suite: "ed25519", validators: [] } as unknown as ValidatorSet;
    assert.equal(verifyHeaderChain(nonsense, chain(), suite), false);
  });
});
