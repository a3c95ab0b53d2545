/**
 * The QuickJS sandbox for deployed contracts (ADR 0007): `loadSandboxEngine()` loads the pinned
 * QuickJS build (@jitl/quickjs-wasmfile-release-sync, exact version in package-lock) once, into
 * a fixed-size WebAssembly memory (SANDBOX_WASM_MEMORY_BYTES), and makes its one QuickJS runtime
 * (limited to SANDBOX_RUNTIME_MEMORY_BYTES_MAX per allocation and SANDBOX_STACK_BYTES_MAX of stack)
 * with SANDBOX_TEMPLATE_CONTEXTS contexts in which the prelude has run, then snapshots the memory
 * (ADR 0010). `openBlock()` gives one block that runtime as the snapshot left it; `load()` puts a
 * contract into a context of its own (the next template context, else a new one where the prelude
 * is compiled), reused by every call of that contract in the block. Closing the block puts the
 * memory back to the snapshot.
 *
 * Determinism:
 * - gas is the instrumented step count (instrument.ts) plus the executor's charges for host
 *   operations; the host charges the steps used at every crossing, so gas is exact throughout;
 * - the heap state at any call depends only on the block's transactions: every node makes the
 *   same snapshot (the same module, the same steps), and at every block's end the module's whole
 *   memory is put back to it (`restoreMemory`: the snapshot, and zeros up to the heap's break;
 *   above it the memory was never written), so every block starts from the same bytes on every
 *   node; the fixed wasm memory is what runs out, at the same allocation everywhere;
 * - a runtime that ran out of memory is put back to the snapshot after the transaction's
 *   outermost call, for the rest of the block (its contracts are loaded again on next use, into
 *   the template contexts first, in the same order), the same on every node;
 * - no clock, randomness, I/O or host objects reach a contract (prelude.ts).
 *
 * Crossings (the call into the VM, and the VM's host calls) go through `Channel` (channel.ts),
 * which passes strings at a fraction of the cost of quickjs-emscripten's handle API. What they
 * say (prelude.ts, values.ts): JSON into the VM, length-prefixed wire text out of it.
 *
 * One block at a time per engine: two open blocks would share the wasm memory. Queries should use
 * an engine of their own.
 * @module
 */
import { setFlagsFromString } from "node:v8";
import variantExport from "@jitl/quickjs-wasmfile-release-sync";
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from "quickjs-emscripten-core";
import { assert } from "../../base/assert.ts";
import { bytesToHex, equalBytes } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { STATE_VALUE_BYTES_MAX } from "../../base/limits.ts";
import { DecodeError, EncodeError } from "../../encoding/errors.ts";
import { decodeValue, encodeValue, type Value } from "../../encoding/value.ts";
import { isValueMap } from "../args.ts";
import type {
  CallerIdentity,
  ContractContext,
  ContractState,
  MemberIdentity,
  SandboxBlock,
  SandboxEngine,
  SystemContract,
} from "../contract.ts";
import { ExecutionError, type ExecutionErrorCode } from "../errors.ts";
import {
  SANDBOX_CODE_BYTES_MAX,
  SANDBOX_LOAD_STEPS_MAX,
  SANDBOX_READ_CACHE_ROWS,
  SANDBOX_RUNTIME_MEMORY_BYTES_MAX,
  SANDBOX_SCAN_ITEMS_MAX,
  SANDBOX_STACK_BYTES_MAX,
  SANDBOX_STATE_ID_BYTES_MAX,
  SANDBOX_STEP_GAS,
  SANDBOX_TABLE_BYTES_MAX,
  SANDBOX_TEMPLATE_CONTEXTS,
  SANDBOX_WASM_MEMORY_BYTES,
  TX_STATE_WRITE_BYTES_MAX,
} from "../limits.ts";
import { TableIndex } from "../table-index.ts";
import { Channel } from "./channel.ts";
import { type InstrumentedContract, instrumentContract } from "./instrument.ts";
import {
  HOST_ANSWER_KINDS,
  HOST_OPERATION_LETTERS,
  INVOKE_KINDS,
  type InvokeKind,
  PRELUDE_SOURCE,
} from "./prelude.ts";
import { vmValueJsonOf, WireReader } from "./values.ts";

/** Table names a deployed contract may use: a leading "_" is reserved (table-index.ts). */
export const SANDBOX_TABLE_PATTERN = new RegExp(`^[a-z][a-z0-9_-]{0,${SANDBOX_TABLE_BYTES_MAX - 1}}$`);
/** Codes of `throw new ContractError(code)`; the receipt says `CONTRACT_<code>` (≤ 64 bytes). */
export const CONTRACT_ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]{0,54}$/;
/** Instrumented code kept across blocks, by code hash (only speed depends on it). */
const INSTRUMENTED_CACHE_MAX = 256;
/** Steps are JS numbers inside the VM; no transaction has more gas than this anyway. */
const STEPS_MAX = 2 ** 52;
const STEPS_MAX_BIG = BigInt(STEPS_MAX);
const WASM_PAGE_BYTES = 65_536;

export interface SandboxEngineOptions {
  /** QuickJS heap of a block's runtime (default SANDBOX_RUNTIME_MEMORY_BYTES_MAX). */
  readonly runtimeMemoryBytesMax?: number;
  /** Fixed wasm memory (default SANDBOX_WASM_MEMORY_BYTES; at least twice the runtime's). */
  readonly wasmMemoryBytes?: number;
  /**
   * Lets V8 inline wasm functions into wasm functions when it optimizes QuickJS (default: on; the
   * node turns it off with CITYLEDGER_WASM_INLINING=off). See `enableWasmInlining`.
   */
  readonly wasmInlining?: boolean;
  /**
   * Rows kept in the VM between a contract's calls, so that reads of them are answered there and
   * done by the host at the next crossing (default: on; ADR 0011). Off only to compare: results,
   * gas, writes and events are the same either way (the differential test checks it).
   */
  readonly readCache?: boolean;
}

/**
 * Turns on V8's wasm-into-wasm inlining (`--wasm-inlining`, off by default and marked experimental
 * in Node 20's V8 11.3) before QuickJS is compiled: the interpreter's many small C functions (value
 * reference counting, property lookups, allocation) are then inlined where it is hot, and a
 * counter call's time inside QuickJS drops by about 15 % (docs/PERFORMANCE.md, "Contracts").
 * The flag changes how V8 compiles the module, never what it computes: wasm's results do not
 * depend on its compiler, and QuickJS's stack limit is checked on its own stack in the wasm
 * memory, which inlining leaves alone. Process-wide, and set once; later wasm compilations
 * (and tier-ups) use it too.
 */
function enableWasmInlining(): void {
  if (wasmInliningEnabled) return;
  setFlagsFromString("--wasm-inlining");
  wasmInliningEnabled = true;
}
let wasmInliningEnabled = false;

export interface SandboxMemoryUsage {
  /** Bytes QuickJS counts as allocated in the block's runtime (0 before the first load). */
  readonly runtimeBytes: number;
  /** Bytes of the module's fixed wasm memory. */
  readonly wasmMemoryBytes: number;
}

