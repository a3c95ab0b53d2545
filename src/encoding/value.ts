/**
 * Canonical values: the self-describing part of the encoding, used for contract arguments,
 * events and state values. JSON-like, but exact: integers are i64 `bigint`, byte strings are
 * first-class, there are no floats, and maps have text keys in strictly increasing UTF-8 byte
 * order. Each value has exactly one encoding (docs/PROTOCOL.md, "Canonical values").
 *
 *   tag 0x00 null | 0x01 false | 0x02 true | 0x03 i64 (8 bytes, big-endian two's complement)
 *   0x04 bytes (u32 length + bytes) | 0x05 text (u32 length + UTF-8)
 *   0x06 list (u32 count + values) | 0x07 map (u32 count + (text key, value) pairs)
 * @module
 */
import { compareBytes } from "../base/bytes.ts";
import { VALUE_DEPTH_MAX, VALUE_ITEMS_MAX } from "../base/limits.ts";
import { DecodeError, EncodeError } from "./errors.ts";
import { decodeUtf8, Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

export type Value = null | boolean | bigint | Uint8Array | string | readonly Value[] | ValueMap;
export interface ValueMap {
  readonly [key: string]: Value;
}

export const VALUE_TAG = {
  null: 0x00,
  false: 0x01,
  true: 0x02,
  integer: 0x03,
  bytes: 0x04,
  text: 0x05,
  list: 0x06,
  map: 0x07,
} as const;

/** Text and byte strings inside a value; the whole value is further bounded by its container. */
export const VALUE_STRING_BYTES_MAX = 1024 * 1024;

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const utf8Encoder = new TextEncoder();

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index++) if (text.charCodeAt(index) > 0x7f) return false;
  return true;
}

/** Up to this many keys, ASCII keys are sorted by insertion (≈ 4× faster than Array.sort for 3). */
const INSERTION_SORT_KEYS_MAX = 16;

/**
 * Sorts map keys by their UTF-8 bytes. For ASCII keys (the usual case) UTF-16 order is the same
 * order, so code units are compared (by insertion for a few keys, else the plain sort); otherwise
 * keys are compared as encoded bytes.
 */
function sortKeysByUtf8(keys: string[]): void {
  if (keys.every(isAscii)) {
    // ASCII: code unit order is byte order, and `>` compares code units as `sort()` does.
    if (keys.length > INSERTION_SORT_KEYS_MAX) {
      keys.sort();
      return;
    }
    for (let index = 1; index < keys.length; index++) {
      const key = keys[index]!;
      let before = index - 1;
      while (before >= 0 && keys[before]! > key) {
        keys[before + 1] = keys[before]!;
        before -= 1;
      }
      keys[before + 1] = key;
    }
    return;
  }
  const encoded = new Map(keys.map((key) => [key, utf8Encoder.encode(key)]));
  keys.sort((left, right) => compareBytes(encoded.get(left)!, encoded.get(right)!));
}

function isValueMap(value: Value): value is ValueMap {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array)
  );
}

export function writeValue(writer: Writer, value: Value, depth = 0): void {
  if (depth > VALUE_DEPTH_MAX) {
    throw new EncodeError("ENCODE_INVALID_VALUE", "value nests deeper than the limit", {
      depthMax: VALUE_DEPTH_MAX,
    });
  }
  if (value === null) {
    writer.u8(VALUE_TAG.null);
  } else if (value === false) {
    writer.u8(VALUE_TAG.false);
  } else if (value === true) {
    writer.u8(VALUE_TAG.true);
  } else if (typeof value === "bigint") {
    if (value < I64_MIN || value > I64_MAX) {
      throw new EncodeError("ENCODE_OUT_OF_RANGE", "integer does not fit in i64");
    }
    writer.u8(VALUE_TAG.integer).i64(value);
  } else if (typeof value === "string") {
    writer.u8(VALUE_TAG.text).string(value, VALUE_STRING_BYTES_MAX);
  } else if (value instanceof Uint8Array) {
    writer.u8(VALUE_TAG.bytes).bytes(value, VALUE_STRING_BYTES_MAX);
  } else if (Array.isArray(value)) {
    const list = value as readonly Value[];
    if (list.length > VALUE_ITEMS_MAX) {
      throw new EncodeError("ENCODE_TOO_LONG", "list has more items than the limit", {
        itemsMax: VALUE_ITEMS_MAX,
      });
    }
    writer.u8(VALUE_TAG.list).u32(list.length);
    for (const item of list) writeValue(writer, item, depth + 1);
  } else if (isValueMap(value)) {
    if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
      throw new EncodeError("ENCODE_INVALID_VALUE", "only plain objects encode as maps");
    }
    const keys = Object.keys(value);
    if (keys.length > VALUE_ITEMS_MAX) {
      throw new EncodeError("ENCODE_TOO_LONG", "map has more entries than the limit", {
        itemsMax: VALUE_ITEMS_MAX,
      });
    }
    sortKeysByUtf8(keys);
    writer.u8(VALUE_TAG.map).u32(keys.length);
    for (const key of keys) {
      writer.string(key, VALUE_STRING_BYTES_MAX);
      writeValue(writer, value[key]!, depth + 1);
    }
  } else {
    throw new EncodeError("ENCODE_INVALID_VALUE", `a ${typeof value} is not a canonical value`);
  }
}

