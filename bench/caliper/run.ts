/**
 * `npm run bench:caliper [-- --validators=4] [--seconds=20]`: starts a local CityLedger network
 * (temporary folder, free ports), writes Caliper's network configuration for it, and runs
 * Hyperledger Caliper's manager with bench/caliper/benchconfig.yaml through the CityLedger
 * connector. Caliper is not a dependency of this project (see docs/PERFORMANCE.md): when its CLI
 * is not found, this says so and runs the same connector and workload module through
 * bench/caliper/round.ts, which calls them the way a Caliper worker does.
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cleanUp, startNetwork, stopNetwork } from "../network.ts";
import { createConnector } from "./connector.ts";
import { runFixedRateRound } from "./round.ts";

const argv = process.argv.slice(2);
const flag = (name: string) => argv.find((item) => item.startsWith(`--${name}=`))?.slice(name.length + 3);
const validators = Number(flag("validators") ?? 1);
const seconds = Number(flag("seconds") ?? 20);
const workspace = import.meta.dirname;
const root = resolve(workspace, "../..");
/** Caliper's whole run (two rounds of about 20 s each, workers' start-up) is stopped after this. */
const CALIPER_TIME_LIMIT_MS = 10 * 60 * 1000;

function caliperCli(): string | null {
  const local = join(root, "node_modules", ".bin", "caliper");
  if (existsSync(local)) return local;
  return process.env.CALIPER_CLI !== undefined && existsSync(process.env.CALIPER_CLI)
    ? process.env.CALIPER_CLI
    : null;
}

async function main(): Promise<void> {
  const network = await startNetwork(validators, []);
  const directory = mkdtempSync(join(tmpdir(), "cityledger-caliper-"));
  try {
    const apiUrls = network.nodes.map((node) => node.apiUrl);
    const networkConfig = join(directory, "networkconfig.json");
    writeFileSync(
      networkConfig,
      `${JSON.stringify(
        {
          name: "cityledger-local",
          version: "1.0",
          caliper: { blockchain: join(workspace, "connector-factory.cjs") },
          cityledger: { apiUrls, commitTimeoutMs: 60_000 },
        },
        null,
        2,
      )}\n`,
    );
    console.log(
      `network of ${validators} validator(s): ${apiUrls.join(", ")}; Caliper network config ${networkConfig}`,
    );
    const cli = caliperCli();
    if (cli !== null) {
      // Caliper writes report.html into the workspace by default, which is in the source tree.
      const stamp = new Date()
        .toISOString()
        .replaceAll(":", "")
        .replace(/\.\d+Z$/, "Z");
      const reportPath = join(root, "bench-results", `caliper-${validators}v-${stamp}.html`);
      mkdirSync(join(root, "bench-results"), { recursive: true });
      const args = [
        "launch",
        "manager",
        "--caliper-workspace",
        workspace,
        "--caliper-networkconfig",
        networkConfig,
        "--caliper-benchconfig",
        "benchconfig.yaml",
        "--caliper-flow-only-test",
        "--caliper-report-path",
        reportPath,
      ];
      console.log(`${cli} ${args.join(" ")}`);
      const child = spawn(cli, args, {
        stdio: "inherit",
        env: { ...process.env, CITYLEDGER_CALIPER_NETWORK: networkConfig },
      });
      const timer = setTimeout(() => child.kill("SIGTERM"), CALIPER_TIME_LIMIT_MS);
      const code = await new Promise<number | null>((done) => child.once("exit", done));
      clearTimeout(timer);
      if (code !== 0) process.exitCode = 1;
      return;
    }
    console.log(
      "Hyperledger Caliper's CLI is not installed here (it is not a dependency; see docs/PERFORMANCE.md for the command that installs it).\n" +
        "Running the same connector and workload module as a Caliper worker would call them:",
    );
    const connector = createConnector(0, { apiUrls, commitTimeoutMs: 60_000 });
    await connector.init(true);
    await connector.installSmartContract();
    for (const [roundIndex, round] of [
      // The first round is benchconfig.yaml's fixed-rate round (100 records/s in requests of 10);
      // this driver has no fixed-load controller, so the second is a heavier fixed rate instead.
      { requestsPerSecond: 10, roundArguments: { recordsPerRequest: 10 } },
      { requestsPerSecond: 20, roundArguments: { recordsPerRequest: 50 } },
    ].entries()) {
      const result = await runFixedRateRound(connector, { roundIndex, durationMs: seconds * 1000, ...round });
      const latency = result.latencyMs;
      console.log(
        `round ${roundIndex}: ${round.requestsPerSecond} requests/s × ${round.roundArguments.recordsPerRequest} records: ` +
          `submitted ${result.submitted}, succeeded ${result.succeeded}, failed ${result.failed}, ` +
          `${Math.round(result.committedPerSecond)} records/s committed, latency p50/p95/p99/max ` +
          `${latency === null ? "-" : [latency.p50, latency.p95, latency.p99, latency.max].map(Math.round).join("/")} ms` +
          `${result.firstError === null ? "" : `; first error: ${result.firstError}`}`,
      );
      if (result.failed > 0) process.exitCode = 1;
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
    await stopNetwork(network);
  }
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
