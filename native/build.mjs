/**
 * Builds the node's native addons (native/sha256) with node-gyp; `npm install` runs it
 * (postinstall). Offline-safe: node-gyp is pointed at the headers of the Node.js that runs this
 * (its `include/node`), never at a download. A failed build is not an install error: the node
 * then hashes with libsodium (src/crypto/sha256.ts says which it uses), only slower.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const BUILD_TIMEOUT_MS = 300_000;
const addonDirectory = resolve(import.meta.dirname, "sha256");

function nodeGypScript() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  return candidates.find((candidate) => candidate !== undefined && candidate !== "" && existsSync(candidate));
}

/** The prefix whose include/node holds this Node.js's headers (node_api.h, openssl/). */
function nodeDirectory() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(dirname(process.execPath), "..");
  return existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : undefined;
}

const script = nodeGypScript();
const nodedir = nodeDirectory();
if (script === undefined || nodedir === undefined) {
  console.warn(
    `native: not built (${script === undefined ? "node-gyp not found" : "Node.js headers not found"}); SHA-256 falls back to libsodium`,
  );
  process.exit(0);
}
const started = performance.now();
const built = spawnSync(process.execPath, [script, "rebuild", `--nodedir=${nodedir}`], {
  cwd: addonDirectory,
  stdio: ["ignore", "pipe", "pipe"],
  timeout: BUILD_TIMEOUT_MS,
  encoding: "utf8",
});
if (built.status === 0) {
  console.log(`native: built native/sha256 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} else {
  console.warn(`native: native/sha256 did not build; SHA-256 falls back to libsodium\n${built.stderr ?? ""}`.trimEnd());
}
