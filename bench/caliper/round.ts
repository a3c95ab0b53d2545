/**
 * Drives the Caliper connector and workload module the way a Caliper worker does (getContext,
 * workload initialize, submitTransaction at a fixed rate, cleanup, releaseContext), for
 * `npm run bench:caliper` when Caliper itself is not installed and for the connector's test.
 * Bounded by `durationMs` and by the drain timeout.
 * @module
 */
import { createRequire } from "node:module";
import { type LatencySummary, summarizeLatencies } from "../stats.ts";
import { CALIPER_EVENTS, type CityLedgerConnector, type TxStatusLike } from "./connector.ts";

/** The workload module's shape (Caliper's WorkloadModuleInterface). */
export interface WorkloadModule {
  initializeWorkloadModule(
    workerIndex: number,
    totalWorkers: number,
    roundIndex: number,
    roundArguments: object,
    sutAdapter: CityLedgerConnector,
    sutContext: object,
  ): Promise<void>;
  submitTransaction(): Promise<unknown>;
  cleanupWorkloadModule(): Promise<void>;
}

export function loadNotaryWorkload(): WorkloadModule {
  const module = createRequire(import.meta.url)("./notary-workload.cjs") as {
    createWorkloadModule: () => WorkloadModule;
  };
  return module.createWorkloadModule();
}

export interface RoundResult {
  readonly submitted: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly durationMs: number;
  readonly committedPerSecond: number;
  readonly latencyMs: LatencySummary | null;
  readonly firstError: string | null;
}

const DRAIN_TIMEOUT_MS = 60_000;

export async function runFixedRateRound(
  connector: CityLedgerConnector,
  options: {
    readonly roundIndex: number;
    readonly requestsPerSecond: number;
    readonly durationMs: number;
    readonly roundArguments: object;
  },
): Promise<RoundResult> {
  let submitted = 0;
  const finished: TxStatusLike[] = [];
  const onSubmitted = (count: number) => {
    submitted += count;
  };
  const onFinished = (results: TxStatusLike | TxStatusLike[]) => {
    finished.push(...(Array.isArray(results) ? results : [results]));
  };
  connector.on(CALIPER_EVENTS.txsSubmitted, onSubmitted);
  connector.on(CALIPER_EVENTS.txsFinished, onFinished);
  const context = await connector.getContext(options.roundIndex, {});
  const workload = loadNotaryWorkload();
  await workload.initializeWorkloadModule(
    0,
    1,
    options.roundIndex,
    options.roundArguments,
    connector,
    context,
  );
  const pending: Promise<unknown>[] = [];
  let firstError: string | null = null;
  const startMs = performance.now();
  const intervalMs = 1000 / options.requestsPerSecond;
  // Bounded: one request per interval until the duration is over.
  for (let index = 0; performance.now() - startMs < options.durationMs; index++) {
    const waitMs = startMs + index * intervalMs - performance.now();
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    pending.push(
      workload.submitTransaction().catch((error: unknown) => {
        firstError ??= (error as Error).message;
      }),
    );
  }
  let drainTimer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(pending),
    new Promise((resolve) => {
      drainTimer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(drainTimer);
  const durationMs = performance.now() - startMs;
  await workload.cleanupWorkloadModule();
  await connector.releaseContext();
  connector.off(CALIPER_EVENTS.txsSubmitted, onSubmitted);
  connector.off(CALIPER_EVENTS.txsFinished, onFinished);
  const succeeded = finished.filter((status) => status.IsCommitted());
  for (const status of finished) {
    if (!status.IsCommitted() && firstError === null) firstError = JSON.stringify(status.GetErrMsg());
  }
  return {
    submitted,
    succeeded: succeeded.length,
    failed: finished.length - succeeded.length,
    durationMs,
    committedPerSecond: (succeeded.length * 1000) / durationMs,
    latencyMs: summarizeLatencies(succeeded.map((status) => status.GetTimeFinal() - status.GetTimeCreate())),
    firstError,
  };
}
