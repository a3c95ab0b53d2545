import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, compareBytes, equalBytes, hexToBytesOrNull, mapKeyOf32 } from "./bytes.ts";

describe("bytes", () => {
  it("hex round-trips in either case, and refuses anything that is not hex", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const hex = bytesToHex(bytes);
        assert.equal(bytesToHex(hexToBytesOrNull(hex)!), hex);
        assert.equal(bytesToHex(hexToBytesOrNull(hex.toUpperCase())!), hex);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (text) => {
        const isHex = text.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(text);
        assert.equal(hexToBytesOrNull(text) !== null, isHex, JSON.stringify(text));
      }),
    );
    for (const bad of ["0", "0g", "g0", "ab ", "\u0661\u0662", "zz", "0x00"])
      assert.equal(hexToBytesOrNull(bad), null);
  });

  it("makes an exact Map key of 32 bytes: equal keys exactly for equal bytes", () => {
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
    fc.assert(
      fc.property(bytes32, bytes32, (left, right) => {
        assert.equal(mapKeyOf32(left) === mapKeyOf32(right), equalBytes(left, right));
        assert.equal(mapKeyOf32(left).length, 16);
      }),
    );
    // Keys one byte apart (any byte, any change) differ: both halves of each code unit count.
    fc.assert(
      fc.property(bytes32, fc.nat({ max: 31 }), fc.integer({ min: 1, max: 255 }), (bytes, index, change) => {
        const changed = bytes.slice();
        changed[index] = (changed[index]! + change) & 0xff;
        assert.notEqual(mapKeyOf32(bytes), mapKeyOf32(changed));
      }),
    );
    assert.equal(mapKeyOf32(new Uint8Array(32).fill(0xff)), "\uffff".repeat(16));
    assert.throws(() => mapKeyOf32(new Uint8Array(31)));
  });

  it("compares and orders byte strings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (left, right) => {
        assert.equal(equalBytes(left, right), compareBytes(left, right) === 0);
        assert.equal(Math.sign(compareBytes(left, right)) + Math.sign(compareBytes(right, left)), 0);
      }),
    );
  });
});
