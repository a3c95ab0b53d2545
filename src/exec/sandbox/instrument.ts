/**
 * Checking and instrumenting a contract's bundled code before it runs in QuickJS (ADR 0007,
 * "Gas"). Gas must be a deterministic step count, so the code is parsed with acorn and rewritten:
 *
 * - Every *region* (a function body, a loop's body with its test and update, the module's top
 *   level) starts with `if ((__cl_g -= N) < 0) __cl_oog();` where N is the number of AST nodes of
 *   that region, nested functions and loop bodies excluded (they charge on their own). One step is
 *   one node, charged when its region is entered: straight-line code is bounded by its size, loops
 *   pay per iteration, calls per entry. The counter `__cl_g` is a local of the wrapper, so no host
 *   call is made per step. `__cl_oog()` throws a sentinel.
 * - Every `catch` first calls `__cl_guard(error)`, which rethrows the out-of-gas sentinel and
 *   QuickJS's own out-of-memory and stack-overflow errors (and remembers them), so a contract
 *   cannot swallow them; a `try … finally` without catch gets one that does the same. A `finally`
 *   that returns still cannot hide them: the wrapper checks the counter and the remembered error.
 * - Module syntax is turned into a function: `export` declarations become plain declarations and
 *   the exported names are collected into a null-prototype object the wrapper returns.
 *
 * Refused (EXEC_CONTRACT_INVALID): imports of any kind, `export *`, `export default` (methods are
 * named), `with`, async functions, `await`, `import.meta`, regular-expression literals (QuickJS's
 * backtracking could run unmetered), the identifiers `eval` and `Function` and any identifier
 * starting with `__cl` (reserved for the instrumentation), and nesting deeper than
 * SANDBOX_AST_DEPTH_MAX.
 *
 * Pure and deterministic: the same source gives the same output on every node.
 * @module
 */
import { type Node, type Options, parse } from "acorn";
import { assert } from "../../base/assert.ts";
import { fail, ok, type Result } from "../../base/errors.ts";
import { ExecutionError } from "../errors.ts";
import { SANDBOX_CODE_BYTES_MAX } from "../limits.ts";

/** Nesting of the contract's syntax tree; deeper code is refused (keeps parsers' stacks small). */
export const SANDBOX_AST_DEPTH_MAX = 200;
/** Identifiers with this prefix belong to the instrumentation. */
export const RESERVED_IDENTIFIER_PREFIX = "__cl";
const IDENTIFIERS_REFUSED = new Set(["eval", "Function"]);
const EXPORT_NAME_PATTERN = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

export interface InstrumentedContract {
  /**
   * A JavaScript expression: `(function (__cl_oog, __cl_guard, __cl_g) {…})`. Called with the
   * out-of-gas thrower, the catch guard and a step budget for the top-level code, it returns
   * `{exports, gasGet, gasSet, gasCharge}` (gasCharge takes steps off and gives what is left).
   */
  readonly factorySource: string;
  /** Exported names, sorted. */
  readonly exportNames: readonly string[];
}

interface Insertion {
  readonly position: number;
  readonly text: string;
  /** Closers go before openers at one position, inner closers first, outer openers first. */
  readonly isCloser: boolean;
  readonly depth: number;
}

type AnyNode = Node & Record<string, unknown>;

function invalid(message: string, details: Record<string, string | number> = {}): ExecutionError {
  return new ExecutionError("EXEC_CONTRACT_INVALID", message, details);
}

class Refusal extends Error {
  readonly error: ExecutionError;
  constructor(error: ExecutionError) {
    super(error.message);
    this.error = error;
  }
}

