/**
 * The node's SHA-256 (sha256.ts): the OpenSSL addon in native/sha256 when built, libsodium
 * otherwise. Known answers from FIPS 180-2 (appendix B) and NIST's CAVP short-message vectors,
 * and fast-check against node:crypto for every length around the block boundaries, through both
 * `sha256` and `sha256Into` (offsets, views, an input that is a view of the output buffer).
 * `CITYLEDGER_REQUIRE_NATIVE=1` (set by .ci/run) makes a missing addon a failure: CI builds it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "../base/bytes.ts";
import { nativeSha256 } from "./native-sha256.ts";
import { SHA256_IMPLEMENTATION, sha256, sha256Into } from "./sha256.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);

const KNOWN_ANSWERS: ReadonlyArray<{ name: string; input: Uint8Array; digest: string }> = [
  {
    name: "FIPS 180-2 B.1, 'abc'",
    input: utf8("abc"),
    digest: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  },
  {
    name: "FIPS 180-2 B.2, 448 bits (two blocks)",
    input: utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    digest: "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  },
  {
    name: "FIPS 180-2 B.3, one million 'a'",
    input: new Uint8Array(1_000_000).fill(0x61),
    digest: "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
  },
  {
    name: "empty input",
    input: new Uint8Array(0),
    digest: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  },
  {
    name: "CAVP SHA256ShortMsg, Len = 8",
    input: hexToBytes("d3"),
    digest: "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1",
  },
];

function reference(input: Uint8Array): string {
  return createHash("sha256").update(input).digest("hex");
}

describe(`SHA-256 for the node (${SHA256_IMPLEMENTATION})`, () => {
  it("is the OpenSSL addon where CI built it", {
    skip: process.env.CITYLEDGER_REQUIRE_NATIVE !== "1",
  }, () => {
    assert.notEqual(nativeSha256, null, "native/sha256 was built by npm install (native/build.mjs)");
    assert.match(SHA256_IMPLEMENTATION, /OpenSSL/);
  });

  it("gives the known answers, through sha256 and sha256Into", () => {
    for (const vector of KNOWN_ANSWERS) {
      assert.equal(bytesToHex(sha256(vector.input)), vector.digest, vector.name);
      const output = new Uint8Array(40).fill(0xee);
      sha256Into(output, 5, vector.input);
      assert.equal(bytesToHex(output.subarray(5, 37)), vector.digest, `${vector.name}, into`);
      assert.deepEqual([...output.subarray(0, 5), ...output.subarray(37)], new Array(8).fill(0xee));
    }
  });

  it("agrees with node:crypto on any input, view or offset", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        fc.nat(16),
        fc.nat(16),
        (bytes, inputOffset, outputOffset) => {
          // The input as a view into a larger buffer, not at its start.
          const backing = new Uint8Array(inputOffset + bytes.length + 3);
          backing.set(bytes, inputOffset);
          const input = backing.subarray(inputOffset, inputOffset + bytes.length);
          const expected = reference(bytes);
          assert.equal(bytesToHex(sha256(input)), expected);
          const output = new Uint8Array(outputOffset + 32);
          sha256Into(output, outputOffset, input);
          assert.equal(bytesToHex(output.subarray(outputOffset)), expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("hashes an input that is a view of the output buffer (the state tree does)", () => {
    const buffer = new Uint8Array(32 + 65);
    for (let index = 0; index < buffer.length; index++) buffer[index] = index * 7;
    const input = buffer.subarray(32);
    const expected = reference(input.slice());
    sha256Into(buffer, 0, input);
    assert.equal(bytesToHex(buffer.subarray(0, 32)), expected);
    // The digest written over the start of its own input (OpenSSL reads all input first).
    const overlapping = new Uint8Array(65).fill(3);
    const overlappingExpected = reference(overlapping.slice());
    sha256Into(overlapping, 0, overlapping);
    assert.equal(bytesToHex(overlapping.subarray(0, 32)), overlappingExpected);
  });

  it("refuses, with a typed error, a digest that does not fit or arguments of the wrong kind", {
    skip: nativeSha256 === null && "the addon is not built",
  }, () => {
    const addon = nativeSha256!;
    assert.throws(() => addon.digestInto(new Uint8Array(31), 0, new Uint8Array(1)), RangeError);
    assert.throws(() => addon.digestInto(new Uint8Array(32), 1, new Uint8Array(1)), RangeError);
    assert.throws(() => addon.digestInto(new Uint8Array(64), -1, new Uint8Array(1)), RangeError);
    assert.throws(() => addon.digestInto(new Uint8Array(64), 0.5, new Uint8Array(1)), RangeError);
    assert.throws(
      () => (addon.digestInto as (...args: unknown[]) => void)(new Uint16Array(32), 0, new Uint8Array(1)),
      TypeError,
    );
    assert.throws(
      () => (addon.digestInto as (...args: unknown[]) => void)(new Uint8Array(32), 0, "abc"),
      TypeError,
    );
    assert.throws(() => (addon.digestInto as (...args: unknown[]) => void)(new Uint8Array(32)), TypeError);
  });
});
