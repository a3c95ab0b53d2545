/**
 * Conversions between the ledger's structures and their JSON wire form (./wire.ts): bytes to
 * lower-case hex, 64-bit integers to decimal strings, and back. The `...FromJson` functions take
 * untrusted input: they check it against the wire schema first and throw WireFormatError (code
 * WIRE_MALFORMED) on anything else, never a TypeError. Browser-safe.
 * @module
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { assert } from "../base/assert.ts";
import { bytesToHex, hexToBytesOrNull } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import type { BlockHeader } from "../ledger/block.ts";
import type { CommitCertificate } from "../ledger/commit.ts";
import type { ValidatorSet } from "../ledger/validator-set.ts";
import { decodeStateProof, type StateProof } from "../state/state-proof.ts";
import {
  BlockHeaderJson,
  CommitCertificateJson,
  type ExecutionResultJson,
  StateReadJson,
  U64_MAX,
  ValidatorSetJson,
} from "./wire.ts";

export type WireFormatErrorCode = "WIRE_MALFORMED";

/** JSON that does not have the documented wire form. The message names the first wrong field. */
export class WireFormatError extends CityLedgerError<WireFormatErrorCode> {
  override name = "WireFormatError";
}

/** What executing a transaction gave; the same shape as the node's ExecutionResult. */
export interface ExecutionResult {
  readonly ok: boolean;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
}

/** Throws WireFormatError unless `json` matches `schema`; the message names the first problem. */
export function checkWire(schema: TSchema, json: unknown, what: string): void {
  if (Value.Check(schema, json)) return;
  const first = Value.Errors(schema, json).First();
  const where = first === undefined ? "" : ` at ${first.path || "/"}: ${first.message}`;
  throw new WireFormatError("WIRE_MALFORMED", `${what} is not in the documented JSON form${where}`);
}

/** Hex of even length to bytes; WireFormatError otherwise. */
export function bytesFromHex(hex: string, field: string): Uint8Array {
  const bytes = hexToBytesOrNull(hex);
  if (bytes === null) throw new WireFormatError("WIRE_MALFORMED", `${field} is not hex of even length`);
  return bytes;
}

/** A decimal string of the wire form to a u64 bigint; WireFormatError when above 2^64 - 1. */
export function u64FromDecimal(text: string, field: string): bigint {
  if (!/^(0|[1-9][0-9]{0,19})$/.test(text)) {
    throw new WireFormatError("WIRE_MALFORMED", `${field} is not a decimal integer`);
  }
  const value = BigInt(text);
  if (value > U64_MAX) throw new WireFormatError("WIRE_MALFORMED", `${field} is above 2^64 - 1`);
  return value;
}

export function u64ToDecimal(value: bigint): string {
  assert(value >= 0n, "u64ToDecimal: not negative");
  assert(value <= U64_MAX, "u64ToDecimal: at most 2^64 - 1");
  return value.toString(10);
}

export function headerToJson(header: BlockHeader): BlockHeaderJson {
  return {
    chainId: header.chainId,
    height: u64ToDecimal(header.height),
    timeMs: u64ToDecimal(header.timeMs),
    previousBlockHash: bytesToHex(header.previousBlockHash),
    previousCommitHash: bytesToHex(header.previousCommitHash),
    txRoot: bytesToHex(header.txRoot),
    txCount: header.txCount,
    logRoot: bytesToHex(header.logRoot),
    logSize: u64ToDecimal(header.logSize),
    stateRoot: bytesToHex(header.stateRoot),
    receiptRoot: bytesToHex(header.receiptRoot),
    validatorSetHash: bytesToHex(header.validatorSetHash),
    nextValidatorSetHash: bytesToHex(header.nextValidatorSetHash),
    evidenceRoot: bytesToHex(header.evidenceRoot),
    proposer: bytesToHex(header.proposer),
  };
}

