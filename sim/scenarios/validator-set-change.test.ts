/**
 * Validator sets change through blocks (a change in block H applies from H+2): validators
 * join, leave and change power while faults continue. Safety holds, followers that join start
 * signing, and a light client that trusts only the genesis set follows the whole chain (the
 * simulator runs verifyHeaderChain at the end of every run).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex } from "../../src/base/bytes.ts";
import { validatorSetHash } from "../../src/ledger/validator-set.ts";
import { Simulation } from "../simulation.ts";
import { scenarioOptions } from "./scenario.ts";

describe("validator set changes", () => {
  it("take effect two heights later, and every header announces the next set", () => {
    let changes = 0;
    let followersSigned = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const simulation = new Simulation(
        scenarioOptions({
          seed,
          validatorCount: 4,
          followerCount: 2,
          setChangeProbability: 0.4,
          safetyPhaseMs: 6_000,
          network: {
            delayMinMs: 5,
            delayMaxMs: 60,
            distribution: "exponential",
            dropProbability: 0.05,
            duplicateProbability: 0.05,
          },
        }),
      );
      const result = simulation.run();
      assert.deepEqual(result.violations, [], `seed ${seed}`);
      changes += result.faults.setChanges;
      const app = simulation.nodes[0]!.app;
      for (const decided of app.chain) {
        const header = decided.block.header;
        assert.equal(
          bytesToHex(header.validatorSetHash),
          bytesToHex(validatorSetHash(app.setAt(decided.height), simulation.suite)),
        );
        assert.equal(
          bytesToHex(header.nextValidatorSetHash),
          bytesToHex(validatorSetHash(app.setAt(decided.height + 1n), simulation.suite)),
        );
        if (decided.block.setChange !== null) {
          assert.equal(app.setAt(decided.height + 2n), decided.block.setChange, "H+2 rule");
        }
        for (const signature of decided.certificate.signatures) {
          const signer = app.setAt(decided.height).validators[signature.validatorIndex]!.publicKey;
          if (
            simulation.nodes.slice(4).some((node) => bytesToHex(node.signer.publicKey) === bytesToHex(signer))
          )
            followersSigned++;
        }
      }
    }
    assert.ok(changes > 5, `${changes} set changes`);
    assert.ok(followersSigned > 0, "followers voted in became signers");
  });
});
