/**
 * The output of `npm run bench`: a Markdown table of every system's phases with absolute figures,
 * the ratios CityLedger / baseline for every pair, the targets, and an SVG chart of committed
 * throughput against p99 latency. Pure functions of the results, so they are unit-tested.
 * @module
 */
import type { LatencySummary } from "./stats.ts";

export type SystemKind = "cityledger" | "baseline";

export interface PhaseRecord {
  readonly name: string;
  readonly mode: "open" | "closed";
  /** Open loop: the rate asked for; closed loop: 0. */
  readonly rateTxPerSecond: number;
  readonly offeredTxPerSecond: number;
  readonly committedTxPerSecond: number;
  readonly latencyMs: LatencySummary | null;
  /** Committed ≥ 95 % of offered, nothing lost (open loop only; closed loop: true). */
  readonly carried: boolean;
  readonly refused: number;
  /** Per server process (node, or PostgreSQL / etcd member): CPU % of one core over the window. */
  readonly serverCpuPercent: readonly number[];
  /** All server processes' CPU time per committed record, µs. */
  readonly serverCpuUsPerTx: number | null;
  readonly serverRssMb: readonly number[];
  /** The load generator's own CPU % (for PostgreSQL it includes the signature checks). */
  readonly clientCpuPercent: number;
  readonly loadAverage: number;
}

export interface SystemResult {
  readonly id: string;
  readonly label: string;
  readonly kind: SystemKind;
  /** Server processes (e.g. 4 validators, 3 etcd members). */
  readonly processes: number;
  readonly phases: readonly PhaseRecord[];
  /** Set when the system could not be measured (e.g. a server not installed). */
  readonly error?: string;
}

export interface Target {
  readonly systemId: string;
  readonly txPerSecond: number;
  readonly p99Ms: number;
}

export interface RatioTarget {
  readonly baselineId: string;
  /** CityLedger saturation throughput / the baseline's, at least. */
  readonly ratioMin: number;
}

export interface ScalingRecord {
  readonly historyTxsAtStart: number;
  readonly historyTxsAtEnd: number;
  readonly committedTxPerSecond: number;
  readonly latencyMs: LatencySummary | null;
  readonly serverCpuUsPerTx: number | null;
  readonly rssMb: number;
  readonly loadAverage: number;
}

/** The closed-loop phase, or the open phase that committed most when there is none. */
export function saturationOf(system: SystemResult): PhaseRecord | null {
  const closed = system.phases.find((phase) => phase.mode === "closed");
  if (closed !== undefined) return closed;
  let best: PhaseRecord | null = null;
  for (const phase of system.phases) {
    if (best === null || phase.committedTxPerSecond > best.committedTxPerSecond) best = phase;
  }
  return best;
}

/** The highest open-loop rate carried with p99 within `p99MsMax`, or 0. */
export function bestCarriedRate(system: SystemResult, p99MsMax: number): number {
  let best = 0;
  for (const phase of system.phases) {
    if (phase.mode !== "open" || !phase.carried) continue;
    if ((phase.latencyMs?.p99 ?? Number.POSITIVE_INFINITY) > p99MsMax) continue;
    best = Math.max(best, phase.rateTxPerSecond);
  }
  return best;
}

/** The open-loop phase at exactly `rateTxPerSecond`, if the system ran one. */
function openPhaseAt(system: SystemResult, rateTxPerSecond: number): PhaseRecord | undefined {
  return system.phases.find((phase) => phase.mode === "open" && phase.rateTxPerSecond === rateTxPerSecond);
}

export interface PairRatio {
  readonly cityledgerId: string;
  readonly baselineId: string;
  /** Saturation throughput, CityLedger / baseline (higher is better for CityLedger). */
  readonly throughputRatio: number | null;
  /** p99 at saturation, CityLedger / baseline (lower is better for CityLedger). */
  readonly saturationP99Ratio: number | null;
  /** The lowest open-loop rate both carried, and p99 there, CityLedger / baseline. */
  readonly commonRateTxPerSecond: number | null;
  readonly commonRateP99Ratio: number | null;
}

function divide(numerator: number | undefined, denominator: number | undefined): number | null {
  if (numerator === undefined || denominator === undefined || !(denominator > 0)) return null;
  if (Number.isNaN(numerator)) return null;
  return numerator / denominator;
}

