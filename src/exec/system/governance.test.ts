import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compareBytes } from "../../base/bytes.ts";
import type { Result } from "../../base/errors.ts";
import { ed25519Suite, sm2Sm3Suite } from "../../crypto/index.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import { canonicalValidatorSet, checkValidatorSet, type ValidatorSet } from "../../ledger/validator-set.ts";
import { isValueMap } from "../args.ts";
import type { NativeContract } from "../contract.ts";
import type { ExecutionError } from "../errors.ts";
import {
  GOV_PAYLOAD_BYTES_MAX,
  GOV_TX_GAS_MAX_MIN,
  TX_GAS_MAX_DEFAULT,
  TX_GAS_MAX_LIMIT,
} from "../limits.ts";
import {
  type CommitteeRules,
  decisionOf,
  decodeProposal,
  encodeProposal,
  governanceContract,
  governanceInitialSection,
  listProposals,
  type Proposal,
  proposalJson,
  proposalStatusAt,
  readAdmittedNodes,
  readCommittee,
  readParameters,
  readProposal,
  readValidatorSet,
  tallyOf,
} from "./governance.ts";
import { orgContract, readOrganization } from "./org.ts";
import { permissionContract, readPermissionRule } from "./permission.ts";
import { readActiveContract, readContractVersions, registryContract } from "./registry.ts";
import { TestWorld } from "./test-context.ts";
import { readValidatorSetChanges } from "./validator-set-changes.ts";

const seatA = new Uint8Array(32).fill(0xa1);
const seatB = new Uint8Array(32).fill(0xb2);
const seatC = new Uint8Array(32).fill(0xc3);
const outsider = new Uint8Array(32).fill(0x99);
const VOTING_PERIOD_MS = 10_000n;

function validatorKey(seed: number): Uint8Array {
  return ed25519Suite.keyPairFromSeed(new Uint8Array(32).fill(seed)).publicKey;
}

function genesisSet(count = 4): ValidatorSet {
  const validators = [];
  for (let index = 0; index < count; index++)
    validators.push({ publicKey: validatorKey(index + 1), power: 10n });
  return canonicalValidatorSet("ed25519", validators);
}

function committee(overrides: Partial<CommitteeRules> = {}): CommitteeRules {
  return {
    seats: [
      { keyId: seatA, weight: 1n },
      { keyId: seatB, weight: 1n },
      { keyId: seatC, weight: 1n },
    ],
    quorumPercent: 50n,
    thresholdPercent: 60n,
    votingPeriodMs: VOTING_PERIOD_MS,
    ...overrides,
  };
}

/** A contract that relays a call to governance (as a deployed contract could try). */
const relay: NativeContract = {
  name: "relay",
  execute(context, method, args) {
    return context.call("governance", method, args, { readOnly: false });
  },
};

function world(rules = committee(), set: ValidatorSet | null = genesisSet()): TestWorld {
  const created = new TestWorld([
    governanceContract,
    registryContract,
    orgContract,
    permissionContract,
    relay,
  ]);
  const initialized = created.initialize({
    governance: governanceInitialSection({
      committee: rules,
      ...(set === null ? {} : { validatorSet: set }),
    }),
    registry: { suite: "ed25519" },
  });
  assert.ok(initialized.ok, initialized.ok ? "" : initialized.error.message);
  created.nextBlock();
  return created;
}

function errorCode(result: Result<unknown, ExecutionError>): string | null {
  return result.ok ? null : result.error.code;
}

function valueMap(result: Result<Value, ExecutionError>): ValueMap {
  assert.ok(result.ok, result.ok ? "" : `${result.error.code}: ${result.error.message}`);
  assert.ok(isValueMap(result.value));
  return result.value;
}

function propose(target: TestWorld, kind: string, payload: Value, proposer = seatA): bigint {
  const value = valueMap(
    target.execute(proposer, "governance", "propose", { kind, payload, title: `${kind} proposal` }).result,
  );
  assert.equal(typeof value.proposalId, "bigint");
  return value.proposalId as bigint;
}

function vote(target: TestWorld, voter: Uint8Array, proposalId: bigint, choice = "yes") {
  return target.execute(voter, "governance", "vote", { proposalId, choice });
}

/** Proposes and has seats A and B vote yes (2 of 3 ≥ 60%): the proposal is decided. */
function pass(target: TestWorld, kind: string, payload: Value): Proposal {
  const proposalId = propose(target, kind, payload);
  assert.ok(vote(target, seatA, proposalId).result.ok);
  const second = vote(target, seatB, proposalId);
  assert.ok(second.result.ok, second.result.ok ? "" : second.result.error.code);
  return readProposal(target.state, target.hash, proposalId)!;
}

