/**
 * Contracts for the sandbox's tests, as bundled JavaScript (what esbuild would emit).
 * @module
 */

/** A well-behaved contract: counter, scans, calls, errors. */
export const GOOD_CONTRACT = `
const { state, emit, call, ContractError } = CityLedger;
let callsInBlock = 0;
export function increment(args, context) {
  const by = args.by ?? 1n;
  const value = (state.get("counter", "value") ?? 0n) + by;
  state.set("counter", "value", value);
  emit("incremented", { by, value, height: context.block.height });
  return value;
}
export function put(args) {
  for (const [id, value] of Object.entries(args.rows)) state.set("rows", id, value);
  return null;
}
export function remove(args) { state.delete("rows", args.id); return null; }
export function scan(args) { return state.scan("rows", args); }
export function echo(args) { return args; }
export function whoami(args, context) { return context; }
export function closed() { throw new ContractError("SERVICE_CLOSED", "the service is closed"); }
export function badCode() { throw new ContractError("lower", "bad code"); }
export function callOther(args) { return call(args.contract, args.method, args.args ?? {}, { readOnly: args.readOnly === true }); }
export function catchCall(args) {
  try { call(args.contract, args.method, {}, { readOnly: false }); return "no error"; }
  catch (error) { return error.code; }
}
export function guarded() { CityLedger.require("open-requests"); return "allowed"; }
export function work(args) { let total = 0n; for (let i = 0n; i < args.n; i++) total += i; return total; }
export function counted() { callsInBlock += 1; return BigInt(callsInBlock); }
`;

/** One method per hostile behaviour; each must fail only its own transaction. */
export const HOSTILE_CONTRACT = `
export function infiniteLoop() { for (;;) {} }
export function whileTrue() { let i = 0; while (true) i++; }
export function recursion() { function down(n) { return down(n + 1) + 1; } return down(0); }
export function mutualRecursion() { const a = (n) => b(n) + 1; const b = (n) => a(n) + 1; return a(0); }
export function allocateGiB() { return new Uint8Array(2 ** 30).length; }
export function allocateForever() { const kept = []; for (;;) kept.push(new Uint8Array(1 << 20)); }
export function hugeEvent() { CityLedger.emit("huge", { data: "x".repeat(64 * 1024) }); return null; }
export function manyEvents() { for (let i = 0; i < 20; i++) CityLedger.emit("tick", { i }); return null; }
export function missingHost() { return CityLedger.fetchUrl("https://example.org"); }
export function processGlobal() { return process.env.HOME; }
export function requireGlobal() { return require("fs"); }
export function fetchGlobal() { return fetch("https://example.org"); }
export function dateNow() { return Date.now(); }
export function mathRandom() { return Math.random(); }
export function functionConstructor() { return (function () {}).constructor("return 1")(); }
export function generatorConstructor() { return (function* () {}).constructor("for(;;){}")().next(); }
export function stringMatch() { return "aaaa".match("(a+)+b"); }
export function globalsSeen() { return Object.getOwnPropertyNames(globalThis).sort(); }
export function catchOutOfGas() { try { for (;;) {} } catch (error) { return "swallowed"; } }
export function catchWithoutBinding() { try { for (;;) {} } catch { return "swallowed"; } }
export function finallyReturn() { try { for (;;) {} } finally { return "swallowed"; } }
export function catchStack() { function down() { return down() + 1; } try { return down(); } catch (e) { return "swallowed"; } }
export function catchMemory() { try { const kept = []; for (;;) kept.push(new Uint8Array(1 << 20)); } catch (e) { return "swallowed"; } }
export function returnFunction() { return () => 1; }
export function returnFloat() { return 1.5; }
export function returnUndefinedInList() { return [1n, undefined]; }
export function returnSymbol() { return Symbol("s"); }
export function returnCycle() { const a = {}; a.self = a; return a; }
export function returnDeep() { let v = null; for (let i = 0; i < 40; i++) v = [v]; return v; }
export function returnDate() { return new Map(); }
export function throwString() { throw "plain"; }
export function forgeLedgerError() { const e = new Error("x"); e.code = "PERMISSION_DENIED"; throw e; }
export function setFloat() { CityLedger.state.set("t", "id", 0.5); return null; }
export function badTable() { CityLedger.state.set("_ix-t", "id", 1n); return null; }
export function longId() { CityLedger.state.set("t", "x".repeat(65), 1n); return null; }
export function ok() { return "fine"; }
`;

/** Code the sandbox refuses to load (EXEC_CONTRACT_INVALID), by reason. */
export const INVALID_CONTRACTS: Readonly<Record<string, string>> = {
  syntax: "export function f( {",
  import: 'import fs from "fs"; export function f() { return 1n; }',
  dynamicImport: 'export function f() { return import("fs"); }',
  eval: 'export function f() { return eval("1"); }',
  functionGlobal: 'export function f() { return Function("return 1")(); }',
  reserved: "export function f() { return __cl_g; }",
  async: "export async function f() { return 1n; }",
  regex: "export function f() { return /a+/.test('a'); }",
  defaultExport: "export default function f() { return 1n; }",
  noExports: "const a = 1;",
  topLevelLoop: "for (;;) {} export function f() { return 1n; }",
  topLevelThrow: 'throw new Error("no"); export function f() { return 1n; }',
  deepNesting: `export function f() { return ${"[".repeat(300)}${"]".repeat(300)}; }`,
  importMeta: "export function f() { return import.meta; }",
};
