/**
 * Calls whose gas, results, events and writes are pinned (gas-vectors.test.ts): each kind of value
 * crossing the sandbox (text with zero characters and lone surrogates, out-of-range integers,
 * bytes, getters and proxies that queue operations while their value is written, nested and
 * failing calls, error messages the VM receives), and gas limits that run out at every crossing.
 * The expected figures were made with the sandbox of commit bf340b7 (before the wire protocol);
 * any change to them is a change of consensus.
 * @module
 */
import type { Value } from "../../../encoding/value.ts";

/** Exercises the value protocol; its methods are the calls below. */
export const VECTOR_CONTRACT = `
const { state, emit, call, ContractError } = CityLedger;
let kept = null;
export function echo(args) { return args; }
export function store(args) { state.set(args.table ?? "t", args.id, args.value); return state.get(args.table ?? "t", args.id) ?? null; }
export function read(args) { return [state.get("t", args.id) ?? null, state.has("t", args.id)]; }
export function remove(args) { state.delete("t", args.id); return state.has("t", args.id); }
export function emitIt(args) { emit(args.type, args.data); return null; }
export function callIt(args) {
  try { return call(args.contract, args.method, args.args, { readOnly: args.readOnly === true }); }
  catch (error) { if (args.rethrow === true) throw error; return { code: String(error.code), message: String(error.message), name: String(error.name) }; }
}
export function throwContract(args) { throw new ContractError(args.code, args.message); }
export function throwPlain(args) { throw new Error(args.message); }
export function getters(args) {
  const value = { get a() { state.set("t", "from-getter", 1n); emit("inner", { x: 1n }); return 2n; }, b: [1n, { get c() { return state.get("t", "from-getter") ?? 0n; } }] };
  if (args.mode === "emit") { emit("outer", value); return null; }
  if (args.mode === "set") { state.set("t", "outer", value); return state.get("t", "outer"); }
  return value;
}
export function proxyBytes(args) {
  let reads = 0;
  const target = new Uint8Array([1, 2, 3]);
  const proxy = new Proxy(target, { getPrototypeOf() { return Uint8Array.prototype; }, get(t, key) { reads++; return key === "length" ? 3 : t[key]; } });
  if (args.mode === "set") state.set("t", "p", proxy);
  if (args.mode === "emit") emit("p", { p: proxy });
  return args.mode === "return" ? proxy : reads;
}
export function proxyKeys(args) {
  const proxy = new Proxy({ b: 2n ** 70n, 1: "\\ud800", a: 1n }, { ownKeys() { return ["b", "1", "a"]; } });
  return proxy;
}
export function weird(args) {
  switch (args.kind) {
    case "nul": state.set("t", "n\\u0000ul", "a\\u0000b"); return state.get("t", "n\\u0000ul");
    case "surrogate": return "x\\ud800y";
    case "surrogateKey": return { ["k\\udc00"]: 1n };
    case "surrogateSet": state.set("t", "s", "\\ud800"); return null;
    case "bigOut": return 2n ** 64n;
    case "bigEdge": return [2n ** 63n - 1n, -(2n ** 63n), 10n ** 19n];
    case "bigSet": state.set("t", "big", 2n ** 63n); return null;
    case "float": return 1.5;
    case "negzero": return -0;
    case "maxSafe": return [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53];
    case "undefinedEntry": return { a: undefined, b: 1n };
    case "deep": { let v = null; for (let i = 0; i < 16; i++) v = [v]; return v; }
    case "deeper": { let v = null; for (let i = 0; i < 17; i++) v = [v]; return v; }
    case "many": return Array.from({ length: 300 }, (_, i) => ({ i: BigInt(i), s: "x" + i }));
    case "protoKey": return JSON.parse('{"__proto__": 1, "a": 2}');
    case "emoji": return "\\ud83d\\ude00 \\u00e9 \\u4e2d";
    case "emptyBytes": return new Uint8Array(0);
    case "bytesId": state.set("t", new Uint8Array([0, 255, 7]), new Uint8Array([9, 8])); return state.get("t", new Uint8Array([0, 255, 7]));
    case "emitNoData": emit("x"); return null;
    case "emitBadType": emit("Bad", {}); return null;
    case "scanAll": return state.scan("t", { limit: 5 });
    case "scanBad": return state.scan("t", { limit: 0n });
    case "tx": return { index: context_.tx.index, hash: context_.tx.hash };
    default: return null;
  }
}
let context_ = null;
export function ctx(args, context) {
  context_ = context;
  if (args.keep === true) kept = context;
  const out = { chain: context.chainId, ro: context.readOnly, h: context.block.height, t: context.block.timeMs, i: context.tx.index };
  if (args.hash === true) out.hash = context.tx.hash;
  if (args.keyId === true) out.keyId = context.caller.keyId;
  if (args.kept === true && kept !== null) out.keptHash = kept.tx.hash;
  out.caller = context.caller;
  return out;
}
export function spin(args) { let total = 0n; for (let i = 0n; i < args.n; i++) total += i; return total; }
export function finallyCall(args) { try { for (;;) {} } finally { state.get("t", "x"); } }
export function getterThrows(args) { return { get a() { throw new ContractError("GETTER", "in getter"); } }; }
export function getterOog(args) { return { get a() { for (;;) {} } }; }
`;