describe("governance: genesis and readers", () => {
  it("keeps the genesis committee, validator set and default parameters", () => {
    const target = world();
    const stored = readCommittee(target.state, target.hash)!;
    assert.deepEqual(
      stored.seats.map((seat) => seat.weight),
      [1n, 1n, 1n],
    );
    assert.equal(stored.quorumPercent, 50n);
    assert.equal(stored.proposalId, 0n);
    assert.deepEqual(readParameters(target.state, target.hash), { txGasMax: TX_GAS_MAX_DEFAULT });
    assert.deepEqual(readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet()), genesisSet());
    assert.deepEqual(readAdmittedNodes(target.state, target.hash, ed25519Suite, genesisSet()), []);
    assert.deepEqual(listProposals(target.state, target.hash), { proposals: [], total: 0n, nextId: null });
    assert.equal(
      errorCode(target.initialize({ governance: governanceInitialSection({ committee: committee() }) })),
      "GOV_ALREADY_INITIALIZED",
    );
  });

  it("refuses a genesis committee that breaks the rules", () => {
    const cases: Array<[Partial<CommitteeRules>, string]> = [
      [{ quorumPercent: 0n }, "EXEC_ARGS_FIELD_INVALID"],
      [{ thresholdPercent: 101n }, "EXEC_ARGS_FIELD_INVALID"],
      [{ votingPeriodMs: 10n }, "EXEC_ARGS_FIELD_INVALID"],
      [{ seats: [] }, "EXEC_ARGS_FIELD_INVALID"],
      [{ seats: [{ keyId: seatA, weight: 0n }] }, "EXEC_ARGS_FIELD_INVALID"],
      [
        {
          seats: [
            { keyId: seatA, weight: 1n },
            { keyId: seatA, weight: 2n },
          ],
        },
        "GOV_COMMITTEE_INVALID",
      ],
    ];
    for (const [overrides, code] of cases) {
      const target = new TestWorld([governanceContract]);
      assert.equal(
        errorCode(
          target.initialize({ governance: governanceInitialSection({ committee: committee(overrides) }) }),
        ),
        code,
      );
    }
    const target = new TestWorld([governanceContract]);
    const badSet: ValidatorSet = {
      suite: "ed25519",
      validators: [{ publicKey: new Uint8Array(32).fill(1), power: 1n }],
    };
    assert.equal(
      errorCode(
        target.initialize({
          governance: governanceInitialSection({ committee: committee(), validatorSet: badSet }),
        }),
      ),
      "GOV_VALIDATOR_SET_INVALID",
    );
  });

  it("decides by weight: quorum counts every vote cast, threshold only yes, of all seats' weight", () => {
    const rules = { quorumPercent: 50n, thresholdPercent: 60n };
    const tally = (yesWeight: bigint, noWeight: bigint, abstainWeight: bigint) => ({
      yesWeight,
      noWeight,
      abstainWeight,
      totalWeight: 10n,
    });
    assert.equal(decisionOf(tally(6n, 0n, 0n), rules), "accepted");
    assert.equal(decisionOf(tally(5n, 0n, 0n), rules), null);
    assert.equal(decisionOf(tally(5n, 0n, 4n), rules), null, "abstentions never make the threshold");
    assert.equal(decisionOf(tally(5n, 5n, 0n), rules), "rejected");
    assert.equal(decisionOf(tally(2n, 3n, 0n), rules), null, "five missing votes could still make it");
    assert.equal(decisionOf(tally(0n, 4n, 1n), rules), "rejected");
    assert.equal(
      decisionOf(tally(3n, 0n, 0n), { quorumPercent: 40n, thresholdPercent: 30n }),
      null,
      "no quorum",
    );
    assert.equal(decisionOf(tally(3n, 0n, 1n), { quorumPercent: 40n, thresholdPercent: 30n }), "accepted");
  });
});

