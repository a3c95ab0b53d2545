/**
 * Builds the web portal into web/dist when it is missing or older than its sources, so that a
 * fresh clone's `npm start` (its prestart) and the portal test serve a current portal without a
 * separate step. `--force` always builds. Writes .gz and .br twins of every text asset, which the
 * node serves to browsers that accept them.
 *
 * Concurrent builds (a test run beside `npm start`) each build into their own folder and swap it
 * in at the end; the last one wins, and both are builds of the same sources.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { brotliCompressSync, gzipSync, constants as zlibConstants } from "node:zlib";

const webRoot = resolve(import.meta.dirname, "..");
const packageRoot = resolve(webRoot, "..");
export const PORTAL_DIST_DIRECTORY = join(webRoot, "dist");
/** What the bundle is built from: the portal and the SDK code it imports. */
const SOURCE_PATHS = [
  join(webRoot, "src"),
  join(webRoot, "index.html"),
  join(webRoot, "vite.config.ts"),
  join(packageRoot, "src", "sdk"),
  join(packageRoot, "package-lock.json"),
];
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;
/** Folder entries walked when looking for the newest source (the tree is far smaller). */
const SOURCE_FILES_MAX = 10_000;

function newestModificationMs(path: string, budget: { files: number }): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (--budget.files < 0) break;
    newest = Math.max(newest, newestModificationMs(join(path, entry), budget));
  }
  return newest;
}

/** True when web/dist is missing or older than any of its sources. */
export function portalIsStale(distDirectory = PORTAL_DIST_DIRECTORY): boolean {
  const index = join(distDirectory, "index.html");
  if (!existsSync(index)) return true;
  const budget = { files: SOURCE_FILES_MAX };
  const newestSource = Math.max(...SOURCE_PATHS.map((path) => newestModificationMs(path, budget)));
  return newestSource > statSync(index).mtimeMs;
}

function compressAssets(directory: string): void {
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) compressAssets(path);
    else if (COMPRESSIBLE.test(entry.name)) {
      const content = readFileSync(path);
      writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
      writeFileSync(
        `${path}.br`,
        brotliCompressSync(content, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 11 } }),
      );
    }
  }
}

/** Builds the portal into web/dist (through a private folder swapped in at the end). */
export async function buildPortal(distDirectory = PORTAL_DIST_DIRECTORY): Promise<void> {
  const { build } = await import("vite");
  const buildDirectory = `${distDirectory}.building-${process.pid}`;
  rmSync(buildDirectory, { recursive: true, force: true });
  await build({
    configFile: join(webRoot, "vite.config.ts"),
    logLevel: "warn",
    build: { outDir: buildDirectory, emptyOutDir: true },
  });
  compressAssets(buildDirectory);
  rmSync(distDirectory, { recursive: true, force: true });
  try {
    renameSync(buildDirectory, distDirectory);
  } catch (error) {
    // Another build swapped its folder in first: it built the same sources, keep it.
    rmSync(buildDirectory, { recursive: true, force: true });
    if (!existsSync(join(distDirectory, "index.html"))) throw error;
  }
}

/** Builds when stale (or always with force); returns whether it built. */
export async function ensurePortalBuilt(options: { force?: boolean } = {}): Promise<boolean> {
  if (options.force !== true && !portalIsStale()) return false;
  await buildPortal();
  return true;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const force = process.argv.includes("--force");
  const started = performance.now();
  if (!force && !portalIsStale()) {
    console.log("portal: web/dist is up to date");
  } else {
    console.log("portal: building web/dist (Vite) ...");
    await ensurePortalBuilt({ force: true });
    console.log(`portal: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
