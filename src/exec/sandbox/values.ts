/**
 * Canonical values across the sandbox boundary: one string per crossing each way.
 *
 * VM → host, "wire text", written by the prelude with string concatenation (QuickJS's
 * JSON.stringify costs ≈ 0.5 µs per node; a concatenation a fifth of that) and read here:
 *
 *   null, true, false      n  t  f
 *   text "abc"             s3:abc        (length in UTF-16 code units, then the code units)
 *   integer 42n            i42           (decimal, i64; ends where the digits end)
 *   bytes 0x0aff           b4:0aff       (length, then lower-case hex)
 *   list                   [ items ]
 *   map                    { ,3:key value … }   (",", key length, key, value; in key order)
 *
 * Every part whose content a contract chooses is length-prefixed, so no content can end a
 * part early; nothing but an integer's digits starts with a digit or "-" (a map entry starts
 * with ","), so an integer needs no terminator. The host side is strict: whatever the VM sends is checked as untrusted input
 * (tags, i64 range, hex, well-formed text, depth VALUE_DEPTH_MAX, items VALUE_ITEMS_MAX per
 * container, SANDBOX_VALUE_NODES_MAX in all) and maps come out with a null prototype, like
 * `decodeValue`'s. An invalid value fails with the same message the tagged-JSON reader gives for
 * the same value (the reader reports the first fault in the order V8 enumerates map keys).
 *
 * Host → VM, inside the JSON the VM parses natively (`vmValueJsonOf`): a value is `kind,payload`
 * so that the common shapes need no reviver (QuickJS's JSON.parse with a reviver costs ≈ 1 µs
 * per node more): kind 0 plain JSON (no integers, no bytes; text as is), 1 an integer as
 * decimal text, 2 bytes as hex, 3 tagged JSON text (below) for the VM's reviver, 4 a map whose
 * integers and bytes sit at its top level: plain JSON with them as text, then their keys.
 *
 * Tagged JSON (kind 3, and what `valueOfTagged` reads):
 *
 *   null, true, false      as JSON
 *   text "abc"             "sabc"        (every string carries a one-letter tag)
 *   integer 42n            "i42"         (decimal, i64)
 *   bytes 0x0aff           "b0aff"       (lower-case hex)
 *   list, map              JSON array, JSON object (map keys are plain)
 * @module
 */
import { AssertionError, assert } from "../../base/assert.ts";
import { bytesToHex } from "../../base/bytes.ts";
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../../base/limits.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import { ExecutionError } from "../errors.ts";
import { SANDBOX_VALUE_NODES_MAX } from "../limits.ts";

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const HEX_PATTERN = /^(?:[0-9a-f]{2})*$/;
/** Digits of the longest length prefix the wire can carry (a string of 2^30 code units). */
const WIRE_LENGTH_DIGITS_MAX = 10;

/** A tagged-JSON tree (what JSON.parse gives for a tagged value). */
export type Tagged = null | boolean | string | readonly Tagged[] | { readonly [key: string]: Tagged };

function isPlainMap(value: Value): value is ValueMap {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

/** A canonical value as a tagged tree; map keys in canonical (sorted) order, so output is stable. */
export function taggedOf(value: Value, depth = 0): Tagged {
  assert(depth <= VALUE_DEPTH_MAX, "values crossing into the sandbox are canonical");
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "bigint") return `i${value}`;
  if (value instanceof Uint8Array) return `b${bytesToHex(value)}`;
  if (Array.isArray(value)) return (value as readonly Value[]).map((item) => taggedOf(item, depth + 1));
  assert(isPlainMap(value));
  const map: Record<string, Tagged> = Object.create(null);
  // Sorting keys gives every node the same JSON; the VM then sees the same key order.
  for (const key of Object.keys(value).sort()) map[key] = taggedOf(value[key]!, depth + 1);
  return map;
}

export function taggedJsonOf(value: Value): string {
  return JSON.stringify(taggedOf(value));
}

/** Whether a value has neither integers nor bytes anywhere: plain JSON carries it as it is. */
function isPlain(value: Value, depth: number): boolean {
  assert(depth <= VALUE_DEPTH_MAX, "values crossing into the sandbox are canonical");
  if (value === null || typeof value === "boolean" || typeof value === "string") return true;
  if (typeof value === "bigint" || value instanceof Uint8Array) return false;
  if (Array.isArray(value)) {
    for (const item of value as readonly Value[]) if (!isPlain(item, depth + 1)) return false;
    return true;
  }
  assert(isPlainMap(value));
  for (const key in value) if (!isPlain(value[key]!, depth + 1)) return false;
  return true;
}

