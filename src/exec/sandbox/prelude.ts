/**
 * The JavaScript that runs first in every contract's QuickJS context (trusted, not instrumented).
 * It removes what is not deterministic or not allowed, captures the intrinsics it needs before
 * any contract code can touch them, installs the one global `CityLedger` (the contract API, see
 * contracts/README.md), and returns the functions the host calls:
 *
 *   load(factory, steps)  runs the instrumented module factory with a step budget for its
 *                         top-level code; returns JSON [kind, stepsLeft, detail]
 *   invoke(payload)       payload = JSON [steps, method, txIndex, readOnly, block, caller,
 *                         rows, args…]; block is [chainId, height, timeMs] and caller
 *                         [keyIdHex, callerContract, member or null], each 0 when the same as in
 *                         this context's previous invoke (the host sends them only when they
 *                         change); rows says what to do with the rows kept (below): 0 drop them
 *                         and keep none in this call, 1 keep them, 2 drop them and keep anew;
 *                         args is `kind, payload…` (values.ts, `vmValueJsonOf`).
 *                         Returns wire text (values.ts): the kind's index in INVOKE_KINDS, the
 *                         steps left and ";", the reads answered from kept rows (below), then
 *                         for "ok" the result and the queued writes and events, for "ledger" and
 *                         "contract" [code message], for "value" and "threw" the message, for the
 *                         others nothing.
 *
 * The transaction's hash is not in the payload: `context.tx.hash`, when first read, asks the host
 * with the request `x<txIndex>` (answered with its hex, nothing charged).
 *
 * The host function `host(request)` is passed in and stays a local: contracts reach the host
 * only through `CityLedger`. A request is wire text: the steps left and ";", the queued
 * operations, then the operation's letter and its arguments as a list. Writes and events are
 * queued (`S` set, `D` delete, `E` emit, each with its arguments) and sent with the next host
 * call (`g` get, `h` has, `c` scan, `C` call, `r` require) or with the call's answer, so a
 * counter's call crosses twice. The host answers with the new steps alone (digits; negative:
 * out of gas), or JSON [steps, kind, payload…]: kinds 0–4 a result (`received`), 5 a refusal the
 * contract may catch (LedgerError), 6 a refused queued operation (fails the call). So gas is
 * exact at every crossing: the host charges the steps used so far before the operations and
 * answers with the new budget. A queued write the host refuses fails the call (it cannot be
 * caught: it surfaces after the write returned).
 *
 * Rows kept in the VM (ADR 0011): the context keeps up to SANDBOX_READ_CACHE_ROWS rows with a
 * text id and an immutable value (integer, text, boolean, null), numbered by slots in the order
 * both sides add them: a `get` the host answers with a fourth element (the slot) is kept, and a
 * `set` of such a value is queued as `U` (set and keep) instead of `S`. A `get` of a kept row with
 * no write or event queued is answered here, charged the steps its request would have cost, and
 * sent to the host as `R<slot>` ahead of the next crossing's queue or in the answer, whatever its
 * kind: the host does the read there, charged as it would have been, and checks its bytes. A
 * `delete`, an `S` of a kept row and every `call` forget rows; a host answer starting with "!"
 * says a write did not take effect: the rows are dropped and none kept for the rest of the call.
 * The host checks the rows against the state before each invoke (`rows` above).
 *
 * Every value leaving the VM is checked and counted (one step per part) by `write`, with the
 * same checks in the same order, reading the value the same way (a contract's getters and
 * proxies see the same accesses), as the tagged-tree builder it replaced.
 * @module
 */
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../../base/limits.ts";
import {
  SANDBOX_ERROR_MESSAGE_CHARS_MAX,
  SANDBOX_READ_CACHE_ROWS,
  SANDBOX_VALUE_NODES_MAX,
} from "../limits.ts";

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

/** Host answers (JSON, after the steps): what the second element says. */
export const HOST_ANSWER_KINDS = {
  /** A result: plain JSON, integer, bytes, tagged JSON, map with top-level integers or bytes. */
  resultMax: 4,
  /** A refusal of the operation: the contract sees a LedgerError it may catch. */
  refused: 5,
  /** A refusal of a queued write or event: the call fails with it. */
  queueRefused: 6,
} as const;