describe("governance: proposals", () => {
  it("numbers proposals from 1, records the committee snapshot and lists them by page", () => {
    const target = world();
    const first = target.execute(seatA, "governance", "propose", {
      kind: "parameter.set",
      payload: { name: "txGasMax", value: 20_000_000n },
      title: "Raise the gas limit",
      description: "For the permits contract.\nMeasured in the bench.",
    });
    assert.deepEqual(first.result, {
      ok: true,
      value: { proposalId: 1n, deadlineMs: target.timeMs + VOTING_PERIOD_MS },
    });
    assert.deepEqual(
      first.events.map((event) => event.type),
      ["proposed"],
    );
    assert.deepEqual(first.events[0]!.data, {
      proposalId: 1n,
      kind: "parameter.set",
      proposer: seatA,
      deadlineMs: target.timeMs + VOTING_PERIOD_MS,
    });
    for (let index = 0; index < 4; index++) propose(target, "contract.freeze", { name: `c${index}` }, seatB);
    const proposal = readProposal(target.state, target.hash, 1n)!;
    assert.equal(proposal.status, "open");
    assert.equal(proposal.description, "For the permits contract.\nMeasured in the bench.");
    assert.deepEqual(proposal.proposer, seatA);
    assert.equal(proposal.seats.length, 3);
    const page = listProposals(target.state, target.hash, 1n, 2);
    assert.deepEqual(
      page.proposals.map((listed) => listed.id),
      [1n, 2n],
    );
    assert.equal(page.total, 5n);
    assert.equal(page.nextId, 3n);
    const last = listProposals(target.state, target.hash, 4n, 100);
    assert.deepEqual(
      last.proposals.map((listed) => listed.id),
      [4n, 5n],
    );
    assert.equal(last.nextId, null);
    assert.equal(readProposal(target.state, target.hash, 6n), undefined);
  });

  it("refuses a proposer without a seat, a relayed call, an unknown kind and an oversized payload", () => {
    const target = world();
    const args = { kind: "contract.freeze", payload: { name: "permits" }, title: "Freeze" };
    assert.equal(
      errorCode(target.execute(outsider, "governance", "propose", args).result),
      "GOV_NOT_COMMITTEE_MEMBER",
    );
    assert.equal(errorCode(target.execute(seatA, "relay", "propose", args).result), "PERMISSION_DENIED");
    assert.equal(
      errorCode(target.execute(seatA, "governance", "propose", { ...args, kind: "treasury.spend" }).result),
      "GOV_PROPOSAL_KIND_UNKNOWN",
    );
    const huge = { ...args, kind: "org.add", payload: { blob: new Uint8Array(GOV_PAYLOAD_BYTES_MAX) } };
    assert.equal(
      errorCode(target.execute(seatA, "governance", "propose", huge).result),
      "GOV_PROPOSAL_TOO_LARGE",
    );
    const { title: _title, ...untitled } = args;
    assert.equal(
      errorCode(target.execute(seatA, "governance", "propose", untitled).result),
      "EXEC_ARGS_FIELD_MISSING",
    );
    assert.equal(
      errorCode(target.execute(seatA, "governance", "propose", { ...args, payload: "text" }).result),
      "EXEC_ARGS_NOT_A_MAP",
    );
    assert.equal(listProposals(target.state, target.hash).total, 0n);
  });

  it("checks payloads it owns before the vote", () => {
    const target = world();
    const refused = (kind: string, payload: Value) =>
      errorCode(target.execute(seatA, "governance", "propose", { kind, payload, title: "t" }).result);
    assert.equal(refused("parameter.set", { name: "blockTimeMs", value: 1n }), "GOV_PARAMETER_UNKNOWN");
    assert.equal(
      refused("parameter.set", { name: "txGasMax", value: TX_GAS_MAX_LIMIT + 1n }),
      "GOV_PARAMETER_OUT_OF_RANGE",
    );
    assert.equal(
      refused("parameter.set", { name: "txGasMax", value: GOV_TX_GAS_MAX_MIN - 1n }),
      "GOV_PARAMETER_OUT_OF_RANGE",
    );
    assert.equal(
      refused("validator.set", { publicKey: new Uint8Array(32).fill(1), power: 1n }),
      "GOV_VALIDATOR_SET_INVALID",
    );
    const smallOrder = new Uint8Array(32);
    smallOrder[0] = 1; // the identity point: on the curve, of small order
    assert.equal(refused("validator.set", { publicKey: smallOrder, power: 1n }), "GOV_VALIDATOR_SET_INVALID");
    assert.equal(
      refused("validator.set", { publicKey: validatorKey(9), power: -1n }),
      "EXEC_ARGS_FIELD_INVALID",
    );
    assert.equal(
      refused("validator.set", { publicKey: validatorKey(9), power: 1n, nodeName: "n9" }),
      "GOV_NODE_INVALID",
    );
    assert.equal(
      refused("validator.set", {
        publicKey: validatorKey(1),
        power: 0n,
        nodeName: "n1",
        nodeKey: validatorKey(5),
      }),
      "GOV_NODE_INVALID",
    );
    assert.equal(
      refused("contract.deploy", { name: "registry", codeHash: new Uint8Array(32) }),
      "REGISTRY_NAME_RESERVED",
    );
    assert.equal(
      refused("contract.deploy", { name: "permits", codeHash: new Uint8Array(31) }),
      "EXEC_ARGS_FIELD_INVALID",
    );
    assert.equal(
      refused("committee.set", { ...committeeValue(committee()), quorumPercent: 0n }),
      "EXEC_ARGS_FIELD_INVALID",
    );
    assert.equal(refused("org.add", "not a map"), "EXEC_ARGS_FIELD_WRONG_TYPE");
  });
});

