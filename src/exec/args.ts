/**
 * Argument schemas for system contracts. A transaction's arguments are one canonical value
 * (src/encoding/value.ts), already decoded and bounded by TX_ARGS_BYTES_MAX; a contract checks
 * its shape here, field by field, and gets a typed ExecutionError (with the field's name in
 * `details.field`) for the first problem. Nothing here throws on any value.
 *
 * Conventions: arguments are a map; a field not in the schema is refused (no room for
 * unchecked data in the state); optional fields are omitted, never null; text is bounded in
 * UTF-8 bytes and never holds control characters (newlines and tabs only where a rule says so).
 * @module
 */
import { assert } from "../base/assert.ts";
import { fail, ok, type Result } from "../base/errors.ts";
import type { Value, ValueMap } from "../encoding/value.ts";
import { ExecutionError, type ExecutionErrorCode } from "./errors.ts";

export type ArgsResult<Parsed> = Result<Parsed, ExecutionError>;

export function isValueMap(value: Value): value is ValueMap {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

function refuse(
  code: ExecutionErrorCode,
  message: string,
  details: Record<string, string | number | bigint | boolean> = {},
): { ok: false; error: ExecutionError } {
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

/** The arguments as a map holding only fields of `fieldsAllowed`. */
export function argsMapOf(args: Value, fieldsAllowed: readonly string[]): ArgsResult<ValueMap> {
  assert(fieldsAllowed.length > 0, "a schema names its fields");
  if (!isValueMap(args)) {
    return refuse("EXEC_ARGS_NOT_A_MAP", `the arguments must be a map, not ${kindOf(args)}`, {
      kind: kindOf(args),
    });
  }
  for (const field of Object.keys(args)) {
    if (!fieldsAllowed.includes(field)) {
      return refuse("EXEC_ARGS_FIELD_UNKNOWN", "the arguments hold a field this method does not take", {
        field: field.slice(0, 64),
        fieldsAllowed: fieldsAllowed.join(","),
      });
    }
  }
  return ok(args);
}

function fieldOf(map: ValueMap, field: string): Value | undefined {
  return Object.hasOwn(map, field) ? map[field] : undefined;
}

function missing(field: string): { ok: false; error: ExecutionError } {
  return refuse("EXEC_ARGS_FIELD_MISSING", `the field "${field}" is required`, { field });
}

function wrongType(field: string, expected: string, value: Value): { ok: false; error: ExecutionError } {
  return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must be ${expected}`, {
    field,
    expected,
    actual: kindOf(value),
  });
}

/** A required byte string of exactly `sizeBytes` bytes (hashes, key ids). */
export function fixedBytesField(map: ValueMap, field: string, sizeBytes: number): ArgsResult<Uint8Array> {
  assert(sizeBytes > 0);
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (!(value instanceof Uint8Array)) return wrongType(field, "bytes", value);
  if (value.length !== sizeBytes) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must be exactly ${sizeBytes} bytes`, {
      field,
      sizeBytes: value.length,
      sizeBytesExpected: sizeBytes,
    });
  }
  return ok(value.slice());
}

export interface TextRule {
  /** Most UTF-8 bytes allowed (at least 1 byte is always required). */
  readonly bytesMax: number;
  /** A pattern the whole text must match. */
  readonly pattern?: RegExp;
  /** Allow line feed and tab (descriptions); other control characters are always refused. */
  readonly newlinesAllowed?: boolean;
}

/** UTF-8 length of well-formed text, without encoding it. */
export function utf8ByteLength(text: string): number {
  let sizeBytes = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) sizeBytes += 1;
    else if (unit < 0x800) sizeBytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdfff)
      sizeBytes += 2; // half of a 4-byte pair
    else sizeBytes += 3;
  }
  return sizeBytes;
}

function isControl(unit: number, newlinesAllowed: boolean): boolean {
  if (newlinesAllowed && (unit === 0x0a || unit === 0x09)) return false;
  return unit < 0x20 || (unit >= 0x7f && unit <= 0x9f);
}

function checkText(field: string, text: string, rule: TextRule): ArgsResult<string> {
  assert(rule.bytesMax > 0, "text rules allow at least one byte");
  if (!text.isWellFormed()) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" is not well-formed text`, { field });
  }
  const sizeBytes = utf8ByteLength(text);
  if (sizeBytes === 0) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must not be empty (omit it instead)`, {
      field,
    });
  }
  if (sizeBytes > rule.bytesMax) {
    return refuse("EXEC_ARGS_FIELD_TOO_LONG", `the field "${field}" is longer than ${rule.bytesMax} bytes`, {
      field,
      sizeBytes,
      sizeBytesMax: rule.bytesMax,
    });
  }
  for (let index = 0; index < text.length; index++) {
    if (isControl(text.charCodeAt(index), rule.newlinesAllowed === true)) {
      return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" holds a control character`, {
        field,
        position: index,
      });
    }
  }
  if (rule.pattern !== undefined && !rule.pattern.test(text)) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" does not have the required form`, {
      field,
      pattern: rule.pattern.source,
    });
  }
  return ok(text);
}

export function textField(map: ValueMap, field: string, rule: TextRule): ArgsResult<string> {
  const value = fieldOf(map, field);
  if (value === undefined) return missing(field);
  if (typeof value !== "string") return wrongType(field, "text", value);
  return checkText(field, value, rule);
}

/** A text field that may be omitted (null when it is); present, it follows `rule`. */
export function optionalTextField(map: ValueMap, field: string, rule: TextRule): ArgsResult<string | null> {
  const value = fieldOf(map, field);
  if (value === undefined) return ok(null);
  if (typeof value !== "string") return wrongType(field, "text (or omitted)", value);
  return checkText(field, value, rule);
}
