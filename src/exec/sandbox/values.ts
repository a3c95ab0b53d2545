/**
 * Canonical values across the sandbox boundary. To keep host crossings few and cheap, values
 * travel as one JSON string each way ("tagged JSON"), parsed natively on both sides:
 *
 *   null, true, false      as JSON
 *   text "abc"             "sabc"        (every string carries a one-letter tag)
 *   integer 42n            "i42"         (decimal, i64)
 *   bytes 0x0aff           "b0aff"       (lower-case hex)
 *   list, map              JSON array, JSON object (map keys are plain)
 *
 * The host side here is strict: whatever the VM sends is checked as untrusted input (tags, i64
 * range, hex, depth VALUE_DEPTH_MAX, items VALUE_ITEMS_MAX per container, SANDBOX_VALUE_NODES_MAX
 * in all) and maps come out with a null prototype, like `decodeValue`'s.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { bytesToHex } from "../../base/bytes.ts";
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../../base/limits.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import { ExecutionError } from "../errors.ts";
import { SANDBOX_VALUE_NODES_MAX } from "../limits.ts";

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const INTEGER_PATTERN = /^-?(?:0|[1-9][0-9]{0,18})$/;
const HEX_PATTERN = /^(?:[0-9a-f]{2})*$/;

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
      case 0x69: {
        // i
        if (!INTEGER_PATTERN.test(body)) throw invalid("an integer is malformed");
        const integer = BigInt(body);
        if (integer < I64_MIN || integer > I64_MAX) throw invalid("an integer does not fit in 64 bits");
        return integer;
      }
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
