/**
 * The pieces of `npm run bench` that can break, on their quick path (≈ 15–25 s): latency
 * percentiles; the table, ratios, verdicts and SVG; the PostgreSQL and etcd baseline drivers
 * against real servers for about a second each; the Caliper connector against a real node.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  BaselineUnavailableError,
  type EtcdCluster,
  type PostgresBaseline,
  startEtcdCluster,
  startPostgres,
} from "./baseline-servers.ts";
import { type CityLedgerConnector, ConnectorError, createConnector } from "./caliper/connector.ts";
import { runFixedRateRound } from "./caliper/round.ts";
import type { PhaseResult, PhaseSpec } from "./load-generator.ts";
import { GeneratorDriver, type Network, startNetwork, stopNetwork } from "./network.ts";
import {
  type PhaseRecord,
  pairRatios,
  renderMarkdown,
  renderSvg,
  type SystemResult,
  targetVerdicts,
} from "./report.ts";
import { percentile, summarizeLatencies } from "./stats.ts";

describe("latency percentiles", () => {
  it("are nearest-rank over the sample, in any order", () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index);
    assert.deepEqual(summarizeLatencies(values), { count: 100, p50: 50, p95: 95, p99: 99, max: 100 });
    assert.equal(summarizeLatencies([]), null);
    assert.equal(percentile([7], 0.99), 7);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });
});

function phase(
  partial: Partial<PhaseRecord> & Pick<PhaseRecord, "mode" | "committedTxPerSecond">,
): PhaseRecord {
  return {
    name: partial.mode === "open" ? `open ${partial.rateTxPerSecond}/s` : "saturation",
    rateTxPerSecond: 0,
    offeredTxPerSecond: partial.committedTxPerSecond,
    latencyMs: { count: 100, p50: 10, p95: 20, p99: 40, max: 50 },
    carried: true,
    refused: 0,
    serverCpuPercent: [50],
    serverCpuUsPerTx: 500,
    serverRssMb: [100],
    clientCpuPercent: 10,
    loadAverage: 1,
    ...partial,
  };
}

describe("report", () => {
  const systems: SystemResult[] = [
    {
      id: "sqlite",
      label: "CityLedger, 1 node",
      kind: "cityledger",
      processes: 1,
      phases: [
        phase({ mode: "open", rateTxPerSecond: 1_000, committedTxPerSecond: 1_000 }),
        phase({
          mode: "closed",
          committedTxPerSecond: 2_000,
          latencyMs: { count: 1, p50: 300, p95: 350, p99: 400, max: 500 },
        }),
      ],
    },
    {
      id: "etcd-baseline",
      label: "etcd",
      kind: "baseline",
      processes: 3,
      phases: [
        phase({
          mode: "open",
          rateTxPerSecond: 1_000,
          committedTxPerSecond: 1_000,
          latencyMs: { count: 1, p50: 5, p95: 8, p99: 20, max: 30 },
        }),
        phase({
          mode: "closed",
          committedTxPerSecond: 8_000,
          latencyMs: { count: 1, p50: 50, p95: 80, p99: 100, max: 120 },
        }),
      ],
    },
    {
      id: "pg-baseline",
      label: "PostgreSQL",
      kind: "baseline",
      processes: 1,
      phases: [],
      error: "not installed",
    },
  ];

  it("gives the ratios of every measured pair", () => {
    const [ratio, ...rest] = pairRatios(systems);
    assert.equal(rest.length, 0, "a baseline that did not run has no ratio");
    assert.equal(ratio?.throughputRatio, 0.25);
    assert.equal(ratio?.saturationP99Ratio, 4);
    assert.equal(ratio?.commonRateTxPerSecond, 1_000);
    assert.equal(ratio?.commonRateP99Ratio, 2);
  });

  it("judges the targets", () => {
    const verdicts = targetVerdicts(
      systems,
      [{ systemId: "sqlite", txPerSecond: 1_000, p99Ms: 200 }],
      [
        { baselineId: "etcd-baseline", ratioMin: 1 },
        { baselineId: "pg-baseline", ratioMin: 0.5 },
      ],
      "sqlite",
    );
    assert.deepEqual(
      verdicts.map((verdict) => verdict.met),
      [true, false, null],
    );
  });

  it("renders the table and the chart", () => {
    const markdown = renderMarkdown(
      {
        dateIso: "2026-11-26T00:00:00Z",
        machine: "2 × test cpu",
        loadAverageStart: [1, 1, 1],
        loadAverageEnd: [1, 1, 1],
        codeState: "abc",
        versions: "pg; etcd",
      },
      systems,
      [],
      [
        {
          historyTxsAtStart: 0,
          historyTxsAtEnd: 10_000,
          committedTxPerSecond: 900,
          latencyMs: null,
          serverCpuUsPerTx: 1000,
          rssMb: 300,
          loadAverage: 1,
        },
      ],
    );
    assert.match(
      markdown,
      /\| CityLedger, 1 node \| saturation \| 2,000 \| 2,000 \| 300 ms \/ 350 ms \/ 400 ms \/ 500 ms/,
    );
    assert.match(markdown, /\| CityLedger, 1 node \| etcd \| 0\.25× \| 4\.00× \| 2\.00× at 1,000 tx\/s \|/);
    assert.match(markdown, /PostgreSQL \| not run \| not installed/);
    assert.match(markdown, /0 → 10,000/);
    const svg = renderSvg(systems, "test <chart>");
    assert.ok(svg.startsWith("<svg"));
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.match(svg, /<polyline /);
    assert.match(svg, /test &lt;chart&gt;/);
    assert.equal((svg.match(/<rect x=/g) ?? []).length >= 2, true, "a square per saturation point");
  });
});

/** One short open phase and one short closed phase through bench/baseline-generator.ts. */
async function driveBaseline(target: Parameters<GeneratorDriver["send"]>[0]): Promise<PhaseResult[]> {
  const driver = new GeneratorDriver(resolve(import.meta.dirname, "baseline-generator.ts"));
  try {
    driver.send(target);
    await driver.expect("connected", 20_000);
    const specs: PhaseSpec[] = [
      {
        name: "open",
        mode: "open",
        rateTxPerSecond: 500,
        warmupMs: 200,
        windowMs: 1_000,
        txCount: 0,
        outstandingBatchesMax: 0,
        batchTxs: 0,
        drainMs: 5_000,
      },
      {
        name: "closed",
        mode: "closed",
        rateTxPerSecond: 0,
        // Enough pre-signed records that a quiet machine's etcd (over 10,000 puts/s) does not run
        // out of them before the window opens (2,000 did: ranOutOfTransactions, nothing in window).
        warmupMs: 200,
        windowMs: 1_000,
        txCount: 20_000,
        outstandingBatchesMax: 2,
        batchTxs: 100,
        drainMs: 5_000,
      },
    ];
    const results: PhaseResult[] = [];
    for (const spec of specs) {
      driver.send({ type: "phase", phase: spec, chainId: "bench-test" });
      await driver.expect("ready", 20_000);
      driver.send({ type: "go" });
      results.push((await driver.expect("result", 20_000)).result);
    }
    return results;
  } finally {
    await driver.stop();
  }
}

