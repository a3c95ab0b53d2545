/**
 * A small ContractContext for the sandbox's tests and bench: state in a Map per contract, the
 * executor's gas charges for host operations (GAS_COSTS), events and writes recorded in order,
 * nested calls with their writes rolled back on failure, and the write/event limits of the
 * executor. The real executor (execute-block.ts) does the same against the state tree.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { bytesToHex } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import {
  type ContractContext,
  type ContractState,
  EVENT_TYPE_PATTERN,
  type MemberIdentity,
  type SystemContract,
} from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import {
  CALL_DEPTH_MAX,
  GAS_COSTS,
  TX_EVENTS_DATA_BYTES_MAX,
  TX_EVENTS_MAX,
  TX_GAS_MAX_DEFAULT,
  TX_STATE_WRITE_BYTES_MAX,
  TX_STATE_WRITES_MAX,
} from "../limits.ts";

export interface RecordedEvent {
  readonly contract: string;
  readonly type: string;
  readonly dataHex: string;
}

/** An event as recorded: its data's hex is made when read (or serialized), not at every emit. */
class Recorded implements RecordedEvent {
  readonly contract: string;
  readonly type: string;
  readonly #data: Uint8Array;

  constructor(contract: string, type: string, data: Uint8Array) {
    this.contract = contract;
    this.type = type;
    this.#data = data;
  }

  get dataHex(): string {
    return bytesToHex(this.#data);
  }

  toJSON(): { contract: string; type: string; dataHex: string } {
    return { contract: this.contract, type: this.type, dataHex: this.dataHex };
  }
}

/** A row's key in `TestWorld.entries` (and in `writes` and dumps): contract, table, id as hex. */
function worldKeyOf(contract: string, table: string, id: Uint8Array): string {
  return `${contract}/${table}/${bytesToHex(id)}`;
}

/** A whole test chain's state: `contract/table/idHex` → value bytes. */
export class TestWorld {
  entries = new Map<string, Uint8Array>();
  readonly contracts = new Map<string, SystemContract>();

  add(contract: SystemContract): void {
    this.contracts.set(contract.name, contract);
  }

  /** Sorted dump (key, value hex) for comparisons. */
  dump(): Array<[string, string]> {
    return [...this.entries.entries()]
      .map(([key, value]): [string, string] => [key, bytesToHex(value)])
      .sort((left, right) => (left[0] < right[0] ? -1 : left[0] > right[0] ? 1 : 0));
  }
}

export interface TestTransactionOptions {
  readonly gasLimit?: bigint;
  readonly height?: bigint;
  readonly timeMs?: bigint;
  readonly txIndex?: number;
  readonly keyId?: Uint8Array;
  readonly member?: MemberIdentity | null;
  readonly readOnly?: boolean;
  /** Permissions `require` refuses. */
  readonly permissionsDenied?: readonly string[];
}

/** One transaction: gas, limits and events shared by its nested calls. */
export class TestTransaction {
  readonly world: TestWorld;
  readonly options: TestTransactionOptions;
  gasLimit: bigint;
  gasUsed = 0n;
  violation: ExecutionError | null = null;
  events: RecordedEvent[] = [];
  writes: string[] = [];
  #writeBytes = 0;
  #eventBytes = 0;
  /** What each write replaced (the world's key and its value before), to roll failed calls back. */
  readonly #undo: Array<[string, Uint8Array | undefined]> = [];

  constructor(world: TestWorld, options: TestTransactionOptions = {}) {
    this.world = world;
    this.options = options;
    this.gasLimit = options.gasLimit ?? TX_GAS_MAX_DEFAULT;
  }

  get gasRemaining(): bigint {
    return this.gasLimit > this.gasUsed ? this.gasLimit - this.gasUsed : 0n;
  }

  charge(amount: bigint): boolean {
    assert(amount >= 0n, "charges are not negative");
    this.gasUsed += amount;
    if (this.gasUsed > this.gasLimit) {
      this.gasUsed = this.gasLimit;
      this.violate(new ExecutionError("EXEC_OUT_OF_GAS", "the transaction ran out of gas"));
      return false;
    }
    return true;
  }