export function readValue(reader: Reader, depth = 0): Value {
  if (depth > VALUE_DEPTH_MAX) {
    throw new DecodeError("DECODE_TOO_DEEP", "value nests deeper than the limit", {
      depthMax: VALUE_DEPTH_MAX,
    });
  }
  const tag = reader.u8("value tag");
  switch (tag) {
    case VALUE_TAG.null:
      return null;
    case VALUE_TAG.false:
      return false;
    case VALUE_TAG.true:
      return true;
    case VALUE_TAG.integer:
      return reader.i64("integer");
    case VALUE_TAG.bytes:
      return reader.bytesField(VALUE_STRING_BYTES_MAX, "bytes value");
    case VALUE_TAG.text:
      return reader.string(VALUE_STRING_BYTES_MAX, "text value");
    case VALUE_TAG.list: {
      const count = readItemCount(reader, "list");
      const list: Value[] = [];
      for (let index = 0; index < count; index++) list.push(readValue(reader, depth + 1));
      return list;
    }
    case VALUE_TAG.map: {
      const count = readItemCount(reader, "map");
      // A null prototype keeps keys such as "__proto__" plain data.
      const map: Record<string, Value> = Object.create(null);
      let keyBytesPrevious: Uint8Array | null = null;
      for (let index = 0; index < count; index++) {
        const keyBytes = reader.bytesField(VALUE_STRING_BYTES_MAX, "map key");
        if (keyBytesPrevious !== null && compareBytes(keyBytesPrevious, keyBytes) >= 0) {
          throw new DecodeError("DECODE_NON_CANONICAL", "map keys must be unique and in increasing order");
        }
        keyBytesPrevious = keyBytes;
        const key = decodeUtf8(keyBytes, "map key");
        map[key] = readValue(reader, depth + 1);
      }
      return map;
    }
    default:
      throw new DecodeError("DECODE_UNKNOWN_TAG", "unknown value tag", { tag });
  }
}

function readItemCount(reader: Reader, kind: string): number {
  const count = reader.u32(`${kind} count`);
  if (count > VALUE_ITEMS_MAX) {
    throw new DecodeError("DECODE_TOO_LONG", `${kind} has more items than the limit`, {
      count,
      itemsMax: VALUE_ITEMS_MAX,
    });
  }
  // Each item takes at least one byte: a count larger than the input is truncated input.
  if (count > reader.remainingBytes) {
    throw new DecodeError("DECODE_TRUNCATED", `${kind} count exceeds the remaining input`, { count });
  }
  return count;
}

export function encodeValue(value: Value): Uint8Array {
  const writer = new Writer();
  writeValue(writer, value);
  return writer.finish();
}

/** Decodes exactly one value; input longer than `sizeBytesMax` is refused before parsing. */
export function decodeValue(bytes: Uint8Array, sizeBytesMax: number = VALUE_STRING_BYTES_MAX): Value {
  if (bytes.length > sizeBytesMax) {
    throw new DecodeError("DECODE_TOO_LONG", "value exceeds its limit", {
      sizeBytes: bytes.length,
      sizeBytesMax,
    });
  }
  const reader = new Reader(bytes);
  const value = readValue(reader);
  reader.end("value");
  return value;
}

/** Structural equality of values (maps compared by key set). */
export function equalValues(left: Value, right: Value): boolean {
  if (left === right) return true;
  if (left instanceof Uint8Array || right instanceof Uint8Array) {
    if (!(left instanceof Uint8Array && right instanceof Uint8Array)) return false;
    return compareBytes(left, right) === 0;
  }
  if (Array.isArray(left) || Array.isArray(right)) {
    if (!(Array.isArray(left) && Array.isArray(right))) return false;
    const leftList = left as readonly Value[];
    const rightList = right as readonly Value[];
    return (
      leftList.length === rightList.length &&
      leftList.every((item, index) => equalValues(item, rightList[index]!))
    );
  }
  if (left !== null && right !== null && typeof left === "object" && typeof right === "object") {
    const leftKeys = Object.keys(left).sort();
    const rightKeys = Object.keys(right).sort();
    if (leftKeys.length !== rightKeys.length) return false;
    return leftKeys.every(
      (key, index) =>
        key === rightKeys[index] && equalValues((left as ValueMap)[key]!, (right as ValueMap)[key]!),
    );
  }
  return false;
}