function isNode(value: unknown): value is AnyNode {
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

const LOOP_TYPES = new Set([
  "WhileStatement",
  "DoWhileStatement",
  "ForStatement",
  "ForInStatement",
  "ForOfStatement",
]);
const FUNCTION_TYPES = new Set(["FunctionDeclaration", "FunctionExpression", "ArrowFunctionExpression"]);
/** Children of a loop evaluated on every iteration (charged in the loop's own region). */
const LOOP_ITERATION_KEYS = new Set(["body", "test", "update"]);

function chargeStatement(steps: number): string {
  return `if ((__cl_g -= ${steps}) < 0) __cl_oog();`;
}

function chargeExpression(steps: number): string {
  return `((__cl_g -= ${steps}) < 0 && __cl_oog(), `;
}

class Instrumenter {
  readonly insertions: Insertion[] = [];
  readonly removals: Array<{ start: number; end: number }> = [];
  readonly exports = new Map<string, string>();
  readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  insert(position: number, text: string, isCloser: boolean, depth: number): void {
    this.insertions.push({ position, text, isCloser, depth });
  }

  /** Walks `node`, adding its nodes to the step count of the current region; returns that count. */
  walk(node: AnyNode, parent: AnyNode | null, key: string, depth: number): number {
    if (depth > SANDBOX_AST_DEPTH_MAX) {
      throw new Refusal(invalid("the code nests too deeply", { depthMax: SANDBOX_AST_DEPTH_MAX }));
    }
    this.check(node, parent, key);
    if (FUNCTION_TYPES.has(node.type)) {
      this.functionRegion(node, depth);
      return 1;
    }
    let steps = 1;
    const isLoop = LOOP_TYPES.has(node.type);
    let loopSteps = 0;
    for (const childKey of Object.keys(node)) {
      const child = node[childKey];
      const counted = (childNode: AnyNode) => {
        const childSteps = this.walk(childNode, node, childKey, depth + 1);
        if (isLoop && LOOP_ITERATION_KEYS.has(childKey)) loopSteps += childSteps;
        else steps += childSteps;
      };
      if (Array.isArray(child)) {
        for (const item of child) if (isNode(item)) counted(item);
      } else if (isNode(child)) {
        counted(child);
      }
    }
    if (isLoop) this.chargeLoopBody(node.body as AnyNode, loopSteps + 1, depth);
    if (node.type === "CatchClause") this.guardCatch(node, depth);
    if (node.type === "TryStatement" && node.handler === null) {
      const block = node.block as AnyNode;
      this.insert(block.end, " catch (__cl_e) { __cl_guard(__cl_e); throw __cl_e; }", false, depth);
    }
    return steps;
  }

  functionRegion(node: AnyNode, depth: number): void {
    let steps = 1;
    for (const param of node.params as AnyNode[]) steps += this.walk(param, node, "params", depth + 1);
    if (node.id !== null && node.id !== undefined) this.check(node.id as AnyNode, node, "id");
    const body = node.body as AnyNode;
    steps += this.walk(body, node, "body", depth + 1);
    if (body.type === "BlockStatement") {
      this.insert(body.start + 1, chargeStatement(steps), false, depth);
    } else {
      this.insert(body.start, chargeExpression(steps), false, depth);
      this.insert(body.end, ")", true, depth);
    }
  }

  chargeLoopBody(body: AnyNode, steps: number, depth: number): void {
    if (body.type === "BlockStatement") {
      this.insert(body.start + 1, chargeStatement(steps), false, depth);
    } else {
      this.insert(body.start, `{ ${chargeStatement(steps)} `, false, depth);
      this.insert(body.end, " }", true, depth);
    }
  }

  guardCatch(node: AnyNode, depth: number): void {
    const body = node.body as AnyNode;
    const param = node.param as AnyNode | null;
    if (param === null) {
      // `catch {` → `catch (__cl_e) {`
      this.insert(node.start + "catch".length, " (__cl_e)", false, depth);
      this.insert(body.start + 1, "__cl_guard(__cl_e);", false, depth);
    } else if (param.type === "Identifier") {
      this.insert(body.start + 1, `__cl_guard(${param.name as string});`, false, depth);
    } else {
      // A destructuring parameter would run before the guard: refuse it.
      throw new Refusal(invalid("catch parameters must be plain names"));
    }
  }

  check(node: AnyNode, parent: AnyNode | null, key: string): void {
    switch (node.type) {
      case "ImportDeclaration":
      case "ImportExpression":
      case "ExportAllDeclaration":
        throw new Refusal(invalid("contracts cannot import: bundle the code into one module"));
      case "ExportDefaultDeclaration":
        throw new Refusal(invalid("contracts export named methods, not a default"));
      case "WithStatement":
        throw new Refusal(invalid("`with` is not allowed"));
      case "AwaitExpression":
        throw new Refusal(invalid("`await` is not allowed: contracts are synchronous"));
      case "MetaProperty":
        if ((node.meta as AnyNode).name === "import")
          throw new Refusal(invalid("`import.meta` is not allowed"));
        return;
      case "Literal":
        if (node.regex !== undefined) {
          throw new Refusal(invalid("regular expressions are not allowed (their run time is not metered)"));
        }
        return;
      case "ForOfStatement":
        if (node.await === true) throw new Refusal(invalid("`for await` is not allowed"));
        return;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
        if (node.async === true) throw new Refusal(invalid("async functions are not allowed"));
        return;
      case "ExportNamedDeclaration":
        this.exportDeclaration(node);
        return;
      case "Identifier":
        this.checkIdentifier(node, parent, key);
        return;
      default:
        return;
    }
  }

  checkIdentifier(node: AnyNode, parent: AnyNode | null, key: string): void {
    const name = node.name as string;
    const isPropertyName =
      parent !== null &&
      parent.computed !== true &&
      ((parent.type === "MemberExpression" && key === "property") ||
        ((parent.type === "Property" ||
          parent.type === "MethodDefinition" ||
          parent.type === "PropertyDefinition") &&
          key === "key" &&
          parent.shorthand !== true));
    if (name.startsWith(RESERVED_IDENTIFIER_PREFIX)) {
      throw new Refusal(
        invalid(`identifiers starting with ${RESERVED_IDENTIFIER_PREFIX} are reserved`, { name }),
      );
    }
    if (!isPropertyName && IDENTIFIERS_REFUSED.has(name)) {
      throw new Refusal(invalid(`\`${name}\` is not available to contracts`, { name }));
    }
  }

  exportDeclaration(node: AnyNode): void {
    if (node.source !== null && node.source !== undefined) {
      throw new Refusal(invalid("contracts cannot re-export from other modules"));
    }
    const declaration = node.declaration as AnyNode | null;
    if (declaration !== null) {
      this.removals.push({ start: node.start, end: declaration.start });
      if (declaration.type === "VariableDeclaration") {
        for (const declarator of declaration.declarations as AnyNode[]) {
          const id = declarator.id as AnyNode;
          if (id.type !== "Identifier") throw new Refusal(invalid("exported bindings must be plain names"));
          this.addExport(id.name as string, id.name as string);
        }
      } else {
        this.addExport(
          (declaration.id as AnyNode).name as string,
          (declaration.id as AnyNode).name as string,
        );
      }
      return;
    }
    this.removals.push({ start: node.start, end: node.end });
    for (const specifier of node.specifiers as AnyNode[]) {
      const local = specifier.local as AnyNode;
      const exported = specifier.exported as AnyNode;
      const exportedName =
        exported.type === "Identifier" ? (exported.name as string) : String(exported.value);
      this.addExport(local.name as string, exportedName);
    }
  }

  addExport(local: string, exported: string): void {
    if (!EXPORT_NAME_PATTERN.test(exported)) {
      throw new Refusal(invalid("an exported name is not a method name", { name: exported.slice(0, 64) }));
    }
    if (this.exports.has(exported))
      throw new Refusal(invalid("a name is exported twice", { name: exported }));
    this.exports.set(exported, local);
  }

  /** The source with the insertions and removals applied. */
  output(): string {
    const edits = [
      ...this.insertions.map((insertion) => ({ ...insertion, end: insertion.position })),
      ...this.removals.map((removal) => ({
        position: removal.start,
        end: removal.end,
        text: "",
        isCloser: true,
        depth: Number.MAX_SAFE_INTEGER,
      })),
    ];
    // Stable order: by position; at one position closers (inner first), then openers (outer first).
    edits.sort((left, right) => {
      if (left.position !== right.position) return left.position - right.position;
      if (left.isCloser !== right.isCloser) return left.isCloser ? -1 : 1;
      return left.isCloser ? right.depth - left.depth : left.depth - right.depth;
    });
    const parts: string[] = [];
    let cursor = 0;
    for (const edit of edits) {
      assert(edit.position >= cursor, "edits do not overlap");
      parts.push(this.source.slice(cursor, edit.position), edit.text);
      cursor = edit.end;
    }
    parts.push(this.source.slice(cursor));
    return parts.join("");
  }
}

const PARSE_OPTIONS: Options = { ecmaVersion: 2022, sourceType: "module", allowHashBang: false };

/** Checks and instruments a contract's bundled ES module. */
export function instrumentContract(source: string): Result<InstrumentedContract, ExecutionError> {
  if (source.length > SANDBOX_CODE_BYTES_MAX) {
    return fail(invalid("the code is too large", { sizeBytesMax: SANDBOX_CODE_BYTES_MAX }));
  }
  let program: AnyNode;
  try {
    program = parse(source, PARSE_OPTIONS) as unknown as AnyNode;
  } catch (error) {
    // A SyntaxError, or a RangeError for nesting far deeper than SANDBOX_AST_DEPTH_MAX (refused
    // below anyway, so every node refuses the same code whatever its stack size).
    if (!(error instanceof SyntaxError) && !(error instanceof RangeError)) throw error;
    return fail(invalid("the code does not parse", { reason: error.message.slice(0, 200) }));
  }
  const instrumenter = new Instrumenter(source);
  let topSteps: number;
  try {
    topSteps = instrumenter.walk(program, null, "", 0);
  } catch (error) {
    if (error instanceof Refusal) return fail(error.error);
    if (error instanceof RangeError) return fail(invalid("the code nests too deeply"));
    throw error;
  }
  if (instrumenter.exports.size === 0) return fail(invalid("the contract exports no methods"));
  const exportNames = [...instrumenter.exports.keys()].sort();
  const exportEntries = exportNames.map(
    (name) => `${JSON.stringify(name)}: ${instrumenter.exports.get(name)!}`,
  );
  const factorySource = [
    "(function (__cl_oog, __cl_guard, __cl_g) {",
    '"use strict";',
    chargeStatement(topSteps),
    instrumenter.output(),
    ";",
    `return { exports: { __proto__: null, ${exportEntries.join(", ")} },`,
    "gasGet: () => __cl_g, gasSet: (steps) => { __cl_g = steps; }, gasCharge: (steps) => (__cl_g -= steps) };",
    "})",
  ].join("\n");
  return ok({ factorySource, exportNames });
}
