/**
 * A small benchmark harness: runs an operation in timed rounds, bounded by count and time,
 * and reports the median rate over rounds. Wall-clock time is fine here: benchmarks are not
 * part of the pure core.
 */
export interface Measurement {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly microsecondsPerOp: number;
}

export interface MeasureOptions {
  /** Operations per call of `run` (e.g. a batch of 1,000 updates counts 1,000). */
  readonly opsPerCall?: number;
  readonly rounds?: number;
  readonly roundMs?: number;
  readonly callsPerRoundMax?: number;
}

export function measure(name: string, run: () => void, options: MeasureOptions = {}): Measurement {
  const opsPerCall = options.opsPerCall ?? 1;
  const rounds = options.rounds ?? 5;
  const roundMs = options.roundMs ?? 300;
  const callsPerRoundMax = options.callsPerRoundMax ?? 10_000_000;
  for (let warm = 0; warm < 3; warm++) run();
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = performance.now();
    let calls = 0;
    let elapsedMs = 0;
    while (calls < callsPerRoundMax) {
      run();
      calls++;
      if ((calls & 15) === 0 || opsPerCall > 1) {
        elapsedMs = performance.now() - start;
        if (elapsedMs >= roundMs) break;
      }
    }
    elapsedMs = performance.now() - start;
    rates.push((calls * opsPerCall * 1000) / elapsedMs);
  }
  rates.sort((left, right) => left - right);
  const opsPerSecond = rates[Math.floor(rates.length / 2)]!;
  return { name, opsPerSecond, microsecondsPerOp: 1e6 / opsPerSecond };
}

export function formatRate(opsPerSecond: number): string {
  return Math.round(opsPerSecond).toLocaleString("en-US");
}

export function printTable(rows: ReadonlyArray<Record<string, string>>): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) => cells.map((cell, index) => cell.padEnd(widths[index]!)).join("  ");
  console.log(line(columns));
  console.log(line(widths.map((width) => "-".repeat(width))));
  for (const row of rows) console.log(line(columns.map((column) => row[column] ?? "")));
}
