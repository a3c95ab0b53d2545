/**
 * Fixtures of the identity contracts' tests (not exported from index.ts): a small city in a
 * genesis initial state, signers, a stand-in `governance` contract that forwards an accepted
 * act (the real one votes first), and a chain that numbers each signer's nonces.
 * @module
 */
import { ok } from "../../base/errors.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import type { ValidTransaction } from "../../ledger/validate-transaction.ts";
import { argsMapOf, textField } from "../args.ts";
import { createContractRegistry, type NativeContract } from "../contract.ts";
import type { ExecutionOutcome } from "../execute-block.ts";
import { notaryContract } from "../notary.ts";
import { blockContext, type Signer, signerOf, TestChain, validTransaction } from "../test-fixtures.ts";
import { memberContract } from "./member.ts";
import { orgContract } from "./org.ts";
import { permissionContract } from "./permission.ts";

export const cityAdmin = signerOf(10);
export const bureauAdmin = signerOf(11);
export const official = signerOf(12);
export const resident = signerOf(13);
export const stranger = signerOf(14);
export const auditor = signerOf(15);
export const committee = signerOf(16);

/** Block time of a TestChain block (test-fixtures.ts blockContext). */
export function timeAt(height: bigint): bigint {
  return blockContext(height).timeMs;
}

/**
 * Stands in for the `governance` contract: `execute {contract, method, args}` makes the call as
 * `governance`, as an accepted proposal's execution does.
 */
export const governanceStub: NativeContract = {
  name: "governance",
  execute(context, method, args) {
    if (method !== "execute") return ok(null);
    const map = argsMapOf(args, ["contract", "method", "args"]);
    if (!map.ok) return map;
    const contract = textField(map.value, "contract", { bytesMax: 64 });
    if (!contract.ok) return contract;
    const target = textField(map.value, "method", { bytesMax: 64 });
    if (!target.ok) return target;
    return context.call(contract.value, target.value, map.value.args ?? null, { readOnly: false });
  },
};

export const IDENTITY_TEST_CONTRACTS = [
  notaryContract,
  orgContract,
  memberContract,
  permissionContract,
  governanceStub,
];

/** The demo city: city hall (a district and a records agency) and the water bureau. */
export function cityInitialState(overrides: Partial<Record<"member" | "permission", Value>> = {}): ValueMap {
  return {
    org: {
      organizations: [
        {
          id: "city-hall",
          name: "Wuhan City Hall",
          admins: [cityAdmin.keyId],
          departments: [
            { id: "city", name: "City", level: "city" },
            { id: "donghu", name: "Donghu District", level: "district", parent: "city" },
            { id: "records", name: "Records Office", level: "agency", parent: "city" },
          ],
        },
        {
          id: "water-bureau",
          name: "Water Bureau",
          admins: [bureauAdmin.keyId],
          departments: [{ id: "hq", name: "Headquarters", level: "agency" }],
        },
      ],
    },
    member: overrides.member ?? {
      members: [
        {
          keyId: official.keyId,
          organization: "city-hall",
          department: "records",
          roles: ["official", "data-steward"],
          label: "Records clerk",
        },
        { keyId: resident.keyId, organization: "city-hall", department: "donghu", roles: ["resident"] },
        {
          keyId: auditor.keyId,
          organization: "water-bureau",
          department: "hq",
          roles: ["auditor"],
          // Expires at block 3's time: active in blocks 1 and 2.
          expiresAtMs: timeAt(3n),
        },
      ],
    },
    permission: overrides.permission ?? { rules: [] },
  };
}

/** A chain of the demo city that numbers nonces per signer. */
export class CityChain extends TestChain {
  readonly #nonces = new Map<string, bigint>();

  constructor(
    initialState: ValueMap = cityInitialState(),
    extraContracts: readonly NativeContract[] = [],
    txGasMax?: bigint,
  ) {
    super({
      contracts: createContractRegistry([...IDENTITY_TEST_CONTRACTS, ...extraContracts]),
      initialState,
      ...(txGasMax === undefined ? {} : { txGasMax }),
    });
  }

  tx(signer: Signer, contract: string, method: string, args: Value): ValidTransaction {
    const id = Buffer.from(signer.keyId).toString("hex");
    const nonce = this.#nonces.get(id) ?? 0n;
    this.#nonces.set(id, nonce + 1n);
    return validTransaction(signer, { nonce, contract, method, args });
  }

  /** An act of governance, signed by the committee key. */
  governance(contract: string, method: string, args: Value): ValidTransaction {
    return this.tx(committee, "governance", "execute", { contract, method, args });
  }

  /** Executes one block and returns its receipts' codes ("ok" or the error code). */
  run(transactions: readonly ValidTransaction[]): { codes: string[]; outcome: ExecutionOutcome } {
    const outcome = this.execute(transactions);
    return { codes: outcome.receipts.map((receipt) => receipt.errorCode ?? "ok"), outcome };
  }
}