export interface VectorCall {
  readonly contract: string;
  readonly method: string;
  readonly args: Value;
  readonly gasLimit?: bigint;
  readonly readOnly?: boolean;
  readonly txIndex?: number;
  readonly permissionsDenied?: readonly string[];
  readonly keyId?: Uint8Array;
}

/** A fixed pseudo-random sequence (a 32-bit LCG): the same values on every run. */
class Sequence {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(bound: number): number {
    this.#state = (Math.imul(this.#state, 1_664_525) + 1_013_904_223) >>> 0;
    return this.#state % bound;
  }
}

const TEXTS = [
  "",
  "a",
  "value",
  "\u0000",
  "x\u0000y",
  "\ud800",
  "\udc00z",
  "\ud83d\ude00",
  "é",
  "中文",
  "s-1",
  "i7",
  "b0a",
  "__proto__",
  "1",
  "10",
];

function valueFrom(sequence: Sequence, depth: number): Value {
  const kind = sequence.next(depth >= 3 ? 6 : 9);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return sequence.next(2) === 0;
    case 2:
      return [0n, 1n, -1n, 255n, (1n << 63n) - 1n, -(1n << 63n), 1_000_000n][sequence.next(7)]!;
    case 3:
      return TEXTS[sequence.next(TEXTS.length)]!;
    case 4:
      return new Uint8Array(sequence.next(5)).map((_, index) => (index * 97 + sequence.next(256)) & 255);
    case 5:
      return `t${sequence.next(1000)}`;
    case 6: {
      const list: Value[] = [];
      const length = sequence.next(4);
      for (let index = 0; index < length; index++) list.push(valueFrom(sequence, depth + 1));
      return list;
    }
    default: {
      const map: Record<string, Value> = Object.create(null);
      const entries = sequence.next(4);
      for (let index = 0; index < entries; index++)
        map[TEXTS[sequence.next(TEXTS.length)]!] = valueFrom(sequence, depth + 1);
      return map;
    }
  }
}

const WEIRD_KINDS = [
  "nul",
  "surrogate",
  "surrogateKey",
  "surrogateSet",
  "bigOut",
  "bigEdge",
  "bigSet",
  "float",
  "negzero",
  "maxSafe",
  "undefinedEntry",
  "deep",
  "deeper",
  "many",
  "protoKey",
  "emoji",
  "emptyBytes",
  "bytesId",
  "emitNoData",
  "emitBadType",
  "scanAll",
  "scanBad",
  "tx",
];
const MESSAGES: Array<[string, string]> = [
  ["X", "insufficient"],
  ["X", "simple"],
  ["X", "bytes here"],
  ["X", "i"],
  ["X", "i12"],
  ["X", "s"],
  ["X", "b0a"],
  ["bad", "x"],
];
const HOSTILE_METHODS = [
  "infiniteLoop",
  "recursion",
  "allocateForever",
  "catchMemory",
  "hugeEvent",
  "manyEvents",
  "returnCycle",
  "setFloat",
  "badTable",
  "longId",
  "forgeLedgerError",
];