function assertCommitted(results: readonly PhaseResult[]): void {
  for (const result of results) {
    assert.ok(
      result.committedInWindow > 0,
      `${result.name}: records committed in the window: ${JSON.stringify(result, (_key, value) => (typeof value === "bigint" ? value.toString() : value))}`,
    );
    assert.ok(result.latencyMs !== null && result.latencyMs.p99 > 0, `${result.name}: latencies`);
    assert.deepEqual(result.refusedAllByCode, {}, `${result.name}: nothing refused`);
  }
  assert.ok(results[0]!.sentInWindow >= 400, "the open loop offered ≈ 500 records in its 1 s window");
}

describe("baseline drivers against real servers", () => {
  let postgres: PostgresBaseline | null = null;
  let etcd: EtcdCluster | null = null;
  after(async () => {
    await postgres?.cluster.stop();
    await etcd?.stop();
  });

  it("PostgreSQL: verified records inserted with synchronous commit", async (test) => {
    try {
      postgres = await startPostgres();
    } catch (error) {
      if (error instanceof BaselineUnavailableError) return test.skip(error.message);
      throw error;
    }
    const url = await postgres.cluster.createDatabase("baseline_test");
    assertCommitted(await driveBaseline({ type: "init", target: { kind: "postgres", url } }));
  });

  it("etcd: records put in transactions on a 3-member cluster", async (test) => {
    try {
      etcd = await startEtcdCluster(3);
    } catch (error) {
      if (error instanceof BaselineUnavailableError) return test.skip(error.message);
      throw error;
    }
    assertCommitted(
      await driveBaseline({ type: "init", target: { kind: "etcd", endpoints: etcd.endpoints } }),
    );
  });
});

