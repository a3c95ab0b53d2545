/**
 * Rows kept in the VM (ADR 0011) change nothing but speed: the same transactions through an
 * engine that keeps rows and one that does not give the same results, gas, writes, events and
 * state, byte for byte, in the test context and through executeBlock. Random sequences mix
 * read-modify-writes, writes of every kind of value, deletes, throws after writes, budgets that
 * run out anywhere, re-entrant and read-only calls, more rows than are kept, and blocks one
 * after the other; the scenarios after them pin the cases one by one.
 * @module
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import fc from "fast-check";
import { bytesToHex } from "../../base/bytes.ts";
import { ed25519Suite } from "../../crypto/ed25519.ts";
import type { Value } from "../../encoding/value.ts";
import type { ValidTransaction } from "../../ledger/validate-transaction.ts";
import { SparseMerkleTree } from "../../state/sparse-merkle-tree.ts";
import type { DeployedContract } from "../execute-block.ts";
import { executeBlock } from "../execute-block.ts";
import { SANDBOX_READ_CACHE_ROWS, TX_EVENTS_MAX } from "../limits.ts";
import { loadSandboxEngine, type QuickJsSandboxEngine } from "./engine.ts";
import { TestTransaction, TestWorld } from "./test-context.ts";

/** Runs `ops` in order: a tiny language over the contract API, so that sequences can be random. */
const DIFF_CONTRACT = `
const state = CityLedger.state;
const emit = CityLedger.emit;
const call = CityLedger.call;
const ContractError = CityLedger.ContractError;
function idOf(id) { return typeof id === "string" ? id : new Uint8Array(id.map(Number)); }
export function run(args) {
  const out = [];
  let spin = 0;
  for (const op of args.ops) {
    const kind = op[0];
    if (kind === "get") out.push(state.get(op[1], idOf(op[2])) ?? "none");
    else if (kind === "set") state.set(op[1], idOf(op[2]), op[3]);
    else if (kind === "number") state.set(op[1], idOf(op[2]), Number(op[3]));
    else if (kind === "add") {
      const now = state.get(op[1], idOf(op[2]));
      state.set(op[1], idOf(op[2]), (typeof now === "bigint" ? now : 0n) + op[3]);
    } else if (kind === "delete") state.delete(op[1], idOf(op[2]));
    else if (kind === "setBad") {
      // A value that is not one (a fraction): refused in the VM, caught here.
      try { state.set(op[1], idOf(op[2]), 1.5); } catch (error) { out.push("refused " + error.name); }
    } else if (kind === "callBad") {
      try { call(1, "run", {}, {}); } catch (error) { out.push("refused " + error.name); }
    }
    else if (kind === "emit") emit("seen", { value: op[3] });
    else if (kind === "spin") { for (let index = 0; index < Number(op[3]); index++) spin = (spin + index) % 7; }
    else if (kind === "throw") throw new ContractError("STOPPED", "stopped on purpose");
    else if (kind === "call") out.push(call("diff", "run", { ops: op[3] }, {}));
    else if (kind === "callOther") out.push(call("other", "run", { ops: op[3] }, {}));
    else if (kind === "callReadOnly") {
      try { out.push(call("diff", "run", { ops: op[3] }, { readOnly: true })); }
      catch (error) { out.push("refused " + error.code); }
    } else if (kind === "catch") {
      try { out.push(call("diff", "run", { ops: op[3] }, {})); }
      catch (error) { out.push("caught " + error.code); }
    }
  }
  out.push(spin);
  return out;
}
`;

type Op = readonly [string, string, string | readonly number[], Value | readonly Op[]];

const tables = fc.constantFrom("a", "b");
// Text ids are what is kept; a bytes id never is.
const ids = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("x", "y", "z", "w") },
  { weight: 1, arbitrary: fc.constant([1, 2] as readonly number[]) },
);
const scalars = fc.oneof(
  fc.bigInt({ min: -5n, max: 5n }),
  fc.constantFrom("", "text", "ünï"),
  fc.boolean(),
  fc.constant(null),
);
const values: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: scalars },
  { weight: 1, arbitrary: fc.array(fc.bigInt({ min: 0n, max: 9n }), { maxLength: 2 }) },
  { weight: 1, arbitrary: fc.record({ k: fc.bigInt({ min: 0n, max: 9n }) }) },
);

