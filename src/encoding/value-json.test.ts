import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { equalValues, type Value } from "./value.ts";
import { ValueJsonError, valueFromJson, valueToJson } from "./value-json.ts";

const valueArbitrary: fc.Arbitrary<Value> = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
    fc.uint8Array({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("$int", "$bytes", "$", "$$x")),
      tie("value"),
      { maxKeys: 5 },
    ),
  ),
})).value;

function expectInvalid(json: unknown, pathExpected: string): void {
  assert.throws(
    () => valueFromJson(json),
    (error: unknown) =>
      error instanceof ValueJsonError &&
      error.code === "VALUE_JSON_INVALID" &&
      error.details.path === pathExpected,
  );
}

describe("value JSON form", () => {
  it("round-trips every canonical value through JSON text", () => {
    fc.assert(
      fc.property(valueArbitrary, (value) => {
        const text = JSON.stringify(valueToJson(value));
        assert.ok(equalValues(valueFromJson(JSON.parse(text)), value));
      }),
      { numRuns: 500 },
    );
  });

  it("writes small integers as numbers, large ones and bytes as tags", () => {
    assert.deepEqual(valueToJson({ a: 5n, b: 1n << 60n, c: new Uint8Array([1, 255]) }), {
      a: 5,
      b: { $int: "1152921504606846976" },
      c: { $bytes: "01ff" },
    });
  });

  it("refuses what is not a canonical value, naming the path", () => {
    expectInvalid({ amount: 1.5 }, "/amount");
    expectInvalid([1, 2 ** 60], "/1");
    expectInvalid({ id: { $bytes: "ABC" } }, "/id");
    expectInvalid({ id: { $bytes: "0g" } }, "/id");
    expectInvalid({ n: { $int: "9223372036854775808" } }, "/n");
    expectInvalid({ n: { $int: 5 } }, "/n");
    expectInvalid({ $int: "1", other: 2 }, "/");
    expectInvalid({ list: [{ deep: undefined }] }, "/list/0/deep");
    let deep: unknown = 1;
    for (let level = 0; level < 20; level++) deep = [deep];
    assert.throws(() => valueFromJson(deep), ValueJsonError);
  });
});
