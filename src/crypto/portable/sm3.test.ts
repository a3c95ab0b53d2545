import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, utf8 } from "../../base/bytes.ts";
import { SM3_BLOCK_BYTES, SM3_DIGEST_BYTES, sm3 } from "./sm3.ts";

/**
 * A literal transcription of GB/T 32905-2016 (padding, expansion, compression), written for
 * clarity rather than speed, to check the optimised sm3() against on any input.
 */
function sm3Reference(message: Uint8Array): Uint8Array {
  const rotate = (word: number, count: number): number =>
    count % 32 === 0 ? word >>> 0 : ((word << count) | (word >>> (32 - count))) >>> 0;
  const p0 = (word: number): number => (word ^ rotate(word, 9) ^ rotate(word, 17)) >>> 0;
  const p1 = (word: number): number => (word ^ rotate(word, 15) ^ rotate(word, 23)) >>> 0;
  const paddedLength = Math.ceil((message.length + 9) / 64) * 64;
  const padded = new Uint8Array(paddedLength);
  padded.set(message);
  padded[message.length] = 0x80;
  const bitCount = BigInt(message.length) * 8n;
  for (let index = 0; index < 8; index++) {
    padded[paddedLength - 1 - index] = Number((bitCount >> BigInt(8 * index)) & 0xffn);
  }
  let vector = [
    0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
  ];
  for (let offset = 0; offset < paddedLength; offset += 64) {
    const w: number[] = [];
    for (let j = 0; j < 16; j++) {
      const at = offset + 4 * j;
      w.push(
        ((padded[at]! << 24) | (padded[at + 1]! << 16) | (padded[at + 2]! << 8) | padded[at + 3]!) >>> 0,
      );
    }
    for (let j = 16; j < 68; j++) {
      w.push((p1(w[j - 16]! ^ w[j - 9]! ^ rotate(w[j - 3]!, 15)) ^ rotate(w[j - 13]!, 7) ^ w[j - 6]!) >>> 0);
    }
    const wPrime = Array.from({ length: 64 }, (_, j) => (w[j]! ^ w[j + 4]!) >>> 0);
    let [a, b, c, d, e, f, g, h] = vector as [number, number, number, number, number, number, number, number];
    for (let j = 0; j < 64; j++) {
      const constant = j < 16 ? 0x79cc4519 : 0x7a879d8a;
      const ss1 = rotate((rotate(a, 12) + e + rotate(constant, j % 32)) >>> 0, 7);
      const ss2 = (ss1 ^ rotate(a, 12)) >>> 0;
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = ((ff >>> 0) + d + ss2 + wPrime[j]!) >>> 0;
      const tt2 = ((gg >>> 0) + h + ss1 + w[j]!) >>> 0;
      d = c;
      c = rotate(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotate(f, 19);
      f = e;
      e = p0(tt2);
    }
    vector = [a, b, c, d, e, f, g, h].map((word, index) => (word ^ vector[index]!) >>> 0);
  }
  const digest = new Uint8Array(32);
  vector.forEach((word, index) => {
    digest[4 * index] = word >>> 24;
    digest[4 * index + 1] = word >>> 16;
    digest[4 * index + 2] = word >>> 8;
    digest[4 * index + 3] = word;
  });
  return digest;
}

describe("portable SM3", () => {
  it("passes GB/T 32905-2016 Appendix A, example 1: SM3('abc')", () => {
    assert.equal(
      bytesToHex(sm3(utf8("abc"))),
      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    );
  });

  it("passes GB/T 32905-2016 Appendix A, example 2: SM3('abcd' x 16)", () => {
    assert.equal(
      bytesToHex(sm3(utf8("abcd".repeat(16)))),
      "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    );
  });

  it("hashes the empty message (OpenSSL, GmSSL: 1ab21d83...)", () => {
    assert.equal(
      bytesToHex(sm3(new Uint8Array(0))),
      "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b",
    );
  });

  it("the reference transcription passes the same known answers", () => {
    assert.equal(
      bytesToHex(sm3Reference(utf8("abc"))),
      "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
    );
    assert.equal(
      bytesToHex(sm3Reference(utf8("abcd".repeat(16)))),
      "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    );
  });

  it("agrees with the reference at every length from 0 to 3 blocks + 1", () => {
    for (let length = 0; length <= 3 * SM3_BLOCK_BYTES + 1; length++) {
      const message = Uint8Array.from({ length }, (_, index) => (index * 31 + length) & 0xff);
      assert.deepEqual(sm3(message), sm3Reference(message), `length ${length}`);
    }
  });

  it("agrees with the reference on random messages", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1100 }), (message) => {
        const digest = sm3(message);
        assert.equal(digest.length, SM3_DIGEST_BYTES);
        assert.deepEqual(digest, sm3Reference(message));
      }),
      { numRuns: 300, seed: 3290 },
    );
  });

  it("does not modify its input and returns a fresh digest each call", () => {
    const message = utf8("abc");
    const first = sm3(message);
    const second = sm3(message);
    assert.notEqual(first, second);
    assert.deepEqual(first, second);
    assert.deepEqual(message, utf8("abc"));
  });

  it("hashes a subarray view by its own bytes only", () => {
    const backing = utf8("xxabcxx");
    assert.deepEqual(sm3(backing.subarray(2, 5)), sm3(utf8("abc")));
  });
});