/** Ratios for every (CityLedger system, baseline) pair. */
export function pairRatios(systems: readonly SystemResult[]): PairRatio[] {
  const ratios: PairRatio[] = [];
  const measured = systems.filter((system) => system.error === undefined && system.phases.length > 0);
  for (const cityledger of measured.filter((system) => system.kind === "cityledger")) {
    for (const baseline of measured.filter((system) => system.kind === "baseline")) {
      const ours = saturationOf(cityledger);
      const theirs = saturationOf(baseline);
      const commonRates = cityledger.phases
        .filter(
          (phase) =>
            phase.mode === "open" &&
            phase.carried &&
            openPhaseAt(baseline, phase.rateTxPerSecond)?.carried === true,
        )
        .map((phase) => phase.rateTxPerSecond)
        .sort((left, right) => left - right);
      const common = commonRates[0];
      const ourOpen = common === undefined ? undefined : openPhaseAt(cityledger, common);
      const theirOpen = common === undefined ? undefined : openPhaseAt(baseline, common);
      ratios.push({
        cityledgerId: cityledger.id,
        baselineId: baseline.id,
        throughputRatio: divide(ours?.committedTxPerSecond, theirs?.committedTxPerSecond),
        saturationP99Ratio: divide(ours?.latencyMs?.p99, theirs?.latencyMs?.p99),
        commonRateTxPerSecond: common ?? null,
        commonRateP99Ratio: divide(ourOpen?.latencyMs?.p99, theirOpen?.latencyMs?.p99),
      });
    }
  }
  return ratios;
}

