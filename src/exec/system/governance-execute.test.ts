/**
 * Governance and the registry through the real executor (executeBlock): genesis initial state
 * at block 1, votes that execute in their own transaction, receipts with gas, and the same
 * state root on two chains fed the same blocks.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytesToHex, compareBytes } from "../../base/bytes.ts";
import { ed25519Suite } from "../../crypto/index.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import type { ValidTransaction } from "../../ledger/validate-transaction.ts";
import { canonicalValidatorSet, checkValidatorSet, type ValidatorSet } from "../../ledger/validator-set.ts";
import { createContractRegistry } from "../contract.ts";
import { type ExecutionOutcome, SYSTEM_CONTRACTS } from "../execute-block.ts";
import { GAS_COSTS } from "../limits.ts";
import { type Signer, signerOf, suite, TestChain, validTransaction } from "../test-fixtures.ts";
import {
  governanceContract,
  governanceInitialSection,
  readAdmittedNodes,
  readParameters,
  readProposal,
  readValidatorSet,
} from "./governance.ts";
import { readActiveContract, readContractVersions, registryInitialSection } from "./registry.ts";
import { readValidatorSetChanges } from "./validator-set-changes.ts";

const seatA = signerOf(0x41);
const seatB = signerOf(0x42);
const seatC = signerOf(0x43);
const developer = signerOf(0x44);

function validatorKey(seed: number): Uint8Array {
  return ed25519Suite.keyPairFromSeed(new Uint8Array(32).fill(seed)).publicKey;
}

const GENESIS_SET: ValidatorSet = canonicalValidatorSet(
  "ed25519",
  [1, 2, 3, 4].map((seed) => ({ publicKey: validatorKey(seed), power: 10n })),
);

/** The natives with governance (whether or not the default registry lists it yet). */
const CONTRACTS = createContractRegistry([
  ...SYSTEM_CONTRACTS.names
    .filter((name) => name !== "governance")
    .map((name) => SYSTEM_CONTRACTS.get(name)!),
  governanceContract,
]);

const INITIAL_STATE: ValueMap = {
  governance: governanceInitialSection({
    committee: {
      seats: [seatA, seatB, seatC].map((seat) => ({ keyId: seat.keyId, weight: 1n })),
      quorumPercent: 50n,
      thresholdPercent: 60n,
      votingPeriodMs: 60_000n,
    },
    validatorSet: GENESIS_SET,
  }),
  registry: registryInitialSection("ed25519"),
};

/** A chain plus each signer's next nonce. */
class GovernedChain {
  readonly chain = new TestChain({ contracts: CONTRACTS, initialState: INITIAL_STATE });
  readonly #nonces = new Map<string, bigint>();

  tx(signer: Signer, contract: string, method: string, args: Value): ValidTransaction {
    const key = bytesToHex(signer.keyId);
    const nonce = this.#nonces.get(key) ?? 0n;
    this.#nonces.set(key, nonce + 1n);
    return validTransaction(signer, { nonce, contract, method, args });
  }

  block(transactions: readonly ValidTransaction[]): ExecutionOutcome {
    return this.chain.execute(transactions);
  }
}

function receiptSummary(outcome: ExecutionOutcome): string[] {
  return outcome.receipts.map(
    (receipt) => `${receipt.status}${receipt.errorCode === null ? "" : `:${receipt.errorCode}`}`,
  );
}

/** The blocks of the main scenario, built for a chain (nonces are per chain). */
function scenario(governed: GovernedChain): ExecutionOutcome[] {
  const code1 = new TextEncoder().encode("export function ping() { return 1; }");
  const code2 = new TextEncoder().encode("export function ping() { return 2; }");
  const codeHash1 = ed25519Suite.hash(code1);
  const codeHash2 = ed25519Suite.hash(code2);
  const fifth = validatorKey(5);
  const outcomes: ExecutionOutcome[] = [];
  // Block 1: genesis initial state, then code uploads.
  outcomes.push(
    governed.block([
      governed.tx(developer, "registry", "upload", { code: code1 }),
      governed.tx(developer, "registry", "upload", { code: code2 }),
    ]),
  );
  // Block 2: a fifth validator, proposed and accepted in one block; a double vote and a vote
  // after the decision fail.
  outcomes.push(
    governed.block([
      governed.tx(seatA, "governance", "propose", {
        kind: "validator.set",
        payload: { publicKey: fifth, power: 10n, nodeName: "district-5", nodeKey: validatorKey(55) },
        title: "Admit the district 5 validator",
      }),
      governed.tx(seatA, "governance", "vote", { proposalId: 1n, choice: "yes" }),
      governed.tx(seatA, "governance", "vote", { proposalId: 1n, choice: "no" }),
      governed.tx(seatB, "governance", "vote", { proposalId: 1n, choice: "yes" }),
      governed.tx(seatC, "governance", "vote", { proposalId: 1n, choice: "yes" }),
    ]),
  );
  // Block 3: deploy; an upgrade without approval fails; then an approved upgrade.
  outcomes.push(
    governed.block([
      governed.tx(seatB, "governance", "propose", {
        kind: "contract.deploy",
        payload: { name: "permits", codeHash: codeHash1 },
        title: "Deploy the permits contract",
      }),
      governed.tx(seatB, "governance", "vote", { proposalId: 2n, choice: "yes" }),
      governed.tx(seatC, "governance", "vote", { proposalId: 2n, choice: "yes" }),
      governed.tx(developer, "registry", "upgrade", {
        name: "permits",
        codeHash: codeHash2,
        proposalId: 2n,
        deployer: developer.keyId,
      }),
      governed.tx(seatC, "governance", "propose", {
        kind: "contract.upgrade",
        payload: { name: "permits", codeHash: codeHash2 },
        title: "Upgrade the permits contract",
      }),
      governed.tx(seatA, "governance", "vote", { proposalId: 3n, choice: "yes" }),
      governed.tx(seatC, "governance", "vote", { proposalId: 3n, choice: "yes" }),
    ]),
  );
  // Block 4: a parameter; a proposal to remove a key that is no validator fails on execution.
  outcomes.push(
    governed.block([
      governed.tx(seatA, "governance", "propose", {
        kind: "parameter.set",
        payload: { name: "txGasMax", value: 20_000_000n },
        title: "Raise the gas limit",
      }),
      governed.tx(seatA, "governance", "vote", { proposalId: 4n, choice: "yes" }),
      governed.tx(seatB, "governance", "vote", { proposalId: 4n, choice: "yes" }),
      governed.tx(seatA, "governance", "propose", {
        kind: "validator.set",
        payload: { publicKey: validatorKey(9), power: 0n },
        title: "Remove a key that never validated",
      }),
      governed.tx(seatA, "governance", "vote", { proposalId: 5n, choice: "yes" }),
      governed.tx(seatB, "governance", "vote", { proposalId: 5n, choice: "yes" }),
    ]),
  );
  return outcomes;
}

