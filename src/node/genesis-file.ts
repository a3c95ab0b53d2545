/**
 * The genesis file (JSON): the chain id, the suite, the genesis time, the validators and the
 * admitted nodes, and the initial state (organizations, members, committee, permissions,
 * parameters; in the value JSON form of docs/PROTOCOL.md 1.1.1). Checked with a schema and then
 * with checkGenesis; written by `cityledger init`.
 * @module
 */
import { readFileSync } from "node:fs";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { VALIDATORS_MAX } from "../base/limits.ts";
import { type SignatureSuite, type SuiteName, suiteByName } from "../crypto/index.ts";
import { ValueJsonError, type ValueMap, valueFromJson, valueToJson } from "../encoding/index.ts";
import { checkGenesis, GENESIS_NODES_MAX, type Genesis } from "../ledger/genesis.ts";
import { canonicalValidatorSet } from "../ledger/index.ts";
import { NodeError } from "./errors.ts";

export const GENESIS_FILE_BYTES_MAX = 1024 * 1024;

const Hex = (sizeBytesMax: number) => Type.String({ pattern: `^([0-9a-f]{2}){1,${sizeBytesMax}}$` });

export const GenesisFileSchema = Type.Object(
  {
    chainId: Type.String({ minLength: 1, maxLength: 64 }),
    suite: Type.Union([Type.Literal("ed25519"), Type.Literal("sm2-sm3")]),
    /** Milliseconds since the Unix epoch, as a decimal string. */
    genesisTimeMs: Type.String({ pattern: "^(0|[1-9][0-9]{0,15})$" }),
    validators: Type.Array(
      Type.Object(
        {
          name: Type.Optional(Type.String({ maxLength: 64 })),
          publicKey: Hex(65),
          power: Type.String({ pattern: "^[1-9][0-9]{0,15}$" }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: VALIDATORS_MAX },
    ),
    nodes: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 64 }),
          nodeKey: Type.String({ pattern: "^[0-9a-f]{64}$" }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: GENESIS_NODES_MAX },
    ),
    /** Sections by native contract name, in the value JSON form. Absent: {}. */
    initialState: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

export type GenesisFile = Static<typeof GenesisFileSchema>;

export interface LoadedGenesis {
  readonly genesis: Genesis;
  readonly suite: SignatureSuite;
  /** Validator names by public key hex, for logs and the portal. */
  readonly validatorNames: ReadonlyMap<string, string>;
}

export function parseGenesisFile(json: unknown): LoadedGenesis {
  if (!Value.Check(GenesisFileSchema, json)) {
    const first = Value.Errors(GenesisFileSchema, json).First();
    const field = first === undefined || first.path === "" ? "(the whole file)" : first.path;
    throw new NodeError("NODE_GENESIS_INVALID", `genesis field ${field}: ${first?.message ?? "invalid"}`, {
      field,
    });
  }
  const suite = suiteByName(json.suite as SuiteName);
  const validatorNames = new Map<string, string>();
  for (const validator of json.validators) validatorNames.set(validator.publicKey, validator.name ?? "");
  let initialState: ValueMap;
  try {
    initialState = valueFromJson(json.initialState ?? {}) as ValueMap;
  } catch (error) {
    if (!(error instanceof ValueJsonError)) throw error;
    throw new NodeError("NODE_GENESIS_INVALID", `genesis field /initialState${error.message.slice(1)}`, {
      field: "/initialState",
    });
  }
  const genesis: Genesis = {
    initialState,
    chainId: json.chainId,
    genesisTimeMs: BigInt(json.genesisTimeMs),
    validatorSet: canonicalValidatorSet(
      suite.name,
      json.validators.map((validator) => ({
        publicKey: hexToBytes(validator.publicKey),
        power: BigInt(validator.power),
      })),
    ),
    nodes: json.nodes
      .map((node) => ({ name: node.name, nodeKey: hexToBytes(node.nodeKey) }))
      .sort((left, right) => bytesToHex(left.nodeKey).localeCompare(bytesToHex(right.nodeKey))),
  };
  try {
    checkGenesis(genesis, suite);
  } catch (error) {
    if (error instanceof CityLedgerError) {
      throw new NodeError("NODE_GENESIS_INVALID", `the genesis is not valid: ${error.message}`);
    }
    throw error;
  }
  return { genesis, suite, validatorNames };
}

export function loadGenesisFile(file: string): LoadedGenesis {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new NodeError(
      "NODE_GENESIS_INVALID",
      `cannot read the genesis file ${file}: ${(error as Error).message}`,
    );
  }
  if (text.length > GENESIS_FILE_BYTES_MAX) {
    throw new NodeError(
      "NODE_GENESIS_INVALID",
      `the genesis file is larger than ${GENESIS_FILE_BYTES_MAX} bytes`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NodeError("NODE_GENESIS_INVALID", `the genesis file is not JSON: ${(error as Error).message}`);
  }
  return parseGenesisFile(json);
}

export function genesisFileOf(loaded: LoadedGenesis): GenesisFile {
  const { genesis } = loaded;
  return {
    chainId: genesis.chainId,
    suite: genesis.validatorSet.suite,
    genesisTimeMs: genesis.genesisTimeMs.toString(),
    validators: genesis.validatorSet.validators.map((validator) => {
      const publicKey = bytesToHex(validator.publicKey);
      const name = loaded.validatorNames.get(publicKey);
      return {
        ...(name === undefined || name === "" ? {} : { name }),
        publicKey,
        power: validator.power.toString(),
      };
    }),
    nodes: genesis.nodes.map((node) => ({ name: node.name, nodeKey: bytesToHex(node.nodeKey) })),
    initialState: valueToJson(genesis.initialState) as Record<string, unknown>,
  };
}
