import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sha256 } from "../../crypto/index.ts";
import { hashPrefixOf } from "../store-common.ts";
import { tailKeyOf, tailKeyOfHash } from "./deferred-index.ts";

describe("deferred-index keys", () => {
  it("computes the signed 8-byte prefix and the tail key from the bytes as the BigInt path does", () => {
    const hashes: Uint8Array[] = [
      new Uint8Array(32),
      new Uint8Array(32).fill(0xff),
      new Uint8Array(32).fill(0x80),
    ];
    for (let index = 0; index < 2_000; index++)
      hashes.push(sha256(new Uint8Array([index & 0xff, index >> 8])));
    for (const hash of hashes) {
      const expected = new DataView(hash.buffer, hash.byteOffset, 8).getBigInt64(0);
      assert.equal(hashPrefixOf(hash), expected);
      assert.equal(tailKeyOfHash(hash), tailKeyOf(expected));
    }
  });
});
