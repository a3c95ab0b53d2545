/**
 * Validator sets: who may vote and with what power. Canonical form: validators sorted by
 * public key bytes, no duplicates, 1..VALIDATORS_MAX entries, each power in 1..VOTING_POWER_MAX.
 *
 *   u8 version (1) | u8 suite code | u32 count | count × (bytes publicKey, u64 power)
 *   hash = HASH(domain("cityledger/validator-set/v1") || encoding)
 * @module
 */
import { compareBytes } from "../base/bytes.ts";
import { PUBLIC_KEY_BYTES_MAX, VALIDATORS_MAX, VOTING_POWER_MAX } from "../base/limits.ts";
import { type SignatureSuite, SUITE_CODES, type SuiteName, suiteNameOfCode } from "../crypto/suite.ts";
import { DOMAIN_TAGS, domainSeparated } from "../encoding/domain.ts";
import { DecodeError } from "../encoding/errors.ts";
import { Reader } from "../encoding/reader.ts";
import { Writer } from "../encoding/writer.ts";
import { LedgerError } from "./errors.ts";

export const VALIDATOR_SET_VERSION = 1;

export interface Validator {
  readonly publicKey: Uint8Array;
  readonly power: bigint;
}

export interface ValidatorSet {
  readonly suite: SuiteName;
  readonly validators: readonly Validator[];
}

/** Checks the canonical form; returns the total power. Throws LedgerError when invalid. */
export function checkValidatorSet(set: ValidatorSet, suite: SignatureSuite): bigint {
  if (set.suite !== suite.name) {
    throw new LedgerError(
      "VALIDATOR_SET_INVALID",
      `the validator set is for ${set.suite}, not ${suite.name}`,
    );
  }
  if (set.validators.length === 0 || set.validators.length > VALIDATORS_MAX) {
    throw new LedgerError("VALIDATOR_SET_INVALID", `a validator set has 1 to ${VALIDATORS_MAX} validators`);
  }
  let total = 0n;
  for (let index = 0; index < set.validators.length; index++) {
    const validator = set.validators[index]!;
    if (!suite.isPublicKey(validator.publicKey)) {
      throw new LedgerError("VALIDATOR_SET_INVALID", "a validator key is not a valid public key", { index });
    }
    if (validator.power < 1n || validator.power > VOTING_POWER_MAX) {
      throw new LedgerError("VALIDATOR_SET_INVALID", "a validator's power is out of range", { index });
    }
    if (index > 0 && compareBytes(set.validators[index - 1]!.publicKey, validator.publicKey) >= 0) {
      throw new LedgerError("VALIDATOR_SET_INVALID", "validators must be sorted by key, without duplicates", {
        index,
      });
    }
    total += validator.power;
  }
  return total;
}

/** Sorts validators into canonical order (a convenience for building sets). */
export function canonicalValidatorSet(suite: SuiteName, validators: readonly Validator[]): ValidatorSet {
  return {
    suite,
    validators: [...validators].sort((left, right) => compareBytes(left.publicKey, right.publicKey)),
  };
}

export function totalVotingPower(set: ValidatorSet): bigint {
  let total = 0n;
  for (const validator of set.validators) total += validator.power;
  return total;
}

export function encodeValidatorSet(set: ValidatorSet): Uint8Array {
  const writer = new Writer(16 + set.validators.length * 48);
  writer.u8(VALIDATOR_SET_VERSION).u8(SUITE_CODES[set.suite]).u32(set.validators.length);
  for (const validator of set.validators) {
    writer.bytes(validator.publicKey, PUBLIC_KEY_BYTES_MAX).u64(validator.power);
  }
  return writer.finish();
}

/** Decodes the structure; callers check the canonical form with checkValidatorSet. */
export function decodeValidatorSet(bytes: Uint8Array): ValidatorSet {
  const reader = new Reader(bytes);
  const version = reader.u8("version");
  if (version !== VALIDATOR_SET_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown validator set version", { version });
  }
  const suiteCode = reader.u8("suite");
  const suite = suiteNameOfCode(suiteCode);
  if (suite === null) throw new DecodeError("DECODE_INVALID_VALUE", "unknown suite", { suiteCode });
  const count = reader.u32("validator count");
  if (count > VALIDATORS_MAX) throw new DecodeError("DECODE_TOO_LONG", "too many validators", { count });
  const validators: Validator[] = [];
  for (let index = 0; index < count; index++) {
    const publicKey = reader.bytesField(PUBLIC_KEY_BYTES_MAX, "publicKey");
    validators.push({ publicKey, power: reader.u64("power") });
  }
  reader.end("validator set");
  return { suite, validators };
}

export function validatorSetHash(set: ValidatorSet, suite: SignatureSuite): Uint8Array {
  return suite.hash(domainSeparated(DOMAIN_TAGS.validatorSet, encodeValidatorSet(set)));
}