function opsOf(depth: number): fc.Arbitrary<Op[]> {
  const simple: fc.Arbitrary<Op>[] = [
    fc.tuple(fc.constant("get"), tables, ids, fc.constant(null)),
    fc.tuple(fc.constant("set"), tables, ids, values),
    fc.tuple(fc.constant("number"), tables, ids, fc.bigInt({ min: 0n, max: 9n })),
    fc.tuple(fc.constant("add"), tables, ids, fc.bigInt({ min: 1n, max: 3n })),
    fc.tuple(fc.constant("delete"), tables, ids, fc.constant(null)),
    fc.tuple(fc.constant("emit"), tables, ids, scalars),
    fc.tuple(fc.constant("spin"), tables, ids, fc.bigInt({ min: 0n, max: 400n })),
    fc.tuple(fc.constant("setBad"), tables, ids, fc.constant(null)),
    fc.tuple(fc.constant("callBad"), tables, ids, fc.constant(null)),
  ];
  // Reads and read-modify-writes of a few rows most, so that rows are kept and read again.
  const weighted: Array<{ weight: number; arbitrary: fc.Arbitrary<Op> }> = simple.map((arbitrary, index) => ({
    weight: index === 0 || index === 3 ? 12 : index <= 2 ? 3 : 1,
    arbitrary,
  }));
  weighted.push({ weight: 1, arbitrary: fc.tuple(fc.constant("throw"), tables, ids, fc.constant(null)) });
  if (depth < 2) {
    for (const kind of NESTING_OPS) {
      weighted.push({
        weight: 1,
        arbitrary: fc.tuple(fc.constant(kind), tables, ids, opsOf(depth + 1)) as fc.Arbitrary<Op>,
      });
    }
  }
  return fc.array(fc.oneof(...weighted), { minLength: 1, maxLength: 6 });
}

const NESTING_OPS = ["call", "callOther", "callReadOnly", "catch"];

/** The ops as the contract receives them (ids as text or byte lists; nested ops as lists). */
function opsValue(ops: readonly Op[]): Value[] {
  return ops.map((op): Value => {
    const id: Value = typeof op[2] === "string" ? op[2] : op[2].map((byte) => BigInt(byte));
    const operand = NESTING_OPS.includes(op[0]) ? opsValue(op[3] as Op[]) : (op[3] as Value);
    return [op[0], op[1], id, operand];
  });
}

function argsOf(ops: readonly Op[]): Value {
  return { ops: opsValue(ops) };
}

interface TxPlan {
  readonly ops: Op[];
  readonly gasLimit: bigint;
}
const txPlans = fc.record({
  ops: opsOf(0),
  // Small limits run out of gas at every point of a call; large ones let it finish.
  gasLimit: fc.oneof(
    { weight: 1, arbitrary: fc.bigInt({ min: 1_500n, max: 40_000n }) },
    { weight: 3, arbitrary: fc.constant(2_000_000n) },
  ),
});
const blockPlans = fc.array(fc.array(txPlans, { minLength: 1, maxLength: 8 }), {
  minLength: 1,
  maxLength: 3,
});

function stable(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (typeof item === "bigint") return `${item}n`;
    if (item instanceof Uint8Array) return bytesToHex(item);
    if (item !== null && typeof item === "object" && !Array.isArray(item)) {
      return Object.fromEntries(
        Object.keys(item)
          .sort()
          .map((key) => [key, (item as Record<string, unknown>)[key]]),
      );
    }
    return item;
  });
}

const code = new TextEncoder().encode(DIFF_CONTRACT);
const codeHash = new Uint8Array(32).fill(0x5a);

/** Reads the VM answered from kept rows, all blocks of the engine that keeps them together. */
let keptReads = 0;

/** Every transaction's outcome and the world after, through the test context. */
function transcriptInWorld(engine: QuickJsSandboxEngine, blocks: readonly (readonly TxPlan[])[]): string {
  const world = new TestWorld();
  const lines: string[] = [];
  for (const plans of blocks) {
    const block = engine.openBlock();
    // The same code twice: "other" is another contract, with rows of its own.
    for (const name of ["diff", "other"]) {
      const loaded = block.load(name, codeHash, code);
      assert.ok(loaded.ok);
      world.add(loaded.value);
    }
    for (const [txIndex, plan] of plans.entries()) {
      const tx = new TestTransaction(world, { gasLimit: plan.gasLimit, txIndex });
      const result = tx.run("diff", "run", argsOf(plan.ops));
      lines.push(
        stable({
          result: result.ok ? result.value : result.error.code,
          gas: tx.gasUsed,
          writes: tx.writes,
          events: tx.events,
        }),
      );
    }
    keptReads += block.keptReads;
    block.close();
    lines.push(stable(world.dump()));
  }
  return lines.join("\n");
}

