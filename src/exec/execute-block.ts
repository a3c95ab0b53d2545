/**
 * Deterministic execution of one block: `executeBlock(block, transactions, state)` runs the
 * block's transactions in order against the state before the block and returns the state
 * updates, one receipt per transaction and the block's events, or a BlockInvalidError when the
 * block breaks a rule (then nothing of it may be applied and the node rejects the proposal).
 *
 * At height 1, before the first transaction, the genesis `initialState` (block.initialState) is
 * applied: each native contract's `initialize` takes its section, in INITIAL_STATE_ORDER, with
 * `caller.contract = "genesis"`. A section its contract refuses is a broken genesis (the node
 * checks it at start with `checkInitialState`), so here it is an assertion.
 *
 * Per transaction, in block order:
 *   1. block rules: the transaction's chain id and suite are the block's, its expiry height is
 *      not below the block's height, and its nonce is exactly the sender's next nonce (state
 *      before the block plus the block's earlier transactions). Any breach: BlockInvalidError,
 *      naming the transaction (a proposer may leave it out and try again).
 *   2. the sender's next nonce becomes nonce + 1: the nonce is consumed whatever follows.
 *   3. the call's base gas (GAS_COSTS.callBase) is charged: every receipt has gasUsed ≥ it.
 *   4. identity: the signer's member record, if any, must be active (IDENTITY_MEMBER_REVOKED,
 *      IDENTITY_MEMBER_EXPIRED) in an active organization (IDENTITY_ORG_INACTIVE). A signer no
 *      organization attested runs with `caller.member = null`.
 *   5. dispatch: a native contract by name, else the registry's active version of a deployed
 *      contract (EXEC_CONTRACT_UNKNOWN, EXEC_CONTRACT_FROZEN), loaded into the block's sandbox.
 *   6. permission: the `permission` rule of (contract, method), if any (PERMISSION_DENIED).
 *   7. the contract runs on an overlay of its own; on success its writes and events are kept,
 *      on failure (an ExecutionError, or a limit exceeded) they are dropped and the receipt
 *      says `failed` with the error's code. Either way the receipt carries gasUsed.
 *
 * Inside a transaction, `context.call` runs another contract at depth + 1 (at most
 * CALL_DEPTH_MAX; the transaction's call is depth 1) on an overlay over the caller's, merged on
 * success and dropped on failure; the callee's permission rule is checked against the signer
 * unless the caller is `governance` (whose acts the committee approved) or genesis. Limits
 * (gas, writes, write bytes, events, event bytes) are counted across the whole transaction; a
 * failed nested call gives back its writes and events to the counts but not its gas. Past a
 * limit the transaction fails whatever its contracts return. A read-only call (or a query)
 * fails with EXEC_READ_ONLY at its first write or emit; the caller decides what to do.
 *
 * Gas (GAS_COSTS): callBase per call, stateRead + stateReadPerByte × value bytes per read,
 * stateWrite + stateWritePerByte × value bytes per write or delete, event + eventPerByte ×
 * encoded bytes per event, and whatever the contract charges (`chargeGas`, the sandbox's steps).
 * The limit per transaction is the chain parameter `txGasMax` (set by governance; default
 * TX_GAS_MAX_DEFAULT) as it stands at the start of the block, or block.txGasMax when given.
 * Out of gas: EXEC_OUT_OF_GAS and gasUsed = the limit.
 *
 * Pure and deterministic: no clock (the block time is an input), no randomness, no I/O, and no
 * result depends on a Map's iteration order (updates are sorted by key bytes).
 * @module
 */
import { assert } from "../base/assert.ts";
import { bytesToHex, equalBytes, mapKeyOf32 } from "../base/bytes.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import { BLOCK_TXS_MAX } from "../base/limits.ts";
import type { HashFunction, SignatureSuite } from "../crypto/suite.ts";
import { EncodeError } from "../encoding/errors.ts";
import { encodeValue, type Value, type ValueMap } from "../encoding/value.ts";
import { KEY_ID_BYTES } from "../ledger/key-id.ts";
import type { ValidTransaction } from "../ledger/validate-transaction.ts";
import type { StateUpdate } from "../state/sparse-merkle-tree.ts";
import {
  type CallerIdentity,
  type ContractCallOptions,
  type ContractContext,
  type ContractRegistry,
  type ContractState,
  createContractRegistry,
  EVENT_TYPE_PATTERN,
  type MemberIdentity,
  type SandboxBlock,
  type SandboxEngine,
  type SystemContract,
} from "./contract.ts";
import {
  BlockInvalidError,
  type BlockInvalidErrorCode,
  ExecutionError,
  type ExecutionErrorCode,
} from "./errors.ts";
import {
  CALL_DEPTH_MAX,
  GAS_COSTS,
  INITIAL_STATE_SECTION_WRITE_BYTES_MAX,
  INITIAL_STATE_SECTION_WRITES_MAX,
  INITIAL_STATE_SECTIONS_MAX,
  STATE_KEY_ID_BYTES_MAX,
  TX_EVENTS_DATA_BYTES_MAX,
  TX_EVENTS_MAX,
  TX_GAS_MAX_LIMIT,
  TX_STATE_WRITE_BYTES_MAX,
  TX_STATE_WRITES_MAX,
} from "./limits.ts";
import { encodeNonceValue, nonceNextOfValue } from "./nonce.ts";
import { notaryContract } from "./notary.ts";
import { RECEIPT_TX_HASH_BYTES, type ReceiptEvent, type TransactionReceipt } from "./receipt.ts";
import { contractStateKeyOf, nonceKeyOf } from "./state-keys.ts";
import { StateOverlay, type StateReader } from "./state-view.ts";
import { GENESIS_CALLER, GOVERNANCE_CALLER } from "./system/codec.ts";
import { governanceContract, readParameters } from "./system/governance.ts";
import {
  MEMBER_CONTRACT,
  memberContract,
  memberIdentityOf,
  memberStatusAt,
  readMember,
} from "./system/member.ts";
import { ORG_CONTRACT, orgContract, readOrganization } from "./system/org.ts";
import {
  checkPermission,
  PERMISSION_CONTRACT,
  type PermissionRule,
  permissionContract,
  readPermissionRule,
} from "./system/permission.ts";
import {
  REGISTRY_CONTRACT,
  readActiveContract,
  readContractCode,
  registryContract,
} from "./system/registry.ts";

