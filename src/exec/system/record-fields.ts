/**
 * Field helpers shared by the `governance` and `registry` contracts: argument fields that
 * src/exec/args.ts does not cover (integers, lists, maps, variable-length bytes, choices), and
 * strict readers for stored records (canonical values) that throw DecodeError on anything but
 * the exact shape: a stored record that does not decode is a bug or a corrupted state, never
 * user input, so it crashes the node on every node alike rather than forking.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { fail, ok } from "../../base/errors.ts";
import { DecodeError } from "../../encoding/errors.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import { type ArgsResult, isValueMap } from "../args.ts";
import { ExecutionError, type ExecutionErrorCode } from "../errors.ts";

export const I64_MAX = (1n << 63n) - 1n;

export function refuse<T = never>(
  code: ExecutionErrorCode,
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): ArgsResult<T> {
  return fail(new ExecutionError(code, message, details));
}

function kindOf(value: Value): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "bigint") return "integer";
  if (typeof value === "string") return "text";
  if (value instanceof Uint8Array) return "bytes";
  if (Array.isArray(value)) return "list";
  return "map";
}

function fieldOf(map: ValueMap, field: string): Value | undefined {
  return Object.hasOwn(map, field) ? map[field] : undefined;
}

function missing<T>(field: string): ArgsResult<T> {
  return refuse("EXEC_ARGS_FIELD_MISSING", `the field "${field}" is required`, { field });
}

function wrongType<T>(field: string, expected: string, value: Value): ArgsResult<T> {
  return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must be ${expected}`, {
    field,
    expected,
    actual: kindOf(value),
  });
}

/** A required integer in [min, max] (EXEC_ARGS_FIELD_INVALID outside). */
export function integerField(map: ValueMap, field: string, min: bigint, max: bigint): ArgsResult<bigint> {
  assert(min <= max);
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (typeof value !== "bigint") return wrongType(field, "an integer", value);
  if (value < min || value > max) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must be between ${min} and ${max}`, {
      field,
      min,
      max,
    });
  }
  return ok(value);
}

/** A required byte string of minBytes..maxBytes bytes. */
export function bytesField(
  map: ValueMap,
  field: string,
  minBytes: number,
  maxBytes: number,
): ArgsResult<Uint8Array> {
  assert(minBytes <= maxBytes);
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (!(value instanceof Uint8Array)) return wrongType(field, "bytes", value);
  if (value.length < minBytes || value.length > maxBytes) {
    return refuse(
      "EXEC_ARGS_FIELD_INVALID",
      `the field "${field}" must be ${minBytes} to ${maxBytes} bytes`,
      {
        field,
        sizeBytes: value.length,
      },
    );
  }
  return ok(value.slice());
}

/** A required list of 1..itemsMax items (each checked by the caller). */
export function listField(map: ValueMap, field: string, itemsMax: number): ArgsResult<readonly Value[]> {
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (!Array.isArray(value)) return wrongType(field, "a list", value);
  const list = value as readonly Value[];
  if (list.length === 0 || list.length > itemsMax) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must hold 1 to ${itemsMax} items`, {
      field,
      count: list.length,
    });
  }
  return ok(list);
}

/** A required map. */
export function mapField(map: ValueMap, field: string): ArgsResult<ValueMap> {
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (!isValueMap(value)) return wrongType(field, "a map", value);
  return ok(value);
}

/** A required text that is one of `choices`. */
export function choiceField<Choice extends string>(
  map: ValueMap,
  field: string,
  choices: readonly Choice[],
): ArgsResult<Choice> {
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (typeof value !== "string") return wrongType(field, "text", value);
  const choice = choices.find((candidate) => candidate === value);
  if (choice === undefined) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must be one of ${choices.join(", ")}`, {
      field,
      choices: choices.join(","),
    });
  }
  return ok(choice);
}

// ---- Stored records ---------------------------------------------------------------------------

/** Strict reads of one stored map; every failure is a DecodeError naming the record. */
export class RecordReader {
  readonly #what: string;
  readonly map: ValueMap;

  constructor(what: string, value: Value, required: readonly string[], optional: readonly string[] = []) {
    this.#what = what;
    if (!isValueMap(value)) throw this.invalid("not a map");
    for (const key of required) if (!Object.hasOwn(value, key)) throw this.invalid(`${key} is missing`);
    for (const key of Object.keys(value)) {
      if (!required.includes(key) && !optional.includes(key))
        throw this.invalid(`unknown field ${key.slice(0, 64)}`);
    }
    this.map = value;
  }

  invalid(message: string): DecodeError {
    return new DecodeError("DECODE_INVALID_VALUE", `${this.#what}: ${message}`);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.map, key);
  }

  value(key: string): Value {
    if (!this.has(key)) throw this.invalid(`${key} is missing`);
    return this.map[key]!;
  }

  bytes(key: string, sizeBytes?: number): Uint8Array {
    const value = this.value(key);
    if (!(value instanceof Uint8Array)) throw this.invalid(`${key} is not bytes`);
    if (sizeBytes !== undefined && value.length !== sizeBytes)
      throw this.invalid(`${key} is not ${sizeBytes} bytes`);
    return value;
  }

  text(key: string): string {
    const value = this.value(key);
    if (typeof value !== "string") throw this.invalid(`${key} is not text`);
    return value;
  }

  optionalText(key: string): string | null {
    return this.has(key) ? this.text(key) : null;
  }

  natural(key: string): bigint {
    const value = this.value(key);
    if (typeof value !== "bigint" || value < 0n) throw this.invalid(`${key} is not a natural number`);
    return value;
  }

  boolean(key: string): boolean {
    const value = this.value(key);
    if (typeof value !== "boolean") throw this.invalid(`${key} is not a boolean`);
    return value;
  }

  list(key: string): readonly Value[] {
    const value = this.value(key);
    if (!Array.isArray(value)) throw this.invalid(`${key} is not a list`);
    return value as readonly Value[];
  }

  choice<Choice extends string>(key: string, choices: readonly Choice[]): Choice {
    const text = this.text(key);
    const choice = choices.find((candidate) => candidate === text);
    if (choice === undefined) throw this.invalid(`${key} is not one of ${choices.join(", ")}`);
    return choice;
  }
}

/** An 8-byte big-endian id (proposal ids, list positions): keys that sort like the numbers. */
export function u64IdOf(value: bigint): Uint8Array {
  assert(value >= 0n);
  assert(value <= I64_MAX);
  const id = new Uint8Array(8);
  new DataView(id.buffer).setBigUint64(0, value);
  return id;
}

export const UTF8 = new TextEncoder();
