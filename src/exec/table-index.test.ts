import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex, compareBytes } from "../base/bytes.ts";
import type { ContractState } from "./contract.ts";
import { TABLE_INDEX_IDS_MAX, TABLE_INDEX_PAGE_IDS_MAX } from "./limits.ts";
import { decodeIndexMeta, decodeIndexPage, TableIndex, tableIndexTableOf } from "./table-index.ts";

/** A ContractState over a Map, counting its writes. */
function memoryState(): ContractState & { entries: Map<string, Uint8Array>; writes: number } {
  const entries = new Map<string, Uint8Array>();
  const keyOf = (table: string, id: Uint8Array) => `${table}/${bytesToHex(id)}`;
  const state = {
    entries,
    writes: 0,
    get: (table: string, id: Uint8Array) => entries.get(keyOf(table, id)),
    set: (table: string, id: Uint8Array, value: Uint8Array) => {
      state.writes += 1;
      entries.set(keyOf(table, id), value.slice());
    },
    delete: (table: string, id: Uint8Array) => {
      state.writes += 1;
      entries.delete(keyOf(table, id));
    },
  };
  return state;
}

const encoder = new TextEncoder();
const idOf = (text: string) => encoder.encode(text);

function sortedModel(model: Set<string>): Uint8Array[] {
  return [...model].map((hex) => Uint8Array.from(Buffer.from(hex, "hex"))).sort(compareBytes);
}

/** Checks the stored structure: pages in order, sizes, adjacent pages more than half a page. */
function checkStructure(state: ReturnType<typeof memoryState>, table: string, count: number): void {
  const indexTable = tableIndexTableOf(table);
  const metaBytes = state.entries.get(`${indexTable}/${bytesToHex(idOf("meta"))}`);
  if (count === 0) {
    assert.equal(metaBytes, undefined);
    return;
  }
  assert.ok(metaBytes !== undefined);
  const meta = decodeIndexMeta(metaBytes);
  assert.equal(meta.count, count);
  let previousLast: Uint8Array | null = null;
  let previousSize = 0;
  let total = 0;
  for (const ref of meta.pages) {
    const pageId = new Uint8Array([...idOf("page"), 0, 0, (ref.pageNo >>> 8) & 0xff, ref.pageNo & 0xff]);
    const bytes = state.entries.get(`${indexTable}/${bytesToHex(pageId)}`);
    assert.ok(bytes !== undefined, "a listed page exists");
    const ids = decodeIndexPage(bytes);
    assert.deepEqual(ids[0], ref.firstId);
    for (let index = 1; index < ids.length; index++)
      assert.ok(compareBytes(ids[index - 1]!, ids[index]!) < 0);
    if (previousLast !== null) {
      assert.ok(compareBytes(previousLast, ids[0]!) < 0);
      assert.ok(previousSize + ids.length > TABLE_INDEX_PAGE_IDS_MAX / 2, "adjacent pages are not sparse");
    }
    previousLast = ids[ids.length - 1]!;
    previousSize = ids.length;
    total += ids.length;
  }
  assert.equal(total, count);
}

type Operation =
  | { kind: "insert"; id: string }
  | { kind: "remove"; id: string }
  | { kind: "flush" }
  | { kind: "scan"; prefix: string; after: string | null; limit: number };

const idArbitrary = fc.stringMatching(/^[a-d]{1,5}$/);
const operationArbitrary: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 6, arbitrary: idArbitrary.map((id) => ({ kind: "insert" as const, id })) },
  { weight: 3, arbitrary: idArbitrary.map((id) => ({ kind: "remove" as const, id })) },
  { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("scan" as const),
      prefix: fc.stringMatching(/^[a-d]{0,2}$/),
      after: fc.option(idArbitrary, { nil: null }),
      limit: fc.integer({ min: 1, max: 400 }),
    }),
  },
);