/** The contracts every node runs natively. */
export const SYSTEM_CONTRACTS: ContractRegistry = createContractRegistry([
  notaryContract,
  orgContract,
  memberContract,
  permissionContract,
  governanceContract,
  registryContract,
]);

/** The order in which block 1 applies the sections of the genesis initial state. */
export const INITIAL_STATE_ORDER = ["org", "member", "permission", "governance", "registry"] as const;

assert(INITIAL_STATE_ORDER.length === INITIAL_STATE_SECTIONS_MAX, "one section per identity native");

/** A deployed contract's active version and its code, as the registry holds them. */
export interface DeployedContract {
  readonly version: bigint;
  readonly codeHash: Uint8Array;
  readonly frozen: boolean;
  /** Undefined when the code is missing (a broken registry invariant; the call fails). */
  readonly code: Uint8Array | undefined;
}

/** Where deployed contracts are found; the default reads the `registry` contract's tables. */
export interface DeployedContracts {
  resolve(name: string, state: StateReader, hash: HashFunction): DeployedContract | undefined;
}

export const REGISTRY_DEPLOYED_CONTRACTS: DeployedContracts = {
  resolve(name, state, hash) {
    const active = readActiveContract(state, hash, name);
    if (active === undefined) return undefined;
    return {
      version: active.version,
      codeHash: active.codeHash,
      frozen: active.frozen,
      code: readContractCode(state, hash, active.codeHash),
    };
  },
};

export interface BlockExecutionContext {
  readonly chainId: string;
  /** Height of the block being executed (the first block is 1). */
  readonly height: bigint;
  /** The block header's time, ms since the Unix epoch. */
  readonly timeMs: bigint;
  /** The chain's suite: transactions must be signed with it, and its hash derives state keys. */
  readonly suite: Pick<SignatureSuite, "code" | "hash">;
  /** Default: SYSTEM_CONTRACTS. */
  readonly contracts?: ContractRegistry;
  /**
   * Gas limit per transaction; default: the chain parameter `txGasMax` (governance's
   * `readParameters`) as it stands at the start of the block, after block 1's initial state.
   */
  readonly txGasMax?: bigint;
  /** Runs deployed contracts; without it a call of a deployed contract is EXEC_CONTRACT_UNKNOWN. */
  readonly sandbox?: SandboxEngine;
  /** Default: REGISTRY_DEPLOYED_CONTRACTS. */
  readonly deployed?: DeployedContracts;
  /** The genesis document's initial state, applied at height 1 only, before the first transaction. */
  readonly initialState?: ValueMap;
  /**
   * Tests set it: every lookup the block remembers (BlockLookups) is checked against a fresh read
   * each time it is used (an assertion), so a missed invalidation cannot pass unseen.
   */
  readonly verifyLookups?: boolean;
}

/** An event of the block, in the shape the store indexes (src/storage BlockEvent). */
export interface ExecutionEvent extends ReceiptEvent {
  readonly txIndex: number;
  readonly eventIndex: number;
}

export interface ExecutionOutcome {
  /** One update per written key, sorted by key bytes: the input of `applyBatch`. */
  readonly updates: readonly StateUpdate[];
  /** One receipt per transaction, in block order. */
  readonly receipts: readonly TransactionReceipt[];
  /** Every kept event, ordered by (txIndex, eventIndex). */
  readonly events: readonly ExecutionEvent[];
  /**
   * Parallel to `receipts`: the error of each failed transaction, with its human message and
   * details (for logs and the API; not part of any hashed bytes); null for a successful one.
   */
  readonly errors: ReadonlyArray<ExecutionError | null>;
}

function blockInvalid(
  code: BlockInvalidErrorCode,
  message: string,
  transactionIndex: number,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: BlockInvalidError } {
  return fail(new BlockInvalidError(code, message, transactionIndex, details));
}

function refuse(
  code: ExecutionErrorCode,
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError(code, message, details));
}

const ZERO_32 = new Uint8Array(32);

// ---- Limits of one transaction ----------------------------------------------------------------

interface TransactionLimits {
  readonly gasMax: bigint;
  readonly writesMax: number;
  readonly writeBytesMax: number;
  readonly eventsMax: number;
  readonly eventsDataBytesMax: number;
}

function transactionLimitsOf(txGasMax: bigint): TransactionLimits {
  assert(txGasMax >= GAS_COSTS.callBase, "a transaction can afford its own call");
  assert(txGasMax <= TX_GAS_MAX_LIMIT, "txGasMax is bounded");
  return {
    gasMax: txGasMax,
    writesMax: TX_STATE_WRITES_MAX,
    writeBytesMax: TX_STATE_WRITE_BYTES_MAX,
    eventsMax: TX_EVENTS_MAX,
    eventsDataBytesMax: TX_EVENTS_DATA_BYTES_MAX,
  };
}

/** The gas limit of the block's transactions: the context's, else the chain parameter. */
function txGasMaxOf(block: BlockExecutionContext, state: StateReader): bigint {
  return block.txGasMax ?? readParameters(state, block.suite.hash).txGasMax;
}

/** Genesis sections: many writes, gas bounded only by TX_GAS_MAX_LIMIT; events are not kept. */
const INITIAL_STATE_LIMITS: TransactionLimits = {
  gasMax: TX_GAS_MAX_LIMIT,
  writesMax: INITIAL_STATE_SECTION_WRITES_MAX,
  writeBytesMax: INITIAL_STATE_SECTION_WRITE_BYTES_MAX,
  eventsMax: INITIAL_STATE_SECTION_WRITES_MAX,
  eventsDataBytesMax: INITIAL_STATE_SECTION_WRITE_BYTES_MAX,
};

interface MeterCounts {
  readonly writeCount: number;
  readonly writeBytes: number;
  readonly eventCount: number;
  readonly eventBytes: number;
}

