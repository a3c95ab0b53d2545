/**
 * The JavaScript that runs first in every contract's QuickJS context (trusted, not instrumented).
 * It removes what is not deterministic or not allowed, captures the intrinsics it needs before
 * any contract code can touch them, installs the one global `CityLedger` (the contract API, see
 * contracts/README.md), and returns the functions the host calls:
 *
 *   load(factory, steps)  runs the instrumented module factory with a step budget for its
 *                         top-level code; returns JSON [kind, stepsLeft, detail]
 *   invoke(payload)       payload = JSON [steps, method, tagged JSON args, txIndex, txHashHex,
 *                         readOnly, block, caller]; block is [chainId, height, timeMs] and caller
 *                         [keyIdHex, callerContract, member or null], each 0 when the same as in
 *                         this context's previous invoke (the host sends them only when they
 *                         change); returns JSON [kind, stepsLeft, data, queue], kind one of
 *                         INVOKE_KINDS; data is the tagged result ("ok"), [code, message]
 *                         ("ledger", "contract") or a message ("value", "threw")
 *
 * The host function `host(payload)` is passed in and stays a local: contracts reach the host
 * only through `CityLedger`. Writes and events are queued and sent with the next host call (a
 * read, scan, call or require) or with the call's answer, so a counter's call crosses twice.
 * Every host call sends the steps left, so the host charges the steps used so far before the
 * operations and answers with the new budget: gas is exact at every crossing. A queued write the
 * host refuses fails the call (it cannot be caught: it surfaces after the write returned).
 * @module
 */
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../../base/limits.ts";
import { SANDBOX_ERROR_MESSAGE_CHARS_MAX, SANDBOX_VALUE_NODES_MAX } from "../limits.ts";

/** What an invocation ended with (the first element of invoke's answer). */
export const INVOKE_KINDS = [
  "ok",
  "method",
  "oog",
  "oom",
  "stack",
  "ledger",
  "contract",
  "value",
  "threw",
] as const;
export type InvokeKind = (typeof INVOKE_KINDS)[number];

/** Globals removed from every context: nondeterministic, able to run unmetered code, or unused. */
export const SANDBOX_GLOBALS_REMOVED = [
  "eval",
  "Function",
  "Date",
  "WeakRef",
  "FinalizationRegistry",
  "SharedArrayBuffer",
  "Atomics",
  "Promise",
  "RegExp",
] as const;