export function headerFromJson(json: unknown): BlockHeader {
  checkWire(BlockHeaderJson, json, "the block header");
  const header = json as BlockHeaderJson;
  return {
    chainId: header.chainId,
    height: u64FromDecimal(header.height, "header.height"),
    timeMs: u64FromDecimal(header.timeMs, "header.timeMs"),
    previousBlockHash: bytesFromHex(header.previousBlockHash, "header.previousBlockHash"),
    previousCommitHash: bytesFromHex(header.previousCommitHash, "header.previousCommitHash"),
    txRoot: bytesFromHex(header.txRoot, "header.txRoot"),
    txCount: header.txCount,
    logRoot: bytesFromHex(header.logRoot, "header.logRoot"),
    logSize: u64FromDecimal(header.logSize, "header.logSize"),
    stateRoot: bytesFromHex(header.stateRoot, "header.stateRoot"),
    receiptRoot: bytesFromHex(header.receiptRoot, "header.receiptRoot"),
    validatorSetHash: bytesFromHex(header.validatorSetHash, "header.validatorSetHash"),
    nextValidatorSetHash: bytesFromHex(header.nextValidatorSetHash, "header.nextValidatorSetHash"),
    evidenceRoot: bytesFromHex(header.evidenceRoot, "header.evidenceRoot"),
    proposer: bytesFromHex(header.proposer, "header.proposer"),
  };
}

export function certificateToJson(certificate: CommitCertificate): CommitCertificateJson {
  return {
    height: u64ToDecimal(certificate.height),
    round: certificate.round,
    blockHash: bytesToHex(certificate.blockHash),
    signatures: certificate.signatures.map((entry) => ({
      validatorIndex: entry.validatorIndex,
      signature: bytesToHex(entry.signature),
    })),
  };
}

export function certificateFromJson(json: unknown): CommitCertificate {
  checkWire(CommitCertificateJson, json, "the commit certificate");
  const certificate = json as CommitCertificateJson;
  return {
    height: u64FromDecimal(certificate.height, "certificate.height"),
    round: certificate.round,
    blockHash: bytesFromHex(certificate.blockHash, "certificate.blockHash"),
    signatures: certificate.signatures.map((entry, index) => ({
      validatorIndex: entry.validatorIndex,
      signature: bytesFromHex(entry.signature, `certificate.signatures[${index}].signature`),
    })),
  };
}

export function validatorSetToJson(set: ValidatorSet): ValidatorSetJson {
  return {
    suite: set.suite,
    validators: set.validators.map((validator) => ({
      publicKey: bytesToHex(validator.publicKey),
      power: u64ToDecimal(validator.power),
    })),
  };
}

export function validatorSetFromJson(json: unknown): ValidatorSet {
  checkWire(ValidatorSetJson, json, "the validator set");
  const set = json as ValidatorSetJson;
  return {
    suite: set.suite,
    validators: set.validators.map((validator, index) => ({
      publicKey: bytesFromHex(validator.publicKey, `validatorSet.validators[${index}].publicKey`),
      power: u64FromDecimal(validator.power, `validatorSet.validators[${index}].power`),
    })),
  };
}

export function executionResultToJson(result: ExecutionResult): ExecutionResultJson {
  return { ok: result.ok, errorCode: result.errorCode, errorMessage: result.errorMessage };
}

/** A state value read from a node, with the proof to check it against `stateRoot`. */
export interface StateRead {
  readonly key: Uint8Array;
  /** The value, or null when the key is absent (the proof then shows non-membership). */
  readonly value: Uint8Array | null;
  readonly height: bigint;
  readonly stateRoot: Uint8Array;
  readonly proof: StateProof;
  readonly encodedProof: Uint8Array;
}

export function stateReadFromJson(json: unknown): StateRead {
  checkWire(StateReadJson, json, "the state read");
  const read = json as StateReadJson;
  const encodedProof = bytesFromHex(read.proof, "proof");
  let proof: StateProof;
  try {
    proof = decodeStateProof(encodedProof);
  } catch (error) {
    if (error instanceof CityLedgerError) {
      throw new WireFormatError("WIRE_MALFORMED", `the state proof does not decode: ${error.message}`);
    }
    throw error;
  }
  return {
    key: bytesFromHex(read.key, "key"),
    value: read.value === null ? null : bytesFromHex(read.value, "value"),
    height: u64FromDecimal(read.height, "height"),
    stateRoot: bytesFromHex(read.stateRoot, "stateRoot"),
    proof,
    encodedProof,
  };
}