/**
 * The accounting of one transaction across all its calls. The first violation (out of gas, a
 * write or event limit) is the transaction's failure; everything after it is ignored.
 */
class TransactionMeter {
  readonly limits: TransactionLimits;
  gasUsed = 0n;
  writeCount = 0;
  writeBytes = 0;
  eventCount = 0;
  eventBytes = 0;
  violation: ExecutionError | null = null;

  constructor(limits: TransactionLimits) {
    this.limits = limits;
  }

  violate(code: ExecutionErrorCode, message: string, details: Record<string, number | bigint>): void {
    assert(this.violation === null, "only the first violation is recorded");
    this.violation = new ExecutionError(code, message, details);
  }

  /** Charges gas; false (and the violation recorded) when the transaction runs out. */
  charge(amount: bigint): boolean {
    assert(amount >= 0n, "gas charges are not negative");
    if (this.violation !== null) return false;
    if (this.gasUsed + amount > this.limits.gasMax) {
      this.gasUsed = this.limits.gasMax;
      this.violate("EXEC_OUT_OF_GAS", "the transaction ran out of gas", { gasMax: this.limits.gasMax });
      return false;
    }
    this.gasUsed += amount;
    assert(this.gasUsed <= this.limits.gasMax);
    return true;
  }

  counts(): MeterCounts {
    return {
      writeCount: this.writeCount,
      writeBytes: this.writeBytes,
      eventCount: this.eventCount,
      eventBytes: this.eventBytes,
    };
  }

  /** A failed call's writes and events are dropped, so they no longer count (its gas does). */
  restore(counts: MeterCounts): void {
    assert(counts.writeCount <= this.writeCount && counts.eventCount <= this.eventCount);
    this.writeCount = counts.writeCount;
    this.writeBytes = counts.writeBytes;
    this.eventCount = counts.eventCount;
    this.eventBytes = counts.eventBytes;
  }
}

// ---- Lookups of one block ---------------------------------------------------------------------

/**
 * What the executor looks up at the start of each transaction, remembered for the block while the
 * state it comes from cannot have changed: the signer's standing (the `member` and `org` tables),
 * the permission rule of a transaction's (contract, method) (`permission`), and a deployed
 * contract's resolution (`registry`). Each is read from the block's state only (never from a
 * call's overlay, which a failure could drop), and any write to the tables it reads, by any call
 * of any transaction, kept or not, forgets it: a remembered answer is always the one a fresh read
 * of the block's state would give. Only speed depends on it.
 */
class BlockLookups {
  readonly #verified: boolean;
  readonly #identities = new Map<string, Result<MemberIdentity | null, ExecutionError>>();
  readonly #rules = new Map<string, PermissionRule | undefined>();
  /** The rule `ruleOf` gave last, and for what (null: none, or forgotten). */
  #lastRuleContract: string | null = null;
  #lastRuleMethod = "";
  #lastRule: PermissionRule | undefined = undefined;
  readonly #resolutions = new Map<string, Result<SystemContract, ExecutionError>>();

  constructor(verified: boolean) {
    this.#verified = verified;
  }

  get verified(): boolean {
    return this.#verified;
  }

  /** A call of `contract` wrote one of its tables. */
  written(contract: string): void {
    if (contract === MEMBER_CONTRACT || contract === ORG_CONTRACT) this.#identities.clear();
    else if (contract === PERMISSION_CONTRACT) {
      this.#rules.clear();
      this.#lastRuleContract = null;
    } else if (contract === REGISTRY_CONTRACT) this.#resolutions.clear();
  }