function committeeValue(rules: CommitteeRules): ValueMap {
  return governanceInitialSection({ committee: rules }).committee as ValueMap;
}

describe("governance: votes", () => {
  it("refuses a second vote, a vote without a seat, a relayed vote and an unknown proposal", () => {
    const target = world();
    const proposalId = propose(target, "contract.freeze", { name: "permits" });
    assert.ok(vote(target, seatA, proposalId).result.ok);
    assert.equal(errorCode(vote(target, seatA, proposalId, "no").result), "GOV_ALREADY_VOTED");
    assert.equal(errorCode(vote(target, outsider, proposalId).result), "GOV_NOT_COMMITTEE_MEMBER");
    assert.equal(
      errorCode(target.execute(seatB, "relay", "vote", { proposalId, choice: "yes" }).result),
      "PERMISSION_DENIED",
    );
    assert.equal(errorCode(vote(target, seatB, 77n).result), "GOV_PROPOSAL_NOT_FOUND");
    assert.equal(errorCode(vote(target, seatB, proposalId, "maybe").result), "EXEC_ARGS_FIELD_INVALID");
    const proposal = readProposal(target.state, target.hash, proposalId)!;
    assert.equal(proposal.votes.length, 1);
    assert.deepEqual(proposal.votes[0], {
      voter: seatA,
      choice: "yes",
      height: target.height,
      timeMs: target.timeMs,
    });
  });

  it("closes voting at the deadline: late votes fail, readers and `close` say expired", () => {
    const target = world();
    const proposalId = propose(target, "contract.freeze", { name: "permits" });
    const proposed = readProposal(target.state, target.hash, proposalId)!;
    assert.equal(
      errorCode(target.execute(outsider, "governance", "close", { proposalId }).result),
      "GOV_VOTING_OPEN",
    );
    target.nextBlock(VOTING_PERIOD_MS - 1_000n);
    assert.ok(target.timeMs < proposed.deadlineMs);
    assert.ok(vote(target, seatA, proposalId).result.ok, "one ms before the deadline is in time");
    target.nextBlock(1_000n);
    assert.equal(target.timeMs, proposed.deadlineMs);
    const late = vote(target, seatB, proposalId);
    assert.equal(errorCode(late.result), "GOV_VOTING_CLOSED");
    const stillRecorded = readProposal(target.state, target.hash, proposalId)!;
    assert.equal(stillRecorded.status, "open");
    assert.equal(proposalStatusAt(stillRecorded, target.timeMs), "expired");
    assert.equal(proposalStatusAt(stillRecorded, target.timeMs - 1n), "open");
    assert.equal(proposalJson(stillRecorded, target.timeMs).status, "expired");
    const closed = target.execute(outsider, "governance", "close", { proposalId });
    assert.deepEqual(closed.result, { ok: true, value: { proposalId, status: "expired" } });
    assert.deepEqual(
      closed.events.map((event) => event.type),
      ["expired"],
    );
    const recorded = readProposal(target.state, target.hash, proposalId)!;
    assert.equal(recorded.status, "expired");
    assert.equal(recorded.decidedHeight, target.height);
    assert.equal(
      errorCode(target.execute(outsider, "governance", "close", { proposalId }).result),
      "GOV_VOTING_CLOSED",
    );
    assert.equal(errorCode(vote(target, seatC, proposalId).result), "GOV_VOTING_CLOSED");
  });

  it("rejects once the threshold is out of reach, and then accepts no vote", () => {
    const target = world();
    const proposalId = propose(target, "parameter.set", { name: "txGasMax", value: 2_000_000n });
    assert.deepEqual(vote(target, seatA, proposalId, "no").result, {
      ok: true,
      value: { proposalId, status: "open" },
    });
    const second = vote(target, seatB, proposalId, "no");
    assert.deepEqual(second.result, { ok: true, value: { proposalId, status: "rejected" } });
    assert.deepEqual(
      second.events.map((event) => event.type),
      ["voted", "rejected"],
    );
    assert.equal(errorCode(vote(target, seatC, proposalId).result), "GOV_VOTING_CLOSED");
    assert.deepEqual(readParameters(target.state, target.hash), { txGasMax: TX_GAS_MAX_DEFAULT });
  });

  it("waits for the quorum: a yes above the threshold alone does not decide", () => {
    const target = world(committee({ quorumPercent: 100n, thresholdPercent: 30n }));
    const proposalId = propose(target, "parameter.set", { name: "txGasMax", value: 2_000_000n });
    assert.deepEqual(vote(target, seatA, proposalId, "yes").result, {
      ok: true,
      value: { proposalId, status: "open" },
    });
    assert.deepEqual(vote(target, seatB, proposalId, "abstain").result, {
      ok: true,
      value: { proposalId, status: "open" },
    });
    const last = vote(target, seatC, proposalId, "abstain");
    assert.deepEqual(last.result, { ok: true, value: { proposalId, status: "executed" } });
    assert.deepEqual(readParameters(target.state, target.hash), { txGasMax: 2_000_000n });
    const tally = tallyOf(readProposal(target.state, target.hash, proposalId)!);
    assert.deepEqual(tally, { yesWeight: 1n, noWeight: 0n, abstainWeight: 2n, totalWeight: 3n });
  });

  it("weighs seats: one heavy seat may decide alone", () => {
    const target = world(
      committee({
        seats: [
          { keyId: seatA, weight: 7n },
          { keyId: seatB, weight: 2n },
          { keyId: seatC, weight: 1n },
        ],
      }),
    );
    const proposalId = propose(target, "parameter.set", { name: "txGasMax", value: 3_000_000n }, seatC);
    assert.deepEqual(vote(target, seatA, proposalId).result, {
      ok: true,
      value: { proposalId, status: "executed" },
    });
  });
});