const senderKeyId = new Uint8Array(32).fill(0x33);
let nextNonce = 0n;
function validOf(ops: readonly Op[], hashSeed: number): ValidTransaction {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, hashSeed);
  const nonce = nextNonce;
  nextNonce += 1n;
  return {
    transaction: {
      suiteCode: ed25519Suite.code,
      chainId: "read-cache-test",
      senderPublicKey: new Uint8Array(32).fill(0x33),
      nonce,
      expiryHeight: 1_000n,
      contract: "diff",
      method: "run",
      args: argsOf(ops),
      privateReferences: [],
      signature: new Uint8Array(64),
    },
    encoded: new Uint8Array(0),
    hash,
    senderKeyId,
  };
}

/** Receipts and state updates of each block through executeBlock (one gas limit per block). */
function transcriptInExecutor(engine: QuickJsSandboxEngine, blocks: readonly (readonly TxPlan[])[]): string {
  const tree = new SparseMerkleTree({ hash: ed25519Suite.hash });
  const deployed: DeployedContract = { version: 1n, codeHash, frozen: false, code };
  const lines: string[] = [];
  nextNonce = 0n;
  for (const [blockIndex, plans] of blocks.entries()) {
    const transactions = plans.map((plan, index) => validOf(plan.ops, blockIndex * 100 + index + 1));
    const outcome = executeBlock(
      {
        chainId: "read-cache-test",
        height: BigInt(blockIndex + 1),
        timeMs: 1_767_225_600_000n,
        suite: ed25519Suite,
        // The block's first plan sets the limit of all its transactions.
        txGasMax: plans[0]!.gasLimit < 20_000n ? 20_000n : plans[0]!.gasLimit,
        sandbox: engine,
        deployed: { resolve: (name) => (name === "diff" || name === "other" ? deployed : undefined) },
        verifyLookups: true,
      },
      transactions,
      tree,
    );
    assert.ok(outcome.ok);
    tree.applyBatch(outcome.value.updates);
    lines.push(
      stable({
        receipts: outcome.value.receipts,
        errors: outcome.value.errors.map((error) => error?.code ?? null),
        events: outcome.value.events,
        root: tree.root,
      }),
    );
  }
  return lines.join("\n");
}