/** The pinned calls, in order (they share one block and one world). */
export function vectorCalls(): VectorCall[] {
  const calls: VectorCall[] = [];
  for (const kind of WEIRD_KINDS) calls.push({ contract: "vector", method: "weird", args: { kind } });
  for (const mode of ["emit", "set", "return"]) {
    calls.push({ contract: "vector", method: "getters", args: { mode } });
    calls.push({ contract: "vector", method: "proxyBytes", args: { mode } });
  }
  calls.push({ contract: "vector", method: "proxyKeys", args: {} });
  calls.push({
    contract: "vector",
    method: "ctx",
    args: { keep: true, hash: true, keyId: true },
    txIndex: 5,
  });
  calls.push({ contract: "vector", method: "ctx", args: { kept: true, hash: true }, txIndex: 6 });
  calls.push({ contract: "vector", method: "weird", args: { kind: "tx" }, txIndex: 7 });
  for (const [code, message] of MESSAGES) {
    for (const method of ["throwContract", "throwPlain"]) {
      calls.push({
        contract: "vector",
        method: "callIt",
        args: { contract: "vector2", method, args: { code, message } },
      });
    }
    calls.push({
      contract: "vector",
      method: "callIt",
      args: { contract: "vector2", method: "throwContract", args: { code, message }, rethrow: true },
    });
  }
  for (const kind of ["bigOut", "surrogate"]) {
    calls.push({
      contract: "vector",
      method: "callIt",
      args: { contract: "vector2", method: "weird", args: { kind } },
    });
  }
  calls.push({
    contract: "vector",
    method: "callIt",
    args: { contract: "vector2", method: "store", args: { id: "q", value: 5n }, readOnly: true },
  });
  calls.push({ contract: "vector", method: "callIt", args: { contract: "nope", method: "x", args: null } });
  calls.push({ contract: "vector", method: "finallyCall", args: {}, gasLimit: 200_000n });
  calls.push({ contract: "vector", method: "getterThrows", args: {} });
  calls.push({ contract: "vector", method: "getterOog", args: {}, gasLimit: 100_000n });
  calls.push({ contract: "good", method: "guarded", args: {}, permissionsDenied: ["open-requests"] });
  for (const method of HOSTILE_METHODS) {
    calls.push({ contract: "hostile", method, args: {} });
    calls.push({ contract: "good", method: "increment", args: { by: 2n } });
  }
  for (let gas = 1_000n; gas < 1_300n; gas += 7n)
    calls.push({ contract: "good", method: "increment", args: { by: 1n }, gasLimit: gas });
  for (let gas = 1_500n; gas < 2_600n; gas += 13n) {
    calls.push({
      contract: "vector",
      method: "store",
      args: { id: "g", value: { a: 1n, b: "x" } },
      gasLimit: gas,
    });
  }
  const sequence = new Sequence(7);
  for (let index = 0; index < 60; index++) {
    const value = valueFrom(sequence, 0);
    const id = TEXTS[1 + sequence.next(TEXTS.length - 1)]!;
    switch (sequence.next(6)) {
      case 0:
        calls.push({ contract: "vector", method: "echo", args: value });
        break;
      case 1:
        calls.push({ contract: "vector", method: "store", args: { id, value } });
        break;
      case 2:
        calls.push({
          contract: "vector",
          method: "emitIt",
          args: { type: `e${sequence.next(3)}`, data: value },
        });
        break;
      case 3:
        calls.push({
          contract: "vector",
          method: "callIt",
          args: { contract: "vector2", method: "echo", args: value },
        });
        break;
      case 4:
        calls.push({ contract: "vector", method: "read", args: { id } });
        break;
      default:
        calls.push({ contract: "vector", method: "remove", args: { id } });
    }
  }
  return calls;
}

/** What one call left: its outcome, gas, events and writes (the test context's records). */
export interface VectorOutcome {
  readonly result: { ok: true; value: Value } | { ok: false; error: { code: string } };
  readonly gasUsed: bigint;
  readonly events: readonly unknown[];
  readonly writes: readonly string[];
}