export interface QuickJsSandboxBlock extends SandboxBlock {
  memoryUsage(): SandboxMemoryUsage;
  /** Runtimes discarded in this block after running out of memory. */
  readonly runtimesRecreated: number;
  /** Reads the VM answered from kept rows in this block (ADR 0011); the host did them after. */
  readonly keptReads: number;
}

export interface QuickJsSandboxEngine extends SandboxEngine {
  openBlock(): QuickJsSandboxBlock;
}

const textEncoder = new TextEncoder();

function executionError(
  code: ExecutionErrorCode,
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): ExecutionError {
  return new ExecutionError(code, message, details);
}

/** Loads QuickJS once (at node start); the engine then opens blocks synchronously. */
export async function loadSandboxEngine(options: SandboxEngineOptions = {}): Promise<QuickJsSandboxEngine> {
  const runtimeMemoryBytesMax = options.runtimeMemoryBytesMax ?? SANDBOX_RUNTIME_MEMORY_BYTES_MAX;
  const wasmMemoryBytes = options.wasmMemoryBytes ?? SANDBOX_WASM_MEMORY_BYTES;
  assert(wasmMemoryBytes % WASM_PAGE_BYTES === 0, "wasm memories are whole pages");
  assert(runtimeMemoryBytesMax * 2 <= wasmMemoryBytes, "the runtime's limit is hit before the wasm memory");
  if (options.wasmInlining ?? true) enableWasmInlining();
  const pages = wasmMemoryBytes / WASM_PAGE_BYTES;
  const wasmMemory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const module = await newQuickJSWASMModuleFromVariant(newVariant(pinnedVariant(), { wasmMemory }));
  assert(module.getWasmMemory() === wasmMemory, "QuickJS runs in the fixed memory");
  const snapshot = snapshotOf(wasmMemory);
  const breakAddress = heapBreakAddressOf(module, snapshot);
  return new Engine(module, runtimeMemoryBytesMax, snapshot, breakAddress, options.readCache ?? true);
}

/** The pinned build (its ESM and CommonJS typings disagree on where the default export sits). */
function pinnedVariant(): QuickJSSyncVariant {
  const exported: unknown = variantExport;
  const candidate = (exported as { default?: unknown }).default ?? exported;
  assert((candidate as { type?: unknown }).type === "sync", "the pinned QuickJS build is the sync variant");
  return candidate as QuickJSSyncVariant;
}

/** The memory's bytes up to its last non-zero byte (the rest of a fresh memory is zeros). */
function snapshotOf(memory: WebAssembly.Memory): Uint8Array {
  const bytes = new Uint8Array(memory.buffer);
  // Whole words first (a memory is whole pages): a fourth of the steps over 64 MiB of mostly zeros.
  const words = new Uint32Array(memory.buffer);
  let wordEnd = words.length;
  while (wordEnd > 0 && words[wordEnd - 1] === 0) wordEnd -= 1;
  let end = wordEnd * 4;
  while (end > 0 && bytes[end - 1] === 0) end -= 1;
  return bytes.slice(0, end);
}

/**
 * Where the module keeps its heap's break (emscripten's sbrk pointer: the end of the memory
 * malloc has ever handed out). Everything at or above the break is still zero from load, so a
 * restore needs to rewrite only the bytes below it. Found once per engine: a runtime that
 * allocates a MiB moves the break, and exactly one word of the memory below the snapshot's
 * end both held the old break (at the snapshot's end) and holds the new one (at the end of what
 * was written). The memory is restored afterwards.
 */
function heapBreakAddressOf(module: QuickJSWASMModule, snapshot: Uint8Array): number {
  const memory = module.getWasmMemory();
  const before = new Uint32Array(snapshot.buffer, 0, snapshot.length >> 2).slice();
  const runtime = module.newRuntime();
  const context = runtime.newContext();
  const grownBytes = 1024 * 1024;
  const grown = context.evalCode(`"x".repeat(${grownBytes}) + "y"`);
  grown.dispose();
  context.dispose();
  runtime.dispose();
  const after = new Uint32Array(memory.buffer, 0, before.length);
  // The end of what was written: the last non-zero byte, well within a few times the growth.
  const bytes = new Uint8Array(memory.buffer);
  let written = Math.min(bytes.length, snapshot.length + 8 * grownBytes);
  while (written > 0 && bytes[written - 1] === 0) written -= 1;
  const candidates: number[] = [];
  for (let index = 0; index < before.length; index++) {
    const old = before[index]!;
    const now = after[index]!;
    if (
      old >= snapshot.length &&
      old < snapshot.length + WASM_PAGE_BYTES &&
      now >= written &&
      now < written + WASM_PAGE_BYTES
    ) {
      candidates.push(index * 4);
    }
  }
  assert(candidates.length === 1, "the heap's break is found in the module's memory");
  bytes.set(snapshot, 0);
  bytes.fill(0, snapshot.length);
  return candidates[0]!;
}

/**
 * Runs `build` (synchronous) with the QuickJS module's clock reading 0. QuickJS seeds each new
 * context's Math.random state from the clock (js_random_init); the prelude deletes Math.random,
 * so no contract reads the seed, but the template contexts' seeds lie in the snapshot, which must
 * be the same bytes on every node. The pinned build reads the clock through its `gettimeofday`
 * import, which calls Date.now when called (the engine test compares two engines made at
 * different times, byte for byte, so a build that reads the clock elsewhere fails there).
 */
function withWasmClockAtZero<T>(build: () => T): T {
  const dateNow = Date.now;
  Date.now = () => 0;
  try {
    return build();
  } finally {
    Date.now = dateNow;
  }
}

class Engine implements QuickJsSandboxEngine {
  readonly module: QuickJSWASMModule;
  readonly channel: Channel;
  /** The engine's one runtime: restored with the memory at every block's end, never disposed. */
  readonly runtime: QuickJSRuntime;
  /** Contexts where the prelude has run, taken by a block's contracts in load order. */
  readonly templates: readonly PreludeContext[];
  readonly #instrumented = new Map<string, Result<InstrumentedContract, ExecutionError>>();
  #memorySnapshot: Uint8Array;
  readonly #breakAddress: number;
  /** Whether contracts' contexts keep rows in the VM (ADR 0011). */
  readonly readCache: boolean;
  blockOpen = false;

  constructor(
    module: QuickJSWASMModule,
    runtimeMemoryBytesMax: number,
    memorySnapshot: Uint8Array,
    breakAddress: number,
    readCache: boolean,
  ) {
    this.module = module;
    this.readCache = readCache;
    this.#breakAddress = breakAddress;
    this.#memorySnapshot = memorySnapshot;
    this.channel = Channel.attach(module);
    // Attaching checked the string layout in a runtime of its own: start from the load's bytes.
    this.restoreMemory();
    this.runtime = module.newRuntime();
    this.runtime.setMemoryLimit(runtimeMemoryBytesMax);
    this.runtime.setMaxStackSize(SANDBOX_STACK_BYTES_MAX);
    this.templates = withWasmClockAtZero(() => {
      const templates: PreludeContext[] = [];
      for (let index = 0; index < SANDBOX_TEMPLATE_CONTEXTS; index++) {
        // Routed to a contract when a block takes it; nothing calls the host before that.
        const made = preludeContextOf(
          this,
          () => OUT_OF_GAS_ANSWER,
          (_context, error) => {
            error.dispose();
            return executionError("EXEC_CONTRACT_INVALID", "the prelude does not run");
          },
        );
        assert(made.ok, "the prelude runs in a fresh context");
        templates.push(made.value);
      }
      return templates;
    });
    // From here on every block starts from, and ends with, these bytes.
    this.#memorySnapshot = snapshotOf(module.getWasmMemory());
  }