/** Plain JSON of a value `isPlain` accepts, map keys sorted as `taggedOf` sorts them. */
function plainJsonOf(value: Value): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    let json = "[";
    for (let index = 0; index < value.length; index++) {
      if (index > 0) json += ",";
      json += plainJsonOf((value as readonly Value[])[index]!);
    }
    return `${json}]`;
  }
  assert(isPlainMap(value));
  let json = "{";
  for (const key of Object.keys(value).sort()) {
    if (json.length > 1) json += ",";
    json += `${JSON.stringify(key)}:${plainJsonOf(value[key]!)}`;
  }
  return `${json}}`;
}

/**
 * A canonical value as the VM receives it: `kind,payload` (kind 4 adds the integer and the
 * bytes keys), to be placed in a JSON array; the prelude's `received(kind, payload, …)` rebuilds
 * the same value the tagged JSON would give.
 */
export function vmValueJsonOf(value: Value): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return `0,${JSON.stringify(value)}`;
  }
  if (typeof value === "bigint") return `1,"${value}"`;
  if (value instanceof Uint8Array) return `2,"${bytesToHex(value)}"`;
  if (Array.isArray(value)) {
    return isPlain(value, 0) ? `0,${plainJsonOf(value)}` : `3,${JSON.stringify(taggedJsonOf(value))}`;
  }
  assert(isPlainMap(value));
  // One pass in key order: integers and bytes at the top level go as text, with their keys.
  let json = "{";
  let integerKeys = "";
  let bytesKeys = "";
  for (const key of Object.keys(value).sort()) {
    const item = value[key]!;
    const keyJson = JSON.stringify(key);
    let itemJson: string;
    if (typeof item === "bigint") {
      itemJson = `"${item}"`;
      integerKeys += integerKeys.length === 0 ? keyJson : `,${keyJson}`;
    } else if (item instanceof Uint8Array) {
      itemJson = `"${bytesToHex(item)}"`;
      bytesKeys += bytesKeys.length === 0 ? keyJson : `,${keyJson}`;
    } else if (isPlain(item, 1)) {
      itemJson = plainJsonOf(item);
    } else {
      return `3,${JSON.stringify(taggedJsonOf(value))}`;
    }
    json += json.length === 1 ? `${keyJson}:${itemJson}` : `,${keyJson}:${itemJson}`;
  }
  json += "}";
  if (integerKeys.length === 0 && bytesKeys.length === 0) return `0,${json}`;
  // `__proto__` is set by assignment in the VM, which must find it as an own property: the
  // reviver's path takes such maps.
  if (Object.hasOwn(value, "__proto__")) return `3,${JSON.stringify(taggedJsonOf(value))}`;
  // The bytes keys only when there are some (the VM then skips them).
  return bytesKeys.length === 0 ? `4,${json},[${integerKeys}]` : `4,${json},[${integerKeys}],[${bytesKeys}]`;
}

function invalid(message: string): ExecutionError {
  return new ExecutionError("EXEC_VALUE_INVALID", message);
}

function bytesOfHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = Number.parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

/**
 * Whether the text is an integer as the wire writes it: /^-?(?:0|[1-9][0-9]{0,18})$/, checked
 * without a regular expression (a counter call reads five integers).
 */
