import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, compareBytes, hexToBytes, utf8 } from "../base/bytes.ts";
import { VALUE_DEPTH_MAX } from "../base/limits.ts";
import {
  DecodeError,
  decodeValue,
  EncodeError,
  encodeValue,
  equalValues,
  Reader,
  type Value,
  Writer,
} from "./index.ts";

const valueArbitrary: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }), tie("value"), { maxKeys: 5 }),
  ),
})).value;

function expectDecodeError(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof DecodeError, `expected DecodeError, got ${String(error)}`);
    return;
  }
  assert.fail("expected a DecodeError");
}

describe("canonical values", () => {
  it("decode(encode(x)) = x for random values", () => {
    fc.assert(
      fc.property(valueArbitrary, (value) => {
        const encoded = encodeValue(value);
        const decoded = decodeValue(encoded);
        assert.ok(equalValues(decoded, value));
        assert.deepEqual(encodeValue(decoded), encoded);
      }),
      { numRuns: 500 },
    );
  });

  it("random bytes decode to a value that re-encodes identically, or throw DecodeError only", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let value: Value;
        try {
          value = decodeValue(bytes);
        } catch (error) {
          assert.ok(error instanceof DecodeError, String(error));
          return;
        }
        // Anything accepted is canonical: it is the one encoding of the value it decodes to.
        assert.equal(bytesToHex(encodeValue(value)), bytesToHex(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("mutated encodings are either rejected or canonical encodings of another value", () => {
    fc.assert(
      fc.property(valueArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), (value, position, bit) => {
        const encoded = encodeValue(value);
        const mutated = encoded.slice();
        const index = position % mutated.length;
        mutated[index] = mutated[index]! ^ (1 << bit);
        try {
          const decoded = decodeValue(mutated);
          assert.equal(bytesToHex(encodeValue(decoded)), bytesToHex(mutated));
          assert.ok(!equalValues(decoded, value));
        } catch (error) {
          assert.ok(error instanceof DecodeError, String(error));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("writes map keys in UTF-8 byte order, few or many, ASCII or not", () => {
    // The decoder refuses keys out of order, so a round trip proves the order; the keys come
    // back as the reference sort by bytes gives them.
    const keyArbitrary = fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: "grapheme", maxLength: 4 }));
    fc.assert(
      fc.property(fc.uniqueArray(keyArbitrary, { maxLength: 40 }), (keys) => {
        const map: Record<string, Value> = Object.create(null);
        for (const key of keys) map[key] = null;
        const decoded = decodeValue(encodeValue(map)) as Record<string, Value>;
        const byBytes = [...keys].sort((left, right) => compareBytes(utf8(left), utf8(right)));
        const written: string[] = [];
        const bytes = encodeValue(map);
        const view = new DataView(bytes.buffer, bytes.byteOffset);
        let position = 5;
        for (let index = 0; index < keys.length; index++) {
          const sizeBytes = view.getUint32(position);
          written.push(new TextDecoder().decode(bytes.subarray(position + 4, position + 4 + sizeBytes)));
          position += 4 + sizeBytes + 1;
        }
        assert.deepEqual(written, byBytes);
        assert.equal(Object.keys(decoded).length, keys.length);
      }),
      { numRuns: 500 },
    );
  });

  it("pins the byte layout (known-answer vector in docs/PROTOCOL.md)", () => {
    const value: Value = { b: [1n, true, null], a: new Uint8Array([0xca, 0xfe]), c: "é" };
    assert.equal(
      bytesToHex(encodeValue(value)),
      "07" +
        "00000003" +
        "00000001" +
        "61" +
        "04" +
        "00000002" +
        "cafe" +
        "00000001" +
        "62" +
        "06" +
        "00000003" +
        "03" +
        "0000000000000001" +
        "02" +
        "00" +
        "00000001" +
        "63" +
        "05" +
        "00000002" +
        "c3a9",
    );
  });

  it("rejects non-canonical variants", () => {
    // Map keys out of order ("b" before "a").
    expectDecodeError(() => decodeValue(hexToBytes("0700000002000000016200000000016100")));
    // Duplicate keys.
    expectDecodeError(() => decodeValue(hexToBytes("0700000002000000016100000000016100")));
    // Overlong UTF-8 for "/" (C0 AF) and a lone surrogate (ED A0 80).
    expectDecodeError(() => decodeValue(hexToBytes("0500000002c0af")));
    expectDecodeError(() => decodeValue(hexToBytes("0500000003eda080")));
    // Trailing bytes, unknown tag, truncated integer.
    expectDecodeError(() => decodeValue(hexToBytes("0000")));
    expectDecodeError(() => decodeValue(hexToBytes("08")));
    expectDecodeError(() => decodeValue(hexToBytes("030000")));
    // A list count larger than the input.
    expectDecodeError(() => decodeValue(hexToBytes("06ffffffff")));
  });

  it("bounds nesting depth on both sides", () => {
    let deep: Value = null;
    for (let level = 0; level <= VALUE_DEPTH_MAX + 1; level++) deep = [deep];
    assert.throws(() => encodeValue(deep), EncodeError);
    const bytes = new Uint8Array((VALUE_DEPTH_MAX + 2) * 5 + 1);
    for (let level = 0; level <= VALUE_DEPTH_MAX + 1; level++) bytes.set([6, 0, 0, 0, 1], level * 5);
    expectDecodeError(() => decodeValue(bytes));
  });

  it("refuses floats, undefined and class instances", () => {
    for (const bad of [1.5, undefined, new Date(0), () => 1]) {
      assert.throws(() => encodeValue(bad as unknown as Value), EncodeError);
    }
  });
});

describe("fixed layout", () => {
  it("round-trips every field kind and rejects trailing bytes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ maxLength: 100 }),
        fc.string({ maxLength: 30 }),
        fc.boolean(),
        (small, medium, large, bytes, text, flag) => {
          const encoded = new Writer()
            .u8(small)
            .u32(medium)
            .u64(large)
            .bytes(bytes, 100)
            .string(text, 200)
            .bool(flag)
            .finish();
          const reader = new Reader(encoded);
          assert.equal(reader.u8(), small);
          assert.equal(reader.u32(), medium);
          assert.equal(reader.u64(), large);
          assert.deepEqual(reader.bytesField(100), bytes);
          assert.equal(reader.string(200), text);
          assert.equal(reader.bool(), flag);
          reader.end("test");
          const longer = new Uint8Array(encoded.length + 1);
          longer.set(encoded);
          const second = new Reader(longer);
          second.u8();
          second.u32();
          second.u64();
          second.bytesField(100);
          second.string(200);
          second.bool();
          expectDecodeError(() => second.end("test"));
        },
      ),
    );
  });

  it("writes a text's UTF-8 exactly as TextEncoder does, ASCII or not, around the short-text loop's limit", () => {
    const utf8 = new TextEncoder();
    const asciiPrefix = fc.string({
      unit: fc.integer({ min: 0, max: 0x7f }).map((code) => String.fromCharCode(code)),
      minLength: 60,
      maxLength: 70,
    });
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: "grapheme", maxLength: 80 }), asciiPrefix),
        fc.oneof(fc.constant(""), fc.constantFrom("\u00e9", "\u4e2d", "\ud83d\ude00", "\u007f", "\u0080")),
        (prefix, tail) => {
          const text = prefix + tail;
          const encoded = new Writer().u8(7).string(text, 1_000).finish();
          const bytes = utf8.encode(text);
          const expected = new Uint8Array(1 + 4 + bytes.length);
          expected[0] = 7;
          new DataView(expected.buffer).setUint32(1, bytes.length);
          expected.set(bytes, 5);
          assert.deepEqual(encoded, expected);
        },
      ),
    );
  });

  it("rejects over-long fields before reading them, and booleans other than 0/1", () => {
    expectDecodeError(() => new Reader(hexToBytes("00000005aabbccddee")).bytesField(4));
    expectDecodeError(() => new Reader(hexToBytes("02")).bool());
    assert.throws(() => new Writer().bytes(new Uint8Array(5), 4), EncodeError);
    assert.throws(() => new Writer().u64(-1n), EncodeError);
    assert.throws(() => new Writer().u32(2 ** 32), EncodeError);
  });
});