/** Plain JSON of a value (maps as [key, value] pairs in their order, bytes and integers tagged). */
export function plainOf(value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(plainOf);
  return Object.keys(value).map((key) => [key, plainOf((value as Record<string, unknown>)[key])]);
}

/** One line per call: `gasUsed outcome digest` (the digest covers the result, events and writes). */
export function vectorLineOf(outcome: VectorOutcome, digest: (text: string) => string): string {
  const status = outcome.result.ok ? "ok" : outcome.result.error.code;
  const body = JSON.stringify({
    result: outcome.result.ok ? plainOf(outcome.result.value) : null,
    events: outcome.events,
    writes: outcome.writes,
  });
  return `${outcome.gasUsed} ${status} ${digest(body).slice(0, 16)}`;
}

const DISPATCHER = new Uint8Array(32).fill(0xd1);
const WORKER = new Uint8Array(32).fill(0xee);
const RESIDENT = new Uint8Array(32).fill(0x33);
const DENIED = ["manage-catalog", "assign"];

/** Calls of contracts/counter and contracts/service-requests (bundled), after vectorCalls. */
export function bundledCalls(): VectorCall[] {
  const calls: VectorCall[] = [];
  const dispatcher = { keyId: DISPATCHER };
  const resident = { keyId: RESIDENT, permissionsDenied: DENIED };
  const worker = { keyId: WORKER, permissionsDenied: DENIED };
  for (const by of [1n, 2n, 1_000_000n, 0n, 1_000_001n])
    calls.push({ contract: "counter", method: "increment", args: { by } });
  calls.push({ contract: "counter", method: "increment", args: {} });
  calls.push({ contract: "counter", method: "get", args: {} });
  const service = "service-requests";
  calls.push({
    contract: service,
    method: "defineService",
    args: { community: "north", serviceCode: "pothole", name: "Pothole" },
    ...resident,
  });
  calls.push({
    contract: service,
    method: "defineService",
    args: { community: "north", serviceCode: "pothole", name: "Pothole" },
    ...dispatcher,
  });
  calls.push({
    contract: service,
    method: "defineService",
    args: { community: "north", serviceCode: "graffiti", name: "Graffiti", open: false },
    ...dispatcher,
  });
  calls.push({
    contract: service,
    method: "openRequest",
    args: { community: "north", serviceCode: "graffiti", description: "wall" },
    ...resident,
  });
  calls.push({
    contract: service,
    method: "openRequest",
    args: { community: "North!", serviceCode: "pothole", description: "x" },
    ...resident,
  });
  for (let number = 0; number < 4; number++) {
    calls.push({
      contract: service,
      method: "openRequest",
      args: { community: "north", serviceCode: "pothole", description: `hole ${number}`, location: "Elm St" },
      ...resident,
    });
  }
  const requestId = "north/00000001";
  const workerHex = Buffer.from(WORKER).toString("hex");
  calls.push({
    contract: service,
    method: "assign",
    args: { requestId, assigneeKeyIdHex: workerHex },
    ...resident,
  });
  calls.push({
    contract: service,
    method: "assign",
    args: { requestId, assigneeKeyIdHex: workerHex },
    ...dispatcher,
  });
  calls.push({
    contract: service,
    method: "updateStatus",
    args: { requestId, status: "in_progress", note: "crew on site" },
    ...worker,
  });
  calls.push({ contract: service, method: "updateStatus", args: { requestId, status: "done" }, ...worker });
  calls.push({ contract: service, method: "close", args: { requestId, resolution: "filled" }, ...worker });
  calls.push({ contract: service, method: "close", args: { requestId, resolution: "again" }, ...dispatcher });
  calls.push({ contract: service, method: "get", args: { requestId }, ...resident });
  calls.push({
    contract: service,
    method: "listByCommunity",
    args: { community: "north", limit: 2n },
    ...resident,
  });
  calls.push({
    contract: service,
    method: "listByCommunity",
    args: { community: "north", after: "north/00000002" },
    ...resident,
  });
  return calls;
}