  /**
   * Puts the module's whole memory back to the snapshot: at construction, as QuickJS was loaded;
   * after, with the runtime and its template contexts made (ADR 0010). Called with no call
   * running: QuickJS's and the allocator's state then equal the snapshot's (the wasm stack
   * pointer, the only state outside the memory, is back at its base when idle), so the next
   * block runs out of memory at exactly the same point on every node, whatever blocks each node
   * ran before (freeing alone leaves the allocator in a history-dependent state). The runtime's
   * and the template contexts' host-side objects stay valid: they only point into the memory,
   * and it holds again what they point at. Only the bytes below the heap's break can differ from
   * the snapshot: emscripten's allocator never gives memory back (the break only grows; the
   * determinism test compares the whole memory with a fresh engine's), so above it is still zero.
   */
  restoreMemory(): void {
    this.channel.forgetAllocations();
    const memory = this.module.getWasmMemory();
    const bytes = new Uint8Array(memory.buffer);
    const heapEnd = Math.min(new DataView(memory.buffer).getUint32(this.#breakAddress, true), bytes.length);
    bytes.set(this.#memorySnapshot, 0);
    if (heapEnd > this.#memorySnapshot.length) bytes.fill(0, this.#memorySnapshot.length, heapEnd);
  }

  openBlock(): QuickJsSandboxBlock {
    assert(!this.blockOpen, "one open block per engine: blocks share the wasm memory");
    this.blockOpen = true;
    return new Block(this);
  }

  instrumented(codeHash: Uint8Array, code: Uint8Array): Result<InstrumentedContract, ExecutionError> {
    const key = bytesToHex(codeHash);
    const cached = this.#instrumented.get(key);
    if (cached !== undefined) return cached;
    let result: Result<InstrumentedContract, ExecutionError>;
    if (code.length > SANDBOX_CODE_BYTES_MAX) {
      result = fail(
        executionError("EXEC_CONTRACT_INVALID", "the code is too large", {
          sizeBytesMax: SANDBOX_CODE_BYTES_MAX,
        }),
      );
    } else {
      let source: string | null = null;
      try {
        source = new TextDecoder("utf-8", { fatal: true }).decode(code);
      } catch {
        source = null;
      }
      result =
        source === null
          ? fail(executionError("EXEC_CONTRACT_INVALID", "the code is not UTF-8"))
          : instrumentContract(source);
    }
    // Evicting the oldest entry: only speed depends on the cache, never a result.
    if (this.#instrumented.size >= INSTRUMENTED_CACHE_MAX) {
      this.#instrumented.delete(this.#instrumented.keys().next().value!);
    }
    this.#instrumented.set(key, result);
    return result;
  }
}

class Block implements QuickJsSandboxBlock {
  readonly engine: Engine;
  readonly contracts = new Map<string, SandboxContract>();
  readonly parts = new ContextParts();
  /** Bumped when the memory is put back; contexts of an older generation are gone. */
  generation = 0;
  /** Template contexts this generation has handed out, in load order (the same on every node). */
  templatesTaken = 0;
  /** Whether this generation has run anything in the runtime (its memory then needs restoring). */
  used = false;
  /** Set when a call ran out of memory: the memory is put back after the outermost call. */
  poisoned = false;
  /** Sandbox calls on the stack, all contracts together. */
  depth = 0;
  runtimesRecreated = 0;
  keptReads = 0;
  closed = false;
  /** A bug in a host callback (it must not reach the contract): rethrown after the call. */
  hostFailure: unknown = null;
  /**
   * The hash of each transaction index seen in this block, for `context.tx.hash` (read lazily), by
   * index: a block's indexes run from 0 (a Map cost ≈ 0.4 µs per call as it grew).
   */
  readonly #txHashes: Array<Uint8Array | undefined> = [];

  constructor(engine: Engine) {
    this.engine = engine;
  }

  /** The next template context of this generation, or null when all are taken. */
  takeTemplate(): PreludeContext | null {
    const templates = this.engine.templates;
    if (this.templatesTaken >= templates.length) return null;
    const template = templates[this.templatesTaken]!;
    this.templatesTaken += 1;
    return template;
  }

  load(name: string, codeHash: Uint8Array, code: Uint8Array): Result<SystemContract, ExecutionError> {
    assert(!this.closed, "a closed block loads nothing");
    const key = `${name}/${bytesToHex(codeHash)}`;
    const loaded = this.contracts.get(key);
    if (loaded !== undefined) return ok(loaded);
    const instrumented = this.engine.instrumented(codeHash, code);
    if (!instrumented.ok) return instrumented;
    const contract = new SandboxContract(this, name, instrumented.value);
    const vm = contract.vm();
    if (!vm.ok) {
      this.afterOutermost();
      return vm;
    }
    this.contracts.set(key, contract);
    return ok(contract);
  }

  /** Puts back a runtime that ran out of memory once no call is running in it. */
  afterOutermost(): void {
    if (this.depth > 0 || !this.poisoned) return;
    this.discardRuntime();
    this.runtimesRecreated += 1;
  }

  /** Drops the block's contexts and puts the memory back to the engine's snapshot. */
  discardRuntime(): void {
    for (const contract of this.contracts.values()) contract.disposeVm();
    if (this.used) this.engine.restoreMemory();
    this.used = false;
    this.templatesTaken = 0;
    this.generation += 1;
    this.poisoned = false;
  }

  rememberTxHash(txIndex: number, txHash: Uint8Array): void {
    assert(Number.isSafeInteger(txIndex) && txIndex >= 0, "transaction indexes are naturals");
    const known = this.#txHashes[txIndex];
    // Kept as given: executors never change a transaction's hash after making it.
    if (known === undefined) this.#txHashes[txIndex] = txHash;
    else if (known !== txHash) assert(equalBytes(known, txHash), "one hash per transaction index in a block");
  }

  txHashHexOf(txIndex: number): string {
    const hash = this.#txHashes[txIndex];
    assert(hash !== undefined, "a contract reads the hash of a transaction of this block");
    return bytesToHex(hash);
  }

  memoryUsage(): SandboxMemoryUsage {
    // QuickJS writes its report in the memory: the block's end puts it back.
    this.used = true;
    const match = /memory used\s+\d+\s+(\d+)/.exec(this.engine.runtime.dumpMemoryUsage());
    const runtimeBytes = match === null ? 0 : Number(match[1]);
    return { runtimeBytes, wasmMemoryBytes: this.engine.module.getWasmMemory().buffer.byteLength };
  }

  close(): void {
    if (this.closed) return;
    assert(this.depth === 0, "a block closes after its calls");
    this.discardRuntime();
    this.closed = true;
    this.engine.blockOpen = false;
  }
}

/**
 * The JSON of an invoke's block and caller parts, made again only when what they say changes
 * (consecutive calls in a block mostly share both).
 */
class ContextParts {
  #chainId = "";
  #height = -1n;
  #timeMs = -1n;
  #block = "";
  #keyId = new Uint8Array(0);
  #callerContract: string | null = null;
  #member: MemberIdentity | null = null;
  #caller = "";

  blockOf(context: ContractContext): string {
    if (
      context.chainId !== this.#chainId ||
      context.height !== this.#height ||
      context.timeMs !== this.#timeMs
    ) {
      this.#chainId = context.chainId;
      this.#height = context.height;
      this.#timeMs = context.timeMs;
      this.#block = JSON.stringify([context.chainId, context.height.toString(), context.timeMs.toString()]);
    }
    return this.#block;
  }

  callerOf(caller: CallerIdentity): string {
    const member = caller.member;
    if (
      caller.contract !== this.#callerContract ||
      !equalBytes(caller.keyId, this.#keyId) ||
      !sameMember(member, this.#member) ||
      this.#caller === ""
    ) {
      this.#keyId = caller.keyId.slice();
      this.#callerContract = caller.contract;
      this.#member = member === null ? null : { ...member, roles: [...member.roles] };
      this.#caller = JSON.stringify([
        bytesToHex(caller.keyId),
        caller.contract,
        member === null ? null : [member.organization, member.department, member.roles],
      ]);
    }
    return this.#caller;
  }
}

function sameMember(left: MemberIdentity | null, right: MemberIdentity | null): boolean {
  if (left === right) return true;
  if (left === null || right === null) return false;
  if (left.organization !== right.organization || left.department !== right.department) return false;
  if (left.roles.length !== right.roles.length) return false;
  for (let index = 0; index < left.roles.length; index++) {
    if (left.roles[index] !== right.roles[index]) return false;
  }
  return true;
}

/** A context where the prelude has run: its functions, alive as long as the context. */
interface PreludeContext {
  readonly context: QuickJSContext;
  /** The host function, the prelude, its API object, load and invoke. */
  readonly handles: readonly QuickJSHandle[];
  readonly load: QuickJSHandle;
  readonly invoke: QuickJSHandle;
}

/**
 * A new context of the engine's runtime with `host` routed to `handler` and the prelude run; on
 * failure (out of memory in a full runtime) the context is gone and `failureOf` says why.
 */
function preludeContextOf(
  engine: Engine,
  handler: (request: string) => string,
  failureOf: (context: QuickJSContext, error: QuickJSHandle) => ExecutionError,
): Result<PreludeContext, ExecutionError> {
  const context = engine.runtime.newContext();
  const handles: QuickJSHandle[] = [];
  const failWith = (error: ExecutionError): Result<PreludeContext, ExecutionError> => {
    for (const handle of handles) handle.dispose();
    context.dispose();
    return fail(error);
  };
  handles.push(engine.channel.installHost(context, handler));
  const prelude = context.evalCode(PRELUDE_SOURCE, "prelude.js");
  if (prelude.error !== undefined) return failWith(failureOf(context, prelude.error));
  handles.push(prelude.value);
  const api = context.callFunction(prelude.value, context.undefined, handles[0]!);
  if (api.error !== undefined) return failWith(failureOf(context, api.error));
  handles.push(api.value);
  const load = context.getProp(api.value, "load");
  const invoke = context.getProp(api.value, "invoke");
  handles.push(load, invoke);
  return ok({ context, handles, load, invoke });
}

function disposePreludeContext(prelude: PreludeContext): void {
  for (const handle of prelude.handles) handle.dispose();
  prelude.context.dispose();
}

interface Vm {
  readonly generation: number;
  readonly prelude: PreludeContext;
  /** A template context: the engine's, kept (the memory's restore cleans it), never disposed. */
  readonly template: boolean;
  /** The block and caller parts last sent to this context (it keeps them until they change). */
  sentBlock: string | null;
  sentCaller: string | null;
}

/** One call of a sandboxed contract on the stack. */
class Frame {
  readonly context: ContractContext;
  #index: TableIndex | null = null;
  /** Steps the VM was last given; what it reports below that was used. */
  stepsGiven: number;
  outOfGas = false;
  /** Codes of the host failures handed to the VM in this call (only those may come back). */
  #failureCodes: Set<string> | null = null;
  /** Whether the VM keeps rows in this call (the invoke's `rows` is not 0). */
  keepRows = false;
  /** A kept row's write did not take effect: the VM is told ("!") to keep none from then on. */
  rowsBroken = false;
  rowsBrokenTold = false;

  constructor(context: ContractContext) {
    this.context = context;
    this.stepsGiven = 0;
  }

  /** A host failure handed to the VM: the call may end with its code. */
  failureHanded(code: string): void {
    // Made at the first one (most calls have none).
    if (this.#failureCodes === null) this.#failureCodes = new Set();
    this.#failureCodes.add(code);
  }

  /** Whether the VM was handed a failure with this code in this call. */
  failureWasHanded(code: string): boolean {
    return this.#failureCodes?.has(code) === true;
  }

  /** The ordered index of the call's tables, made when a write or scan first needs it. */
  get index(): TableIndex {
    if (this.#index === null) this.#index = new TableIndex(this.context.state);
    return this.#index;
  }

  /** Writes what the index changed and forgets what it read (nothing when it was never made). */
  flushIndex(forget: boolean): void {
    if (this.#index === null) return;
    this.#index.flush();
    if (forget) this.#index.clear();
  }

  /** The VM's budget: what the transaction has left, in steps. */
  budget(): number {
    if (this.outOfGas) return -1;
    const steps = this.context.gasRemaining / SANDBOX_STEP_GAS;
    return Number(steps > STEPS_MAX_BIG ? STEPS_MAX_BIG : steps);
  }

  give(): number {
    this.stepsGiven = this.budget();
    return this.stepsGiven;
  }

  /** Charges the steps used since the VM was last given a budget; false when gas ran out. */
  charge(stepsLeft: number): boolean {
    assert(Number.isSafeInteger(stepsLeft), "the VM reports whole steps");
    const used = this.stepsGiven - stepsLeft;
    this.stepsGiven = stepsLeft;
    if (used > 0 && !this.context.chargeGas(BigInt(used) * SANDBOX_STEP_GAS)) this.outOfGas = true;
    if (stepsLeft < 0) this.outOfGas = true;
    return !this.outOfGas;
  }
}

/** A request for a transaction's hash: `x<txIndex>` (context.tx.hash read for the first time). */
const TX_HASH_REQUEST_CODE = "x".charCodeAt(0);
/** The host's answer when the transaction is out of gas: steps -1, alone. */
const OUT_OF_GAS_ANSWER = "-1";
type QueuedLetter = "S" | "U" | "D" | "E";
const QUEUED_LETTERS: ReadonlySet<string> = new Set<QueuedLetter>(["S", "U", "D", "E"]);

/** The [code, message] of a ledger or contract failure in an invoke answer. */
function failureOf(answer: WireReader): [string | null, string | null] {
  assert(answer.character() === "[", "a failure's detail is a list");
  const code = answer.text();
  const message = answer.text();
  assert(answer.character() === "]", "a failure's detail is [code message]");
  return [code, message];
}

class HostRefusal extends Error {
  readonly error: ExecutionError;
  constructor(error: ExecutionError) {
    super(error.message);
    this.error = error;
  }
}

function refuse(
  code: ExecutionErrorCode,
  message: string,
  details: Record<string, string | number> = {},
): never {
  throw new HostRefusal(executionError(code, message, details));
}

/** Table names already checked against SANDBOX_TABLE_PATTERN (a contract uses a handful). */
const tablesAccepted = new Set<string>();
const TABLES_ACCEPTED_MAX = 1024;

function tableOf(value: Value | undefined): string {
  if (typeof value === "string" && tablesAccepted.has(value)) return value;
  if (typeof value !== "string" || !SANDBOX_TABLE_PATTERN.test(value)) {
    refuse("EXEC_STATE_ID_INVALID", `a table name must match ${SANDBOX_TABLE_PATTERN.source}`);
  }
  if (tablesAccepted.size >= TABLES_ACCEPTED_MAX) tablesAccepted.clear();
  tablesAccepted.add(value);
  return value;
}

/** UTF-8 of a text id; ASCII (most ids) without a call into the encoder. */
function utf8Of(text: string): Uint8Array {
  if (text.length > SANDBOX_STATE_ID_BYTES_MAX) return textEncoder.encode(text);
  const bytes = new Uint8Array(text.length);
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code >= 0x80) return textEncoder.encode(text);
    bytes[index] = code;
  }
  return bytes;
}

function idBytesOf(value: Value | undefined, what = "a row id"): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === "string") bytes = utf8Of(value);
  else if (value instanceof Uint8Array) bytes = value;
  else refuse("EXEC_STATE_ID_INVALID", `${what} is text or bytes`);
  if (bytes.length === 0 || bytes.length > SANDBOX_STATE_ID_BYTES_MAX) {
    refuse("EXEC_STATE_ID_INVALID", `${what} is 1 to ${SANDBOX_STATE_ID_BYTES_MAX} bytes`, {
      sizeBytes: bytes.length,
    });
  }
  return bytes;
}

function decodeStored(bytes: Uint8Array): Value {
  try {
    return decodeValue(bytes, STATE_VALUE_BYTES_MAX);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return refuse("EXEC_VALUE_INVALID", "a stored row is not a canonical value");
  }
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

function textOfId(id: Uint8Array): string | null {
  try {
    return utf8Strict.decode(id);
  } catch {
    return null;
  }
}

/** A row a contract's context keeps in the VM, as the host last saw it (ADR 0011). */
interface KeptRow {
  readonly table: string;
  /** The id as the contract gave it (text), and as the state has it (its UTF-8). */
  readonly idText: string;
  readonly id: Uint8Array;
  encoded: Uint8Array;
}

/**
 * The host's copy of the rows a contract's context keeps in the VM, by the slots both sides
 * number them with (prelude.ts): added by `get` answers and `U` writes in the order the VM sees
 * them, forgotten by `S` and `D` writes of them, all dropped when either side says so.
 */
class KeptRows {
  /** Searched in order: at most SANDBOX_READ_CACHE_ROWS, cheaper than a Map keyed by a new string. */
  readonly bySlot: Array<KeptRow | null> = [];
  /**
   * Whether the VM's rows may differ from these: set when an invoke starts, cleared when the
   * outermost one ends well with its writes all done. The next invoke then drops them.
   */
  dirty = true;

  get count(): number {
    return this.bySlot.length;
  }

  clear(): void {
    this.bySlot.length = 0;
  }

  /** The slot of the row (table, text id), or undefined when it is not kept. */
  slotOf(table: string, idText: string): number | undefined {
    const rows = this.bySlot;
    for (let slot = 0; slot < rows.length; slot++) {
      const row = rows[slot];
      if (row !== null && row !== undefined && row.idText === idText && row.table === table) return slot;
    }
    return undefined;
  }

  add(table: string, idText: string, id: Uint8Array, encoded: Uint8Array): number {
    assert(
      this.bySlot.length < SANDBOX_READ_CACHE_ROWS && this.slotOf(table, idText) === undefined,
      "a new kept row",
    );
    const slot = this.bySlot.length;
    this.bySlot.push({ table, idText, id, encoded });
    return slot;
  }

  forget(table: string, idText: string): void {
    const slot = this.slotOf(table, idText);
    if (slot !== undefined) this.bySlot[slot] = null;
  }

  /** Whether every kept row is what the state holds now (read without a charge). */
  matches(state: ContractState): boolean {
    const peek = state.peek;
    if (peek === undefined) return false;
    for (const row of this.bySlot) {
      if (row === null) continue;
      const bytes = peek.call(state, row.table, row.id);
      if (bytes === undefined || !equalBytes(bytes, row.encoded)) return false;
    }
    return true;
  }
}

/** Whether the prelude keeps a value as a row: immutable in the VM (prelude's `keepable`). */
function keepable(value: Value): boolean {
  return (
    value === null || typeof value === "bigint" || typeof value === "string" || typeof value === "boolean"
  );
}

class SandboxContract implements SystemContract {
  readonly name: string;
  readonly #block: Block;
  readonly #code: InstrumentedContract;
  #vm: Vm | null = null;
  readonly #frames: Frame[] = [];
  readonly #kept = new KeptRows();
  /** What the last `get` and `set` operations read or wrote (for the kept rows). */
  #lastReadBytes: Uint8Array | null = null;
  #lastReadId: Uint8Array | null = null;
  #lastWritten: { readonly id: Uint8Array; readonly encoded: Uint8Array } | null = null;

  constructor(block: Block, name: string, code: InstrumentedContract) {
    this.#block = block;
    this.name = name;
    this.#code = code;
  }

  disposeVm(): void {
    if (this.#vm === null) return;
    assert(this.#frames.length === 0, "a context is disposed only when idle");
    if (!this.#vm.template) disposePreludeContext(this.#vm.prelude);
    this.#vm = null;
  }

  /**
   * The contract's context in the block's current generation, made on first use: the next
   * template context (the prelude has run there), else a new context that compiles the prelude.
   */
  vm(): Result<Vm, ExecutionError> {
    const block = this.#block;
    if (this.#vm !== null && this.#vm.generation === block.generation) return ok(this.#vm);
    this.#vm = null;
    // A new context keeps no rows.
    this.#kept.clear();
    this.#kept.dirty = true;
    block.used = true;
    const handler = (request: string): string => this.#host(request);
    const template = block.takeTemplate();
    let prelude: PreludeContext;
    if (template !== null) {
      block.engine.channel.route(template.context, handler);
      prelude = template;
    } else {
      const made = preludeContextOf(block.engine, handler, (context, error) =>
        this.#loadFailure(context, error),
      );
      if (!made.ok) return made;
      prelude = made.value;
    }
    const { context, load } = prelude;
    // A template context that failed stays taken: the block's end cleans it with the memory.
    const failWith = (error: ExecutionError): Result<Vm, ExecutionError> => {
      if (template === null) disposePreludeContext(prelude);
      return fail(error);
    };
    const factory = context.evalCode(this.#code.factorySource, `${this.name}.js`);
    if (factory.error !== undefined) return failWith(this.#loadFailure(context, factory.error));
    const stepsHandle = context.newNumber(SANDBOX_LOAD_STEPS_MAX);
    const loaded = context.callFunction(load, context.undefined, factory.value, stepsHandle);
    stepsHandle.dispose();
    factory.value.dispose();
    if (loaded.error !== undefined) return failWith(this.#loadFailure(context, loaded.error));
    const answer = JSON.parse(context.getString(loaded.value)) as [InvokeKind, number, unknown];
    loaded.value.dispose();
    if (answer[0] !== "ok") {
      if (answer[0] === "oom") block.poisoned = true;
      const code: ExecutionErrorCode = answer[0] === "oom" ? "EXEC_OUT_OF_MEMORY" : "EXEC_CONTRACT_INVALID";
      const reason =
        answer[0] === "oog" ? "its top-level code runs too long" : String(answer[2] ?? answer[0]);
      return failWith(
        executionError(code, `the contract does not load: ${reason.slice(0, 200)}`, { contract: this.name }),
      );
    }
    this.#vm = {
      generation: block.generation,
      prelude,
      template: template !== null,
      sentBlock: null,
      sentCaller: null,
    };
    return ok(this.#vm);
  }

  #loadFailure(context: QuickJSContext, errorHandle: QuickJSHandle): ExecutionError {
    const dumped = context.dump(errorHandle) as { message?: unknown } | null;
    errorHandle.dispose();
    const message = typeof dumped?.message === "string" ? dumped.message : String(dumped);
    if (message === "out of memory") {
      this.#block.poisoned = true;
      return executionError("EXEC_OUT_OF_MEMORY", "the contract ran out of memory while loading", {
        contract: this.name,
      });
    }
    return executionError(
      "EXEC_CONTRACT_INVALID",
      `the contract does not compile: ${message.slice(0, 200)}`,
      {
        contract: this.name,
      },
    );
  }

  execute(context: ContractContext, method: string, args: Value): Result<Value, ExecutionError> {
    const block = this.#block;
    assert(!block.closed, "a closed block runs nothing");
    block.depth += 1;
    let result: Result<Value, ExecutionError>;
    try {
      result = this.#execute(context, method, args);
    } finally {
      block.depth -= 1;
    }
    if (block.hostFailure !== null && block.depth === 0) {
      const failure = block.hostFailure;
      block.hostFailure = null;
      throw failure;
    }
    block.afterOutermost();
    return result;
  }

  #execute(context: ContractContext, method: string, args: Value): Result<Value, ExecutionError> {
    const vmResult = this.vm();
    if (!vmResult.ok) return vmResult;
    const vm = vmResult.value;
    const frame = new Frame(context);
    const rows = this.#rowsControl(context);
    frame.keepRows = rows !== 0;
    // The block and the caller go only when they differ from what this context last received.
    const parts = this.#block.parts;
    const blockPart = parts.blockOf(context);
    const callerPart = parts.callerOf(context.caller);
    this.#block.rememberTxHash(context.txIndex, context.txHash);
    const payload = `[${frame.give()},${JSON.stringify(method)},${context.txIndex},${context.readOnly},${
      blockPart === vm.sentBlock ? 0 : blockPart
    },${callerPart === vm.sentCaller ? 0 : callerPart},${rows},${vmValueJsonOf(args)}]`;
    vm.sentBlock = blockPart;
    vm.sentCaller = callerPart;
    this.#frames.push(frame);
    let answerJson: string | null = null;
    let escaped: ExecutionError | null = null;
    try {
      const called = this.#block.engine.channel.call(vm.prelude.context, vm.prelude.invoke, payload);
      if (called.ok) answerJson = called.text;
      else {
        escaped = this.#escaped(called.error);
        // The context may not have taken the parts: send them again next time.
        vm.sentBlock = null;
        vm.sentCaller = null;
      }
    } finally {
      const popped = this.#frames.pop();
      assert(popped === frame, "frames unwind in order");
    }
    if (escaped !== null) {
      // The prelude itself failed (out of memory or stack while unwinding): charge everything given.
      frame.charge(-1);
      return fail(escaped);
    }
    assert(answerJson !== null);
    const answer = new WireReader(answerJson);
    const kind = INVOKE_KINDS[Number(answer.character())];
    assert(kind !== undefined, "the prelude answers with a known kind");
    frame.charge(answer.steps());
    // Reads the VM answered from kept rows come first, whatever the kind: charged as they would
    // have been at their crossing (running out of gas there ends the call, see #outcome).
    this.#runHits(frame, answer);
    let outcome = this.#outcome(frame, method, kind, answer);
    if (outcome.ok && !frame.outOfGas) {
      // The writes and events the contract queued after its last host call.
      const refused = this.#runBatch(frame, answer);
      if (refused !== null) outcome = fail(refused);
      else if (frame.outOfGas) {
        outcome = fail(
          executionError("EXEC_OUT_OF_GAS", "the transaction ran out of gas", { contract: this.name }),
        );
      }
    }
    if (outcome.ok) {
      assert(answer.atEnd, "the answer ends with its queue");
      frame.flushIndex(false);
      // The outermost call of this contract ended well: the VM's rows are the host's.
      if (this.#frames.length === 0 && !frame.rowsBroken) this.#kept.dirty = false;
    }
    return outcome;
  }

  /**
   * What the invoke's `rows` says (prelude.ts): 0 keep none (off, a context without `peek`, or
   * this contract re-entered: its rows were dropped at the call), 2 drop them (the last call did
   * not end well, or a row is no longer the state's: a transaction or call rolled back), 1 keep.
   */
  #rowsControl(context: ContractContext): 0 | 1 | 2 {
    const kept = this.#kept;
    if (!this.#block.engine.readCache || context.state.peek === undefined || this.#frames.length > 0) {
      kept.clear();
      return 0;
    }
    const dirty = kept.dirty;
    kept.dirty = true;
    if (dirty || !kept.matches(context.state)) {
      kept.clear();
      return 2;
    }
    return 1;
  }

  /** The reads the VM answered from kept rows (at the reader), done here; false when out of gas. */
  #runHits(frame: Frame, reader: WireReader): boolean {
    for (let slot = reader.hit(); slot >= 0; slot = reader.hit()) {
      if (frame.outOfGas) continue;
      const row = this.#kept.bySlot[slot];
      assert(row !== undefined && row !== null, "the VM answers reads of rows the host keeps");
      const bytes = frame.context.state.get(row.table, row.id);
      if (frame.context.gasRemaining <= 0n) {
        frame.outOfGas = true;
        continue;
      }
      assert(bytes !== undefined && equalBytes(bytes, row.encoded), "a kept row is the state's");
      this.#block.keptReads += 1;
    }
    return !frame.outOfGas;
  }

  /** After a queued write ran: the kept rows follow it (the prelude did the same when queueing it). */
  #keepWrite(frame: Frame, letter: QueuedLetter, args: readonly Value[]): void {
    if (letter === "E") return;
    const table = args[0];
    const id = args[1];
    if (typeof table !== "string" || typeof id !== "string") return;
    if (letter !== "U") {
      this.#kept.forget(table, id);
      return;
    }
    assert(frame.keepRows, "the VM keeps rows only when told to");
    // Told "!" with this crossing's answer: the VM drops its rows, these included.
    if (frame.rowsBroken) return;
    const written = this.#lastWritten;
    assert(written !== null, "a U write was written");
    const peek = frame.context.state.peek;
    assert(peek !== undefined, "rows are kept only with peek");
    const stored = peek.call(frame.context.state, table, written.id);
    if (stored === undefined || !equalBytes(stored, written.encoded)) {
      // The write did not take effect (a read-only call, a limit already broken): keep nothing.
      frame.rowsBroken = true;
      this.#kept.clear();
      return;
    }
    const slot = this.#kept.slotOf(table, id);
    if (slot === undefined) this.#kept.add(table, id, written.id, written.encoded);
    else this.#kept.bySlot[slot]!.encoded = written.encoded;
  }

  /** What escaped the prelude's invoke, as text (`String(error)`). */
  #escaped(error: string): ExecutionError {
    if (error === "InternalError: stack overflow") {
      return executionError("EXEC_STACK_OVERFLOW", "the contract recursed too deeply", {
        contract: this.name,
      });
    }
    this.#block.poisoned = true;
    return executionError("EXEC_OUT_OF_MEMORY", "the contract ran out of memory", { contract: this.name });
  }

  /** The call's result, or why it failed, from the answer's kind and the detail that follows. */
  #outcome(
    frame: Frame,
    method: string,
    kind: InvokeKind,
    answer: WireReader,
  ): Result<Value, ExecutionError> {
    const details = { contract: this.name, method: method.slice(0, 64) };
    // Out of gas whatever the VM answered: as the reads it answered from kept rows would have
    // ended the call at their crossing (without such reads, the VM answered "oog" already).
    if (frame.outOfGas)
      return fail(executionError("EXEC_OUT_OF_GAS", "the transaction ran out of gas", details));
    switch (kind) {
      case "ok":
        try {
          return ok(answer.value());
        } catch (error) {
          if (error instanceof ExecutionError) return fail(error);
          throw error;
        }
      case "method":
        return fail(
          executionError("EXEC_METHOD_UNKNOWN", "the contract has no such method", {
            ...details,
            methods: this.#code.exportNames.join(",").slice(0, 256),
          }),
        );
      case "oog":
        break;
      case "oom":
        this.#block.poisoned = true;
        return fail(executionError("EXEC_OUT_OF_MEMORY", "the contract ran out of memory", details));
      case "stack":
        return fail(executionError("EXEC_STACK_OVERFLOW", "the contract recursed too deeply", details));
      case "ledger": {
        const [code, message] = failureOf(answer);
        if (typeof code === "string" && frame.failureWasHanded(code)) {
          return fail(executionError(code as ExecutionErrorCode, String(message), details));
        }
        return fail(executionError("EXEC_CONTRACT_THREW", "the contract threw a malformed error", details));
      }
      case "contract": {
        const [code, message] = failureOf(answer);
        if (typeof code === "string" && CONTRACT_ERROR_CODE_PATTERN.test(code)) {
          return fail(
            executionError(`CONTRACT_${code}`, String(message), { ...details, contractCode: code }),
          );
        }
        return fail(
          executionError(
            "EXEC_CONTRACT_THREW",
            "a ContractError code must match [A-Z][A-Z0-9_]{0,54}",
            details,
          ),
        );
      }
      case "value":
        return fail(executionError("EXEC_VALUE_INVALID", String(answer.text()), details));
      case "threw":
        return fail(
          executionError("EXEC_CONTRACT_THREW", `the contract threw: ${String(answer.text())}`, details),
        );
      default:
        assert(false, "the prelude answers with a known kind");
    }
    return fail(executionError("EXEC_OUT_OF_GAS", "the transaction ran out of gas", details));
  }

  /** The host function: one crossing per contract API call. Never throws into the VM. */
  #host(request: string): string {
    const frame = this.#frames[this.#frames.length - 1];
    assert(frame !== undefined, "the host is called only during a call");
    try {
      if (request.charCodeAt(0) === TX_HASH_REQUEST_CODE)
        return this.#block.txHashHexOf(Number(request.slice(1)));
      return this.#hostAnswer(frame, request);
    } catch (error) {
      // A bug here must crash the node, not become a VM exception a contract could catch.
      if (this.#block.hostFailure === null) this.#block.hostFailure = error;
      return OUT_OF_GAS_ANSWER;
    }
  }

  /**
   * Runs the queued writes and events at the reader (up to the request's own operation, or the
   * end of an answer) in order; the first refusal, or null.
   */
  #runBatch(frame: Frame, reader: WireReader): ExecutionError | null {
    while (!reader.atEnd && QUEUED_LETTERS.has(reader.peek())) {
      const letter = reader.character() as QueuedLetter;
      const operation = HOST_OPERATION_LETTERS[letter];
      if (frame.outOfGas) return null;
      try {
        const args = reader.value();
        if (!Array.isArray(args)) refuse("EXEC_VALUE_INVALID", "operation arguments are a list");
        this.#operation(frame, operation, args as readonly Value[]);
        if (!frame.outOfGas) this.#keepWrite(frame, letter, args as readonly Value[]);
      } catch (error) {
        if (error instanceof HostRefusal) return error.error;
        if (error instanceof ExecutionError) return error;
        throw error;
      }
    }
    return null;
  }

  #hostAnswer(frame: Frame, request: string): string {
    const reader = new WireReader(request);
    if (!frame.charge(reader.steps())) return OUT_OF_GAS_ANSWER;
    if (!this.#runHits(frame, reader)) return OUT_OF_GAS_ANSWER;
    const refused = this.#runBatch(frame, reader);
    this.#checkRowsUsable(frame);
    if (refused !== null) {
      return this.#refusalAnswer(frame, HOST_ANSWER_KINDS.queueRefused, refused);
    }
    if (frame.outOfGas) return OUT_OF_GAS_ANSWER;
    const letter = reader.character();
    assert(Object.hasOwn(HOST_OPERATION_LETTERS, letter), "the prelude asks for a known operation");
    const operation = HOST_OPERATION_LETTERS[letter as keyof typeof HOST_OPERATION_LETTERS];
    let result: Value | undefined;
    let argsList: readonly Value[];
    try {
      const argsValue = reader.value();
      assert(Array.isArray(argsValue), "the prelude sends a list");
      assert(reader.atEnd, "a request ends with its operation's arguments");
      argsList = argsValue as readonly Value[];
      this.#lastReadBytes = null;
      result = this.#operation(frame, operation, argsList);
    } catch (error) {
      let failure: ExecutionError;
      if (error instanceof HostRefusal) failure = error.error;
      else if (error instanceof ExecutionError) failure = error;
      else throw error;
      return this.#refusalAnswer(frame, HOST_ANSWER_KINDS.refused, failure);
    }
    if (frame.outOfGas || frame.context.gasRemaining <= 0n) {
      frame.outOfGas = frame.outOfGas || frame.context.gasRemaining <= 0n;
      if (frame.outOfGas) return OUT_OF_GAS_ANSWER;
    }
    const given = frame.give();
    assert(given >= 0, "a budget that is not out of gas");
    // A nested call may have broken a limit: checked before the answer says anything of rows.
    this.#checkRowsUsable(frame);
    const slot = operation === "get" && result !== undefined ? this.#keepRead(frame, argsList, result) : -1;
    const mark = this.#rowsBrokenMark(frame);
    if (result === undefined) return `${mark}${given}`;
    if (slot >= 0) return `${mark}[${given},${vmValueJsonOf(result)},${slot}]`;
    return `${mark}[${given},${vmValueJsonOf(result)}]`;
  }

  /**
   * Stops keeping rows for the rest of the call once the transaction broke a limit
   * (`chargeGas(0n)` is false exactly then, or when out of gas, handled apart): the executor
   * refuses reads from then on, which a kept row could not follow. It also refuses every charge,
   * so the call ends at its next crossing anyway; this guards contexts that charge otherwise.
   */
  #checkRowsUsable(frame: Frame): void {
    if (!frame.keepRows || frame.rowsBroken || frame.outOfGas) return;
    const context = frame.context;
    if (context.gasRemaining > 0n && !context.chargeGas(0n)) {
      frame.rowsBroken = true;
      this.#kept.clear();
    }
  }

  /** A refusal the VM hands the contract (`refused`) or fails the call with (`queueRefused`). */
  #refusalAnswer(frame: Frame, kind: number, failure: ExecutionError): string {
    frame.failureHanded(failure.code);
    return `${this.#rowsBrokenMark(frame)}${JSON.stringify([frame.give(), kind, failure.code, failure.message])}`;
  }

  /** "!" once a kept row's write did not take effect (the VM then keeps none), else "". */
  #rowsBrokenMark(frame: Frame): string {
    if (!frame.rowsBroken || frame.rowsBrokenTold) return "";
    frame.rowsBrokenTold = true;
    return "!";
  }

  /** The slot a read row is kept in from now on, or -1 (prelude: `get` answered with a slot). */
  #keepRead(frame: Frame, args: readonly Value[], value: Value): number {
    const table = args[0];
    const id = args[1];
    const bytes = this.#lastReadBytes;
    const idBytes = this.#lastReadId;
    if (!frame.keepRows || frame.rowsBroken || typeof table !== "string" || typeof id !== "string") return -1;
    if (bytes === null || idBytes === null || !keepable(value)) return -1;
    if (this.#kept.count >= SANDBOX_READ_CACHE_ROWS) return -1;
    // A row kept already (read again with writes queued): the VM holds it as written.
    if (this.#kept.slotOf(table, id) !== undefined) return -1;
    return this.#kept.add(table, id, idBytes, bytes);
  }

  #operation(frame: Frame, op: string, args: readonly Value[]): Value | undefined {
    const context = frame.context;
    switch (op) {
      case "get": {
        const id = idBytesOf(args[1]);
        const bytes = context.state.get(tableOf(args[0]), id);
        this.#lastReadBytes = bytes ?? null;
        this.#lastReadId = id;
        return bytes === undefined ? undefined : decodeStored(bytes);
      }
      case "has":
        return context.state.get(tableOf(args[0]), idBytesOf(args[1])) !== undefined;
      case "set": {
        const table = tableOf(args[0]);
        const id = idBytesOf(args[1]);
        let encoded: Uint8Array;
        try {
          encoded = encodeValue(args[2] ?? null);
        } catch (error) {
          if (!(error instanceof EncodeError)) throw error;
          return refuse("EXEC_VALUE_INVALID", "the row is not a canonical value");
        }
        if (encoded.length > TX_STATE_WRITE_BYTES_MAX) {
          refuse("EXEC_STATE_WRITES_TOO_LARGE", "the row is larger than a transaction may write", {
            sizeBytes: encoded.length,
          });
        }
        // A row that exists is indexed already (every write goes through here): skip the index.
        if (context.state.get(table, id) === undefined) {
          const inserted = frame.index.insert(table, id);
          if (!inserted.ok) throw new HostRefusal(inserted.error);
        }
        context.state.set(table, id, encoded);
        this.#lastWritten = { id, encoded };
        return undefined;
      }
      case "delete": {
        const table = tableOf(args[0]);
        const id = idBytesOf(args[1]);
        context.state.delete(table, id);
        frame.index.remove(table, id);
        return undefined;
      }
      case "scan":
        return this.#scan(frame, tableOf(args[0]), args[1] ?? null);
      case "emit": {
        const type = args[0];
        const data = args[1] ?? null;
        if (typeof type !== "string") return refuse("EXEC_EVENT_INVALID", "an event type is text");
        if (data === null || !isValueMap(data))
          return refuse("EXEC_EVENT_INVALID", "an event's data is a map");
        context.emit(type, data);
        return undefined;
      }
      case "call": {
        // The prelude dropped its kept rows when it made this request (the reads it answered came
        // first, with it): the host's copy goes too, before anything here can refuse the call.
        this.#kept.clear();
        const [contract, method, callArgs, readOnly] = args;
        if (typeof contract !== "string" || typeof method !== "string" || typeof readOnly !== "boolean") {
          return refuse("EXEC_VALUE_INVALID", "call(contract: text, method: text, args, {readOnly})");
        }
        // Another call may write these tables (even this contract, re-entered): write, then forget.
        frame.flushIndex(true);
        const called = context.call(contract, method, callArgs ?? null, { readOnly });
        if (!called.ok) throw new HostRefusal(called.error);
        return called.value;
      }
      case "require": {
        const permission = args[0];
        if (typeof permission !== "string") return refuse("EXEC_VALUE_INVALID", "a permission is text");
        const required = context.require(permission);
        if (!required.ok) throw new HostRefusal(required.error);
        return undefined;
      }
      default:
        return refuse("EXEC_VALUE_INVALID", "no such host operation");
    }
  }

  #scan(frame: Frame, table: string, query: Value): Value {
    if (query !== null && !isValueMap(query)) refuse("EXEC_VALUE_INVALID", "scan options are a map");
    const options = query ?? {};
    let limit = SANDBOX_SCAN_ITEMS_MAX;
    if (options.limit !== undefined) {
      const asked = options.limit;
      if (typeof asked !== "bigint" || asked < 1n || asked > BigInt(SANDBOX_SCAN_ITEMS_MAX)) {
        refuse("EXEC_VALUE_INVALID", `a scan's limit is 1 to ${SANDBOX_SCAN_ITEMS_MAX}`);
      }
      limit = Number(asked);
    }
    const prefix = options.prefix === undefined ? undefined : idBytesOf(options.prefix, "a scan's prefix");
    const after = options.after === undefined ? undefined : idBytesOf(options.after, "a scan's after");
    const ids = frame.index.scan(table, {
      limit: limit + 1,
      ...(prefix === undefined ? {} : { prefix }),
      ...(after === undefined ? {} : { after }),
    });
    const rows: Value[] = [];
    for (const id of ids.slice(0, limit)) {
      const bytes = frame.context.state.get(table, id);
      assert(bytes !== undefined, "indexed rows exist");
      rows.push({ id, text: textOfId(id), value: decodeStored(bytes) });
    }
    return { rows, more: ids.length > limit };
  }
}