  identityOf(
    blockState: StateReader,
    hash: HashFunction,
    keyId: Uint8Array,
    timeMs: bigint,
  ): Result<MemberIdentity | null, ExecutionError> {
    assert(keyId.length === KEY_ID_BYTES, "signers are key ids");
    // An exact Map key, cheaper to make than hex.
    const key = mapKeyOf32(keyId);
    const known = this.#identities.get(key);
    if (known !== undefined) {
      if (this.#verified) {
        const fresh = signerIdentityOf(blockState, hash, keyId, timeMs);
        assert(sameResult(known, fresh), "a remembered identity is the block state's");
      }
      return known;
    }
    const identity = signerIdentityOf(blockState, hash, keyId, timeMs);
    assert(this.#identities.size < BLOCK_TXS_MAX, "one identity per signer of the block");
    this.#identities.set(key, identity);
    return identity;
  }

  ruleOf(
    blockState: StateReader,
    hash: HashFunction,
    contract: string,
    method: string,
  ): PermissionRule | undefined {
    // Consecutive transactions mostly call one method: its rule is kept aside, no key made.
    if (contract === this.#lastRuleContract && method === this.#lastRuleMethod) {
      if (this.#verified) {
        const fresh = readPermissionRule(blockState, hash, contract, method);
        assert(sameData(this.#lastRule, fresh), "a remembered permission rule is the block state's");
      }
      return this.#lastRule;
    }
    const rule = this.#ruleByKey(blockState, hash, contract, method);
    this.#lastRuleContract = contract;
    this.#lastRuleMethod = method;
    this.#lastRule = rule;
    return rule;
  }

  #ruleByKey(
    blockState: StateReader,
    hash: HashFunction,
    contract: string,
    method: string,
  ): PermissionRule | undefined {
    const key = `${contract}\u0000${method}`;
    if (this.#rules.has(key)) {
      const known = this.#rules.get(key);
      if (this.#verified) {
        const fresh = readPermissionRule(blockState, hash, contract, method);
        assert(sameData(known, fresh), "a remembered permission rule is the block state's");
      }
      return known;
    }
    const rule = readPermissionRule(blockState, hash, contract, method);
    assert(this.#rules.size < BLOCK_TXS_MAX, "one rule per (contract, method) of the block");
    this.#rules.set(key, rule);
    return rule;
  }

  resolutionOf(name: string): Result<SystemContract, ExecutionError> | undefined {
    return this.#resolutions.get(name);
  }

  rememberResolution(name: string, resolution: Result<SystemContract, ExecutionError>): void {
    assert(this.#resolutions.size < BLOCK_TXS_MAX, "one resolution per contract of the block");
    this.#resolutions.set(name, resolution);
  }
}

/** Deep equality of plain data (what lookups return): values, arrays, bytes, plain objects. */
function sameData(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left !== "object" || typeof right !== "object" || left === null || right === null) return false;
  if (left instanceof Uint8Array || right instanceof Uint8Array) {
    return left instanceof Uint8Array && right instanceof Uint8Array && equalBytes(left, right);
  }
  if (Array.isArray(left) !== Array.isArray(right)) return false;
  const leftKeys = Object.keys(left);
  const rightKeys = Object.keys(right);
  if (leftKeys.length !== rightKeys.length) return false;
  for (const key of leftKeys) {
    if (!sameData((left as Record<string, unknown>)[key], (right as Record<string, unknown>)[key]))
      return false;
  }
  return true;
}

function sameResult<T>(left: Result<T, ExecutionError>, right: Result<T, ExecutionError>): boolean {
  if (left.ok !== right.ok) return false;
  if (left.ok && right.ok) return sameData(left.value, right.value);
  return !left.ok && !right.ok && left.error.code === right.error.code;
}

// ---- Contracts of one block -------------------------------------------------------------------

/** What one executeBlock (or query) resolves contracts with; owns the block's sandbox. */
class BlockContracts {
  readonly #natives: ContractRegistry;
  readonly #deployed: DeployedContracts;
  readonly #engine: SandboxEngine | undefined;
  readonly #hash: HashFunction;
  #sandbox: SandboxBlock | null = null;
  readonly #loaded = new Map<string, Result<SystemContract, ExecutionError>>();
  readonly lookups: BlockLookups;
  /** The row whose key was derived last (see rowKeyOf). */
  #rowContract = "";
  #rowTable = "";
  #rowId: Uint8Array = ZERO_32;
  #rowKey: Uint8Array = ZERO_32;

  constructor(block: BlockExecutionContext) {
    this.lookups = new BlockLookups(block.verifyLookups === true);
    this.#natives = block.contracts ?? SYSTEM_CONTRACTS;
    this.#deployed = block.deployed ?? REGISTRY_DEPLOYED_CONTRACTS;
    this.#engine = block.sandbox;
    this.#hash = block.suite.hash;
  }

  native(name: string) {
    return this.#natives.get(name);
  }

  /**
   * The state key of a contract's row. The last one is kept for the whole block: a call mostly
   * reads, checks and writes one row in a row, and a block's transactions often the same row
   * (each a new frame). Nothing changes the key it gives (overlays copy what they keep).
   */
  rowKeyOf(contract: string, table: string, id: Uint8Array): Uint8Array {
    if (table === this.#rowTable && contract === this.#rowContract && equalBytes(id, this.#rowId)) {
      return this.#rowKey;
    }
    const key = contractStateKeyOf(this.#hash, contract, table, id);
    this.#rowContract = contract;
    this.#rowTable = table;
    this.#rowId = id.slice();
    this.#rowKey = key;
    return key;
  }

  /**
   * A contract by name: a native one, else the registry's active version in `state`. With
   * `fromBlockState` (`state` is the block's state, between transactions), the block remembers it.
   */
  resolve(name: string, state: StateReader, fromBlockState: boolean): Result<SystemContract, ExecutionError> {
    const native = this.#natives.get(name);
    if (native !== undefined) return ok(native);
    if (!fromBlockState) return this.#resolveDeployed(name, state);
    const known = this.lookups.resolutionOf(name);
    if (known !== undefined) {
      if (this.lookups.verified) {
        const fresh = this.#resolveDeployed(name, state);
        const same = known.ok && fresh.ok ? known.value === fresh.value : sameResult(known, fresh);
        assert(same, "a remembered resolution is the block state's");
      }
      return known;
    }
    const resolution = this.#resolveDeployed(name, state);
    this.lookups.rememberResolution(name, resolution);
    return resolution;
  }

  #resolveDeployed(name: string, state: StateReader): Result<SystemContract, ExecutionError> {
    const deployed = this.#deployed.resolve(name, state, this.#hash);
    if (deployed === undefined || this.#engine === undefined) {
      return refuse("EXEC_CONTRACT_UNKNOWN", "no contract of this name exists", {
        contract: name.slice(0, 64),
      });
    }
    if (deployed.frozen) {
      return refuse("EXEC_CONTRACT_FROZEN", "this contract is frozen by governance", {
        contract: name,
        version: deployed.version,
      });
    }
    if (deployed.code === undefined) {
      return refuse("EXEC_CONTRACT_UNKNOWN", "the active version's code is missing", {
        contract: name,
        codeHash: bytesToHex(deployed.codeHash),
      });
    }
    const cacheKey = `${name}\u0000${bytesToHex(deployed.codeHash)}`;
    const cached = this.#loaded.get(cacheKey);
    if (cached !== undefined) return cached;
    if (this.#sandbox === null) this.#sandbox = this.#engine.openBlock();
    const loaded = this.#sandbox.load(name, deployed.codeHash, deployed.code);
    this.#loaded.set(cacheKey, loaded);
    return loaded;
  }

  close(): void {
    if (this.#sandbox !== null) this.#sandbox.close();
    this.#sandbox = null;
    this.#loaded.clear();
  }
}

// ---- Calls ------------------------------------------------------------------------------------

/** What every call of one transaction shares. */
interface TransactionScope {
  readonly block: BlockExecutionContext;
  readonly contracts: BlockContracts;
  /** The block's state between transactions: what the block's lookups may be read from. */
  readonly blockState: StateReader;
  readonly meter: TransactionMeter;
  readonly txHash: Uint8Array;
  readonly txIndex: number;
  readonly signerKeyId: Uint8Array;
  readonly member: MemberIdentity | null;
  /** The genesis initial state: trusted, so no permission rule applies to any of its calls. */
  readonly genesis: boolean;
}

/** A frame's tables as the contract sees them (a class: no closures per call). */
class FrameState implements ContractState {
  readonly #frame: CallFrame;

  constructor(frame: CallFrame) {
    this.#frame = frame;
  }

  get(table: string, id: Uint8Array): Uint8Array | undefined {
    return this.#frame.read(table, id);
  }

  peek(table: string, id: Uint8Array): Uint8Array | undefined {
    return this.#frame.peek(table, id);
  }

  set(table: string, id: Uint8Array, value: Uint8Array): void {
    this.#frame.write(table, id, value);
  }

  delete(table: string, id: Uint8Array): void {
    this.#frame.write(table, id, null);
  }
}

/**
 * One call of a contract: the context it sees. Writes go to its own overlay (over its caller's),
 * events to its own list; both join the caller's only when the call succeeds.
 */
class CallFrame implements ContractContext {
  readonly chainId: string;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
  readonly txIndex: number;
  readonly senderKeyId: Uint8Array;
  readonly state: ContractState;
  readonly caller: CallerIdentity;
  readonly readOnly: boolean;
  readonly overlay: StateOverlay;
  readonly events: ReceiptEvent[] = [];
  /** A violation of this call only (EXEC_READ_ONLY): the call fails, its caller decides. */
  violation: ExecutionError | null = null;
  readonly #scope: TransactionScope;
  readonly #contract: string;
  readonly #depth: number;
  constructor(
    scope: TransactionScope,
    base: StateReader,
    contract: string,
    callerContract: string | null,
    readOnly: boolean,
    depth: number,
  ) {
    assert(depth >= 1 && depth <= CALL_DEPTH_MAX, "call depth is bounded");
    this.#scope = scope;
    this.#contract = contract;
    this.#depth = depth;
    this.chainId = scope.block.chainId;
    this.height = scope.block.height;
    this.timeMs = scope.block.timeMs;
    this.txHash = scope.txHash;
    this.txIndex = scope.txIndex;
    this.senderKeyId = scope.signerKeyId;
    this.caller = { keyId: scope.signerKeyId, contract: callerContract, member: scope.member };
    this.readOnly = readOnly;
    this.overlay = new StateOverlay(base);
    this.state = new FrameState(this);
  }

  get gasRemaining(): bigint {
    return this.#scope.meter.limits.gasMax - this.#scope.meter.gasUsed;
  }

  chargeGas(amount: bigint): boolean {
    return this.#scope.meter.charge(amount);
  }

  /** The state key of a row of this contract (the block keeps the last one: `BlockContracts.rowKeyOf`). */
  #keyOf(table: string, id: Uint8Array): Uint8Array {
    assert(id.length <= STATE_KEY_ID_BYTES_MAX, "contracts keep ids within STATE_KEY_ID_BYTES_MAX");
    return this.#scope.contracts.rowKeyOf(this.#contract, table, id);
  }

  /** The row as `read` sees it, with no gas charged. */
  peek(table: string, id: Uint8Array): Uint8Array | undefined {
    return this.overlay.get(this.#keyOf(table, id));
  }

  read(table: string, id: Uint8Array): Uint8Array | undefined {
    const value = this.overlay.get(this.#keyOf(table, id));
    const sizeBytes = BigInt(value?.length ?? 0);
    if (!this.#scope.meter.charge(GAS_COSTS.stateRead + GAS_COSTS.stateReadPerByte * sizeBytes))
      return undefined;
    return value;
  }

  #refuseReadOnly(what: string): void {
    if (this.violation === null) {
      this.violation = new ExecutionError("EXEC_READ_ONLY", `a read-only call may not ${what}`, {
        contract: this.#contract,
      });
    }
  }

  write(table: string, id: Uint8Array, value: Uint8Array | null): void {
    const key = this.#keyOf(table, id);
    if (value !== null) assert(value.length > 0, "contracts write non-empty values (delete removes)");
    const meter = this.#scope.meter;
    if (meter.violation !== null || this.violation !== null) return;
    if (this.readOnly) {
      this.#refuseReadOnly("write state");
      return;
    }
    // Before the charge and the limits: a write that fails still forgets, which is only slower.
    this.#scope.contracts.lookups.written(this.#contract);
    const sizeBytes = value === null ? 0 : value.length;
    if (!meter.charge(GAS_COSTS.stateWrite + GAS_COSTS.stateWritePerByte * BigInt(sizeBytes))) return;
    if (meter.writeCount + 1 > meter.limits.writesMax) {
      meter.violate("EXEC_STATE_WRITES_TOO_MANY", "the transaction writes more state entries than allowed", {
        writesMax: meter.limits.writesMax,
      });
      return;
    }
    if (meter.writeBytes + sizeBytes > meter.limits.writeBytesMax) {
      meter.violate("EXEC_STATE_WRITES_TOO_LARGE", "the transaction writes more state bytes than allowed", {
        writeBytesMax: meter.limits.writeBytesMax,
      });
      return;
    }
    meter.writeCount += 1;
    meter.writeBytes += sizeBytes;
    this.overlay.set(key, value);
  }

  emit(type: string, data: ValueMap): void {
    const meter = this.#scope.meter;
    if (meter.violation !== null || this.violation !== null) return;
    if (this.readOnly) {
      this.#refuseReadOnly("emit events");
      return;
    }
    if (!EVENT_TYPE_PATTERN.test(type)) {
      meter.violate("EXEC_EVENT_INVALID", "an event type must be a lower-case name", {});
      return;
    }
    if (meter.eventCount + 1 > meter.limits.eventsMax) {
      meter.violate("EXEC_EVENTS_TOO_MANY", "the transaction emits more events than allowed", {
        eventsMax: meter.limits.eventsMax,
      });
      return;
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeValue(data);
    } catch (error) {
      if (!(error instanceof EncodeError)) throw error;
      meter.violate("EXEC_EVENT_INVALID", "an event's data is not a canonical value", {});
      return;
    }
    if (!meter.charge(GAS_COSTS.event + GAS_COSTS.eventPerByte * BigInt(encoded.length))) return;
    if (meter.eventBytes + encoded.length > meter.limits.eventsDataBytesMax) {
      meter.violate("EXEC_EVENTS_TOO_LARGE", "the transaction emits more event bytes than allowed", {
        eventsDataBytesMax: meter.limits.eventsDataBytesMax,
      });
      return;
    }
    meter.eventCount += 1;
    meter.eventBytes += encoded.length;
    this.events.push({ contract: this.#contract, type, data: encoded });
  }

  call(
    contract: string,
    method: string,
    args: Value,
    options: ContractCallOptions,
  ): Result<Value, ExecutionError> {
    const outcome = invoke(this.#scope, this.overlay, {
      contract,
      method,
      args,
      callerContract: this.#contract,
      readOnly: this.readOnly || options.readOnly,
      depth: this.#depth + 1,
      callCharged: false,
      ruleChecked: !this.#scope.genesis && this.#contract !== GOVERNANCE_CALLER,
    });
    if (!outcome.result.ok) return outcome.result;
    assert(outcome.frame !== null, "a successful call has its frame");
    outcome.frame.overlay.mergeInto(this.overlay);
    for (const event of outcome.frame.events) this.events.push(event);
    return outcome.result;
  }

  require(permission: string): Result<void, ExecutionError> {
    // Acts approved by the committee, and genesis, are not held to the signer's permissions.
    if (this.#scope.genesis || this.caller.contract === GOVERNANCE_CALLER) return ok(undefined);
    if (!this.#scope.meter.charge(GAS_COSTS.stateRead)) {
      const violation = this.#scope.meter.violation;
      assert(violation !== null, "running out of gas is recorded");
      return fail(violation);
    }
    const rule = readPermissionRule(this.overlay, this.#scope.block.suite.hash, this.#contract, permission);
    return checkPermission(rule, this.caller);
  }
}

interface Invocation {
  readonly contract: string;
  readonly method: string;
  readonly args: Value;
  readonly callerContract: string | null;
  readonly readOnly: boolean;
  readonly depth: number;
  /** The transaction's own call is charged before the identity checks. */
  readonly callCharged: boolean;
  /** Whether the permission rule of (contract, method) applies to this call. */
  readonly ruleChecked: boolean;
}

function callFailed(error: ExecutionError): { result: Result<Value, ExecutionError>; frame: null } {
  return { result: fail(error), frame: null };
}

/** Runs one call on an overlay over `base`; on success the frame holds its writes and events. */
function invoke(
  scope: TransactionScope,
  base: StateReader,
  invocation: Invocation,
): { result: Result<Value, ExecutionError>; frame: CallFrame | null } {
  const meter = scope.meter;
  if (invocation.depth > CALL_DEPTH_MAX) {
    return callFailed(
      new ExecutionError("EXEC_CALL_DEPTH_EXCEEDED", "contract calls nest deeper than allowed", {
        callDepthMax: CALL_DEPTH_MAX,
        contract: invocation.contract.slice(0, 64),
      }),
    );
  }
  if (!invocation.callCharged && !meter.charge(GAS_COSTS.callBase)) {
    assert(meter.violation !== null);
    return callFailed(meter.violation);
  }
  const fromBlockState = base === scope.blockState;
  const contract = scope.contracts.resolve(invocation.contract, base, fromBlockState);
  if (!contract.ok) return callFailed(contract.error);
  if (invocation.ruleChecked) {
    const hash = scope.block.suite.hash;
    const rule = fromBlockState
      ? scope.contracts.lookups.ruleOf(base, hash, invocation.contract, invocation.method)
      : readPermissionRule(base, hash, invocation.contract, invocation.method);
    const permitted = checkPermission(rule, {
      keyId: scope.signerKeyId,
      contract: invocation.callerContract,
      member: scope.member,
    });
    if (!permitted.ok) return callFailed(permitted.error);
  }
  const counts = meter.counts();
  const frame = new CallFrame(
    scope,
    base,
    invocation.contract,
    invocation.callerContract,
    invocation.readOnly,
    invocation.depth,
  );
  const result = contract.value.execute(frame, invocation.method, invocation.args);
  const error = meter.violation ?? frame.violation ?? (result.ok ? null : result.error);
  if (error !== null) {
    if (meter.violation === null) meter.restore(counts);
    return callFailed(error);
  }
  assert(result.ok);
  return { result, frame };
}

// ---- Identity before execution ----------------------------------------------------------------

/**
 * The signer's standing at a block time: its membership when attested and active, null when no
 * organization attested it, or why its transactions are refused (IDENTITY_MEMBER_REVOKED,
 * IDENTITY_MEMBER_EXPIRED, IDENTITY_ORG_INACTIVE). The node uses it at admission too.
 */
export function signerIdentityOf(
  state: StateReader,
  hash: HashFunction,
  keyId: Uint8Array,
  timeMs: bigint,
): Result<MemberIdentity | null, ExecutionError> {
  assert(keyId.length === KEY_ID_BYTES, "signers are key ids");
  const member = readMember(state, hash, keyId);
  if (member === undefined) return ok(null);
  const status = memberStatusAt(member, timeMs);
  if (status === "revoked") {
    assert(member.revoked !== null);
    return refuse("IDENTITY_MEMBER_REVOKED", "the signer's membership was revoked", {
      keyId: bytesToHex(keyId),
      organization: member.organization,
      revokedAtHeight: member.revoked.height,
    });
  }
  if (status === "expired") {
    assert(member.expiresAtMs !== null);
    return refuse("IDENTITY_MEMBER_EXPIRED", "the signer's membership has expired", {
      keyId: bytesToHex(keyId),
      organization: member.organization,
      expiresAtMs: member.expiresAtMs,
    });
  }
  const organization = readOrganization(state, hash, member.organization);
  assert(organization !== undefined, "a member's organization exists");
  if (organization.status !== "active") {
    return refuse("IDENTITY_ORG_INACTIVE", "the signer's organization is not active", {
      keyId: bytesToHex(keyId),
      organization: member.organization,
      status: organization.status,
    });
  }
  return ok(memberIdentityOf(member));
}

/**
 * What the executor checks before running a transaction, for the node's admission: the
 * signer's standing and the permission rule of (contract, method). Ok does not promise success.
 */
export function checkTransactionAdmission(
  state: StateReader,
  hash: HashFunction,
  timeMs: bigint,
  keyId: Uint8Array,
  contract: string,
  method: string,
): Result<MemberIdentity | null, ExecutionError> {
  const identity = signerIdentityOf(state, hash, keyId, timeMs);
  if (!identity.ok) return identity;
  const rule = readPermissionRule(state, hash, contract, method);
  const permitted = checkPermission(rule, { keyId, contract: null, member: identity.value });
  if (!permitted.ok) return permitted;
  return identity;
}

// ---- Transactions -----------------------------------------------------------------------------

function receiptOf(
  txHash: Uint8Array,
  gasUsed: bigint,
  outcome: { error: ExecutionError } | { events: readonly ReceiptEvent[] },
): TransactionReceipt {
  if ("error" in outcome) {
    return { txHash: txHash.slice(), status: "failed", errorCode: outcome.error.code, gasUsed, events: [] };
  }
  return { txHash: txHash.slice(), status: "ok", errorCode: null, gasUsed, events: outcome.events };
}

/** Runs one transaction's call; returns its receipt and its error (null when ok). */
function runTransaction(
  block: BlockExecutionContext,
  limits: TransactionLimits,
  contracts: BlockContracts,
  blockState: StateOverlay,
  valid: ValidTransaction,
  txIndex: number,
): { receipt: TransactionReceipt; error: ExecutionError | null } {
  const transaction = valid.transaction;
  const meter = new TransactionMeter(limits);
  const charged = meter.charge(GAS_COSTS.callBase);
  assert(charged, "a transaction can afford its own call");
  const identity = contracts.lookups.identityOf(
    blockState,
    block.suite.hash,
    valid.senderKeyId,
    block.timeMs,
  );
  if (!identity.ok) return { receipt: receiptOf(valid.hash, meter.gasUsed, identity), error: identity.error };
  const scope: TransactionScope = {
    block,
    contracts,
    blockState,
    meter,
    txHash: valid.hash.slice(),
    txIndex,
    signerKeyId: valid.senderKeyId.slice(),
    member: identity.value,
    genesis: false,
  };
  const outcome = invoke(scope, blockState, {
    contract: transaction.contract,
    method: transaction.method,
    args: transaction.args,
    callerContract: null,
    readOnly: false,
    depth: 1,
    callCharged: true,
    ruleChecked: true,
  });
  assert(meter.gasUsed <= meter.limits.gasMax, "gas stays within the limit");
  if (!outcome.result.ok) {
    return { receipt: receiptOf(valid.hash, meter.gasUsed, outcome.result), error: outcome.result.error };
  }
  assert(outcome.frame !== null);
  outcome.frame.overlay.mergeInto(blockState);
  return { receipt: receiptOf(valid.hash, meter.gasUsed, { events: outcome.frame.events }), error: null };
}

// ---- Genesis initial state --------------------------------------------------------------------

function initialStateInvalid(
  message: string,
  details: Record<string, string>,
): { ok: false; error: ExecutionError } {
  return refuse("EXEC_INITIAL_STATE_INVALID", message, details);
}

/** Applies the initial state's sections onto `blockState`, in order; the first refusal. */
function applyInitialState(
  block: BlockExecutionContext,
  contracts: BlockContracts,
  blockState: StateOverlay,
  initialState: ValueMap,
): Result<void, ExecutionError> {
  for (const name of Object.keys(initialState)) {
    if (!(INITIAL_STATE_ORDER as readonly string[]).includes(name)) {
      return initialStateInvalid("the initial state has a section no native contract takes", {
        section: name.slice(0, 64),
        sections: INITIAL_STATE_ORDER.join(","),
      });
    }
  }
  for (const name of INITIAL_STATE_ORDER) {
    if (!Object.hasOwn(initialState, name)) continue;
    const section = initialState[name]!;
    const contract = contracts.native(name);
    if (contract?.initialize === undefined) {
      return initialStateInvalid("no native contract of this node initializes this section", {
        section: name,
      });
    }
    const scope: TransactionScope = {
      block,
      contracts,
      blockState,
      meter: new TransactionMeter(INITIAL_STATE_LIMITS),
      txHash: ZERO_32,
      txIndex: 0,
      signerKeyId: ZERO_32,
      member: null,
      genesis: true,
    };
    const frame = new CallFrame(scope, blockState, name, GENESIS_CALLER, false, 1);
    const result = contract.initialize(frame, section);
    const error = scope.meter.violation ?? frame.violation ?? (result.ok ? null : result.error);
    if (error !== null) {
      return fail(
        new ExecutionError(error.code, `initial state, section ${name}: ${error.message}`, {
          ...error.details,
          section: name,
        }),
      );
    }
    // Genesis events are not kept: block 1's receipts are its transactions' only.
    frame.overlay.mergeInto(blockState);
  }
  return ok(undefined);
}

/**
 * Runs the initial state's initializers on an empty state, as block 1 will: ok, or the typed
 * error of the first section refused (the node refuses such a genesis at start). Nothing the
 * initializers do depends on the block's time, so this holds for any time of block 1.
 */
export function checkInitialState(
  initialState: ValueMap,
  suite: Pick<SignatureSuite, "code" | "hash">,
  options: { readonly chainId?: string; readonly contracts?: ContractRegistry } = {},
): Result<void, ExecutionError> {
  const block: BlockExecutionContext = {
    chainId: options.chainId ?? "genesis-check",
    height: 1n,
    timeMs: 0n,
    suite,
    ...(options.contracts === undefined ? {} : { contracts: options.contracts }),
  };
  const contracts = new BlockContracts(block);
  try {
    return applyInitialState(block, contracts, new StateOverlay({ get: () => undefined }), initialState);
  } finally {
    contracts.close();
  }
}

// ---- Blocks -----------------------------------------------------------------------------------

export function executeBlock(
  block: BlockExecutionContext,
  transactions: readonly ValidTransaction[],
  state: StateReader,
): Result<ExecutionOutcome, BlockInvalidError> {
  assert(block.height >= 1n, "the first block is height 1");
  assert(block.timeMs >= 0n, "block times are u64");
  if (transactions.length > BLOCK_TXS_MAX) {
    return blockInvalid(
      "BLOCK_TOO_MANY_TXS",
      "the block holds more transactions than allowed",
      BLOCK_TXS_MAX,
      {
        txCount: transactions.length,
        txCountMax: BLOCK_TXS_MAX,
      },
    );
  }
  const contracts = new BlockContracts(block);
  try {
    return executeTransactions(block, contracts, transactions, state);
  } finally {
    contracts.close();
  }
}

function executeTransactions(
  block: BlockExecutionContext,
  contracts: BlockContracts,
  transactions: readonly ValidTransaction[],
  state: StateReader,
): Result<ExecutionOutcome, BlockInvalidError> {
  const blockState = new StateOverlay(state);
  if (block.height === 1n && block.initialState !== undefined) {
    const applied = applyInitialState(block, contracts, blockState, block.initialState);
    assert(
      applied.ok,
      `the genesis initial state applies (checkInitialState at start): ${applied.ok ? "" : applied.error.code}`,
    );
  }
  const limits = transactionLimitsOf(txGasMaxOf(block, blockState));
  const receipts: TransactionReceipt[] = [];
  const events: ExecutionEvent[] = [];
  const errors: Array<ExecutionError | null> = [];
  // Each sender's next nonce, read once per block. Only the executor reads or writes the nonce
  // namespace (contracts reach their own tables only), so the block's writes of it can wait for
  // the end of the block: one write per sender, the last nonce + 1, as the updates would say.
  const noncesNext = new Map<string, { readonly key: Uint8Array; next: bigint }>();
  for (let txIndex = 0; txIndex < transactions.length; txIndex++) {
    const valid = transactions[txIndex]!;
    const transaction = valid.transaction;
    assert(valid.hash.length === RECEIPT_TX_HASH_BYTES, "validated transactions carry their hash");
    assert(valid.senderKeyId.length === KEY_ID_BYTES, "validated transactions carry their sender");
    if (transaction.chainId !== block.chainId) {
      return blockInvalid(
        "BLOCK_TX_WRONG_CHAIN",
        "a transaction of the block is for another chain",
        txIndex,
        {
          chainId: transaction.chainId,
        },
      );
    }
    if (transaction.suiteCode !== block.suite.code) {
      return blockInvalid(
        "BLOCK_TX_WRONG_SUITE",
        "a transaction of the block is signed with another suite",
        txIndex,
        {
          suiteCode: transaction.suiteCode,
        },
      );
    }
    if (transaction.expiryHeight < block.height) {
      return blockInvalid(
        "BLOCK_TX_EXPIRED",
        "a transaction of the block expired before this height",
        txIndex,
        {
          expiryHeight: transaction.expiryHeight,
          height: block.height,
        },
      );
    }
    const sender = mapKeyOf32(valid.senderKeyId);
    let nonce = noncesNext.get(sender);
    if (nonce === undefined) {
      const key = nonceKeyOf(block.suite.hash, valid.senderKeyId);
      nonce = { key, next: nonceNextOfValue(blockState.get(key)) };
      assert(noncesNext.size < BLOCK_TXS_MAX, "one nonce per sender of the block");
      noncesNext.set(sender, nonce);
    }
    const nonceExpected = nonce.next;
    if (transaction.nonce !== nonceExpected) {
      return blockInvalid(
        "BLOCK_NONCE_MISMATCH",
        "a transaction's nonce is not its sender's next nonce",
        txIndex,
        {
          nonce: transaction.nonce,
          nonceExpected,
        },
      );
    }
    nonce.next = nonceExpected + 1n;
    const { receipt, error } = runTransaction(block, limits, contracts, blockState, valid, txIndex);
    receipts.push(receipt);
    errors.push(error);
    for (let eventIndex = 0; eventIndex < receipt.events.length; eventIndex++) {
      const event = receipt.events[eventIndex]!;
      events.push({ txIndex, eventIndex, contract: event.contract, type: event.type, data: event.data });
    }
  }
  assert(receipts.length === transactions.length, "one receipt per transaction");
  assert(errors.length === receipts.length);
  for (const nonce of noncesNext.values()) blockState.set(nonce.key, encodeNonceValue(nonce.next));
  return ok({ updates: blockState.updates(), receipts, events, errors });
}

// ---- Queries ----------------------------------------------------------------------------------

/**
 * Runs a contract's method read-only for the API: no nonce, no transaction, nothing kept. The
 * caller (a key id, or null for an anonymous query) is checked as a signer would be, and the
 * method's permission rule applies; any write or emit fails with EXEC_READ_ONLY. Gas is limited
 * and reported as for a transaction. `txHash` is 32 zero bytes and `txIndex` 0 inside.
 */
export function queryContract(
  block: BlockExecutionContext,
  state: StateReader,
  callerKeyId: Uint8Array | null,
  contract: string,
  method: string,
  args: Value,
): Result<{ value: Value; gasUsed: bigint }, ExecutionError> {
  if (callerKeyId !== null) assert(callerKeyId.length === KEY_ID_BYTES, "callers are key ids");
  const meter = new TransactionMeter(transactionLimitsOf(txGasMaxOf(block, state)));
  const charged = meter.charge(GAS_COSTS.callBase);
  assert(charged);
  let member: MemberIdentity | null = null;
  if (callerKeyId !== null) {
    const identity = signerIdentityOf(state, block.suite.hash, callerKeyId, block.timeMs);
    if (!identity.ok) return identity;
    member = identity.value;
  }
  const contracts = new BlockContracts(block);
  try {
    const scope: TransactionScope = {
      block,
      contracts,
      blockState: state,
      meter,
      txHash: ZERO_32,
      txIndex: 0,
      signerKeyId: callerKeyId?.slice() ?? ZERO_32,
      member,
      genesis: false,
    };
    const outcome = invoke(scope, state, {
      contract,
      method,
      args,
      callerContract: null,
      readOnly: true,
      depth: 1,
      callCharged: true,
      ruleChecked: true,
    });
    if (!outcome.result.ok) return outcome.result;
    return ok({ value: outcome.result.value, gasUsed: meter.gasUsed });
  } finally {
    contracts.close();
  }
}