describe("Caliper connector against a real node", () => {
  let network: Network;
  before(async () => {
    network = await startNetwork(1, []);
  });
  after(async () => {
    await stopNetwork(network);
  });

  it("implements Caliper's ConnectorInterface and commits notary records", async () => {
    const apiUrls = network.nodes.map((node) => node.apiUrl);
    const connector = createConnector(3, { apiUrls, commitTimeoutMs: 20_000 });
    assert.equal(connector.getType(), "cityledger");
    assert.equal(connector.getWorkerIndex(), 3);
    await connector.init(true);
    await connector.installSmartContract();
    assert.equal((await connector.prepareWorkerArguments(2)).length, 2);
    await assert.rejects(
      connector.sendRequests({ contract: "notary", method: "anchor", args: {} }),
      (error: unknown) => error instanceof ConnectorError && error.code === "NO_CONTEXT",
    );

    const round = await runFixedRateRound(connector, {
      roundIndex: 0,
      requestsPerSecond: 10,
      durationMs: 1_500,
      roundArguments: { recordsPerRequest: 5 },
    });
    assert.equal(round.failed, 0, `no failures (first error: ${round.firstError})`);
    assert.ok(round.succeeded >= 50, `≈ 75 records committed, got ${round.succeeded}`);
    assert.equal(round.submitted, round.succeeded);
    assert.ok(round.latencyMs !== null && round.latencyMs.max < 20_000);

    // A single request gives a single status; a refused one (bad arguments) fails, with a message.
    await connector.getContext(1, {});
    const single = await connector.sendRequests({
      contract: "notary",
      method: "anchor",
      args: {
        algorithm: "sha256",
        documentHash: `0x${"ab".repeat(32)}`,
        title: "one",
        documentType: "report",
      },
    });
    assert.ok(
      !Array.isArray(single) && single.IsCommitted(),
      JSON.stringify(!Array.isArray(single) && single.Marshal()),
    );
    const refused = await connector.sendRequests([
      { contract: "notary", method: "anchor", args: { title: 5 } },
    ]);
    assert.ok(Array.isArray(refused) && refused[0]?.GetStatus() === "failed");
    await connector.releaseContext();
  });

  it("loads through the factory Caliper requires (connector-factory.cjs)", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cityledger-caliper-test-"));
    const previous = process.env.CITYLEDGER_CALIPER_NETWORK;
    try {
      const networkConfig = join(directory, "networkconfig.json");
      writeFileSync(
        networkConfig,
        JSON.stringify({
          name: "test",
          caliper: { blockchain: "connector-factory.cjs" },
          cityledger: { apiUrls: network.nodes.map((node) => node.apiUrl) },
        }),
      );
      process.env.CITYLEDGER_CALIPER_NETWORK = networkConfig;
      const factory = createRequire(import.meta.url)("./caliper/connector-factory.cjs") as {
        ConnectorFactory: (workerIndex: number) => Promise<CityLedgerConnector>;
      };
      const connector = await factory.ConnectorFactory(1);
      assert.equal(connector.getWorkerIndex(), 1);
      await connector.init(false);
    } finally {
      if (previous === undefined) delete process.env.CITYLEDGER_CALIPER_NETWORK;
      else process.env.CITYLEDGER_CALIPER_NETWORK = previous;
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