describe("governance: execution of accepted proposals", () => {
  it("adds a fifth validator with its node, then changes its power and removes it", () => {
    const target = world();
    const fifth = validatorKey(5);
    const nodeKey = validatorKey(55);
    const proposal = pass(target, "validator.set", {
      publicKey: fifth,
      power: 5n,
      nodeName: "district-5",
      nodeKey,
    });
    assert.equal(proposal.status, "executed");
    assert.equal(proposal.decidedHeight, target.height);
    const decidedAt = target.height;
    const set = readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet());
    assert.equal(set.validators.length, 5);
    checkValidatorSet(set, ed25519Suite);
    assert.ok(
      set.validators.some(
        (validator) => compareBytes(validator.publicKey, fifth) === 0 && validator.power === 5n,
      ),
    );
    const changes = readValidatorSetChanges(target.state, target.hash, ed25519Suite);
    assert.equal(changes.length, 1);
    assert.equal(changes[0]!.fromHeight, decidedAt + 2n, "a change signs from two heights after its block");
    assert.deepEqual(readAdmittedNodes(target.state, target.hash, ed25519Suite, genesisSet()), [
      { name: "district-5", nodeKey, validatorPublicKey: fifth, proposalId: proposal.id },
    ]);
    assert.deepEqual(
      target.events.slice(-4).map((event) => event.type),
      ["voted", "voted", "accepted", "executed"],
    );

    target.nextBlock();
    assert.equal(pass(target, "validator.set", { publicKey: fifth, power: 9n }).status, "executed");
    const changed = readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet());
    assert.equal(
      changed.validators.find((validator) => compareBytes(validator.publicKey, fifth) === 0)!.power,
      9n,
    );
    assert.equal(
      readAdmittedNodes(target.state, target.hash, ed25519Suite, genesisSet()).length,
      1,
      "node kept",
    );

    target.nextBlock();
    assert.equal(pass(target, "validator.set", { publicKey: fifth, power: 0n }).status, "executed");
    assert.deepEqual(readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet()), genesisSet());
    assert.deepEqual(readAdmittedNodes(target.state, target.hash, ed25519Suite, genesisSet()), []);
    assert.equal(readValidatorSetChanges(target.state, target.hash, ed25519Suite).length, 3);
  });

  it("records a failure, keeping the vote, when the set would become empty or invalid", () => {
    const target = world(committee(), genesisSet(1));
    const only = genesisSet(1).validators[0]!.publicKey;
    const proposalId = propose(target, "validator.set", { publicKey: only, power: 0n });
    assert.ok(vote(target, seatA, proposalId).result.ok);
    const deciding = vote(target, seatB, proposalId);
    assert.deepEqual(deciding.result, {
      ok: true,
      value: { proposalId, status: "failed", errorCode: "GOV_VALIDATOR_SET_INVALID" },
    });
    assert.deepEqual(
      deciding.events.map((event) => event.type),
      ["voted", "accepted", "failed"],
    );
    assert.equal(deciding.events[2]!.data.errorCode, "GOV_VALIDATOR_SET_INVALID");
    const recorded = readProposal(target.state, target.hash, proposalId)!;
    assert.equal(recorded.status, "failed");
    assert.equal(recorded.errorCode, "GOV_VALIDATOR_SET_INVALID");
    assert.equal(recorded.votes.length, 2);
    assert.deepEqual(readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet(1)), genesisSet(1));

    const absent = pass(target, "validator.set", { publicKey: validatorKey(7), power: 0n });
    assert.equal(absent.errorCode, "GOV_VALIDATOR_SET_INVALID", "removing a key that is not a validator");
  });

  it("refuses a node that another validator's node already uses", () => {
    const target = world();
    const nodeKey = validatorKey(60);
    pass(target, "validator.set", { publicKey: validatorKey(5), power: 1n, nodeName: "n5", nodeKey });
    const sameKey = pass(target, "validator.set", {
      publicKey: validatorKey(6),
      power: 1n,
      nodeName: "n6",
      nodeKey,
    });
    assert.equal(sameKey.errorCode, "GOV_NODE_INVALID");
    const sameName = pass(target, "validator.set", {
      publicKey: validatorKey(6),
      power: 1n,
      nodeName: "n5",
      nodeKey: validatorKey(61),
    });
    assert.equal(sameName.errorCode, "GOV_NODE_INVALID");
    assert.equal(
      readValidatorSet(target.state, target.hash, ed25519Suite, genesisSet()).validators.length,
      5,
    );
  });

  it("fails validator.set when genesis gave governance no validator set", () => {
    const target = world(committee(), null);
    assert.equal(
      errorCode(
        target.execute(seatA, "governance", "propose", {
          kind: "validator.set",
          payload: { publicKey: validatorKey(5), power: 1n },
          title: "t",
        }).result,
      ),
      "GOV_VALIDATOR_SET_INVALID",
    );
  });

  it("checks validator keys of an sm2-sm3 chain with that suite", () => {
    const smSet = canonicalValidatorSet("sm2-sm3", [
      { publicKey: sm2Sm3Suite.keyPairFromSeed(new Uint8Array(32).fill(1)).publicKey, power: 1n },
    ]);
    const target = world(committee(), smSet);
    const smKey = sm2Sm3Suite.keyPairFromSeed(new Uint8Array(32).fill(2)).publicKey;
    assert.equal(pass(target, "validator.set", { publicKey: smKey, power: 1n }).status, "executed");
    assert.equal(readValidatorSet(target.state, target.hash, sm2Sm3Suite, smSet).validators.length, 2);
    assert.equal(
      errorCode(
        target.execute(seatA, "governance", "propose", {
          kind: "validator.set",
          payload: { publicKey: validatorKey(3), power: 1n },
          title: "an Ed25519 key on an SM2 chain",
        }).result,
      ),
      "GOV_VALIDATOR_SET_INVALID",
    );
  });

  it("deploys a contract, upgrades it, and keeps every version with its approving proposal", () => {
    const target = world();
    const upload = (text: string): Uint8Array => {
      const value = valueMap(
        target.execute(outsider, "registry", "upload", { code: new TextEncoder().encode(text) }).result,
      );
      return value.codeHash as Uint8Array;
    };
    const v1 = upload("export const v = 1;");
    const deployed = pass(target, "contract.deploy", { name: "permits", codeHash: v1 });
    assert.equal(deployed.status, "executed");
    assert.deepEqual(
      target.events.slice(-4).map((event) => `${event.contract}.${event.type}`),
      ["governance.voted", "governance.accepted", "registry.deployed", "governance.executed"],
    );
    target.nextBlock();
    const v2 = upload("export const v = 2;");
    const upgraded = pass(target, "contract.upgrade", { name: "permits", codeHash: v2 });
    assert.equal(upgraded.status, "executed");
    assert.deepEqual(readActiveContract(target.state, target.hash, "permits"), {
      name: "permits",
      version: 2n,
      codeHash: v2,
      frozen: false,
    });
    const versions = readContractVersions(target.state, target.hash, "permits");
    assert.deepEqual(
      versions.map((version) => [version.version, version.proposalId]),
      [
        [1n, deployed.id],
        [2n, upgraded.id],
      ],
    );
    assert.deepEqual(versions[0]!.codeHash, v1);
    assert.deepEqual(versions[1]!.deployer, seatA, "the deployer is the proposer");

    assert.equal(pass(target, "contract.freeze", { name: "permits" }).status, "executed");
    assert.equal(readActiveContract(target.state, target.hash, "permits")!.frozen, true);
    const frozenUpgrade = pass(target, "contract.upgrade", { name: "permits", codeHash: v1 });
    assert.equal(frozenUpgrade.errorCode, "REGISTRY_FROZEN");
    assert.equal(pass(target, "contract.unfreeze", { name: "permits" }).status, "executed");

    // Without approval: the registry refuses a direct upgrade.
    const direct = target.execute(seatA, "registry", "upgrade", {
      name: "permits",
      codeHash: v1,
      proposalId: upgraded.id,
      deployer: seatA,
    });
    assert.equal(errorCode(direct.result), "PERMISSION_DENIED");
    assert.equal(readActiveContract(target.state, target.hash, "permits")!.version, 2n);
  });

  it("records the registry's refusal when the code was never uploaded or the name is taken", () => {
    const target = world();
    const missing = pass(target, "contract.deploy", {
      name: "permits",
      codeHash: new Uint8Array(32).fill(7),
    });
    assert.equal(missing.status, "failed");
    assert.equal(missing.errorCode, "REGISTRY_CODE_MISSING");
    assert.equal(readActiveContract(target.state, target.hash, "permits"), undefined);
    const notDeployed = pass(target, "contract.upgrade", {
      name: "permits",
      codeHash: new Uint8Array(32).fill(7),
    });
    assert.equal(notDeployed.errorCode, "REGISTRY_NOT_FOUND");
    const code = valueMap(
      target.execute(outsider, "registry", "upload", { code: Uint8Array.of(1, 2, 3) }).result,
    );
    assert.equal(
      pass(target, "contract.deploy", { name: "permits", codeHash: code.codeHash! }).status,
      "executed",
    );
    assert.equal(
      pass(target, "contract.deploy", { name: "permits", codeHash: code.codeHash! }).errorCode,
      "REGISTRY_NAME_TAKEN",
    );
  });

  it("adds, suspends and removes an organization and sets a permission through the identity contracts", () => {
    const target = world();
    const admin = new Uint8Array(32).fill(0x0d);
    const added = pass(target, "org.add", {
      id: "water-bureau",
      name: "Water Bureau",
      admins: [admin],
      departments: [{ id: "north", name: "North district office", level: "district" }],
    });
    assert.equal(added.status, "executed", added.errorCode ?? "");
    assert.equal(readOrganization(target.state, target.hash, "water-bureau")!.status, "active");
    assert.equal(pass(target, "org.suspend", { id: "water-bureau", reason: "audit" }).status, "executed");
    assert.equal(readOrganization(target.state, target.hash, "water-bureau")!.status, "suspended");
    assert.equal(pass(target, "org.reinstate", { id: "water-bureau" }).status, "executed");
    const admins = pass(target, "org.setAdmins", { id: "water-bureau", admins: [admin, outsider] });
    assert.equal(admins.status, "executed");
    assert.equal(readOrganization(target.state, target.hash, "water-bureau")!.admins.length, 2);
    assert.equal(pass(target, "org.remove", { id: "water-bureau", reason: "merged" }).status, "executed");
    assert.equal(readOrganization(target.state, target.hash, "water-bureau")!.status, "removed");
    const refused = pass(target, "org.suspend", { id: "no-such-org" });
    assert.equal(refused.status, "failed");
    assert.match(refused.errorCode!, /^(ORG_|EXEC_ARGS_)/);

    const rule = pass(target, "permission.set", { contract: "permits", name: "issue", roles: ["official"] });
    assert.equal(rule.status, "executed", rule.errorCode ?? "");
    assert.deepEqual(readPermissionRule(target.state, target.hash, "permits", "issue")!.roles, ["official"]);
    assert.equal(pass(target, "permission.clear", { contract: "permits", name: "issue" }).status, "executed");
    assert.equal(readPermissionRule(target.state, target.hash, "permits", "issue"), undefined);
  });

  it("changes the committee: open proposals keep the committee they were made under", () => {
    const target = world();
    const openBefore = propose(target, "parameter.set", { name: "txGasMax", value: 4_000_000n });
    const newRules = committee({
      seats: [
        { keyId: seatC, weight: 1n },
        { keyId: outsider, weight: 1n },
      ],
      quorumPercent: 100n,
      thresholdPercent: 100n,
      votingPeriodMs: 60_000n,
    });
    const changed = pass(target, "committee.set", committeeValue(newRules));
    assert.equal(changed.status, "executed");
    const stored = readCommittee(target.state, target.hash)!;
    assert.equal(stored.proposalId, changed.id);
    assert.equal(stored.thresholdPercent, 100n);
    assert.equal(stored.seats.length, 2);
    // The old committee still decides the proposal it had open.
    assert.equal(errorCode(vote(target, outsider, openBefore).result), "GOV_NOT_COMMITTEE_MEMBER");
    assert.ok(vote(target, seatA, openBefore).result.ok);
    assert.deepEqual(vote(target, seatB, openBefore).result, {
      ok: true,
      value: { proposalId: openBefore, status: "executed" },
    });
    // New proposals: new seats and rules.
    assert.equal(
      errorCode(
        target.execute(seatA, "governance", "propose", {
          kind: "contract.freeze",
          payload: { name: "x" },
          title: "t",
        }).result,
      ),
      "GOV_NOT_COMMITTEE_MEMBER",
    );
    const next = propose(target, "parameter.set", { name: "txGasMax", value: 5_000_000n }, outsider);
    assert.equal(readProposal(target.state, target.hash, next)!.deadlineMs, target.timeMs + 60_000n);
    assert.deepEqual(vote(target, seatC, next).result, {
      ok: true,
      value: { proposalId: next, status: "open" },
    });
    assert.deepEqual(vote(target, outsider, next).result, {
      ok: true,
      value: { proposalId: next, status: "executed" },
    });
    assert.deepEqual(readParameters(target.state, target.hash), { txGasMax: 5_000_000n });
  });
});