  violate(error: ExecutionError): void {
    if (this.violation === null) this.violation = error;
  }

  /** Runs a transaction's call: on failure (or a violation) every write and event is dropped. */
  run(contract: string, method: string, args: Value): Result<Value, ExecutionError> {
    const result = this.call(null, contract, method, args, this.options.readOnly ?? false, 1);
    const outcome = this.violation !== null ? fail(this.violation) : result;
    if (!outcome.ok) {
      this.#rollBack(0);
      this.events = [];
    }
    return outcome;
  }

  /** Puts back what the writes since the undo log's `length` replaced, latest first. */
  #rollBack(length: number): void {
    assert(length <= this.#undo.length, "rolls back to an earlier point");
    while (this.#undo.length > length) {
      const [key, value] = this.#undo.pop()!;
      if (value === undefined) this.world.entries.delete(key);
      else this.world.entries.set(key, value);
    }
  }

  call(
    caller: string | null,
    name: string,
    method: string,
    args: Value,
    readOnly: boolean,
    depth: number,
  ): Result<Value, ExecutionError> {
    if (depth > CALL_DEPTH_MAX) {
      return fail(new ExecutionError("EXEC_CALL_DEPTH_EXCEEDED", "calls nest too deeply"));
    }
    const contract = this.world.contracts.get(name);
    if (contract === undefined) return fail(new ExecutionError("EXEC_CONTRACT_UNKNOWN", "no such contract"));
    if (!this.charge(GAS_COSTS.callBase)) return fail(this.violation!);
    const undoBefore = this.#undo.length;
    const eventsBefore = this.events.length;
    const context = new TestContext(this, name, caller, readOnly, depth);
    const result = contract.execute(context, method, args);
    if (!result.ok || this.violation !== null) {
      this.#rollBack(undoBefore);
      this.events.length = eventsBefore;
    }
    if (this.violation !== null) return fail(this.violation);
    return result;
  }

  write(contract: string, table: string, id: Uint8Array, value: Uint8Array | null, readOnly: boolean): void {
    if (this.violation !== null) return;
    if (readOnly) {
      this.violate(new ExecutionError("EXEC_READ_ONLY", "a read-only call wrote"));
      return;
    }
    if (!this.charge(GAS_COSTS.stateWrite + GAS_COSTS.stateWritePerByte * BigInt(value?.length ?? 0))) return;
    if (this.writes.length + 1 > TX_STATE_WRITES_MAX) {
      this.violate(new ExecutionError("EXEC_STATE_WRITES_TOO_MANY", "too many writes"));
      return;
    }
    this.#writeBytes += value?.length ?? 0;
    if (this.#writeBytes > TX_STATE_WRITE_BYTES_MAX) {
      this.violate(new ExecutionError("EXEC_STATE_WRITES_TOO_LARGE", "too many bytes written"));
      return;
    }
    const key = worldKeyOf(contract, table, id);
    this.writes.push(`${value === null ? "delete" : "set"} ${key}`);
    this.#undo.push([key, this.world.entries.get(key)]);
    if (value === null) this.world.entries.delete(key);
    else this.world.entries.set(key, value.slice());
  }

  peek(contract: string, table: string, id: Uint8Array): Uint8Array | undefined {
    return this.world.entries.get(worldKeyOf(contract, table, id))?.slice();
  }

  read(contract: string, table: string, id: Uint8Array): Uint8Array | undefined {
    const value = this.world.entries.get(worldKeyOf(contract, table, id));
    this.charge(GAS_COSTS.stateRead + GAS_COSTS.stateReadPerByte * BigInt(value?.length ?? 0));
    return value?.slice();
  }

