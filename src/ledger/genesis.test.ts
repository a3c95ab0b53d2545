import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { ed25519Suite } from "../crypto/index.ts";
import { checkGenesis, encodeGenesis, type Genesis, genesisHash } from "./genesis.ts";
import { canonicalValidatorSet } from "./validator-set.ts";

const key = ed25519Suite.keyPairFromSeed(new Uint8Array(32).fill(1));
const genesis: Genesis = {
  chainId: "vector-city",
  genesisTimeMs: 1_700_000_000_000n,
  validatorSet: canonicalValidatorSet("ed25519", [{ publicKey: key.publicKey, power: 10n }]),
  nodes: [{ name: "node-1", nodeKey: key.publicKey }],
  initialState: {},
};

describe("genesis document", () => {
  it("encodes and hashes to the vector of docs/PROTOCOL.md", () => {
    assert.equal(
      bytesToHex(encodeGenesis(genesis)),
      "020000000b766563746f722d63697479010000018bcfe56800010100000001000000208a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c000000000000000a00000001000000066e6f64652d318a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c000000050700000000",
    );
    assert.equal(
      bytesToHex(genesisHash(genesis, ed25519Suite)),
      "45423533bb889ff05811c42d467967c9d4fa9d04c366a69c65c447cdc5e9d51f",
    );
  });

  it("refuses invalid documents with GENESIS_INVALID", () => {
    const cases: Genesis[] = [
      { ...genesis, chainId: "Not A Chain" },
      { ...genesis, nodes: [] },
      { ...genesis, nodes: [{ name: "", nodeKey: key.publicKey }] },
      { ...genesis, nodes: [{ name: "a", nodeKey: new Uint8Array(31) }] },
      {
        ...genesis,
        nodes: [
          { name: "a", nodeKey: key.publicKey },
          { name: "b", nodeKey: key.publicKey },
        ],
      },
      { ...genesis, validatorSet: { suite: "ed25519", validators: [] } },
    ];
    for (const bad of cases) {
      assert.throws(
        () => checkGenesis(bad, ed25519Suite),
        (error: unknown) =>
          error instanceof CityLedgerError &&
          (error.code === "GENESIS_INVALID" || error.code === "VALIDATOR_SET_INVALID"),
      );
    }
    checkGenesis(genesis, ed25519Suite);
  });
});