/** Letters of the host operations in wire requests. */
export const HOST_OPERATION_LETTERS = {
  g: "get",
  h: "has",
  c: "scan",
  C: "call",
  r: "require",
  S: "set",
  U: "set",
  D: "delete",
  E: "emit",
} as const;

export const PRELUDE_SOURCE = `(function (host) {
"use strict";
const G = globalThis;
const apply = Reflect.apply;
const create = Object.create;
const freeze = Object.freeze;
const defineProperty = Object.defineProperty;
const getPrototypeOf = Object.getPrototypeOf;
const keys = Object.keys;
const hasOwn = Object.hasOwn;
const ObjectPrototype = Object.prototype;
const isArray = Array.isArray;
const isSafeInteger = Number.isSafeInteger;
const BigIntOf = BigInt;
const stringOf = String;
// Captured methods as functions of (this, ...args): no argument array per call, as apply needs.
const callOf = Function.prototype.call;
const stringSlice = callOf.bind(String.prototype.slice);
const charCodeAt = callOf.bind(String.prototype.charCodeAt);
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
const ROWS_MAX = ${SANDBOX_READ_CACHE_ROWS};
const RESULT_KIND_MAX = ${HOST_ANSWER_KINDS.resultMax};
const QUEUE_REFUSED = ${HOST_ANSWER_KINDS.queueRefused};
const KIND_CODES = freeze({ __proto__: null, ${INVOKE_KINDS.map((kind, index) => `${JSON.stringify(kind)}: ${index}`).join(", ")} });
const HEX = "0123456789abcdef";
const OUT_OF_GAS = freeze(create(null));
/** A batched write or event the host refused: the call fails with the host's code. */
const HOST_REFUSED = freeze(create(null));
let refusal = null;
/** Writes and events not yet sent, one wire text each: they go with the next host call, or with the call's answer. */
let queue = [];
/** Parts of the value being written (\`write\` counts them; each is a step). */
let nodes = 0;
const hostErrors = new WeakSetClass();
/** Rows kept between calls (see the module comment): key → slot, and the values by slot. */
let rowsOn = false;
let rowSlots = create(null);
let rowValues = [];
let rowCount = 0;
/** Reads answered from kept rows since the last crossing, "R<slot>" each. */
let hits = "";
/** Whether a write or event was queued since the last crossing: no read is answered here then. */
let writesQueued = false;
function rowsDrop() {
  rowSlots = create(null);
  rowValues = [];
  rowCount = 0;
}
function rowKeyOf(table, id) { return table.length + ":" + table + id; }
/** Whether a value can be kept: immutable in the VM, and what the host's read gives back. */
function keepable(value) {
  const type = typeof value;
  return type === "bigint" || type === "string" || type === "boolean" || value === null;
}
let fatal = null;
let module = null;
/**
 * The module's step counter, read and set: taken from the module once it is loaded; before, a
 * host call from the contract's top-level code fails as it always did (no module yet).
 */
let gasGet = function () { return module.gasGet(); };
let gasSet = function (steps) { module.gasSet(steps); };
/** Takes steps off the counter and gives what is left (one call where get and set are two). */
let gasCharge = function (steps) {
  const left = gasGet() - steps;
  gasSet(left);
  return left;
};

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
  if (gasCharge(steps) < 0) throw OUT_OF_GAS;
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
    const high = charCodeAt(hex, 2 * index);
    const low = charCodeAt(hex, 2 * index + 1);
    bytes[index] = ((high <= 57 ? high - 48 : high - 87) << 4) | (low <= 57 ? low - 48 : low - 87);
  }
  return bytes;
}
/** Tagged JSON's reviver: "s…" text, "i…" integer, "b…" bytes. */
function revived(value) {
  switch (value[0]) {
    case "s": return stringSlice(value, 1);
    case "i": return BigIntOf(stringSlice(value, 1));
    case "b": return bytesOfHex(stringSlice(value, 1));
    default: return value;
  }
}
function reviver(key, value) {
  return typeof value === "string" ? revived(value) : value;
}
/** A value the host sent as \`kind, payload…\` (values.ts, vmValueJsonOf). */
function received(kind, payload, integerKeys, bytesKeys) {
  switch (kind) {
    case 0: return payload;
    case 1: return BigIntOf(payload);
    case 2: return bytesOfHex(payload);
    case 3: return jsonParse(payload, reviver);
    default:
      for (let index = 0; index < integerKeys.length; index++) {
        const key = integerKeys[index];
        payload[key] = BigIntOf(payload[key]);
      }
      if (bytesKeys !== undefined) {
        for (let index = 0; index < bytesKeys.length; index++) {
          const key = bytesKeys[index];
          payload[key] = bytesOfHex(payload[key]);
        }
      }
      return payload;
  }
}

/**
 * A map entry's start: ",", the key's length, ":", the key. Kept by key (a contract uses few
 * keys; building it costs three concatenations), in an object without prototype, started over
 * past KEY_PREFIXES_MAX keys.
 */
const KEY_PREFIXES_MAX = 1024;
let keyPrefixes = create(null);
let keyPrefixCount = 0;
function keyPrefixOf(name) {
  const known = keyPrefixes[name];
  if (known !== undefined) return known;
  if (keyPrefixCount >= KEY_PREFIXES_MAX) {
    keyPrefixes = create(null);
    keyPrefixCount = 0;
  }
  const prefix = "," + name.length + ":" + name;
  keyPrefixes[name] = prefix;
  keyPrefixCount += 1;
  return prefix;
}

/** A contract value as wire text, checked; counts its parts in \`nodes\`. */
function write(value, depth) {
  nodes += 1;
  if (nodes > NODES_MAX) throw new ValueError("the value has more than " + NODES_MAX + " parts");
  if (depth > DEPTH_MAX) throw new ValueError("the value nests deeper than " + DEPTH_MAX + " (or holds a cycle)");
  switch (typeof value) {
    case "string": return "s" + value.length + ":" + value;
    case "bigint": return "i" + value;
    case "boolean": return value ? "t" : "f";
    case "number":
      if (isSafeInteger(value)) return "i" + (value === 0 ? "0" : stringOf(value));
      throw new ValueError("numbers must be safe integers (use bigint); got " + stringOf(value));
    case "object": {
      if (value === null) return "n";
      if (isArray(value)) {
        const length = value.length;
        if (length > ITEMS_MAX) throw new ValueError("a list has more than " + ITEMS_MAX + " items");
        let text = "[";
        for (let index = 0; index < length; index++) {
          const item = value[index];
          if (item === undefined) throw new ValueError("a list holds undefined");
          text += write(item, depth + 1);
        }
        return text + "]";
      }
      const prototype = getPrototypeOf(value);
      if (prototype === BytesPrototype) {
        const hex = hexOf(value);
        return "b" + hex.length + ":" + hex;
      }
      if (prototype !== ObjectPrototype && prototype !== null) {
        throw new ValueError("only plain objects, arrays, Uint8Array, text, bigint, boolean and null are values");
      }
      const names = keys(value);
      if (names.length > ITEMS_MAX) throw new ValueError("a map has more than " + ITEMS_MAX + " entries");
      let text = "{";
      for (let index = 0; index < names.length; index++) {
        const name = names[index];
        const item = value[name];
        if (item === undefined) continue;
        let prefix = keyPrefixes[name];
        if (prefix === undefined) prefix = keyPrefixOf(name);
        // A text or integer entry (most event data): what write(item, depth + 1) does, inline.
        const itemType = typeof item;
        if ((itemType === "bigint" || itemType === "string") && depth < DEPTH_MAX) {
          nodes += 1;
          if (nodes > NODES_MAX) throw new ValueError("the value has more than " + NODES_MAX + " parts");
          text += itemType === "bigint" ? prefix + "i" + item : prefix + "s" + item.length + ":" + item;
        } else {
          text += prefix + write(item, depth + 1);
        }
      }
      return text + "}";
    }
    default:
      throw new ValueError("a " + typeof value + " is not a value");
  }
}
/** A value as wire text; its parts are charged as steps (a getter inside may write values too). */
function written(value) {
  const outer = nodes;
  nodes = 0;
  try {
    const text = write(value, 0);
    charge(nodes);
    return text;
  } finally {
    nodes = outer;
  }
}

/**
 * written([text, second]) without making the list: the same parts counted and checked in the
 * same order (the list, the text, then the second item at depth 1).
 */
function writtenPair(text, second) {
  // A text id (most ids): no getter can run, and the parts are three.
  if (typeof second === "string") {
    if (gasCharge(3) < 0) throw OUT_OF_GAS;
    return "[s" + text.length + ":" + text + "s" + second.length + ":" + second + "]";
  }
  const outer = nodes;
  nodes = 2;
  try {
    if (second === undefined) throw new ValueError("a list holds undefined");
    const pair = "[s" + text.length + ":" + text + write(second, 1) + "]";
    charge(nodes);
    return pair;
  } finally {
    nodes = outer;
  }
}
/** written([table, id, value]) without making the list (value is never undefined). */
function writtenRow(table, id, value) {
  // A text id and a scalar value (most rows of simple contracts): no getter can run.
  if (typeof id === "string") {
    let leaf = null;
    switch (typeof value) {
      case "bigint": leaf = "i" + value; break;
      case "string": leaf = "s" + value.length + ":" + value; break;
      case "boolean": leaf = value ? "t" : "f"; break;
      case "object": if (value === null) leaf = "n"; break;
    }
    if (leaf !== null) {
      if (gasCharge(4) < 0) throw OUT_OF_GAS;
      return "[s" + table.length + ":" + table + "s" + id.length + ":" + id + leaf + "]";
    }
  }
  const outer = nodes;
  nodes = 2;
  try {
    const row = "[s" + table.length + ":" + table + write(id, 1) + write(value, 1) + "]";
    charge(nodes);
    return row;
  } finally {
    nodes = outer;
  }
}
/**
 * Queues a write (S, D) or an event (E). Its slot is taken before its value is written, as the
 * tagged-tree builder this replaced took it (\`queue[queue.length] = …\`): an operation a getter
 * in the value queues is overwritten by this one, or, when the getter made a host call (which
 * sent and replaced the queue), this one goes into the queue already sent. Kept as it was: the
 * operations and their gas are part of the chain's history.
 */
function enqueueRow(table, id, value) {
  const slots = queue;
  const slot = slots.length;
  writesQueued = true;
  const key = rowsOn && typeof id === "string" ? rowKeyOf(table, id) : null;
  const kept = key === null ? undefined : rowSlots[key];
  const keep = key !== null && keepable(value) && (kept !== undefined || rowCount < ROWS_MAX);
  slots[slot] = (keep ? "U" : "S") + writtenRow(table, id, value);
  // Kept or forgotten only once the write is queued: writtenRow may throw (a value that is not
  // one), and the host keeps or forgets the row only when it runs the write.
  if (keep) {
    if (kept === undefined) {
      rowSlots[key] = rowCount;
      rowValues[rowCount] = value;
      rowCount += 1;
    } else {
      rowValues[kept] = value;
    }
  } else if (kept !== undefined) {
    delete rowSlots[key];
  }
}
function enqueuePair(letter, text, second) {
  const slots = queue;
  const slot = slots.length;
  writesQueued = true;
  slots[slot] = letter + writtenPair(text, second);
}
/** The queued operations as one wire text. */
function queuedText(slots) {
  let text = "";
  for (let index = 0; index < slots.length; index++) text += slots[index];
  return text;
}
/** The slot the host gave the row of the last \`get\` it answered (-1: not kept). */
let answerSlot = -1;
/** One crossing: steps left, queued writes and events, the operation; the host's answer. */
function hostCall(letter, args) {
  const batch = queue;
  const sentHits = hits;
  queue = [];
  hits = "";
  writesQueued = false;
  answerSlot = -1;
  let reply = host(gasGet() + ";" + sentHits + (batch.length === 0 ? "" : queuedText(batch)) + letter + args);
  // No reply: the host could not allocate it in the wasm heap.
  if (typeof reply !== "string") { fatal = "oom"; throw new InternalErrorClass("out of memory"); }
  if (reply[0] === "!") {
    // A write did not take effect: keep nothing for the rest of the call.
    rowsOn = false;
    rowsDrop();
    reply = stringSlice(reply, 1);
  }
  if (reply[0] !== "[") {
    // The new steps alone: no result (negative: out of gas).
    const steps = +reply;
    gasSet(steps);
    if (steps < 0) throw OUT_OF_GAS;
    return undefined;
  }
  const answer = jsonParse(reply);
  const kind = answer[1];
  if (kind <= RESULT_KIND_MAX) {
    gasSet(answer[0]);
    if (kind <= 1 && answer.length > 3) {
      // A kept row: text, boolean or null (kind 0) or an integer (kind 1), as received() gives them.
      answerSlot = answer[3];
      return kind === 0 ? answer[2] : BigIntOf(answer[2]);
    }
    return received(kind, answer[2], answer[3], answer[4]);
  }
  // Refusals went through the tagged reviver, text included: keep what it made of them.
  const code = revived(answer[2]);
  const message = revived(answer[3]);
  gasSet(answer[0]);
  if (kind === QUEUE_REFUSED) { refusal = [code, message]; throw HOST_REFUSED; }
  const error = freeze(new LedgerError(code, message));
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

// get, set and emit check their arguments inline (as textOf and idOf do): a call less each.
const state = freeze({
  get(table, id) {
    if (typeof table !== "string") throw new ValueError("a table must be text");
    if (typeof id !== "string" && !(id instanceof Bytes)) throw new ValueError("a row id is text or a Uint8Array");
    if (!rowsOn || typeof id !== "string") return hostCall("g", writtenPair(table, id));
    const key = rowKeyOf(table, id);
    const kept = rowSlots[key];
    if (kept !== undefined && !writesQueued) {
      // The steps writtenPair charges for the request this read does not send.
      if (gasCharge(3) < 0) throw OUT_OF_GAS;
      hits += "R" + kept;
      return rowValues[kept];
    }
    const value = hostCall("g", writtenPair(table, id));
    if (answerSlot >= 0) {
      rowSlots[key] = answerSlot;
      rowValues[answerSlot] = value;
      rowCount = answerSlot + 1;
    }
    return value;
  },
  has(table, id) { return hostCall("h", writtenPair(textOf(table, "a table"), idOf(id))); },
  set(table, id, value) {
    if (typeof table !== "string") throw new ValueError("a table must be text");
    if (typeof id !== "string" && !(id instanceof Bytes)) throw new ValueError("a row id is text or a Uint8Array");
    enqueueRow(table, id, value === undefined ? null : value);
  },
  delete(table, id) {
    enqueuePair("D", textOf(table, "a table"), idOf(id));
    if (typeof table === "string" && typeof id === "string") delete rowSlots[rowKeyOf(table, id)];
  },
  scan(table, options) {
    const query = create(null);
    if (options !== undefined && options !== null) {
      if (options.prefix !== undefined) query.prefix = idOf(options.prefix);
      if (options.after !== undefined) query.after = idOf(options.after);
      if (options.limit !== undefined) query.limit = options.limit;
    }
    return hostCall("c", writtenPair(textOf(table, "a table"), query));
  },
});
defineProperty(G, "CityLedger", {
  value: freeze({
    state,
    emit(type, data) {
      if (typeof type !== "string") throw new ValueError("an event type must be text");
      enqueuePair("E", type, data);
    },
    call(contract, method, args, options) {
      const readOnly = options !== undefined && options !== null && options.readOnly === true;
      const request = written([textOf(contract, "a contract"), textOf(method, "a method"), args === undefined ? null : args, readOnly]);
      // The call may change this contract's rows (re-entered, or rolled back): forget them, as the
      // host does when it runs the call (not before the request is made: writing it may throw).
      rowsDrop();
      return hostCall("C", request);
    },
    require(permission) { hostCall("r", written([textOf(permission, "a permission")])); },
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
/** The hash of the block's transaction at txIndex, asked of the host when a contract first reads it. */
function txHashHexOf(txIndex) {
  const reply = host("x" + txIndex);
  if (typeof reply !== "string") { fatal = "oom"; throw new InternalErrorClass("out of memory"); }
  return reply;
}
// The tx and caller objects are made in functions of their own: the getters then capture fewer
// variables (each one captured is an allocation).
function txOf(txIndex) {
  let hash = null;
  return freeze({ get hash() { if (hash === null) hash = bytesOfHex(txHashHexOf(txIndex)); return hash; }, index: BigIntOf(txIndex) });
}
function callerOf(keyIdHex, contract, member) {
  let keyId = null;
  return freeze({ get keyId() { if (keyId === null) keyId = bytesOfHex(keyIdHex); return keyId; }, keyIdHex, contract, member });
}
/**
 * The method's second argument, made per call so that a context a contract keeps keeps its call's
 * transaction. Not frozen: freezing cost more than the rest of an empty call, and the object is
 * the contract's own (the host reads nothing from it; block, tx and caller are frozen).
 */
function contextOf(txIndex, readOnly) {
  const keyIdHex = callerKeyIdHex;
  const contract = callerContract;
  const member = callerMember;
  let tx = null;
  let caller = null;
  return {
    chainId,
    readOnly,
    block,
    get tx() { if (tx === null) tx = txOf(txIndex); return tx; },
    get caller() { if (caller === null) caller = callerOf(keyIdHex, contract, member); return caller; },
  };
}

function messageOf(error) {
  if (error instanceof ErrorBase) {
    const message = error.message;
    return stringSlice(typeof message === "string" ? message : "", 0, MESSAGE_MAX);
  }
  return stringSlice(typeof error === "string" ? error : typeof error, 0, MESSAGE_MAX);
}
/** Wire text of a failure's detail: [code message] or a message (texts; anything else is n). */
function detailText(text) {
  return typeof text === "string" ? "s" + text.length + ":" + text : "n";
}
function detailOf(detail) {
  if (detail === undefined) return "";
  if (isArray(detail)) return "[" + detailText(detail[0]) + detailText(detail[1]) + "]";
  return detailText(detail);
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
      gasGet = module.gasGet;
      gasSet = module.gasSet;
      gasCharge = module.gasCharge;
    } catch (error) {
      const classified = classify(error);
      return jsonStringify([classified[0], -1, classified[1]]);
    }
    return jsonStringify(["ok", gasGet()]);
  },
  invoke(payload) {
    // [steps, method, txIndex, readOnly, block, caller, rows, args kind, args payload…]
    const call = jsonParse(payload);
    const method = call[1];
    const args = received(call[7], call[8], call[9], call[10]);
    if (call[4] !== 0) takeBlock(call[4]);
    if (call[5] !== 0) takeCaller(call[5]);
    const context = contextOf(call[2], call[3]);
    const fatalOuter = fatal;
    const queueOuter = queue;
    const rowsOnOuter = rowsOn;
    const hitsOuter = hits;
    const writesQueuedOuter = writesQueued;
    const rows = call[6];
    if (rows !== 1) rowsDrop();
    rowsOn = rows !== 0;
    hits = "";
    writesQueued = false;
    fatal = null;
    queue = [];
    gasSet(call[0]);
    let kind = "ok";
    let data = "";
    try {
      const exports = module.exports;
      if (!hasOwn(exports, method) || typeof exports[method] !== "function") {
        kind = "method";
      } else {
        const result = exports[method](args, context);
        // A scalar result (most): one part, no getter to run; written() gives the same text and charge.
        switch (typeof result) {
          case "bigint": charge(1); data = "i" + result; break;
          case "string": charge(1); data = "s" + result.length + ":" + result; break;
          case "boolean": charge(1); data = result ? "t" : "f"; break;
          case "undefined": charge(1); data = "n"; break;
          default: data = result === null ? (charge(1), "n") : written(result);
        }
      }
    } catch (error) {
      const classified = classify(error);
      kind = classified[0];
      data = detailOf(classified[1]);
    }
    // A finally that returned cannot hide what a catch may not swallow.
    const stepsLeft = gasGet();
    if (stepsLeft < 0) {
      kind = "oog";
      data = "";
    } else if (fatal !== null) {
      kind = fatal;
      data = "";
    }
    const answer = KIND_CODES[kind] + "" + stepsLeft + ";" + hits + data + (kind === "ok" ? queuedText(queue) : "");
    fatal = fatalOuter;
    queue = queueOuter;
    rowsOn = rowsOnOuter;
    hits = hitsOuter;
    writesQueued = writesQueuedOuter;
    return answer;
  },
});
})`;