  emit(contract: string, type: string, data: ValueMap, readOnly: boolean): void {
    if (this.violation !== null) return;
    if (readOnly) {
      this.violate(new ExecutionError("EXEC_READ_ONLY", "a read-only call emitted"));
      return;
    }
    if (!EVENT_TYPE_PATTERN.test(type)) {
      this.violate(new ExecutionError("EXEC_EVENT_INVALID", "bad event type"));
      return;
    }
    const encoded = encodeValue(data);
    if (!this.charge(GAS_COSTS.event + GAS_COSTS.eventPerByte * BigInt(encoded.length))) return;
    if (this.events.length + 1 > TX_EVENTS_MAX) {
      this.violate(new ExecutionError("EXEC_EVENTS_TOO_MANY", "too many events"));
      return;
    }
    this.#eventBytes += encoded.length;
    if (this.#eventBytes > TX_EVENTS_DATA_BYTES_MAX) {
      this.violate(new ExecutionError("EXEC_EVENTS_TOO_LARGE", "too many event bytes"));
      return;
    }
    this.events.push(new Recorded(contract, type, encoded));
  }
}

/** A call's tables: its contract's entries of the world (a class: no closures per call). */
class TestState implements ContractState {
  readonly #context: TestContext;

  constructor(context: TestContext) {
    this.#context = context;
  }

  get(table: string, id: Uint8Array): Uint8Array | undefined {
    return this.#context.transaction.read(this.#context.contract, table, id);
  }

  peek(table: string, id: Uint8Array): Uint8Array | undefined {
    return this.#context.transaction.peek(this.#context.contract, table, id);
  }

  set(table: string, id: Uint8Array, value: Uint8Array): void {
    this.#context.transaction.write(this.#context.contract, table, id, value, this.#context.readOnly);
  }

  delete(table: string, id: Uint8Array): void {
    this.#context.transaction.write(this.#context.contract, table, id, null, this.#context.readOnly);
  }
}

/** Every test call's defaults, made once (a call's context is made per call; the bench makes many). */
const DEFAULT_TX_HASH: Uint8Array = new Uint8Array(32).fill(0x22);
const DEFAULT_KEY_ID: Uint8Array = new Uint8Array(32).fill(0x11);
const DEFAULT_MEMBER: MemberIdentity = Object.freeze({
  organization: "city",
  department: "works",
  roles: Object.freeze(["official"]),
});

class TestContext implements ContractContext {
  readonly chainId = "cityledger-test";
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash = DEFAULT_TX_HASH;
  readonly txIndex: number;
  readonly senderKeyId: Uint8Array;
  readonly state: ContractState;
  readonly caller;
  readonly readOnly: boolean;
  readonly transaction: TestTransaction;
  /** The contract this call runs. */
  readonly contract: string;
  readonly #depth: number;

  constructor(
    tx: TestTransaction,
    name: string,
    callerContract: string | null,
    readOnly: boolean,
    depth: number,
  ) {
    this.transaction = tx;
    this.contract = name;
    this.#depth = depth;
    this.readOnly = readOnly;
    this.height = tx.options.height ?? 7n;
    this.timeMs = tx.options.timeMs ?? 1_767_225_600_000n;
    this.txIndex = tx.options.txIndex ?? 0;
    this.senderKeyId = tx.options.keyId ?? DEFAULT_KEY_ID;
    this.caller = {
      keyId: this.senderKeyId,
      contract: callerContract,
      member: tx.options.member === undefined ? DEFAULT_MEMBER : tx.options.member,
    };
    this.state = new TestState(this);
  }

  get gasRemaining(): bigint {
    return this.transaction.gasRemaining;
  }

  chargeGas(amount: bigint): boolean {
    return this.transaction.charge(amount);
  }

  emit(type: string, data: ValueMap): void {
    this.transaction.emit(this.contract, type, data, this.readOnly);
  }

  call(
    contract: string,
    method: string,
    args: Value,
    options: { readOnly: boolean },
  ): Result<Value, ExecutionError> {
    return this.transaction.call(
      this.contract,
      contract,
      method,
      args,
      this.readOnly || options.readOnly,
      this.#depth + 1,
    );
  }

  require(permission: string): Result<void, ExecutionError> {
    if (this.transaction.options.permissionsDenied?.includes(permission) === true) {
      return fail(
        new ExecutionError("PERMISSION_DENIED", "the caller lacks this permission", { permission }),
      );
    }
    return ok(undefined);
  }
}
