/**
 * A small in-memory world for the system contracts' unit tests (not exported from index.ts):
 * a state, native contracts by name, and transactions run through a `ContractContext` that
 * follows the executor's rules closely enough for contract logic: per-call overlays kept on
 * success and dropped on failure, `caller.contract` set on nested calls, read-only calls that
 * fail at their first write or emit, events kept only when the transaction succeeds, and a
 * depth bound. Gas is not accounted here (the executor does it); `require` consults a set of
 * denied permissions the test controls.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { bytesToHex } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { sha256 } from "../../crypto/index.ts";
import type { HashFunction } from "../../crypto/suite.ts";
import { encodeValue, type Value, type ValueMap } from "../../encoding/value.ts";
import type {
  CallerIdentity,
  ContractCallOptions,
  ContractContext,
  ContractState,
  MemberIdentity,
  NativeContract,
} from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import { CALL_DEPTH_MAX } from "../limits.ts";
import { contractStateKeyOf } from "../state-keys.ts";
import { StateOverlay, type StateReader } from "../state-view.ts";

export type TestNativeContract = NativeContract;

export interface RecordedEvent {
  readonly contract: string;
  readonly type: string;
  readonly data: ValueMap;
}

export interface TransactionOutcome {
  readonly result: Result<Value, ExecutionError>;
  /** Events kept (empty when the transaction failed). */
  readonly events: readonly RecordedEvent[];
}

/** The fixed order in which the executor runs the natives' `initialize` at block 1. */
export const INITIALIZE_ORDER = ["org", "member", "permission", "governance", "registry"] as const;

class MapState implements StateReader {
  readonly #values = new Map<string, Uint8Array>();

  get(key: Uint8Array): Uint8Array | undefined {
    const value = this.#values.get(bytesToHex(key));
    return value === undefined ? undefined : value.slice();
  }

  apply(overlay: StateOverlay): void {
    for (const update of overlay.updates()) {
      const mapKey = bytesToHex(update.key);
      if (update.value === null) this.#values.delete(mapKey);
      else this.#values.set(mapKey, update.value.slice());
    }
  }
}

interface FrameOptions {
  readonly contract: string;
  readonly caller: CallerIdentity;
  readonly readOnly: boolean;
  readonly depth: number;
}

class Frame implements ContractContext {
  readonly chainId: string;
  readonly height: bigint;
  readonly timeMs: bigint;
  readonly txHash: Uint8Array;
  readonly txIndex = 0;
  readonly senderKeyId: Uint8Array;
  readonly state: ContractState;
  readonly caller: CallerIdentity;
  readonly readOnly: boolean;
  readonly gasRemaining = 1_000_000_000n;
  readonly overlay: StateOverlay;
  readonly events: RecordedEvent[] = [];
  violation: ExecutionError | null = null;
  readonly #world: TestWorld;
  readonly #options: FrameOptions;