function isIntegerText(digits: string): boolean {
  const start = digits.charCodeAt(0) === 0x2d ? 1 : 0;
  const count = digits.length - start;
  if (count < 1 || count > 19) return false;
  if (count > 1 && digits.charCodeAt(start) === 0x30) return false;
  for (let index = start; index < digits.length; index++) {
    const code = digits.charCodeAt(index);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/** Integers written in up to this many characters are exact as doubles (|n| < 10^15 < 2^53). */
const INTEGER_DOUBLE_CHARS_MAX = 15;

function integerOf(digits: string): bigint {
  if (!isIntegerText(digits)) throw invalid("an integer is malformed");
  // Short ones (most) through a double: BigInt of a number is ≈ 2× faster than of text, and fits i64.
  if (digits.length <= INTEGER_DOUBLE_CHARS_MAX) return BigInt(Number(digits));
  const integer = BigInt(digits);
  if (integer < I64_MIN || integer > I64_MAX) throw invalid("an integer does not fit in 64 bits");
  return integer;
}

class ValueReader {
  nodes = 0;

  read(tagged: unknown, depth: number): Value {
    this.nodes += 1;
    if (this.nodes > SANDBOX_VALUE_NODES_MAX) throw invalid("the value has too many parts");
    if (depth > VALUE_DEPTH_MAX) throw invalid("the value nests too deeply (or holds a cycle)");
    if (tagged === null || typeof tagged === "boolean") return tagged;
    if (typeof tagged === "string") return this.readString(tagged);
    if (Array.isArray(tagged)) {
      if (tagged.length > VALUE_ITEMS_MAX) throw invalid("a list has too many items");
      const list: Value[] = [];
      for (const item of tagged) list.push(this.read(item, depth + 1));
      return list;
    }
    if (typeof tagged === "object") {
      const keys = Object.keys(tagged);
      if (keys.length > VALUE_ITEMS_MAX) throw invalid("a map has too many entries");
      const map: Record<string, Value> = Object.create(null);
      for (const key of keys) {
        if (!key.isWellFormed()) throw invalid("a map key is not well-formed text");
        map[key] = this.read((tagged as Record<string, unknown>)[key], depth + 1);
      }
      return map;
    }
    throw invalid(`a ${typeof tagged} is not a value`);
  }

  readString(tagged: string): Value {
    const body = tagged.slice(1);
    switch (tagged.charCodeAt(0)) {
      case 0x73: // s
        if (!body.isWellFormed()) throw invalid("text is not well-formed");
        return body;
      case 0x69: // i
        return integerOf(body);
      case 0x62: // b
        if (!HEX_PATTERN.test(body)) throw invalid("bytes are malformed");
        return bytesOfHex(body);
      default:
        throw invalid("a string without a known tag");
    }
  }
}

/** Reads a tagged tree from the VM; throws ExecutionError EXEC_VALUE_INVALID for anything else. */
export function valueOfTagged(tagged: unknown): Value {
  return new ValueReader().read(tagged, 0);
}

/** Parses and reads a tagged JSON string from the VM. */
export function valueOfTaggedJson(json: string): Value {
  let tagged: unknown;
  try {
    tagged = JSON.parse(json);
  } catch {
    throw invalid("the value is not tagged JSON");
  }
  return valueOfTagged(tagged);
}

const CODE_COMMA = 0x2c;
const CODE_MINUS = 0x2d;
const CODE_DIGIT_0 = 0x30;
const CODE_DIGIT_9 = 0x39;
const CODE_LIST_END = 0x5d;
const CODE_R = 0x52;
const CODE_MAP_END = 0x7d;

/**
 * Reads the prelude's wire text (see the module comment) part by part: the steps a message
 * starts with, operation letters, values. The prelude is trusted to write well-formed wire text
 * (every contract-chosen part is length-prefixed), so a malformed structure is a bug (assert);
 * the values themselves are untrusted and checked.
 */
export class WireReader {
  readonly #text: string;
  #position = 0;
  #nodes = 0;

  constructor(text: string) {
    this.#text = text;
  }

  get atEnd(): boolean {
    return this.#position >= this.#text.length;
  }

  /** The next character without consuming it ("" at the end). */
  peek(): string {
    return this.#position < this.#text.length ? this.#text[this.#position]! : "";
  }

  /** The next character (an operation letter, an answer's kind digit). */
  character(): string {
    assert(this.#position < this.#text.length, "wire text: a character follows");
    const character = this.#text[this.#position]!;
    this.#position += 1;
    return character;
  }

  /** A decimal safe integer up to the next ";": the steps a message carries. */
  steps(): number {
    const end = this.#text.indexOf(";", this.#position);
    assert(end > this.#position, "wire text: steps end with ;");
    const steps = Number(this.#text.slice(this.#position, end));
    assert(Number.isSafeInteger(steps), "wire text: steps are a safe integer");
    this.#position = end + 1;
    return steps;
  }

  /**
   * The slot of a read the VM answered from a kept row, `R<slot>` (prelude.ts), or -1 when none
   * follows. Hits come right after the steps, before anything else of the message.
   */
  hit(): number {
    const text = this.#text;
    if (this.#position >= text.length || text.charCodeAt(this.#position) !== CODE_R) return -1;
    let end = this.#position + 1;
    let slot = 0;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code < CODE_DIGIT_0 || code > CODE_DIGIT_9) break;
      slot = slot * 10 + (code - CODE_DIGIT_0);
      end += 1;
    }
    assert(end > this.#position + 1 && end - this.#position <= 4, "wire text: a hit's slot");
    this.#position = end;
    return slot;
  }

  /** A text part as the prelude wrote it, unchecked (error codes, messages); null for `n`. */
  text(): string | null {
    const tag = this.character();
    if (tag === "n") return null;
    assert(tag === "s", "wire text: a message is text or null");
    return this.#body(this.#length());
  }

  /**
   * One value, checked as untrusted input; throws ExecutionError EXEC_VALUE_INVALID with the
   * message `valueOfTagged` gives for the same value.
   */
  value(): Value {
    const start = this.#position;
    this.#nodes = 0;
    try {
      return this.#read(0);
    } catch (error) {
      if (!(error instanceof ExecutionError)) throw error;
      // The first fault in the tagged reader's order (V8's key order in maps, not the VM's).
      this.#position = start;
      const tagged = this.#tagged();
      valueOfTagged(tagged);
      throw new AssertionError("the wire and the tagged readers agree on what is invalid");
    }
  }

  #length(): number {
    const end = this.#text.indexOf(":", this.#position);
    assert(end > this.#position && end - this.#position <= WIRE_LENGTH_DIGITS_MAX, "wire text: a length");
    const length = Number(this.#text.slice(this.#position, end));
    assert(Number.isSafeInteger(length) && length >= 0, "wire text: a length is a count");
    this.#position = end + 1;
    return length;
  }

  #body(length: number): string {
    const end = this.#position + length;
    assert(end <= this.#text.length, "wire text: a part fits the message");
    const body = this.#text.slice(this.#position, end);
    this.#position = end;
    return body;
  }

  /** An integer's digits (and sign): up to the first other character. */
  #digits(): string {
    const text = this.#text;
    let end = this.#position;
    while (end < text.length) {
      const code = text.charCodeAt(end);
      if (code !== CODE_MINUS && (code < CODE_DIGIT_0 || code > CODE_DIGIT_9)) break;
      end += 1;
    }
    const digits = text.slice(this.#position, end);
    this.#position = end;
    return digits;
  }

  /** The "," that starts a map entry, or false at the map's "}" (consumed). */
  #mapEntryNext(): boolean {
    const code = this.#text.charCodeAt(this.#position);
    this.#position += 1;
    if (code === CODE_MAP_END) return false;
    assert(code === CODE_COMMA, "wire text: a map entry starts with a comma");
    return true;
  }

  #read(depth: number): Value {
    this.#nodes += 1;
    if (this.#nodes > SANDBOX_VALUE_NODES_MAX) throw invalid("the value has too many parts");
    if (depth > VALUE_DEPTH_MAX) throw invalid("the value nests too deeply (or holds a cycle)");
    const tag = this.character();
    switch (tag) {
      case "n":
        return null;
      case "t":
        return true;
      case "f":
        return false;
      case "s": {
        const body = this.#body(this.#length());
        if (!body.isWellFormed()) throw invalid("text is not well-formed");
        return body;
      }
      case "i":
        return integerOf(this.#digits());
      case "b": {
        const hex = this.#body(this.#length());
        if (!HEX_PATTERN.test(hex)) throw invalid("bytes are malformed");
        return bytesOfHex(hex);
      }
      case "[": {
        const list: Value[] = [];
        while (this.#text.charCodeAt(this.#position) !== CODE_LIST_END) {
          if (list.length >= VALUE_ITEMS_MAX) throw invalid("a list has too many items");
          list.push(this.#read(depth + 1));
        }
        this.#position += 1;
        return list;
      }
      case "{": {
        const map: Record<string, Value> = Object.create(null);
        let entries = 0;
        while (this.#mapEntryNext()) {
          entries += 1;
          if (entries > VALUE_ITEMS_MAX) throw invalid("a map has too many entries");
          const key = this.#body(this.#length());
          if (!key.isWellFormed()) throw invalid("a map key is not well-formed text");
          map[key] = this.#read(depth + 1);
        }
        return map;
      }
      default:
        throw new AssertionError("wire text: a known tag");
    }
  }

  /** The same value as the tagged tree JSON.parse gave before: structure only, unchecked. */
  #tagged(): Tagged {
    const tag = this.character();
    switch (tag) {
      case "n":
        return null;
      case "t":
        return true;
      case "f":
        return false;
      case "s":
        return `s${this.#body(this.#length())}`;
      case "i":
        return `i${this.#digits()}`;
      case "b":
        return `b${this.#body(this.#length())}`;
      case "[": {
        const list: Tagged[] = [];
        while (this.#text.charCodeAt(this.#position) !== CODE_LIST_END) list.push(this.#tagged());
        this.#position += 1;
        return list;
      }
      case "{": {
        const map: Record<string, Tagged> = Object.create(null);
        while (this.#mapEntryNext()) {
          const key = this.#body(this.#length());
          map[key] = this.#tagged();
        }
        return map;
      }
      default:
        throw new AssertionError("wire text: a known tag");
    }
  }
}

assert(CODE_COMMA === ",".charCodeAt(0) && CODE_MINUS === "-".charCodeAt(0), "wire text: character codes");
