/**
 * Shared pieces of the identity system contracts (`org`, `member`, `permission`): argument
 * fields beyond src/exec/args.ts (slugs, lists of slugs and key ids, natural numbers), strict
 * decoding of stored records (canonical-value maps with a `version`), and the refusals every
 * native contract gives (unknown method, governance-only method called by someone else).
 *
 * Lists in arguments are sets: they are returned sorted (by code unit for text, by bytes for key
 * ids) and a duplicate is refused, so the stored form of a set is canonical whatever order the
 * caller used.
 * @module
 */
import { assert } from "../../base/assert.ts";
import { compareBytes, equalBytes, utf8 } from "../../base/bytes.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { DecodeError } from "../../encoding/errors.ts";
import type { Value, ValueMap } from "../../encoding/value.ts";
import { KEY_ID_BYTES } from "../../ledger/key-id.ts";
import { type ArgsResult, isValueMap } from "../args.ts";
import type { ContractContext } from "../contract.ts";
import { ExecutionError } from "../errors.ts";
import { IDENTITY_SLUG_BYTES_MAX } from "../limits.ts";

/** Ids of organizations, departments and roles: lower-case slugs. */
export const IDENTITY_SLUG_PATTERN = /^[a-z][a-z0-9-]{0,47}$/;
/** The caller name of calls made by the genesis initial state (ADR 0007). */
export const GENESIS_CALLER = "genesis";
/** The only contract allowed to call governance-only methods. */
export const GOVERNANCE_CALLER = "governance";
export const I64_MAX = (1n << 63n) - 1n;

assert(IDENTITY_SLUG_PATTERN.source.includes(String(IDENTITY_SLUG_BYTES_MAX - 1)), "slug bound matches");

function refuse(
  code: "EXEC_ARGS_FIELD_MISSING" | "EXEC_ARGS_FIELD_WRONG_TYPE" | "EXEC_ARGS_FIELD_INVALID",
  message: string,
  details: Record<string, string | number | bigint | boolean>,
): { ok: false; error: ExecutionError } {
  return fail(new ExecutionError(code, message, details));
}

function fieldOf(map: ValueMap, field: string): Value | undefined {
  return Object.hasOwn(map, field) ? map[field] : undefined;
}

export function isSlug(text: string): boolean {
  return IDENTITY_SLUG_PATTERN.test(text);
}

/** A required slug (organization, department or role id). */
export function slugField(map: ValueMap, field: string): ArgsResult<string> {
  const value = fieldOf(map, field);
  if (value === undefined)
    return refuse("EXEC_ARGS_FIELD_MISSING", `the field "${field}" is required`, { field });
  return slugOf(field, value);
}

export function optionalSlugField(map: ValueMap, field: string): ArgsResult<string | null> {
  const value = fieldOf(map, field);
  if (value === undefined) return ok(null);
  return slugOf(field, value);
}

function slugOf(field: string, value: Value): ArgsResult<string> {
  if (typeof value !== "string") {
    return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must be text`, {
      field,
      expected: "text",
    });
  }
  if (!isSlug(value)) {
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must be a lower-case slug`, {
      field,
      pattern: IDENTITY_SLUG_PATTERN.source,
    });
  }
  return ok(value);
}

export interface ListRule {
  readonly countMin: number;
  readonly countMax: number;
}

