/**
 * The system-contract interface: native contracts (today `notary`; later organizations, roles,
 * credentials, governance, the contract registry) and, behind the same interface, the QuickJS
 * runtime. A contract is a name and one synchronous, deterministic `execute`: it reads and
 * writes only its own tables through `context.state`, emits events through `context.emit`, and
 * returns ok or a typed ExecutionError. It must not throw on any arguments; a throw is a bug and
 * crashes the node (every node alike, so the chain stops rather than forks).
 *
 * Limits (TX_STATE_WRITES_MAX, TX_STATE_WRITE_BYTES_MAX, TX_EVENTS_MAX, TX_EVENTS_DATA_BYTES_MAX,
 * event type names) are enforced by the executor around the contract: the first write or emit
 * past a limit is dropped and the transaction fails with EXEC_STATE_* / EXEC_EVENT* whatever
 * the contract returns, so contracts need not check them.
 * @module
 */
import { assert } from "../base/assert.ts";
import type { Result } from "../base/errors.ts";
import type { Value, ValueMap } from "../encoding/value.ts";
import { CONTRACT_NAME_PATTERN } from "../ledger/validate-transaction.ts";
import type { ExecutionError } from "./errors.ts";

/** Event type names: lower-case identifiers such as `anchored`. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/** A contract's own tables. Keys are `contractStateKeyOf(hash, contract, table, id)`. */
export interface ContractState {
  get(table: string, id: Uint8Array): Uint8Array | undefined;
  /** Writes a non-empty value; counts toward the transaction's write limits. */
  set(table: string, id: Uint8Array, value: Uint8Array): void;
  delete(table: string, id: Uint8Array): void;
}

/** What a contract knows of the transaction it executes and of the block around it. */
export interface ContractContext {
  readonly chainId: string;
  readonly height: bigint;
  /** The block's time (the proposer's, checked by validators), ms since the Unix epoch. */
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
  /** Position of the transaction in its block. */
  readonly txIndex: number;
  /** Key id of the transaction's signer. */
  readonly senderKeyId: Uint8Array;
  readonly state: ContractState;
  /** Emits an event (data is canonically encoded); kept only when the transaction succeeds. */
  emit(type: string, data: ValueMap): void;
}

export interface SystemContract {
  /** The `contract` field of the transactions it executes (CONTRACT_NAME_PATTERN). */
  readonly name: string;
  execute(context: ContractContext, method: string, args: Value): Result<void, ExecutionError>;
}

/** Contracts by name; lookup only, so no result depends on an iteration order. */
export interface ContractRegistry {
  get(name: string): SystemContract | undefined;
  /** The names, sorted. */
  readonly names: readonly string[];
}

export function createContractRegistry(contracts: readonly SystemContract[]): ContractRegistry {
  const byName = new Map<string, SystemContract>();
  for (const contract of contracts) {
    assert(CONTRACT_NAME_PATTERN.test(contract.name), "a system contract has a valid name");
    assert(!byName.has(contract.name), "system contract names are unique");
    byName.set(contract.name, contract);
  }
  const names = [...byName.keys()].sort();
  assert(names.length === contracts.length);
  return {
    get: (name) => byName.get(name),
    names,
  };
}
