/**
 * The build's own checks on the source tree (TigerBeetle's tidy.zig in spirit):
 * layers import downward only (DESIGN.md section 2), the pure core touches no clock,
 * randomness, I/O or console, the SDK's whole import graph runs in a browser, and no
 * TODO/FIXME is left behind (open an issue instead).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const sourceRoot = join(root, "src");
const nativeRoot = join(root, "native") + "/";

/** Layer of each top-level module under src/. A module may import only from lower layers. */
export const LAYERS: Readonly<Record<string, number>> = {
  base: 0,
  encoding: 1,
  crypto: 2,
  ledger: 3,
  state: 3,
  exec: 4,
  apps: 4,
  consensus: 4,
  sdk: 4.5,
  storage: 5,
  net: 5,
  keystore: 5,
  mempool: 5,
  node: 6,
  api: 7,
  cli: 8,
};
const PURE_MODULES = new Set([
  "base",
  "encoding",
  "crypto",
  "ledger",
  "state",
  "exec",
  "apps",
  "consensus",
  "sdk",
  "mempool",
]);
const BANNED_IN_PURE: ReadonlyArray<[RegExp, string]> = [
  [/\bDate\.now\s*\(/, "Date.now()"],
  [/\bnew Date\s*\(\s*\)/, "new Date()"],
  [/\bMath\.random\s*\(/, "Math.random()"],
  [/\bsetTimeout\s*\(/, "setTimeout"],
  [/\bsetInterval\s*\(/, "setInterval"],
  [/\bprocess\./, "process"],
  [/\bconsole\./, "console"],
  [/\bperformance\.now\s*\(/, "performance.now()"],
];
const BANNED_PACKAGES_IN_PURE = ["fastify", "pg", "better-sqlite3", "pino", "ws"];

function listSources(directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...listSources(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

const IMPORT_PATTERN =
  /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)|(?:^|\n)\s*import\s+"([^"]+)"/g;
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers: string[] = [];
  for (const match of text.matchAll(IMPORT_PATTERN)) specifiers.push(match[1] ?? match[2] ?? match[3]!);
  return specifiers;
}

function moduleOf(file: string): string {
  return relative(sourceRoot, file).split("/")[0]!;
}

// Tests and their data (testdata/: e.g. hostile contract source held as strings) are not the product.
const sources = listSources(sourceRoot).filter(
  (file) => !file.endsWith(".test.ts") && !file.includes("/testdata/"),
);

describe("tidy", () => {
  it("every module under src/ has a layer", () => {
    for (const file of sources) {
      assert.ok(
        moduleOf(file) in LAYERS,
        `${relative(root, file)}: module ${moduleOf(file)} has no layer in test/tidy.test.ts`,
      );
    }
  });

  it("layers import downward only", () => {
    const violations: string[] = [];
    for (const file of sources) {
      const from = moduleOf(file);
      for (const specifier of importsOf(file)) {
        if (!specifier.startsWith(".")) continue;
        const target = resolve(dirname(file), specifier);
        // The crypto layer's native addons (native/, built by npm install) are its packages,
        // as sodium-native is: loaded by their own index.cjs, outside the layers.
        if (from === "crypto" && target.startsWith(nativeRoot)) continue;
        if (!target.startsWith(sourceRoot)) {
          violations.push(`${relative(root, file)} imports outside src/: ${specifier}`);
          continue;
        }
        const to = moduleOf(target);
        if (to === from) continue;
        if (!(LAYERS[to]! < LAYERS[from]!))
          violations.push(`${relative(root, file)} (${from}) imports ${to}: ${specifier}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("the pure core has no clock, randomness, I/O or console", () => {
    const violations: string[] = [];
    for (const file of sources) {
      const module = moduleOf(file);
      if (!PURE_MODULES.has(module)) continue;
      const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, "");
      for (const [pattern, name] of BANNED_IN_PURE) {
        if (pattern.test(text)) violations.push(`${relative(root, file)} uses ${name}`);
      }
      for (const specifier of importsOf(file)) {
        // Two edges of the core: the crypto layer's hashes, and the sandbox loader's V8 flag
        // (wasm inlining, set before QuickJS is compiled: it changes speed, never results).
        const allowedNode =
          (module === "crypto" && specifier === "node:crypto") ||
          (relative(root, file) === join("src", "exec", "sandbox", "engine.ts") && specifier === "node:v8");
        if (specifier.startsWith("node:") && !allowedNode)
          violations.push(`${relative(root, file)} imports ${specifier}`);
        if (BANNED_PACKAGES_IN_PURE.includes(specifier))
          violations.push(`${relative(root, file)} imports ${specifier}`);
      }
    }
    assert.deepEqual(violations, []);
  });

  it("the SDK's whole import graph runs in a browser (no node:, no native addons)", () => {
    const seen = new Set<string>();
    const stack = [join(sourceRoot, "sdk", "index.ts")];
    const violations: string[] = [];
    while (stack.length > 0) {
      const file = stack.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of importsOf(file)) {
        if (specifier.startsWith("node:") || specifier === "sodium-native") {
          violations.push(`${relative(root, file)} imports ${specifier}`);
        } else if (specifier.startsWith(".")) {
          stack.push(resolve(dirname(file), specifier));
        }
      }
    }
    assert.ok(seen.size > 5, "the walk found the SDK's modules");
    assert.deepEqual(violations, []);
  });

  it("no TODO or FIXME is left in src/ (open an issue instead)", () => {
    const marker = ["TO", "DO"].join("");
    const violations = listSources(sourceRoot).filter((file) =>
      new RegExp(`\\b(${marker}|FIX${"ME"})\\b`).test(readFileSync(file, "utf8")),
    );
    assert.deepEqual(
      violations.map((file) => relative(root, file)),
      [],
    );
  });
});
