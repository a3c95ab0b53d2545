/**
 * The history of validator-set changes, kept in the state (governance's tables), so that any
 * node — restarted, replaying, or joined from a snapshot — knows the set of every height from
 * the state alone.
 *
 * Rule (docs/spec/consensus.md, "Validator set changes"): a change decided in block H takes
 * effect at height H + 2. Header H + 1 announces it as `nextValidatorSetHash`.
 *
 *   governance/validator-set-change, id u32 BE index  →  u8 version (1) ‖ u64 fromHeight ‖ bytes set
 *   governance/validator-set-change, id "count"       →  u8 version (1) ‖ u32 count
 *
 * Entries are in increasing `fromHeight`; several changes decided in one block leave one entry
 * (the last set). The genesis set applies from height 1 until the first entry.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import type { HashFunction, SignatureSuite } from "../../crypto/suite.ts";
import { DecodeError } from "../../encoding/errors.ts";
import { Reader } from "../../encoding/reader.ts";
import { Writer } from "../../encoding/writer.ts";
import {
  checkValidatorSet,
  decodeValidatorSet,
  encodeValidatorSet,
  type ValidatorSet,
} from "../../ledger/validator-set.ts";
import type { ContractState } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import type { StateReader } from "../state-view.ts";

export const VALIDATOR_SET_CHANGES_CONTRACT = "governance";
export const VALIDATOR_SET_CHANGES_TABLE = "validator-set-change";
/** Changes a chain may make over its life (each one a vote of the committee). */
export const VALIDATOR_SET_CHANGES_MAX = 4096;
/** Heights between the block that decides a change and the first height it signs. */
export const VALIDATOR_SET_CHANGE_DELAY_HEIGHTS = 2n;
const RECORD_VERSION = 1;
const COUNT_ID = new TextEncoder().encode("count");
const ENTRY_BYTES_MAX = 128 * 1024;

export interface ValidatorSetChange {
  /** The first height the set signs. */
  readonly fromHeight: bigint;
  readonly set: ValidatorSet;
}

function indexId(index: number): Uint8Array {
  assert(Number.isInteger(index) && index >= 0 && index < VALIDATOR_SET_CHANGES_MAX);
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, index);
  return id;
}

function encodeCount(count: number): Uint8Array {
  return new Writer(8).u8(RECORD_VERSION).u32(count).finish();
}

function decodeCount(bytes: Uint8Array): number {
  const reader = new Reader(bytes);
  if (reader.u8("version") !== RECORD_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown validator-set change count version");
  }
  const count = reader.u32("count");
  reader.end("validator-set change count");
  if (count > VALIDATOR_SET_CHANGES_MAX)
    throw new DecodeError("DECODE_TOO_LONG", "too many validator-set changes");
  return count;
}

function encodeChange(change: ValidatorSetChange): Uint8Array {
  const set = encodeValidatorSet(change.set);
  return new Writer(16 + set.length)
    .u8(RECORD_VERSION)
    .u64(change.fromHeight)
    .bytes(set, ENTRY_BYTES_MAX)
    .finish();
}

function decodeChange(bytes: Uint8Array): ValidatorSetChange {
  const reader = new Reader(bytes);
  if (reader.u8("version") !== RECORD_VERSION) {
    throw new DecodeError("DECODE_UNKNOWN_VERSION", "unknown validator-set change version");
  }
  const fromHeight = reader.u64("fromHeight");
  const set = decodeValidatorSet(reader.bytesField(ENTRY_BYTES_MAX, "set"));
  reader.end("validator-set change");
  return { fromHeight, set };
}

/**
 * Records, from inside governance's execution of block `decidedAtHeight`, that `set` signs from
 * decidedAtHeight + 2 on. The set must be canonical for the chain's suite
 * (GOV_VALIDATOR_SET_INVALID otherwise, checked by the caller with checkValidatorSet).
 */
export function recordValidatorSetChange(
  state: ContractState,
  decidedAtHeight: bigint,
  set: ValidatorSet,
): Result<void, ExecutionError> {
  const fromHeight = decidedAtHeight + VALIDATOR_SET_CHANGE_DELAY_HEIGHTS;
  const countBytes = state.get(VALIDATOR_SET_CHANGES_TABLE, COUNT_ID);
  const count = countBytes === undefined ? 0 : decodeCount(countBytes);
  if (count > 0) {
    const last = decodeChange(state.get(VALIDATOR_SET_CHANGES_TABLE, indexId(count - 1))!);
    assert(last.fromHeight <= fromHeight, "changes are recorded in height order");
    if (last.fromHeight === fromHeight) {
      // A second change decided in the same block: the block's last set is the one that signs.
      state.set(VALIDATOR_SET_CHANGES_TABLE, indexId(count - 1), encodeChange({ fromHeight, set }));
      return ok(undefined);
    }
  }
  if (count >= VALIDATOR_SET_CHANGES_MAX) {
    return fail(
      new ExecutionError(
        "GOV_VALIDATOR_SET_INVALID",
        "the chain has made as many validator-set changes as allowed",
        {
          changesMax: VALIDATOR_SET_CHANGES_MAX,
        },
      ),
    );
  }
  state.set(VALIDATOR_SET_CHANGES_TABLE, indexId(count), encodeChange({ fromHeight, set }));
  state.set(VALIDATOR_SET_CHANGES_TABLE, COUNT_ID, encodeCount(count + 1));
  return ok(undefined);
}

/** The latest set recorded in `state` (as seen by governance while deciding), or the genesis set. */
export function latestValidatorSet(state: ContractState, genesisSet: ValidatorSet): ValidatorSet {
  const countBytes = state.get(VALIDATOR_SET_CHANGES_TABLE, COUNT_ID);
  const count = countBytes === undefined ? 0 : decodeCount(countBytes);
  if (count === 0) return genesisSet;
  return decodeChange(state.get(VALIDATOR_SET_CHANGES_TABLE, indexId(count - 1))!).set;
}

/**
 * The changes recorded in the state, oldest first (the node's view of validator-set history);
 * with `knownCount`, only those after the first `knownCount` (the caller holds those already).
 */
export function readValidatorSetChanges(
  state: StateReader,
  hash: HashFunction,
  suite: SignatureSuite,
  options: { readonly knownCount?: number } = {},
): ValidatorSetChange[] {
  const keyOf = (id: Uint8Array) =>
    contractStateKeyOf(hash, VALIDATOR_SET_CHANGES_CONTRACT, VALIDATOR_SET_CHANGES_TABLE, id);
  const countBytes = state.get(keyOf(COUNT_ID));
  const count = countBytes === undefined ? 0 : decodeCount(countBytes);
  const knownCount = options.knownCount ?? 0;
  assert(knownCount <= count, "recorded changes are never removed");
  const changes: ValidatorSetChange[] = [];
  for (let index = knownCount; index < count; index++) {
    const bytes = state.get(keyOf(indexId(index)));
    assert(bytes !== undefined, "every counted validator-set change is stored");
    const change = decodeChange(bytes);
    checkValidatorSet(change.set, suite);
    assert(
      changes.length === 0 || changes[changes.length - 1]!.fromHeight < change.fromHeight,
      "in height order",
    );
    changes.push(change);
  }
  return changes;
}

/** The set that signs `height`, from the genesis set and the recorded changes. */
export function validatorSetAtHeight(
  genesisSet: ValidatorSet,
  changes: readonly ValidatorSetChange[],
  height: bigint,
): ValidatorSet {
  let set = genesisSet;
  for (const change of changes) {
    if (change.fromHeight > height) break;
    set = change.set;
  }
  return set;
}