export function formatNumber(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  return value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function formatLatencyMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "-";
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function formatRatio(ratio: number | null): string {
  return ratio === null ? "-" : `${ratio.toFixed(2)}×`;
}

function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const escapeCell = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${header.map(escapeCell).join(" | ")} |`,
    `|${header.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(" | ")} |`),
  ].join("\n");
}

export interface TargetVerdict {
  readonly what: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** Each target with what was measured and whether it is met (null: not measured). */
export function targetVerdicts(
  systems: readonly SystemResult[],
  targets: readonly Target[],
  ratioTargets: readonly RatioTarget[],
  ratioFromId: string,
): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const byId = new Map(systems.map((system) => [system.id, system]));
  for (const target of targets) {
    const system = byId.get(target.systemId);
    const what = `${system?.label ?? target.systemId}: ≥ ${formatNumber(target.txPerSecond)} tx/s with p99 ≤ ${formatLatencyMs(target.p99Ms)}`;
    if (system === undefined || system.error !== undefined || system.phases.length === 0) {
      verdicts.push({ what, measured: system?.error ?? "not measured", met: null });
      continue;
    }
    const carried = bestCarriedRate(system, target.p99Ms);
    const saturation = saturationOf(system);
    const saturationMet =
      saturation !== null &&
      saturation.committedTxPerSecond >= target.txPerSecond &&
      (saturation.latencyMs?.p99 ?? Number.POSITIVE_INFINITY) <= target.p99Ms;
    verdicts.push({
      what,
      measured:
        `carried ${formatNumber(carried)} tx/s within the p99 bound; saturation ` +
        `${formatNumber(saturation?.committedTxPerSecond)} tx/s at p99 ${formatLatencyMs(saturation?.latencyMs?.p99)}`,
      met: carried >= target.txPerSecond || saturationMet,
    });
  }
  const ratios = pairRatios(systems).filter((ratio) => ratio.cityledgerId === ratioFromId);
  for (const target of ratioTargets) {
    const ratio = ratios.find((candidate) => candidate.baselineId === target.baselineId);
    const label = byId.get(target.baselineId)?.label ?? target.baselineId;
    const what = `${byId.get(ratioFromId)?.label ?? ratioFromId} / ${label}, saturation throughput ≥ ${target.ratioMin.toFixed(1)}`;
    verdicts.push({
      what,
      measured: formatRatio(ratio?.throughputRatio ?? null),
      met:
        ratio?.throughputRatio === null || ratio === undefined
          ? null
          : ratio.throughputRatio >= target.ratioMin,
    });
  }
  return verdicts;
}

export interface ReportContext {
  readonly dateIso: string;
  readonly machine: string;
  readonly loadAverageStart: readonly number[];
  readonly loadAverageEnd: readonly number[];
  readonly codeState: string;
  readonly versions: string;
}

/** The whole Markdown report: systems, ratios, targets, scaling. */
export function renderMarkdown(
  context: ReportContext,
  systems: readonly SystemResult[],
  verdicts: readonly TargetVerdict[],
  scaling: readonly ScalingRecord[],
): string {
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(" ");
  const lines: string[] = [
    `${context.dateIso}; ${context.machine}; load average ${load(context.loadAverageStart)} at start, ${load(context.loadAverageEnd)} at end.`,
    `Code under test: ${context.codeState}. ${context.versions}.`,
    "",
  ];
  const rows: string[][] = [];
  for (const system of systems) {
    if (system.error !== undefined) {
      rows.push([system.label, "not run", system.error, "", "", "", "", "", "", ""]);
      continue;
    }
    for (const phase of system.phases) {
      const latency = phase.latencyMs;
      rows.push([
        system.label,
        phase.name,
        formatNumber(phase.offeredTxPerSecond),
        formatNumber(phase.committedTxPerSecond),
        latency === null
          ? "-"
          : `${formatLatencyMs(latency.p50)} / ${formatLatencyMs(latency.p95)} / ${formatLatencyMs(latency.p99)} / ${formatLatencyMs(latency.max)}`,
        phase.mode === "closed" ? "saturation" : phase.carried ? "yes" : "no",
        phase.serverCpuPercent.map((value) => formatNumber(value)).join("/"),
        formatNumber(phase.serverCpuUsPerTx),
        phase.serverRssMb.map((value) => formatNumber(value)).join("/"),
        `${formatNumber(phase.clientCpuPercent)} / ${phase.loadAverage.toFixed(1)}`,
      ]);
    }
  }
  lines.push(
    markdownTable(
      [
        "system",
        "load",
        "offered tx/s",
        "committed tx/s",
        "latency p50 / p95 / p99 / max",
        "carried",
        "server CPU % (each process)",
        "server CPU µs/tx (all processes)",
        "server RSS MB",
        "client CPU % / load1",
      ],
      rows,
    ),
  );
  lines.push("");
  const byId = new Map(systems.map((system) => [system.id, system.label]));
  lines.push(
    markdownTable(
      [
        "CityLedger",
        "baseline",
        "saturation throughput ratio (≥ 1: CityLedger faster)",
        "saturation p99 ratio (≤ 1: CityLedger faster)",
        "p99 ratio at the lowest open rate both carried",
      ],
      pairRatios(systems).map((ratio) => [
        byId.get(ratio.cityledgerId) ?? ratio.cityledgerId,
        byId.get(ratio.baselineId) ?? ratio.baselineId,
        formatRatio(ratio.throughputRatio),
        formatRatio(ratio.saturationP99Ratio),
        ratio.commonRateTxPerSecond === null
          ? "-"
          : `${formatRatio(ratio.commonRateP99Ratio)} at ${formatNumber(ratio.commonRateTxPerSecond)} tx/s`,
      ]),
    ),
  );
  lines.push("");
  lines.push(
    markdownTable(
      ["target", "measured", "verdict"],
      verdicts.map((verdict) => [
        verdict.what,
        verdict.measured,
        verdict.met === null ? "not measured" : verdict.met ? "met" : "**missed**",
      ]),
    ),
  );
  if (scaling.length > 0) {
    lines.push("");
    lines.push(
      markdownTable(
        [
          "history (txs) at start → end",
          "committed tx/s",
          "latency p50 / p99",
          "node CPU µs/tx",
          "RSS MB",
          "load1",
        ],
        scaling.map((record) => [
          `${formatNumber(record.historyTxsAtStart)} → ${formatNumber(record.historyTxsAtEnd)}`,
          formatNumber(record.committedTxPerSecond),
          `${formatLatencyMs(record.latencyMs?.p50)} / ${formatLatencyMs(record.latencyMs?.p99)}`,
          formatNumber(record.serverCpuUsPerTx),
          formatNumber(record.rssMb),
          record.loadAverage.toFixed(1),
        ]),
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}

const SVG_WIDTH = 760;
const SVG_HEIGHT = 440;
const PLOT = { left: 70, right: 200, top: 30, bottom: 50 } as const;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/** The decades covering [min, max] (log scale ticks). */
function decades(minValue: number, maxValue: number): number[] {
  const low = Math.floor(Math.log10(Math.max(minValue, 1e-3)));
  const high = Math.ceil(Math.log10(Math.max(maxValue, minValue * 10, 1e-2)));
  return Array.from({ length: high - low + 1 }, (_, index) => 10 ** (low + index));
}

/**
 * Committed throughput (x) against p99 latency (y), both on log scales, per system: one line through its
 * open-loop phases in order of offered rate, and its saturation point drawn as a square.
 */
export function renderSvg(systems: readonly SystemResult[], title: string): string {
  const points = systems.flatMap((system) =>
    system.phases.filter((phase) => phase.latencyMs !== null && phase.committedTxPerSecond > 0),
  );
  const rates = points.map((phase) => phase.committedTxPerSecond);
  const xTicks = decades(Math.min(100, ...rates), Math.max(10_000, ...rates));
  const xMin = xTicks[0]!;
  const xMax = xTicks[xTicks.length - 1]!;
  const p99s = points.map((phase) => phase.latencyMs!.p99);
  const yTicks = decades(Math.min(10, ...p99s), Math.max(1_000, ...p99s));
  const yMin = yTicks[0]!;
  const yMax = yTicks[yTicks.length - 1]!;
  const plotWidth = SVG_WIDTH - PLOT.left - PLOT.right;
  const plotHeight = SVG_HEIGHT - PLOT.top - PLOT.bottom;
  const x = (value: number) =>
    PLOT.left + ((Math.log10(value) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotWidth;
  const y = (value: number) =>
    PLOT.top +
    plotHeight -
    ((Math.log10(value) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SVG_WIDTH}" height="${SVG_HEIGHT}" viewBox="0 0 ${SVG_WIDTH} ${SVG_HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${SVG_WIDTH}" height="${SVG_HEIGHT}" fill="white"/>`,
    `<text x="${PLOT.left}" y="18" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top + plotHeight}" x2="${PLOT.left + plotWidth}" y2="${PLOT.top + plotHeight}" stroke="black"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.top + plotHeight}" stroke="black"/>`,
  ];
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${x(tick)}" y1="${PLOT.top}" x2="${x(tick)}" y2="${PLOT.top + plotHeight}" stroke="#eee"/>`,
      `<text x="${x(tick)}" y="${PLOT.top + plotHeight + 16}" text-anchor="middle">${formatNumber(tick)}</text>`,
    );
  }
  for (const tick of yTicks) {
    parts.push(
      `<line x1="${PLOT.left}" y1="${y(tick)}" x2="${PLOT.left + plotWidth}" y2="${y(tick)}" stroke="#eee"/>`,
      `<text x="${PLOT.left - 6}" y="${y(tick) + 4}" text-anchor="end">${escapeXml(formatLatencyMs(tick))}</text>`,
    );
  }
  parts.push(
    `<text x="${PLOT.left + plotWidth / 2}" y="${SVG_HEIGHT - 12}" text-anchor="middle">committed records per second (log)</text>`,
    `<text x="16" y="${PLOT.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 16 ${PLOT.top + plotHeight / 2})">p99 submit-to-commit latency (log)</text>`,
  );
  systems.forEach((system, index) => {
    const color = COLORS[index % COLORS.length]!;
    const measured = system.phases.filter(
      (phase) => phase.latencyMs !== null && phase.committedTxPerSecond > 0,
    );
    // The line goes through the open-loop phases by offered rate, then to saturation.
    const line = [
      ...measured
        .filter((phase) => phase.mode === "open")
        .sort((left, right) => left.rateTxPerSecond - right.rateTxPerSecond),
      ...measured.filter((phase) => phase.mode === "closed"),
    ];
    if (line.length > 1) {
      const path = line.map(
        (phase) => `${x(phase.committedTxPerSecond).toFixed(1)},${y(phase.latencyMs!.p99).toFixed(1)}`,
      );
      parts.push(`<polyline points="${path.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const phase of measured) {
      const cx = x(phase.committedTxPerSecond);
      const cy = y(phase.latencyMs!.p99);
      parts.push(
        phase.mode === "closed"
          ? `<rect x="${(cx - 5).toFixed(1)}" y="${(cy - 5).toFixed(1)}" width="10" height="10" fill="${color}"><title>${escapeXml(`${system.label}, ${phase.name}`)}</title></rect>`
          : `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4" fill="${color}"><title>${escapeXml(`${system.label}, ${phase.name}`)}</title></circle>`,
      );
    }
    const legendY = PLOT.top + 10 + index * 20;
    parts.push(
      `<rect x="${SVG_WIDTH - PLOT.right + 15}" y="${legendY - 8}" width="12" height="12" fill="${color}"/>`,
      `<text x="${SVG_WIDTH - PLOT.right + 32}" y="${legendY + 2}">${escapeXml(system.label)}</text>`,
    );
  });
  const noteY = PLOT.top + 20 + systems.length * 20;
  parts.push(
    `<text x="${SVG_WIDTH - PLOT.right + 15}" y="${noteY}" font-size="11">● open loop, ■ saturation</text>`,
    "</svg>",
  );
  return `${parts.join("\n")}\n`;
}