function listOf(
  map: ValueMap,
  field: string,
  rule: ListRule,
  required: boolean,
): ArgsResult<readonly Value[] | null> {
  assert(rule.countMin >= 0);
  assert(rule.countMin <= rule.countMax);
  const value = fieldOf(map, field);
  if (value === undefined) {
    if (required) return refuse("EXEC_ARGS_FIELD_MISSING", `the field "${field}" is required`, { field });
    return ok(null);
  }
  if (!Array.isArray(value)) {
    return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must be a list`, {
      field,
      expected: "list",
    });
  }
  const list = value as readonly Value[];
  if (list.length < rule.countMin || list.length > rule.countMax) {
    return refuse(
      "EXEC_ARGS_FIELD_INVALID",
      `the field "${field}" must hold ${rule.countMin} to ${rule.countMax} items`,
      {
        field,
        count: list.length,
        countMin: rule.countMin,
        countMax: rule.countMax,
      },
    );
  }
  return ok(list);
}

/** A set of slugs (roles, organizations): sorted, duplicates refused. Absent: null. */
export function slugSetField(
  map: ValueMap,
  field: string,
  rule: ListRule,
  required = true,
): ArgsResult<readonly string[] | null> {
  const list = listOf(map, field, rule, required);
  if (!list.ok || list.value === null) return list as ArgsResult<null>;
  const slugs: string[] = [];
  for (const item of list.value) {
    const slug = slugOf(field, item);
    if (!slug.ok) return slug;
    slugs.push(slug.value);
  }
  slugs.sort();
  for (let index = 1; index < slugs.length; index++) {
    if (slugs[index - 1] === slugs[index]) {
      return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" holds a duplicate`, {
        field,
        duplicate: slugs[index]!,
      });
    }
  }
  return ok(slugs);
}

/** A set of 32-byte key ids: sorted by bytes, duplicates refused. */
export function keyIdSetField(
  map: ValueMap,
  field: string,
  rule: ListRule,
): ArgsResult<readonly Uint8Array[]> {
  const list = listOf(map, field, rule, true);
  if (!list.ok) return list;
  assert(list.value !== null, "a required list is present");
  const keyIds: Uint8Array[] = [];
  for (const item of list.value) {
    if (!(item instanceof Uint8Array) || item.length !== KEY_ID_BYTES) {
      return refuse(
        "EXEC_ARGS_FIELD_INVALID",
        `the field "${field}" must hold ${KEY_ID_BYTES}-byte key ids`,
        {
          field,
        },
      );
    }
    keyIds.push(item.slice());
  }
  keyIds.sort(compareBytes);
  for (let index = 1; index < keyIds.length; index++) {
    if (equalBytes(keyIds[index - 1]!, keyIds[index]!)) {
      return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" holds a duplicate key id`, { field });
    }
  }
  return ok(keyIds);
}

