/**
 * Summarizes V8 .cpuprofile files (from `node --cpu-prof`): self time per function and per
 * source file or package, over one or more profiles. Used by bench/network.ts; also runs alone:
 *
 *   node --import tsx bench/cpu-profile.ts <file.cpuprofile>... [--top=20]
 * @module
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  /** Microseconds on the monotonic clock (CLOCK_MONOTONIC, as process.hrtime). */
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Share of the busy (not idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly functions: readonly SelfTime[];
  readonly places: readonly SelfTime[];
  /** Total (inclusive) time of the project's own functions (src/): where the time goes by stage. */
  readonly stages: readonly SelfTime[];
}

/** Where a function lives: a file under the project, an npm package, node's internals, or V8. */
function placeOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  const path = url.startsWith("file://") ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = path.slice(modules + "/node_modules/".length).split("/");
    return `npm:${rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith("node:")) return "node: internals";
  const source = path.search(/\/(src|bench|bin|test)\//);
  return source >= 0 ? path.slice(source + 1) : basename(path);
}

function keyOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === "") return functionName || "(anonymous)";
  return `${functionName || "(anonymous)"} ${placeOf(url, functionName)}:${lineNumber + 1}`;
}

/**
 * Self and total times over the profiles' samples; with `rangeUs` ([from, to) in microseconds of
 * the monotonic clock, as `process.hrtime.bigint() / 1000n`), only the samples taken in it.
 */
export function summarizeProfiles(
  files: readonly string[],
  top = 20,
  rangeUs: readonly [number, number] | null = null,
): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  const byStage = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    const selfUs = new Map<number, number>();
    // timeDeltas[i] is the time before sample i; attribute it to sample i (V8's convention).
    let timeUs = profile.startTime;
    for (let index = 0; index < profile.samples.length; index++) {
      timeUs += profile.timeDeltas[index] ?? 0;
      if (rangeUs !== null && (timeUs < rangeUs[0] || timeUs >= rangeUs[1])) continue;
      const id = profile.samples[index]!;
      selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[index] ?? 0));
    }
    const parents = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
    for (const [id, us] of selfUs) {
      const node = nodes.get(id);
      if (node === undefined) continue;
      totalUs += us;
      // Inclusive time: each project function on the sample's stack, once per stack.
      const onStack = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parents.get(at)) {
        const frame = nodes.get(at);
        if (frame === undefined) break;
        if (placeOf(frame.callFrame.url, frame.callFrame.functionName).startsWith("src/"))
          onStack.add(keyOf(frame));
      }
      for (const key of onStack) byStage.set(key, (byStage.get(key) ?? 0) + us);
      if (node.callFrame.functionName === "(idle)") {
        idleUs += us;
        continue;
      }
      const key = keyOf(node);
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
      const place = placeOf(node.callFrame.url, node.callFrame.functionName);
      byPlace.set(place, (byPlace.get(place) ?? 0) + us);
    }
  }
  const busyUs = totalUs - idleUs;
  const ranked = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((left, right) => right[1] - left[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs }));
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    functions: ranked(byFunction),
    places: ranked(byPlace),
    stages: ranked(byStage),
  };
}

export function printProfileSummary(summary: ProfileSummary, label: string): void {
  console.log(
    `\n${label}: ${(summary.busyMs / 1000).toFixed(1)} s busy of ${(summary.totalMs / 1000).toFixed(1)} s profiled` +
      ` (idle ${((summary.idleMs / Math.max(1, summary.totalMs)) * 100).toFixed(0)} %)`,
  );
  console.log("  top self time by function (share of busy time):");
  for (const item of summary.functions) {
    console.log(
      `    ${(item.share * 100).toFixed(1).padStart(5)} %  ${item.ms.toFixed(0).padStart(7)} ms  ${item.name}`,
    );
  }
  console.log("  self time by file or package:");
  for (const item of summary.places) {
    console.log(
      `    ${(item.share * 100).toFixed(1).padStart(5)} %  ${item.ms.toFixed(0).padStart(7)} ms  ${item.name}`,
    );
  }
  console.log("  total (inclusive) time of the project's functions (src/), by stage:");
  for (const item of summary.stages) {
    console.log(
      `    ${(item.share * 100).toFixed(1).padStart(5)} %  ${item.ms.toFixed(0).padStart(7)} ms  ${item.name}`,
    );
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2).filter((argument) => !argument.startsWith("--"));
  const topArgument = process.argv.find((argument) => argument.startsWith("--top="));
  if (files.length === 0) {
    console.error("usage: node --import tsx bench/cpu-profile.ts <file.cpuprofile>... [--top=20]");
    process.exit(2);
  }
  printProfileSummary(
    summarizeProfiles(files, topArgument === undefined ? 20 : Number(topArgument.slice(6))),
    files.map((file) => basename(file)).join(", "),
  );
}
