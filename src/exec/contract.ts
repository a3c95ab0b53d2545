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
  /**
   * The row as `get` would give it now, with nothing charged or counted. The table index tells
   * with it a read the transaction could not make from a missing entry; the sandbox checks with it
   * that the rows it keeps in the VM are still the state's (ADR 0011), and keeps none without it.
   */
  peek?(table: string, id: Uint8Array): Uint8Array | undefined;
  /** Writes a non-empty value; counts toward the transaction's write limits. */
  set(table: string, id: Uint8Array, value: Uint8Array): void;
  delete(table: string, id: Uint8Array): void;
}

/** The signer's membership, as attested by an organization's admin and active at this block. */
export interface MemberIdentity {
  readonly organization: string;
  readonly department: string;
  /** Sorted, without duplicates. */
  readonly roles: readonly string[];
}

/** Who is calling: the transaction's signer, and the contract that made this call if any. */
export interface CallerIdentity {
  /** Key id of the transaction's signer (the same across nested calls). */
  readonly keyId: Uint8Array;
  /** The contract that called, or null when the transaction called this contract directly. */
  readonly contract: string | null;
  /** The signer's active membership, or null for a signer no organization attested. */
  readonly member: MemberIdentity | null;
}

export interface ContractCallOptions {
  /** A read-only call fails with EXEC_READ_ONLY at its first write or emit. */
  readonly readOnly: boolean;
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
  readonly caller: CallerIdentity;
  /** True inside a read-only call or a query: writes and emits fail the call. */
  readonly readOnly: boolean;
  /** Gas left for the rest of the transaction. */
  readonly gasRemaining: bigint;
  /**
   * Charges gas (amount >= 0). Returns false when the transaction has run out: the charge is
   * recorded as a violation (EXEC_OUT_OF_GAS) and the contract should return at once.
   */
  chargeGas(amount: bigint): boolean;
  /**
   * Calls another contract within this transaction (depth bounded by CALL_DEPTH_MAX), as
   * `caller.contract` = this contract. Its writes join this call's on success and are dropped
   * on failure; the failure is returned, and the caller decides whether to fail too.
   */
  call(
    contract: string,
    method: string,
    args: Value,
    options: ContractCallOptions,
  ): Result<Value, ExecutionError>;
  /**
   * Checks the rule of permission `name` of this contract (set by governance through the
   * `permission` contract) for the caller: ok, or PERMISSION_DENIED. No rule: ok.
   */
  require(permission: string): Result<void, ExecutionError>;
}

export interface SystemContract {
  /** The `contract` field of the transactions it executes (CONTRACT_NAME_PATTERN). */
  readonly name: string;
  /** Returns the method's result (null when it has none), or why it failed. */
  execute(context: ContractContext, method: string, args: Value): Result<Value, ExecutionError>;
}

/**
 * A native contract: a system contract that may also take a section of the genesis document's
 * `initialState` (its own shape, documented by the module). `initialize` runs once, at block 1
 * before the first transaction, with `caller.contract = "genesis"`, in the order of
 * INITIAL_STATE_ORDER (src/exec/execute-block.ts); a failure makes the genesis invalid.
 */
export type NativeContract = SystemContract & {
  initialize?(context: ContractContext, section: Value): Result<Value, ExecutionError>;
};

/** Contracts by name; lookup only, so no result depends on an iteration order. */
export interface ContractRegistry {
  get(name: string): NativeContract | undefined;
  /** The names, sorted. */
  readonly names: readonly string[];
}

export function createContractRegistry(contracts: readonly NativeContract[]): ContractRegistry {
  const byName = new Map<string, NativeContract>();
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

/**
 * The sandbox for deployed contracts (src/exec/sandbox). A block opens one `SandboxBlock`
 * (the engine's QuickJS runtime as its snapshot left it, ADR 0010, so memory behaves the same on
 * every node and in every replay), loads the contracts its transactions call, and closes it
 * after the block.
 */
export interface SandboxEngine {
  openBlock(): SandboxBlock;
}

export interface SandboxBlock {
  /**
   * A deployed contract's code as a system contract, compiled once per block per code hash.
   * Fails with EXEC_CONTRACT_INVALID when the code does not compile or breaks the sandbox's rules.
   */
  load(name: string, codeHash: Uint8Array, code: Uint8Array): Result<SystemContract, ExecutionError>;
  /** Frees the runtime; the block's contracts may not be used afterwards. */
  close(): void;
}