export const PRELUDE_SOURCE = `(function (host) {
"use strict";
const G = globalThis;
const apply = Reflect.apply;
const create = Object.create;
const freeze = Object.freeze;
const defineProperty = Object.defineProperty;
const getPrototypeOf = Object.getPrototypeOf;
const keys = Object.keys;
const hasOwn = Object.prototype.hasOwnProperty;
const ObjectPrototype = Object.prototype;
const isArray = Array.isArray;
const isSafeInteger = Number.isSafeInteger;
const BigIntOf = BigInt;
const stringOf = String;
const stringSlice = String.prototype.slice;
const charCodeAt = String.prototype.charCodeAt;
const jsonParse = JSON.parse;
const jsonStringify = JSON.stringify;
const Bytes = Uint8Array;
const BytesPrototype = Uint8Array.prototype;
const ErrorBase = Error;
const InternalErrorClass = InternalError;
const WeakSetClass = WeakSet;
const weakSetAdd = WeakSet.prototype.add;
const weakSetHas = WeakSet.prototype.has;

// No code from strings: the constructors of every kind of function are gone.
for (const sample of [function () {}, function* () {}, async function () {}, async function* () {}]) {
  defineProperty(getPrototypeOf(sample), "constructor", { value: undefined, writable: false, configurable: false });
}
for (const name of ${JSON.stringify(SANDBOX_GLOBALS_REMOVED)}) delete G[name];
delete Math.random;
// Strings become regular expressions here; their backtracking is not metered.
delete String.prototype.match;
delete String.prototype.matchAll;
delete String.prototype.search;

const DEPTH_MAX = ${VALUE_DEPTH_MAX};
const ITEMS_MAX = ${VALUE_ITEMS_MAX};
const NODES_MAX = ${SANDBOX_VALUE_NODES_MAX};
const MESSAGE_MAX = ${SANDBOX_ERROR_MESSAGE_CHARS_MAX};
const HEX = "0123456789abcdef";
const OUT_OF_GAS = freeze(create(null));
/** A batched write or event the host refused: the call fails with the host's code. */
const HOST_REFUSED = freeze(create(null));
let refusal = null;
/** Writes and events not yet sent: they go with the next host call, or with the call's answer. */
let queue = [];
const hostErrors = new WeakSetClass();
let fatal = null;
let module = null;

function outOfGas() { throw OUT_OF_GAS; }
/** First thing in every catch: what a contract may not swallow goes on up, and is remembered. */
function guard(error) {
  if (error === OUT_OF_GAS || error === HOST_REFUSED) throw error;
  if (error instanceof InternalErrorClass) {
    const message = error.message;
    if (message === "out of memory") { fatal = "oom"; throw error; }
    if (message === "stack overflow") { fatal = "stack"; throw error; }
  }
}
function charge(steps) {
  const left = module.gasGet() - steps;
  module.gasSet(left);
  if (left < 0) throw OUT_OF_GAS;
}

class ValueError extends ErrorBase {
  constructor(message) { super(message); this.name = "ValueError"; }
}
class LedgerError extends ErrorBase {
  constructor(code, message) { super(message); this.name = "LedgerError"; this.code = code; }
}
class ContractError extends ErrorBase {
  constructor(code, message, details) {
    super(message === undefined ? stringOf(code) : stringOf(message));
    this.name = "ContractError";
    this.code = stringOf(code);
    if (details !== undefined) this.details = details;
  }
}
freeze(ValueError); freeze(ValueError.prototype);
freeze(LedgerError); freeze(LedgerError.prototype);
freeze(ContractError); freeze(ContractError.prototype);

function hexOf(bytes) {
  let hex = "";
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index];
    hex += HEX[byte >> 4] + HEX[byte & 15];
  }
  return hex;
}
function bytesOfHex(hex) {
  const length = hex.length >> 1;
  const bytes = new Bytes(length);
  for (let index = 0; index < length; index++) {
    const high = apply(charCodeAt, hex, [2 * index]);
    const low = apply(charCodeAt, hex, [2 * index + 1]);
    bytes[index] = ((high <= 57 ? high - 48 : high - 87) << 4) | (low <= 57 ? low - 48 : low - 87);
  }
  return bytes;
}
function reviver(key, value) {
  if (typeof value !== "string") return value;
  const body = apply(stringSlice, value, [1]);
  switch (value[0]) {
    case "s": return body;
    case "i": return BigIntOf(body);
    case "b": return bytesOfHex(body);
    default: return value;
  }
}

/** A contract value as a tagged tree; counts its nodes (charged as steps). */
function tag(value, depth, counter) {
  counter.nodes += 1;
  if (counter.nodes > NODES_MAX) throw new ValueError("the value has more than " + NODES_MAX + " parts");
  if (depth > DEPTH_MAX) throw new ValueError("the value nests deeper than " + DEPTH_MAX + " (or holds a cycle)");
  switch (typeof value) {
    case "string": return "s" + value;
    case "bigint": return "i" + value;
    case "boolean": return value;
    case "number":
      if (isSafeInteger(value)) return "i" + (value === 0 ? "0" : stringOf(value));
      throw new ValueError("numbers must be safe integers (use bigint); got " + stringOf(value));
    case "object": {
      if (value === null) return null;
      if (isArray(value)) {
        const length = value.length;
        if (length > ITEMS_MAX) throw new ValueError("a list has more than " + ITEMS_MAX + " items");
        const list = [];
        for (let index = 0; index < length; index++) {
          const item = value[index];
          if (item === undefined) throw new ValueError("a list holds undefined");
          list[index] = tag(item, depth + 1, counter);
        }
        return list;
      }
      const prototype = getPrototypeOf(value);
      if (prototype === BytesPrototype) return "b" + hexOf(value);
      if (prototype !== ObjectPrototype && prototype !== null) {
        throw new ValueError("only plain objects, arrays, Uint8Array, text, bigint, boolean and null are values");
      }
      const names = keys(value);
      if (names.length > ITEMS_MAX) throw new ValueError("a map has more than " + ITEMS_MAX + " entries");
      const map = create(null);
      for (let index = 0; index < names.length; index++) {
        const name = names[index];
        const item = value[name];
        if (item !== undefined) map[name] = tag(item, depth + 1, counter);
      }
      return map;
    }
    default:
      throw new ValueError("a " + typeof value + " is not a value");
  }
}
function taggedTree(value) {
  const counter = { nodes: 0 };
  const tree = tag(value, 0, counter);
  charge(counter.nodes);
  return tree;
}

function enqueue(op, values) {
  queue[queue.length] = [op, taggedTree(values)];
}
/** One crossing: [stepsLeft, queued writes and events, op, args] → [status, steps, result]. */
function hostCall(op, values) {
  const args = taggedTree(values);
  const batch = queue;
  queue = [];
  const reply = host(jsonStringify([module.gasGet(), batch, op, args]));
  // No reply: the host could not allocate it in the wasm heap.
  if (typeof reply !== "string") { fatal = "oom"; throw new InternalErrorClass("out of memory"); }
  const answer = jsonParse(reply, reviver);
  module.gasSet(answer[1]);
  if (answer[0] === 0) return answer[2];
  if (answer[0] === 2) throw OUT_OF_GAS;
  if (answer[0] === 3) { refusal = answer[2]; throw HOST_REFUSED; }
  const error = freeze(new LedgerError(answer[2][0], answer[2][1]));
  apply(weakSetAdd, hostErrors, [error]);
  throw error;
}
function idOf(id) {
  if (typeof id !== "string" && !(id instanceof Bytes)) throw new ValueError("a row id is text or a Uint8Array");
  return id;
}
function textOf(name, what) {
  if (typeof name !== "string") throw new ValueError(what + " must be text");
  return name;
}

const state = freeze({
  get(table, id) { return hostCall("get", [textOf(table, "a table"), idOf(id)]); },
  has(table, id) { return hostCall("has", [textOf(table, "a table"), idOf(id)]); },
  set(table, id, value) { enqueue("set", [textOf(table, "a table"), idOf(id), value === undefined ? null : value]); },
  delete(table, id) { enqueue("delete", [textOf(table, "a table"), idOf(id)]); },
  scan(table, options) {
    const query = create(null);
    if (options !== undefined && options !== null) {
      if (options.prefix !== undefined) query.prefix = idOf(options.prefix);
      if (options.after !== undefined) query.after = idOf(options.after);
      if (options.limit !== undefined) query.limit = options.limit;
    }
    return hostCall("scan", [textOf(table, "a table"), query]);
  },
});
defineProperty(G, "CityLedger", {
  value: freeze({
    state,
    emit(type, data) { enqueue("emit", [textOf(type, "an event type"), data]); },
    call(contract, method, args, options) {
      const readOnly = options !== undefined && options !== null && options.readOnly === true;
      return hostCall("call", [textOf(contract, "a contract"), textOf(method, "a method"), args === undefined ? null : args, readOnly]);
    },
    require(permission) { hostCall("require", [textOf(permission, "a permission")]); },
    ContractError,
    hex: hexOf,
  }),
  writable: false,
  enumerable: false,
  configurable: false,
});

/** The block and the caller of the latest invoke (frozen, shared by the calls they stay the same for). */
let chainId = "";
let block = null;
let callerKeyIdHex = "";
let callerContract = null;
let callerMember = null;
function takeBlock(flat) {
  chainId = flat[0];
  block = freeze({ height: BigIntOf(flat[1]), timeMs: BigIntOf(flat[2]) });
}
function takeCaller(flat) {
  const member = flat[2];
  callerKeyIdHex = flat[0];
  callerContract = flat[1];
  callerMember = member === null ? null : freeze({ organization: member[0], department: member[1], roles: freeze(member[2]) });
}
/** The method's second argument; its tx and caller objects, and their bytes, are made when first read. */
function contextOf(txIndex, txHashHex, readOnly) {
  const keyIdHex = callerKeyIdHex;
  const contract = callerContract;
  const member = callerMember;
  let tx = null;
  let caller = null;
  return freeze({
    chainId,
    readOnly,
    block,
    get tx() {
      if (tx === null) {
        let hash = null;
        tx = freeze({ get hash() { if (hash === null) hash = bytesOfHex(txHashHex); return hash; }, index: BigIntOf(txIndex) });
      }
      return tx;
    },
    get caller() {
      if (caller === null) {
        let keyId = null;
        caller = freeze({ get keyId() { if (keyId === null) keyId = bytesOfHex(keyIdHex); return keyId; }, keyIdHex, contract, member });
      }
      return caller;
    },
  });
}

function messageOf(error) {
  if (error instanceof ErrorBase) {
    const message = error.message;
    return apply(stringSlice, typeof message === "string" ? message : "", [0, MESSAGE_MAX]);
  }
  return apply(stringSlice, typeof error === "string" ? error : typeof error, [0, MESSAGE_MAX]);
}
function classify(error) {
  if (error === OUT_OF_GAS) return ["oog"];
  if (error === HOST_REFUSED) return ["ledger", refusal];
  if (fatal !== null) return [fatal];
  if (error instanceof InternalErrorClass) {
    if (error.message === "out of memory") return ["oom"];
    if (error.message === "stack overflow") return ["stack"];
  }
  if (apply(weakSetHas, hostErrors, [error])) return ["ledger", [error.code, messageOf(error)]];
  if (error instanceof ContractError) return ["contract", [stringOf(error.code), messageOf(error)]];
  if (error instanceof ValueError) return ["value", messageOf(error)];
  return ["threw", messageOf(error)];
}

return freeze({
  load(factory, steps) {
    fatal = null;
    try {
      module = factory(outOfGas, guard, steps);
    } catch (error) {
      const classified = classify(error);
      return jsonStringify([classified[0], -1, classified[1]]);
    }
    return jsonStringify(["ok", module.gasGet()]);
  },
  invoke(payload) {
    // [steps, method, args as tagged JSON, txIndex, txHashHex, readOnly, block, caller]: only the
    // args need the reviver.
    const call = jsonParse(payload);
    const method = call[1];
    const argsJson = call[2];
    const args = argsJson === "null" ? null : jsonParse(argsJson, reviver);
    if (call[6] !== 0) takeBlock(call[6]);
    if (call[7] !== 0) takeCaller(call[7]);
    const context = contextOf(call[3], call[4], call[5]);
    const fatalOuter = fatal;
    const queueOuter = queue;
    fatal = null;
    queue = [];
    module.gasSet(call[0]);
    let answer;
    try {
      const exports = module.exports;
      if (!apply(hasOwn, exports, [method]) || typeof exports[method] !== "function") {
        answer = ["method"];
      } else {
        const result = exports[method](args, context);
        answer = ["ok", null, taggedTree(result === undefined ? null : result)];
      }
    } catch (error) {
      const classified = classify(error);
      answer = [classified[0], null, classified[1]];
    }
    // A finally that returned cannot hide what a catch may not swallow.
    if (module.gasGet() < 0) answer = ["oog", null];
    else if (fatal !== null) answer = [fatal, null];
    answer[1] = module.gasGet();
    if (answer[0] === "ok") answer[3] = queue;
    fatal = fatalOuter;
    queue = queueOuter;
    return jsonStringify(answer);
  },
});
})`;