/** An optional natural number (a time in ms, a height): 0 to 2^63 − 1. */
export function optionalNaturalField(map: ValueMap, field: string): ArgsResult<bigint | null> {
  const value = fieldOf(map, field);
  if (value === undefined) return ok(null);
  if (typeof value !== "bigint") {
    return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must be an integer`, {
      field,
      expected: "integer",
    });
  }
  if (value < 0n)
    return refuse("EXEC_ARGS_FIELD_INVALID", `the field "${field}" must not be negative`, { field });
  return ok(value);
}

/** A required list of maps (genesis sections), each checked by the caller. */
export function mapListField(map: ValueMap, field: string, rule: ListRule): ArgsResult<readonly ValueMap[]> {
  const list = listOf(map, field, rule, false);
  if (!list.ok) return list;
  const maps: ValueMap[] = [];
  for (const item of list.value ?? []) {
    if (!isValueMap(item)) {
      return refuse("EXEC_ARGS_FIELD_WRONG_TYPE", `the field "${field}" must hold maps`, {
        field,
        expected: "map",
      });
    }
    maps.push(item);
  }
  return ok(maps);
}

// ---- Refusals ---------------------------------------------------------------------------------

export function methodUnknown(
  contract: string,
  method: string,
  methods: readonly string[],
): { ok: false; error: ExecutionError } {
  return fail(
    new ExecutionError("EXEC_METHOD_UNKNOWN", `the ${contract} contract has no such method`, {
      contract,
      method: method.slice(0, 64),
      methods: methods.join(","),
    }),
  );
}

/** Governance-only methods: the committee's executed proposals call them, nobody else. */
export function requireGovernance(
  context: ContractContext,
  contract: string,
  method: string,
): Result<void, ExecutionError> {
  if (context.caller.contract === GOVERNANCE_CALLER) return ok(undefined);
  return fail(
    new ExecutionError(
      "PERMISSION_DENIED",
      `${contract}.${method} is called only by an accepted governance proposal`,
      {
        contract,
        method,
        caller: context.caller.contract ?? "transaction",
      },
    ),
  );
}

// ---- Strict record decoding -------------------------------------------------------------------

/** Reads fields of a stored record map; anything unexpected throws DecodeError. */
export class RecordReader {
  readonly #map: ValueMap;
  readonly #what: string;

  constructor(value: Value, what: string, required: readonly string[], optional: readonly string[]) {
    this.#what = what;
    if (!isValueMap(value)) throw this.invalid("not a map");
    this.#map = value;
    for (const key of required) if (!Object.hasOwn(value, key)) throw this.invalid(`${key} is missing`);
    for (const key of Object.keys(value)) {
      if (!required.includes(key) && !optional.includes(key))
        throw this.invalid(`unknown field ${key.slice(0, 64)}`);
    }
  }

  invalid(message: string): DecodeError {
    return new DecodeError("DECODE_INVALID_VALUE", `${this.#what}: ${message}`);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.#map, key);
  }

  version(expected: bigint): void {
    if (this.#map.version !== expected) throw this.invalid("unknown version");
  }

  text(key: string): string {
    const value = this.#map[key];
    if (typeof value !== "string") throw this.invalid(`${key} is not text`);
    return value;
  }

  optionalText(key: string): string | null {
    return this.has(key) ? this.text(key) : null;
  }

  slug(key: string): string {
    const text = this.text(key);
    if (!isSlug(text)) throw this.invalid(`${key} is not a slug`);
    return text;
  }

  optionalSlug(key: string): string | null {
    return this.has(key) ? this.slug(key) : null;
  }

  natural(key: string): bigint {
    const value = this.#map[key];
    if (typeof value !== "bigint" || value < 0n) throw this.invalid(`${key} is not a natural number`);
    return value;
  }

  optionalNatural(key: string): bigint | null {
    return this.has(key) ? this.natural(key) : null;
  }

  bytes(key: string, sizeBytes: number): Uint8Array {
    const value = this.#map[key];
    if (!(value instanceof Uint8Array) || value.length !== sizeBytes)
      throw this.invalid(`${key} is not ${sizeBytes} bytes`);
    return value;
  }

  optionalBytes(key: string, sizeBytes: number): Uint8Array | null {
    return this.has(key) ? this.bytes(key, sizeBytes) : null;
  }

  map(key: string): Value {
    const value = this.#map[key];
    if (value === undefined || !isValueMap(value)) throw this.invalid(`${key} is not a map`);
    return value;
  }

  /** A sorted set of slugs. */
  slugSet(key: string, countMax: number): readonly string[] {
    const value = this.#map[key];
    if (!Array.isArray(value) || value.length > countMax) throw this.invalid(`${key} is not a bounded list`);
    const slugs = (value as readonly Value[]).map((item) => {
      if (typeof item !== "string" || !isSlug(item)) throw this.invalid(`${key} holds a non-slug`);
      return item;
    });
    for (let index = 1; index < slugs.length; index++) {
      if (!(slugs[index - 1]! < slugs[index]!)) throw this.invalid(`${key} is not sorted and unique`);
    }
    return slugs;
  }

  /** A sorted set of key ids. */
  keyIdSet(key: string, countMax: number): readonly Uint8Array[] {
    const value = this.#map[key];
    if (!Array.isArray(value) || value.length > countMax) throw this.invalid(`${key} is not a bounded list`);
    const keyIds = (value as readonly Value[]).map((item) => {
      if (!(item instanceof Uint8Array) || item.length !== KEY_ID_BYTES)
        throw this.invalid(`${key} holds a non key id`);
      return item;
    });
    for (let index = 1; index < keyIds.length; index++) {
      if (compareBytes(keyIds[index - 1]!, keyIds[index]!) >= 0)
        throw this.invalid(`${key} is not sorted and unique`);
    }
    return keyIds;
  }
}

/** Utf-8 bytes of a text id, for state keys. */
export function idBytesOf(text: string): Uint8Array {
  return utf8(text);
}