describe("governance: the proposal record", () => {
  const keyId = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const natural = fc.bigInt({ min: 0n, max: 1n << 62n });
  const proposalArbitrary = fc.record({
    id: fc.bigInt({ min: 1n, max: 1n << 40n }),
    kind: fc.constantFrom("org.add" as const, "validator.set" as const, "committee.set" as const),
    payload: fc.dictionary(
      fc.stringMatching(/^[a-z]{1,8}$/),
      fc.oneof(fc.string({ maxLength: 20 }), natural),
    ),
    title: fc.string({ minLength: 1, maxLength: 40 }),
    description: fc.option(fc.string({ minLength: 1, maxLength: 40 })),
    proposer: keyId,
    height: natural,
    timeMs: natural,
    txHash: keyId,
    deadlineMs: natural,
    seats: fc.array(fc.record({ keyId, weight: fc.bigInt({ min: 1n, max: 1_000_000n }) }), {
      minLength: 1,
      maxLength: 8,
    }),
    quorumPercent: fc.bigInt({ min: 1n, max: 100n }),
    thresholdPercent: fc.bigInt({ min: 1n, max: 100n }),
    votes: fc.array(
      fc.record({
        voter: keyId,
        choice: fc.constantFrom("yes" as const, "no" as const, "abstain" as const),
        height: natural,
        timeMs: natural,
      }),
      { maxLength: 8 },
    ),
    status: fc.constantFrom(
      "open" as const,
      "executed" as const,
      "failed" as const,
      "rejected" as const,
      "expired" as const,
    ),
    decidedHeight: fc.option(natural),
    decidedTimeMs: fc.option(natural),
    errorCode: fc.option(fc.constantFrom("GOV_VALIDATOR_SET_INVALID", "REGISTRY_CODE_MISSING")),
  });

  it("decodes to what was encoded, and re-encodes to the same bytes", () => {
    fc.assert(
      fc.property(proposalArbitrary, (proposal: Proposal) => {
        const encoded = encodeProposal(proposal);
        const decoded = decodeProposal(encoded);
        assert.deepEqual(encodeProposal(decoded), encoded);
        assert.equal(decoded.id, proposal.id);
        assert.equal(decoded.status, proposal.status);
        assert.equal(decoded.votes.length, proposal.votes.length);
        assert.equal(decoded.description, proposal.description);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a stored record with an unknown field or status", () => {
    const target = world();
    const proposalId = propose(target, "contract.freeze", { name: "permits" });
    const proposal = readProposal(target.state, target.hash, proposalId)!;
    const encoded = encodeProposal(proposal);
    assert.throws(() => decodeProposal(encoded.subarray(0, encoded.length - 1)));
    assert.throws(() =>
      decodeProposal(encodeProposal({ ...proposal, status: "pending" as Proposal["status"] })),
    );
  });
});
