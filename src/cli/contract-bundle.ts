/**
 * Bundling contracts (contracts/<name>/index.ts) into the one JavaScript module the sandbox runs
 * (src/exec/sandbox): esbuild, ES module output, the `@cityledger/contract` import resolved to
 * contracts/lib/contract.ts through contracts/tsconfig.json, nothing external. The output is
 * deterministic for a given source and esbuild version; its hash under the chain suite's hash is
 * the code hash the registry stores (registry.ts `codeHashFunctionOf`).
 *
 * `npm run contracts:build` bundles every contract into contracts/dist/<name>.js (git-ignored)
 * and prints name, size and code hash. I/O lives here, in the cli layer, not in src/exec.
 * @module
 */
import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { bytesToHex } from "../base/bytes.ts";
import type { SuiteName } from "../crypto/suite.ts";
import { CONTRACT_CODE_BYTES_MAX } from "../exec/limits.ts";
import { instrumentContract } from "../exec/sandbox/instrument.ts";
import { codeHashFunctionOf } from "../exec/system/registry.ts";

export const CONTRACTS_DIRECTORY = fileURLToPath(new URL("../../contracts/", import.meta.url));

export interface BundledContract {
  readonly code: Uint8Array;
  readonly codeHashHex: string;
}

export interface BundleOptions {
  /** The chain's suite, whose hash names code (default ed25519: SHA-256). */
  readonly suite?: SuiteName;
}

/** Bundles one contract's entry file; refuses code the sandbox would refuse. */
export async function bundleContract(
  entryPath: string,
  options: BundleOptions = {},
): Promise<BundledContract> {
  const result = await build({
    entryPoints: [entryPath],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2020",
    write: false,
    minify: false,
    legalComments: "none",
    charset: "utf8",
    tsconfig: path.join(CONTRACTS_DIRECTORY, "tsconfig.json"),
    logLevel: "silent",
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error(`esbuild produced nothing for ${entryPath}`);
  const code = output.contents;
  // The registry's upload limit (the sandbox's own, SANDBOX_CODE_BYTES_MAX, is larger).
  if (code.length > CONTRACT_CODE_BYTES_MAX) {
    throw new Error(`${entryPath}: the bundle is ${code.length} bytes, over ${CONTRACT_CODE_BYTES_MAX}`);
  }
  const checked = instrumentContract(new TextDecoder().decode(code));
  if (!checked.ok) throw new Error(`${entryPath}: the sandbox refuses it: ${checked.error.message}`);
  const codeHash = codeHashFunctionOf(options.suite ?? "ed25519")(code);
  return { code, codeHashHex: bytesToHex(codeHash) };
}

/** Names of the contracts under contracts/ (directories with an index.ts), sorted. */
export async function contractNames(directory = CONTRACTS_DIRECTORY): Promise<string[]> {
  const names: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === "lib" || entry.name === "dist") continue;
    const isContract = await stat(path.join(directory, entry.name, "index.ts")).then(
      () => true,
      () => false,
    );
    if (isContract) names.push(entry.name);
  }
  return names.sort();
}

/** Bundles every contract into contracts/dist/<name>.js. */
export async function buildAllContracts(
  options: BundleOptions = {},
): Promise<Array<{ name: string } & BundledContract>> {
  const distDirectory = path.join(CONTRACTS_DIRECTORY, "dist");
  await mkdir(distDirectory, { recursive: true });
  const built: Array<{ name: string } & BundledContract> = [];
  for (const name of await contractNames()) {
    const bundled = await bundleContract(path.join(CONTRACTS_DIRECTORY, name, "index.ts"), options);
    await writeFile(path.join(distDirectory, `${name}.js`), bundled.code);
    built.push({ name, ...bundled });
  }
  return built;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const contract of await buildAllContracts()) {
    process.stdout.write(`${contract.name}\t${contract.code.length} bytes\t${contract.codeHashHex}\n`);
  }
}