describe("governance through executeBlock", () => {
  it("applies genesis, adds a validator, deploys and upgrades a contract, sets a parameter", () => {
    const governed = new GovernedChain();
    const [block1, block2, block3, block4] = scenario(governed);
    const tree = governed.chain.tree;
    const hash = suite.hash;

    assert.deepEqual(receiptSummary(block1!), ["ok", "ok"]);
    assert.deepEqual(receiptSummary(block2!), [
      "ok",
      "ok",
      "failed:GOV_ALREADY_VOTED",
      "ok",
      "failed:GOV_VOTING_CLOSED",
    ]);
    for (const receipt of block2!.receipts) assert.ok(receipt.gasUsed >= GAS_COSTS.callBase);
    const accepting = block2!.receipts[3]!;
    assert.deepEqual(
      accepting.events.map((event) => `${event.contract}.${event.type}`),
      ["governance.voted", "governance.accepted", "governance.executed"],
    );
    const set = readValidatorSet(tree, hash, ed25519Suite, GENESIS_SET);
    assert.equal(set.validators.length, 5);
    checkValidatorSet(set, ed25519Suite);
    const changes = readValidatorSetChanges(tree, hash, ed25519Suite);
    assert.deepEqual(
      changes.map((change) => change.fromHeight),
      [4n],
      "decided at height 2, signs from height 4",
    );
    assert.deepEqual(
      readAdmittedNodes(tree, hash, ed25519Suite, GENESIS_SET).map((node) => node.name),
      ["district-5"],
    );

    assert.deepEqual(receiptSummary(block3!), [
      "ok",
      "ok",
      "ok",
      "failed:PERMISSION_DENIED",
      "ok",
      "ok",
      "ok",
    ]);
    assert.deepEqual(
      block3!.receipts[2]!.events.map((event) => `${event.contract}.${event.type}`),
      ["governance.voted", "governance.accepted", "registry.deployed", "governance.executed"],
    );
    const active = readActiveContract(tree, hash, "permits")!;
    assert.equal(active.version, 2n);
    const versions = readContractVersions(tree, hash, "permits");
    assert.deepEqual(
      versions.map((version) => [version.version, version.proposalId, bytesToHex(version.deployer)]),
      [
        [1n, 2n, bytesToHex(seatB.keyId)],
        [2n, 3n, bytesToHex(seatC.keyId)],
      ],
    );

    assert.deepEqual(receiptSummary(block4!), ["ok", "ok", "ok", "ok", "ok", "ok"]);
    assert.deepEqual(readParameters(tree, hash), { txGasMax: 20_000_000n });
    const failedProposal = readProposal(tree, hash, 5n)!;
    assert.equal(failedProposal.status, "failed");
    assert.equal(failedProposal.errorCode, "GOV_VALIDATOR_SET_INVALID");
    assert.equal(failedProposal.votes.length, 2, "the votes count although execution failed");
    assert.deepEqual(
      block4!.receipts[5]!.events.map((event) => event.type),
      ["voted", "accepted", "failed"],
    );
  });

  it("gives the same state root, receipts and events on two chains fed the same blocks", () => {
    const first = new GovernedChain();
    const second = new GovernedChain();
    const outcomesFirst = scenario(first);
    const outcomesSecond = scenario(second);
    assert.equal(compareBytes(first.chain.tree.root, second.chain.tree.root), 0);
    assert.deepEqual(outcomesFirst, outcomesSecond);
  });

  it("refuses a genesis whose governance section breaks the rules", () => {
    const chain = new TestChain({
      contracts: CONTRACTS,
      initialState: {
        governance: {
          committee: { seats: [], quorumPercent: 50n, thresholdPercent: 50n, votingPeriodMs: 1000n },
        },
      },
    });
    assert.throws(() => chain.execute([]), /initial state applies/);
  });
});
