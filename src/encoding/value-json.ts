/**
 * The JSON form of canonical values, for people and programs that speak JSON: genesis files,
 * CLI arguments, the API's contract calls and queries, the portal. One JSON form per value:
 *
 *   null, true, false, "text"    as themselves
 *   integer                      a JSON number when |n| <= 2^53 - 1, else { "$int": "<decimal>" }
 *   bytes                        { "$bytes": "<lower-case hex>" }
 *   list                         a JSON array
 *   map                          a JSON object; a key that starts with "$" gets one more "$"
 *                                (so { "$int": ... } and { "$bytes": ... } are always tags)
 *
 * `valueFromJson` takes untrusted input: it refuses floats, unsafe integers written as numbers,
 * malformed tags, depth and item counts over the canonical limits, and reports the path of the
 * first problem (ValueJsonError, code VALUE_JSON_INVALID). Browser-safe.
 * @module
 */
import { bytesToHex, hexToBytesOrNull } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../base/limits.ts";
import type { Value, ValueMap } from "./value.ts";

export type ValueJsonErrorCode = "VALUE_JSON_INVALID";

export class ValueJsonError extends CityLedgerError<ValueJsonErrorCode> {
  override name = "ValueJsonError";
}

/** JSON as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

export function valueToJson(value: Value): Json {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "bigint") {
    return value >= -SAFE_MAX && value <= SAFE_MAX ? Number(value) : { $int: value.toString() };
  }
  if (value instanceof Uint8Array) return { $bytes: bytesToHex(value) };
  if (Array.isArray(value)) return value.map(valueToJson);
  const map = value as ValueMap;
  const json: { [key: string]: Json } = {};
  for (const key of Object.keys(map)) json[key.startsWith("$") ? `$${key}` : key] = valueToJson(map[key]!);
  return json;
}

function invalid(path: string, message: string): ValueJsonError {
  return new ValueJsonError("VALUE_JSON_INVALID", `${path || "/"}: ${message}`, { path: path || "/" });
}

function isPlainObject(json: unknown): json is Record<string, unknown> {
  return typeof json === "object" && json !== null && !Array.isArray(json);
}

function fromJson(json: unknown, path: string, depth: number): Value {
  if (depth > VALUE_DEPTH_MAX) throw invalid(path, `values nest at most ${VALUE_DEPTH_MAX} deep`);
  if (json === null || typeof json === "boolean" || typeof json === "string") return json;
  if (typeof json === "number") {
    if (!Number.isSafeInteger(json)) {
      throw invalid(
        path,
        'numbers must be safe integers (no fractions; use { "$int": "..." } for large ones)',
      );
    }
    return BigInt(json);
  }
  if (Array.isArray(json)) {
    if (json.length > VALUE_ITEMS_MAX) throw invalid(path, `lists hold at most ${VALUE_ITEMS_MAX} items`);
    return json.map((item, index) => fromJson(item, `${path}/${index}`, depth + 1));
  }
  if (!isPlainObject(json)) throw invalid(path, "not a JSON value");
  const keys = Object.keys(json);
  if (keys.length === 1 && keys[0] === "$int") {
    const text = json.$int;
    if (typeof text !== "string" || !/^-?(0|[1-9][0-9]{0,18})$/.test(text)) {
      throw invalid(path, "$int must be a decimal integer string");
    }
    const integer = BigInt(text);
    if (integer < I64_MIN || integer > I64_MAX) throw invalid(path, "$int is outside the 64-bit range");
    return integer;
  }
  if (keys.length === 1 && keys[0] === "$bytes") {
    const hex = json.$bytes;
    const bytes = typeof hex === "string" && /^[0-9a-f]*$/.test(hex) ? hexToBytesOrNull(hex) : null;
    if (bytes === null) throw invalid(path, "$bytes must be lower-case hex of even length");
    return bytes;
  }
  if (keys.length > VALUE_ITEMS_MAX) throw invalid(path, `maps hold at most ${VALUE_ITEMS_MAX} entries`);
  const map: Record<string, Value> = {};
  for (const key of keys) {
    if (key.startsWith("$") && !key.startsWith("$$")) {
      throw invalid(
        path,
        `${key}: keys starting with one "$" are tags ($int, $bytes, alone); write "$$" for a literal "$"`,
      );
    }
    map[key.startsWith("$") ? key.slice(1) : key] = fromJson(json[key], `${path}/${key}`, depth + 1);
  }
  return map;
}

/** A canonical value from its JSON form; ValueJsonError naming the first wrong path. */
export function valueFromJson(json: unknown): Value {
  return fromJson(json, "", 0);
}
