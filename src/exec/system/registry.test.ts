import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ok } from "../../base/errors.ts";
import { sha256, sm3 } from "../../crypto/index.ts";
import { decodeValue, encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import { isValueMap } from "../args.ts";
import type { NativeContract } from "../contract.ts";
import { CONTRACT_CODE_BYTES_MAX, REGISTRY_CONTRACTS_PAGE_MAX } from "../limits.ts";
import {
  contractVersionValue,
  listContracts,
  readActiveContract,
  readCodeRecord,
  readContractCode,
  readContractVersions,
  registryContract,
} from "./registry.ts";
import { TestWorld } from "./test-context.ts";

const uploader = new Uint8Array(32).fill(0x11);
const proposer = new Uint8Array(32).fill(0x22);

/** Stands in for `governance`: forwards a call, so the registry sees caller.contract "governance". */
const governanceStub: NativeContract = {
  name: "governance",
  execute(context, method, args) {
    assert.equal(method, "forward");
    assert.ok(isValueMap(args));
    return context.call("registry", args.method as string, args.args!, { readOnly: false });
  },
};

/** Any other contract trying the same. */
const impostor: NativeContract = { ...governanceStub, name: "impostor" };

function world(suite: "ed25519" | "sm2-sm3" | null = "ed25519"): TestWorld {
  const created = new TestWorld([registryContract, governanceStub, impostor]);
  if (suite !== null) assert.ok(created.initialize({ registry: { suite } }).ok);
  return created;
}

function codeOf(text: string): Uint8Array {
  return new TextEncoder().encode(`export function call(){ return ${JSON.stringify(text)}; }`);
}

function upload(target: TestWorld, code: Uint8Array): Uint8Array {
  const outcome = target.execute(uploader, "registry", "upload", { code });
  assert.ok(outcome.result.ok, outcome.result.ok ? "" : outcome.result.error.code);
  const value = outcome.result.value;
  assert.ok(isValueMap(value) && value.codeHash instanceof Uint8Array);
  return value.codeHash;
}

function viaGovernance(target: TestWorld, method: string, args: ValueMap, from = "governance") {
  return target.execute(proposer, from, "forward", { method, args }).result;
}

function errorCode(result: { ok: boolean; error?: { code: string } }): string | null {
  return result.ok ? null : result.error!.code;
}

describe("registry: upload", () => {
  it("stores code under the suite's hash with its uploader, height and time", () => {
    const target = world();
    const code = codeOf("hello");
    const outcome = target.execute(uploader, "registry", "upload", { code });
    assert.ok(outcome.result.ok);
    const codeHash = sha256(code);
    assert.deepEqual(outcome.result.value, { codeHash });
    assert.deepEqual(readContractCode(target.state, target.hash, codeHash), code);
    const record = readCodeRecord(target.state, target.hash, codeHash)!;
    assert.deepEqual(record.uploader, uploader);
    assert.equal(record.height, target.height);
    assert.equal(record.timeMs, target.timeMs);
    assert.deepEqual(outcome.events, [
      {
        contract: "registry",
        type: "uploaded",
        data: { codeHash, sizeBytes: BigInt(code.length), uploader },
      },
    ]);
  });

  it("names code with SM3 on an sm2-sm3 chain", () => {
    const target = world("sm2-sm3");
    const code = codeOf("national");
    assert.deepEqual(upload(target, code), sm3(code));
  });

  it("refuses the same code twice, empty code, code over the limit, and an unconfigured registry", () => {
    const target = world();
    const code = codeOf("once");
    upload(target, code);
    assert.equal(
      errorCode(target.execute(uploader, "registry", "upload", { code }).result),
      "REGISTRY_CODE_EXISTS",
    );
    assert.equal(
      errorCode(target.execute(uploader, "registry", "upload", { code: new Uint8Array(0) }).result),
      "EXEC_ARGS_FIELD_INVALID",
    );
    const tooLarge = new Uint8Array(CONTRACT_CODE_BYTES_MAX + 1).fill(0x20);
    assert.equal(
      errorCode(target.execute(uploader, "registry", "upload", { code: tooLarge }).result),
      "REGISTRY_CODE_TOO_LARGE",
    );
    const atLimit = new Uint8Array(CONTRACT_CODE_BYTES_MAX).fill(0x20);
    assert.ok(target.execute(uploader, "registry", "upload", { code: atLimit }).result.ok);
    assert.equal(
      errorCode(target.execute(uploader, "registry", "upload", { code: "text" }).result),
      "EXEC_ARGS_FIELD_WRONG_TYPE",
    );
    assert.equal(
      errorCode(world(null).execute(uploader, "registry", "upload", { code }).result),
      "REGISTRY_NOT_CONFIGURED",
    );
  });

  it("asks for the `upload` permission", () => {
    const target = world();
    target.deniedPermissions.add("registry:upload");
    assert.equal(
      errorCode(target.execute(uploader, "registry", "upload", { code: codeOf("x") }).result),
      "PERMISSION_DENIED",
    );
  });

  it("is configured once, with a known suite", () => {
    const target = world();
    assert.equal(
      errorCode(target.initialize({ registry: { suite: "ed25519" } })),
      "REGISTRY_ALREADY_INITIALIZED",
    );
    const fresh = world(null);
    assert.equal(errorCode(fresh.initialize({ registry: { suite: "rsa" } })), "EXEC_ARGS_FIELD_INVALID");
  });
});

describe("registry: names and versions, on governance's word only", () => {
  it("refuses deploy, upgrade, freeze and unfreeze from a transaction or another contract", () => {
    const target = world();
    const codeHash = upload(target, codeOf("v1"));
    const bind = { name: "permits", codeHash, proposalId: 1n, deployer: proposer };
    for (const method of ["deploy", "upgrade"]) {
      assert.equal(errorCode(target.execute(proposer, "registry", method, bind).result), "PERMISSION_DENIED");
      assert.equal(errorCode(viaGovernance(target, method, bind, "impostor")), "PERMISSION_DENIED");
    }
    for (const method of ["freeze", "unfreeze"]) {
      assert.equal(
        errorCode(target.execute(proposer, "registry", method, { name: "permits", proposalId: 1n }).result),
        "PERMISSION_DENIED",
      );
    }
    assert.equal(readActiveContract(target.state, target.hash, "permits"), undefined);
  });

  it("deploys, upgrades, freezes and keeps every version", () => {
    const target = world();
    const v1 = upload(target, codeOf("v1"));
    const v2 = upload(target, codeOf("v2"));
    const deployed = viaGovernance(target, "deploy", {
      name: "permits",
      codeHash: v1,
      proposalId: 3n,
      deployer: proposer,
    });
    assert.ok(deployed.ok);
    assert.deepEqual(readActiveContract(target.state, target.hash, "permits"), {
      name: "permits",
      version: 1n,
      codeHash: v1,
      frozen: false,
    });
    target.nextBlock();
    assert.ok(
      viaGovernance(target, "upgrade", { name: "permits", codeHash: v2, proposalId: 4n, deployer: proposer })
        .ok,
    );
    assert.equal(readActiveContract(target.state, target.hash, "permits")!.version, 2n);
    // A rollback to the first code is a new version.
    target.nextBlock();
    assert.ok(
      viaGovernance(target, "upgrade", { name: "permits", codeHash: v1, proposalId: 5n, deployer: proposer })
        .ok,
    );
    const versions = readContractVersions(target.state, target.hash, "permits");
    assert.deepEqual(
      versions.map((version) => [version.version, version.proposalId, version.height]),
      [
        [1n, 3n, 1n],
        [2n, 4n, 2n],
        [3n, 5n, 3n],
      ],
    );
    assert.deepEqual(versions[1]!.codeHash, v2);
    assert.deepEqual(versions[2]!.codeHash, v1);
    assert.deepEqual(versions[0]!.deployer, proposer);

    assert.ok(viaGovernance(target, "freeze", { name: "permits", proposalId: 6n }).ok);
    assert.equal(readActiveContract(target.state, target.hash, "permits")!.frozen, true);
    assert.equal(
      errorCode(viaGovernance(target, "freeze", { name: "permits", proposalId: 7n })),
      "REGISTRY_FROZEN",
    );
    assert.equal(
      errorCode(
        viaGovernance(target, "upgrade", {
          name: "permits",
          codeHash: v2,
          proposalId: 7n,
          deployer: proposer,
        }),
      ),
      "REGISTRY_FROZEN",
    );
    assert.ok(viaGovernance(target, "unfreeze", { name: "permits", proposalId: 8n }).ok);
    assert.equal(
      errorCode(viaGovernance(target, "unfreeze", { name: "permits", proposalId: 9n })),
      "REGISTRY_NOT_FROZEN",
    );
    assert.equal(readActiveContract(target.state, target.hash, "permits")!.frozen, false);
    assert.deepEqual(
      target.events.map((event) => event.type),
      ["uploaded", "uploaded", "deployed", "upgraded", "upgraded", "frozen", "unfrozen"],
    );
    // The query method answers what the reader answers.
    const queried = target.query("registry", "get", { name: "permits" });
    assert.deepEqual(queried, ok({ name: "permits", version: 3n, codeHash: v1, frozen: false }));
    assert.deepEqual(target.query("registry", "get", { name: "nothing" }), ok(null));
  });

  it("refuses reserved and taken names, missing code, unknown names and unchanged code", () => {
    const target = world();
    const codeHash = upload(target, codeOf("v1"));
    const missing = new Uint8Array(32).fill(0xee);
    const bind = (name: string, hash = codeHash): ValueMap => ({
      name,
      codeHash: hash,
      proposalId: 1n,
      deployer: proposer,
    });
    for (const reserved of ["governance", "registry", "org", "member", "permission", "notary", "genesis"]) {
      assert.equal(errorCode(viaGovernance(target, "deploy", bind(reserved))), "REGISTRY_NAME_RESERVED");
    }
    assert.equal(errorCode(viaGovernance(target, "deploy", bind("Bad/Name"))), "EXEC_ARGS_FIELD_INVALID");
    assert.equal(
      errorCode(viaGovernance(target, "deploy", bind("permits", missing))),
      "REGISTRY_CODE_MISSING",
    );
    assert.ok(viaGovernance(target, "deploy", bind("permits")).ok);
    assert.equal(errorCode(viaGovernance(target, "deploy", bind("permits"))), "REGISTRY_NAME_TAKEN");
    assert.equal(errorCode(viaGovernance(target, "upgrade", bind("absent"))), "REGISTRY_NOT_FOUND");
    assert.equal(
      errorCode(viaGovernance(target, "upgrade", bind("permits", missing))),
      "REGISTRY_CODE_MISSING",
    );
    assert.equal(errorCode(viaGovernance(target, "upgrade", bind("permits"))), "REGISTRY_CODE_UNCHANGED");
    assert.equal(
      errorCode(viaGovernance(target, "freeze", { name: "absent", proposalId: 1n })),
      "REGISTRY_NOT_FOUND",
    );
    assert.equal(errorCode(target.execute(proposer, "registry", "nope", {}).result), "EXEC_METHOD_UNKNOWN");
  });

  it("lists contracts in deployment order, page by page", () => {
    const target = world();
    const codeHash = upload(target, codeOf("shared"));
    const names = ["zeta", "alpha", "mid.1", "b-2", "c_3"];
    for (const name of names) {
      assert.ok(viaGovernance(target, "deploy", { name, codeHash, proposalId: 1n, deployer: proposer }).ok);
    }
    const first = listContracts(target.state, target.hash, 0n, 2);
    assert.deepEqual(
      first.contracts.map((contract) => contract.name),
      ["zeta", "alpha"],
    );
    assert.equal(first.total, 5n);
    assert.equal(first.nextPosition, 2n);
    const rest = listContracts(target.state, target.hash, first.nextPosition!, REGISTRY_CONTRACTS_PAGE_MAX);
    assert.deepEqual(
      rest.contracts.map((contract) => contract.name),
      ["mid.1", "b-2", "c_3"],
    );
    assert.equal(rest.nextPosition, null);
    assert.deepEqual(listContracts(world().state, target.hash).contracts, []);
  });

  it("round-trips version records through the canonical encoding", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,63}$/),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 1n, max: 0xffff_ffffn }),
        fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
        (name, codeHash, version, height) => {
          const value = contractVersionValue({
            name,
            version,
            codeHash,
            deployer: proposer,
            proposalId: version,
            height,
            timeMs: height,
            txHash: codeHash,
          });
          const decoded: Value = decodeValue(encodeValue(value));
          assert.deepEqual(encodeValue(decoded), encodeValue(value));
        },
      ),
      { numRuns: 100 },
    );
  });
});
