import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Value } from "../../encoding/value.ts";
import { ExecutionError } from "../errors.ts";
import { type Tagged, valueOfTagged, WireReader } from "./values.ts";

/** Wire text of a value, as the prelude's `write` makes it (maps in the order given). */
function wireOf(value: Value | { readonly integer: string }): string {
  if (value === null) return "n";
  if (typeof value === "boolean") return value ? "t" : "f";
  if (typeof value === "string") return `s${value.length}:${value}`;
  if (typeof value === "bigint") return `i${value}`;
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value).toString("hex");
    return `b${hex.length}:${hex}`;
  }
  if (Array.isArray(value)) return `[${(value as Value[]).map(wireOf).join("")}]`;
  const map = value as Record<string, Value>;
  return `{${Object.keys(map)
    .map((key) => `,${key.length}:${key}${wireOf(map[key]!)}`)
    .join("")}}`;
}

/** The tagged tree of the same value (what the tagged-JSON protocol sent). */
function taggedOfValue(value: Value): Tagged {
  if (value === null || typeof value === "boolean") return value;
  if (typeof value === "string") return `s${value}`;
  if (typeof value === "bigint") return `i${value}`;
  if (value instanceof Uint8Array) return `b${Buffer.from(value).toString("hex")}`;
  if (Array.isArray(value)) return (value as Value[]).map(taggedOfValue);
  const map: Record<string, Tagged> = Object.create(null);
  for (const key of Object.keys(value)) map[key] = taggedOfValue((value as Record<string, Value>)[key]!);
  return map;
}

function failureOf(read: () => unknown): string | null {
  try {
    read();
    return null;
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.bigInt({ min: -(1n << 64n), max: 1n << 64n }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, leaf, tie("list"), tie("map")),
  list: fc.array(tie("node"), { maxLength: 4 }),
  map: fc.dictionary(fc.string({ unit: "binary", maxLength: 6 }), tie("node"), { maxKeys: 4 }),
})).node as fc.Arbitrary<Value>;

describe("wire text from the VM", () => {
  it("reads what the tagged reader reads, and refuses with the tagged reader's first fault", () => {
    fc.assert(
      fc.property(value, (input) => {
        const wire = failureOf(() => new WireReader(wireOf(input)).value());
        const tagged = failureOf(() => valueOfTagged(JSON.parse(JSON.stringify(taggedOfValue(input)))));
        assert.equal(wire, tagged);
        if (wire === null) {
          assert.deepEqual(new WireReader(wireOf(input)).value(), valueOfTagged(taggedOfValue(input)));
        }
      }),
      { numRuns: 500 },
    );
  });

  it("reads every i64 exactly, short ones (through a double) and long ones alike", () => {
    const i64 = fc.oneof(
      fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    );
    fc.assert(
      fc.property(i64, (integer) => {
        assert.equal(new WireReader(`i${integer}`).value(), integer);
      }),
      { numRuns: 2000 },
    );
    for (const integer of [0n, -1n, 999_999_999_999_999n, -99_999_999_999_999n, 1_000_000_000_000_000n]) {
      assert.equal(new WireReader(`i${integer}`).value(), integer);
    }
    assert.equal(new WireReader("i-0").value(), 0n);
    assert.throws(() => new WireReader("i9223372036854775808").value(), ExecutionError);
  });

  it("reports the first fault in V8's key order (integer-like keys first), as the tagged reader did", () => {
    // The VM may list keys in another order (a proxy's ownKeys): text not well-formed under "1"
    // comes before the integer out of range under "b" for V8, whatever the wire's order.
    const wire = `{,1:bi${1n << 64n},1:1s1:\ud800}`;
    assert.equal(
      failureOf(() => new WireReader(wire).value()),
      "EXEC_VALUE_INVALID: text is not well-formed",
    );
  });

  it("carries text of any code units: zero characters, lone surrogates, long and astral text", () => {
    for (const text of ["a\u0000b", "\ud83d\ude00", "x".repeat(70_000), ":;[]{}s3:abc"]) {
      assert.equal(new WireReader(wireOf(text)).value(), text);
    }
    assert.equal(
      failureOf(() => new WireReader(wireOf("\udc00")).value()),
      "EXEC_VALUE_INVALID: text is not well-formed",
    );
  });

  it("reads messages, steps and letters as the prelude writes them", () => {
    const reader = new WireReader("-17;E[s3:abc{}i-5][s4:CODEs2:hi]n");
    assert.equal(reader.steps(), -17);
    assert.equal(reader.character(), "E");
    assert.deepEqual(reader.value(), ["abc", Object.create(null), -5n]);
    assert.equal(reader.character(), "[");
    assert.equal(reader.text(), "CODE");
    assert.equal(reader.text(), "hi");
    assert.equal(reader.character(), "]");
    assert.equal(reader.text(), null);
    assert.ok(reader.atEnd);
  });
});