describe("rows kept in the VM (ADR 0011)", () => {
  let kept: QuickJsSandboxEngine;
  let plain: QuickJsSandboxEngine;

  before(async () => {
    kept = await loadSandboxEngine();
    plain = await loadSandboxEngine({ readCache: false });
  });

  it("change nothing in the test context: results, gas, writes, events, state", () => {
    keptReads = 0;
    fc.assert(
      fc.property(blockPlans, (blocks) => {
        assert.equal(transcriptInWorld(kept, blocks), transcriptInWorld(plain, blocks));
      }),
      { numRuns: 150 },
    );
    // The sequences do reach the kept rows (else this test would prove nothing). Random seeds give
    // 124–213 for 150 sequences (mean ≈ 175 over 30 seeds): half a read per sequence is a bound
    // no seed comes near, where 150 failed about one run in fifteen.
    assert.ok(keptReads >= 75, `reads answered in the VM: ${keptReads}`);
  });

  it("change nothing through executeBlock: receipts, errors, state root", () => {
    fc.assert(
      fc.property(blockPlans, (blocks) => {
        assert.equal(transcriptInExecutor(kept, blocks), transcriptInExecutor(plain, blocks));
      }),
      { numRuns: 60 },
    );
  });

  const scenarios: Array<[string, TxPlan[][]]> = [
    [
      "a transaction that fails after its write: the next read sees the row before it",
      [
        [
          { ops: [["set", "a", "x", 1n]], gasLimit: 2_000_000n },
          {
            ops: [
              ["add", "a", "x", 1n],
              ["throw", "a", "x", null],
            ],
            gasLimit: 2_000_000n,
          },
          { ops: [["get", "a", "x", null]], gasLimit: 2_000_000n },
        ],
      ],
    ],
    [
      "a read-only call that writes a kept row: refused, and the row stays",
      [
        [
          { ops: [["add", "a", "x", 1n]], gasLimit: 2_000_000n },
          {
            ops: [
              ["get", "a", "x", null],
              ["callReadOnly", "a", "x", [["add", "a", "x", 5n]]],
              ["get", "a", "x", null],
            ],
            gasLimit: 2_000_000n,
          },
          { ops: [["get", "a", "x", null]], gasLimit: 2_000_000n },
        ],
      ],
    ],
    [
      "a re-entrant call that writes the row the caller read",
      [
        [
          { ops: [["add", "a", "x", 1n]], gasLimit: 2_000_000n },
          {
            ops: [
              ["get", "a", "x", null],
              ["call", "a", "x", [["add", "a", "x", 2n]]],
              ["get", "a", "x", null],
            ],
            gasLimit: 2_000_000n,
          },
          {
            ops: [
              [
                "catch",
                "a",
                "x",
                [
                  ["add", "a", "x", 4n],
                  ["throw", "a", "x", null],
                ],
              ],
              ["get", "a", "x", null],
            ],
            gasLimit: 2_000_000n,
          },
        ],
      ],
    ],
    [
      "a limit broken mid-call (the executor refuses reads from then on): no kept row answers",
      [
        [
          { ops: [["add", "a", "x", 1n]], gasLimit: 2_000_000n },
          {
            ops: [
              ["get", "a", "x", null],
              ...Array.from({ length: TX_EVENTS_MAX + 1 }, (): Op => ["emit", "a", "x", 1n]),
              ["get", "a", "x", null],
              ["get", "a", "x", null],
              ["add", "a", "x", 1n],
            ],
            gasLimit: 2_000_000n,
          },
          { ops: [["get", "a", "x", null]], gasLimit: 2_000_000n },
        ],
      ],
    ],
    [
      "writes and calls the VM refuses (caught) leave both sides keeping the same rows",
      [
        [
          // Rows of different sizes: a read of the wrong one would be charged differently.
          {
            ops: [
              ["add", "a", "x", 1n],
              ["set", "a", "y", "a row of text longer than an integer's"],
            ],
            gasLimit: 2_000_000n,
          },
          {
            ops: [
              ["get", "a", "x", null],
              ["get", "a", "y", null],
              ["setBad", "a", "x", null],
              ["callBad", "a", "x", null],
              ["add", "a", "x", 1n],
              ["add", "a", "z", 1n],
              ["get", "a", "w", null],
              ["get", "a", "x", null],
              ["get", "a", "z", null],
            ],
            gasLimit: 2_000_000n,
          },
          {
            ops: [
              ["get", "a", "x", null],
              ["get", "a", "y", null],
              ["get", "a", "z", null],
            ],
            gasLimit: 2_000_000n,
          },
        ],
      ],
    ],
    [
      "a call to another contract between reads and writes of kept rows",
      [
        [
          // Rows of different sizes: a read of the wrong one would be charged differently.
          { ops: [["set", "a", "x", "a row of text longer than an integer's"]], gasLimit: 2_000_000n },
          {
            ops: [
              ["get", "a", "x", null],
              ["get", "a", "y", null],
              ["callOther", "a", "x", [["add", "a", "x", 1n]]],
              ["add", "a", "z", 1n],
              ["get", "a", "w", null],
              ["get", "a", "z", null],
              ["add", "a", "x", 1n],
            ],
            gasLimit: 2_000_000n,
          },
          {
            ops: [
              ["get", "a", "z", null],
              ["get", "a", "x", null],
            ],
            gasLimit: 2_000_000n,
          },
        ],
      ],
    ],
    [
      `more rows than the ${SANDBOX_READ_CACHE_ROWS} kept, across two blocks`,
      [
        [
          {
            ops: Array.from(
              { length: SANDBOX_READ_CACHE_ROWS + 4 },
              (_, index): Op => ["add", "a", `r${index}`, 1n],
            ),
            gasLimit: 2_000_000n,
          },
          {
            ops: Array.from(
              { length: SANDBOX_READ_CACHE_ROWS + 4 },
              (_, index): Op => ["get", "a", `r${index}`, null],
            ),
            gasLimit: 2_000_000n,
          },
        ],
        [
          {
            ops: [
              ["get", "a", "r0", null],
              ["add", "a", "r0", 1n],
            ],
            gasLimit: 2_000_000n,
          },
        ],
      ],
    ],
    [
      "gas that runs out at a kept read, and just after it",
      [
        [
          { ops: [["add", "a", "x", 1n]], gasLimit: 2_000_000n },
          // A failed call drops the rows: each short one follows one that keeps the row again.
          ...Array.from({ length: 16 }, (_, index): TxPlan[] => [
            { ops: [["get", "a", "x", null]], gasLimit: 2_000_000n },
            {
              ops: [
                ["get", "a", "x", null],
                ["spin", "a", "x", 20n],
                ["get", "a", "x", null],
              ],
              gasLimit: 1_000n + BigInt(index) * 60n,
            },
          ]).flat(),
        ],
      ],
    ],
  ];
  // Found by the differential test: the table index failed an assertion after running out of gas.
  // At these low limits the calls may end before any read of a kept row.
  const noKeptReadsNeeded = new Set([
    "a sequence the differential test once found (nested calls, limits, low gas)",
  ]);
  scenarios.push([
    "a sequence the differential test once found (nested calls, limits, low gas)",
    [
      [
        [
          {
            ops: [
              [
                "call",
                "b",
                "w",
                [
                  ["catch", "b", "w", [["get", "b", "w", null]]],
                  ["get", "b", [1, 2], null],
                ],
              ],
              ["add", "a", "z", 2n],
              ["get", "b", "w", null],
              ["add", "b", "y", 3n],
              ["add", "a", "z", 2n],
            ],
            gasLimit: 17316n,
          },
          {
            ops: [
              [
                "call",
                "a",
                [1, 2],
                [
                  ["set", "b", [1, 2], ""],
                  ["number", "a", "z", 1n],
                  ["emit", "a", [1, 2], -1n],
                  ["delete", "a", "w", null],
                  ["get", "a", "y", null],
                  ["add", "b", "y", 1n],
                ],
              ],
              ["set", "b", "z", { k: 2n }],
              ["number", "a", "w", 9n],
              ["get", "b", "z", null],
            ],
            gasLimit: 30536n,
          },
          {
            ops: [
              ["get", "b", "x", null],
              ["spin", "b", "w", 124n],
              ["add", "b", [1, 2], 1n],
              ["set", "b", "w", null],
            ],
            gasLimit: 2000000n,
          },
          {
            ops: [
              ["number", "b", [1, 2], 5n],
              ["get", "a", "w", null],
              [
                "call",
                "b",
                "w",
                [
                  ["set", "a", "z", { k: 5n }],
                  ["get", "b", "z", null],
                  ["add", "b", "z", 2n],
                  ["get", "a", "z", null],
                  ["number", "b", "y", 3n],
                ],
              ],
              ["get", "a", "y", null],
            ],
            gasLimit: 16344n,
          },
          {
            ops: [
              ["number", "b", "z", 2n],
              ["set", "a", [1, 2], true],
              ["emit", "a", [1, 2], null],
              ["get", "b", [1, 2], null],
              ["get", "b", "w", null],
              [
                "callReadOnly",
                "b",
                "w",
                [
                  ["add", "a", "z", 3n],
                  ["set", "b", "y", [2n, 0n]],
                ],
              ],
            ],
            gasLimit: 2000000n,
          },
          { ops: [["spin", "b", "z", 136n]], gasLimit: 2000000n },
          {
            ops: [
              ["add", "a", "z", 2n],
              ["get", "b", [1, 2], null],
              ["add", "b", "z", 2n],
              ["get", "a", "w", null],
            ],
            gasLimit: 2000000n,
          },
          {
            ops: [
              ["get", "b", [1, 2], null],
              ["get", "a", "y", null],
              ["add", "a", "w", 3n],
            ],
            gasLimit: 2000000n,
          },
        ],
      ],
    ][0] as unknown as TxPlan[][],
  ]);
  for (const [name, blocks] of scenarios) {
    it(name, () => {
      const fixed = blocks.map((plans) =>
        plans.map((plan) => ({ ...plan, ops: plan.ops.map((op) => op.slice(0, 4) as unknown as Op) })),
      );
      keptReads = 0;
      assert.equal(transcriptInWorld(kept, fixed), transcriptInWorld(plain, fixed));
      if (!noKeptReadsNeeded.has(name)) assert.ok(keptReads > 0, "the scenario reads kept rows");
      assert.equal(transcriptInExecutor(kept, fixed), transcriptInExecutor(plain, fixed));
    });
  }
});