  constructor(world: TestWorld, base: StateReader, options: FrameOptions) {
    this.#world = world;
    this.#options = options;
    this.chainId = "test-city-1";
    this.height = world.height;
    this.timeMs = world.timeMs;
    this.txHash = world.txHash;
    this.senderKeyId = options.caller.keyId;
    this.caller = options.caller;
    this.readOnly = options.readOnly;
    this.overlay = new StateOverlay(base);
    const keyOf = (table: string, id: Uint8Array) =>
      contractStateKeyOf(world.hash, options.contract, table, id);
    this.state = {
      get: (table, id) => this.overlay.get(keyOf(table, id)),
      set: (table, id, value) => {
        assert(value.length > 0, "contracts write non-empty values");
        if (this.#refuseWrite()) return;
        this.overlay.set(keyOf(table, id), value);
      },
      delete: (table, id) => {
        if (this.#refuseWrite()) return;
        this.overlay.set(keyOf(table, id), null);
      },
    };
  }

  #refuseWrite(): boolean {
    if (this.violation !== null) return true;
    if (!this.readOnly) return false;
    this.violation = new ExecutionError("EXEC_READ_ONLY", "a read-only call wrote or emitted", {});
    return true;
  }

  emit(type: string, data: ValueMap): void {
    if (this.#refuseWrite()) return;
    encodeValue(data); // throws on a value that is not canonical: a bug in the contract
    this.events.push({ contract: this.#options.contract, type, data });
  }

  chargeGas(amount: bigint): boolean {
    assert(amount >= 0n);
    return true;
  }

  call(
    contract: string,
    method: string,
    args: Value,
    options: ContractCallOptions,
  ): Result<Value, ExecutionError> {
    if (this.#options.depth + 1 > CALL_DEPTH_MAX) {
      return fail(new ExecutionError("EXEC_CALL_DEPTH_EXCEEDED", "calls nest too deep", {}));
    }
    const caller: CallerIdentity = { ...this.caller, contract: this.#options.contract };
    const outcome = this.#world.runFrame(this.overlay, contract, method, args, {
      contract,
      caller,
      readOnly: this.readOnly || options.readOnly,
      depth: this.#options.depth + 1,
    });
    if (outcome.frame !== null && outcome.result.ok) {
      outcome.frame.overlay.mergeInto(this.overlay);
      this.events.push(...outcome.frame.events);
    }
    return outcome.result;
  }

  require(permission: string): Result<void, ExecutionError> {
    if (this.#world.deniedPermissions.has(`${this.#options.contract}:${permission}`)) {
      return fail(new ExecutionError("PERMISSION_DENIED", "the caller may not do this", { permission }));
    }
    return ok(undefined);
  }
}

/** State, contracts and a clock of blocks; `execute` runs one transaction and keeps its writes. */
export class TestWorld {
  readonly hash: HashFunction = sha256;
  readonly state = new MapState();
  readonly contracts = new Map<string, TestNativeContract>();
  /** Permissions `require` refuses, as `<contract>:<permission>`. */
  readonly deniedPermissions = new Set<string>();
  /** Every event kept, in order. */
  readonly events: RecordedEvent[] = [];
  height = 1n;
  timeMs = 1_767_225_600_000n;
  txHash: Uint8Array = new Uint8Array(32);
  #txCount = 0;

  constructor(contracts: readonly TestNativeContract[]) {
    for (const contract of contracts) {
      assert(!this.contracts.has(contract.name), "contract names are unique");
      this.contracts.set(contract.name, contract);
    }
  }

  /** Moves to the next block, `stepMs` later. */
  nextBlock(stepMs = 1_000n): void {
    this.height += 1n;
    this.timeMs += stepMs;
  }

  runFrame(
    base: StateReader,
    contractName: string,
    method: string,
    args: Value,
    options: FrameOptions,
  ): { result: Result<Value, ExecutionError>; frame: Frame | null } {
    const contract = this.contracts.get(contractName);
    if (contract === undefined) {
      return {
        result: fail(
          new ExecutionError("EXEC_CONTRACT_UNKNOWN", "no such contract", { contract: contractName }),
        ),
        frame: null,
      };
    }
    const frame = new Frame(this, base, options);
    const result = contract.execute(frame, method, args);
    if (frame.violation !== null) return { result: fail(frame.violation), frame };
    return { result, frame };
  }

  #nextTxHash(): void {
    this.#txCount += 1;
    this.txHash = this.hash(Uint8Array.of(this.#txCount & 0xff, (this.#txCount >> 8) & 0xff, 0x74));
  }

  /** Runs a transaction of `signer` calling `contract.method(args)`; keeps its writes on success. */
  execute(
    signer: Uint8Array,
    contract: string,
    method: string,
    args: Value,
    member: MemberIdentity | null = null,
  ): TransactionOutcome {
    this.#nextTxHash();
    const caller: CallerIdentity = { keyId: signer.slice(), contract: null, member };
    const { result, frame } = this.runFrame(this.state, contract, method, args, {
      contract,
      caller,
      readOnly: false,
      depth: 1,
    });
    if (!result.ok || frame === null) return { result, events: [] };
    this.state.apply(frame.overlay);
    this.events.push(...frame.events);
    return { result, events: frame.events };
  }

  /** A read-only query (as the API would run it): writes and emits fail it. */
  query(contract: string, method: string, args: Value): Result<Value, ExecutionError> {
    const caller: CallerIdentity = { keyId: new Uint8Array(32), contract: null, member: null };
    return this.runFrame(this.state, contract, method, args, { contract, caller, readOnly: true, depth: 1 })
      .result;
  }

  /** Runs each contract's `initialize` with its section, in the executor's order, as "genesis". */
  initialize(sections: ValueMap): Result<void, ExecutionError> {
    for (const name of INITIALIZE_ORDER) {
      const contract = this.contracts.get(name);
      if (contract?.initialize === undefined || !Object.hasOwn(sections, name)) continue;
      const caller: CallerIdentity = { keyId: new Uint8Array(32), contract: "genesis", member: null };
      const frame = new Frame(this, this.state, { contract: name, caller, readOnly: false, depth: 1 });
      const result = contract.initialize(frame, sections[name]!);
      if (frame.violation !== null) return fail(frame.violation);
      if (!result.ok) return result;
      this.state.apply(frame.overlay);
      this.events.push(...frame.events);
    }
    return ok(undefined);
  }
}