describe("TableIndex", () => {
  it("scans equal a sorted model under random inserts, removes and flushes", () => {
    fc.assert(
      fc.property(
        fc.array(operationArbitrary, { minLength: 1, maxLength: 1500, size: "max" }),
        (operations) => {
          const state = memoryState();
          let index = new TableIndex(state);
          const model = new Set<string>();
          for (const operation of operations) {
            if (operation.kind === "insert") {
              assert.ok(index.insert("rows", idOf(operation.id)).ok);
              model.add(bytesToHex(idOf(operation.id)));
            } else if (operation.kind === "remove") {
              index.remove("rows", idOf(operation.id));
              model.delete(bytesToHex(idOf(operation.id)));
            } else if (operation.kind === "flush") {
              index.flush();
              checkStructure(state, "rows", model.size);
              index = new TableIndex(state); // the next call reads everything back from the state
            } else {
              const prefix = idOf(operation.prefix);
              const after = operation.after === null ? undefined : idOf(operation.after);
              const expected = sortedModel(model)
                .filter((id) => Buffer.from(id).subarray(0, prefix.length).equals(prefix))
                .filter((id) => after === undefined || compareBytes(id, after) > 0)
                .slice(0, operation.limit);
              const options =
                after === undefined
                  ? { prefix, limit: operation.limit }
                  : { prefix, after, limit: operation.limit };
              assert.deepEqual(index.scan("rows", options), expected);
            }
          }
          index.flush();
          checkStructure(state, "rows", model.size);
          const reread = new TableIndex(state);
          assert.deepEqual(reread.scan("rows", { limit: 100_000 }), sortedModel(model));
          assert.equal(reread.count("rows"), model.size);
          for (const hex of model) assert.ok(reread.has("rows", Uint8Array.from(Buffer.from(hex, "hex"))));
        },
      ),
      { numRuns: 25 },
    );
  });

  it("fills pages when ids arrive in order and writes each page once per flush", () => {
    const state = memoryState();
    const index = new TableIndex(state);
    for (let number = 0; number < 1000; number++) {
      assert.ok(index.insert("rows", idOf(`r${String(number).padStart(5, "0")}`)).ok);
    }
    index.flush();
    const pages = Math.ceil(1000 / TABLE_INDEX_PAGE_IDS_MAX);
    assert.equal(state.writes, pages + 1, "one write per page plus the page list");
    checkStructure(state, "rows", 1000);
  });

  it("refuses a new id past TABLE_INDEX_IDS_MAX and keeps the others", () => {
    const state = memoryState();
    const index = new TableIndex(state);
    for (let number = 0; number < TABLE_INDEX_IDS_MAX; number++) {
      assert.ok(index.insert("rows", idOf(`r${String(number).padStart(5, "0")}`)).ok);
    }
    const refused = index.insert("rows", idOf("zzz"));
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.equal(refused.error.code, "EXEC_TABLE_INDEX_FULL");
    assert.ok(index.insert("rows", idOf("r00000")).ok, "an id already present is not new");
    index.remove("rows", idOf("r00000"));
    assert.ok(index.insert("rows", idOf("zzz")).ok);
    index.flush();
    checkStructure(state, "rows", TABLE_INDEX_IDS_MAX);
  });

  it("keeps tables apart", () => {
    const state = memoryState();
    const index = new TableIndex(state);
    index.insert("a", idOf("x"));
    index.insert("b", idOf("y"));
    index.flush();
    const reread = new TableIndex(state);
    assert.deepEqual(reread.scan("a", { limit: 10 }), [idOf("x")]);
    assert.deepEqual(reread.scan("b", { limit: 10 }), [idOf("y")]);
  });
});

describe("table index reads the transaction cannot make", () => {
  /** The index of "t" with two pages, then a state whose reads are refused (as an executor's are
   * once the transaction ran out of gas or broke a limit: `get` answers nothing). */
  function refusingState(withPeek: boolean): ContractState {
    const written = memoryState();
    const index = new TableIndex(written);
    for (let id = 0; id < TABLE_INDEX_PAGE_IDS_MAX + 2; id++) {
      assert.ok(index.insert("t", idOf(`id-${String(id).padStart(4, "0")}`)).ok);
    }
    index.flush();
    const refusing: ContractState = {
      get: () => undefined,
      set: () => undefined,
      delete: () => undefined,
    };
    if (withPeek) refusing.peek = (table, id) => written.get(table, id);
    return refusing;
  }

  it("fails the operation with EXEC_READ_REFUSED when the state still holds the entry", () => {
    const index = new TableIndex(refusingState(true));
    assert.throws(
      () => index.insert("t", idOf("id-0001x")),
      (error: unknown) => (error as { code?: string }).code === "EXEC_READ_REFUSED",
    );
  });

  it("treats a listed page the state lacks as a broken index", () => {
    // Only the meta entry of a whole index: it lists pages that neither get nor peek finds.
    const whole = memoryState();
    const source = new TableIndex(whole);
    for (let id = 0; id < TABLE_INDEX_PAGE_IDS_MAX + 2; id++)
      assert.ok(source.insert("t", idOf(`id-${id}`)).ok);
    source.flush();
    const metaOnly = memoryState();
    for (const [key, value] of whole.entries) {
      if (key.endsWith(bytesToHex(idOf("meta")))) metaOnly.entries.set(key, value);
    }
    const withPeek: ContractState = { ...metaOnly, peek: (table, id) => metaOnly.get(table, id) };
    assert.throws(() => new TableIndex(withPeek).insert("t", idOf("id-5x")), /a listed page exists/);
  });
});
