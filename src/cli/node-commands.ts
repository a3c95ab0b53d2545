/**
 * Commands that run or lay out nodes: `dev` (a one-node chain with demo data: `npm start`),
 * `init` (keys, genesis and configs for a network), `testnet` (N nodes as processes on
 * loopback) and `node start`.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import { CityLedgerError } from "../base/errors.ts";
import { ed25519Suite, type SuiteName } from "../crypto/index.ts";
import { loadNodeConfig } from "../node/config.ts";
import { demoCityInitialState, demoCityKeys } from "../node/demo-city.ts";
import { NETWORK_NODES_MAX, writeNetworkLayout } from "../node/network-layout.ts";
import { seedDemoCity } from "./demo-city-seed.ts";
import { runNode, stopOnSignals } from "./run-node.ts";
import { parseInteger, parseSuite, printJson } from "./ui.ts";

const DEV_CHAIN_ID = "cityledger-dev";
const DEMO_MARKER_FILE = "demo-seeded";
/** Loopback networks time out faster than the defaults (which suit a city's wide-area links). */
export const TESTNET_CONSENSUS = {
  proposeBaseMs: 1000,
  prevoteBaseMs: 500,
  precommitBaseMs: 500,
  emptyBlockIntervalMs: 400,
} as const;
/** How long `testnet` waits for every node's API to answer /health. */
export const TESTNET_READY_TIMEOUT_MS = 60_000;

/** Free TCP ports on the loopback interface (bound, read, released). */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const ports: number[] = [];
  const servers = [];
  for (let index = 0; index < count; index++) {
    const server = createServer();
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(0, host, () => done());
    });
    const address = server.address();
    if (typeof address === "object" && address !== null) ports.push(address.port);
    servers.push(server);
  }
  for (const server of servers) await new Promise<void>((done) => server.close(() => done()));
  return ports;
}

export function registerNodeCommands(program: Command, binPath: string): void {
  program
    .command("dev")
    .description(
      "run a one-node chain with the API (and demo data) in ./.cityledger/dev; prints where to open it",
    )
    .option("--dir <folder>", "where the dev chain keeps its keys and data", ".cityledger/dev")
    .option(
      "--port <port>",
      "API port (the next free one is used when taken)",
      parseInteger("port", 0, 65535),
      8080,
    )
    .option("--host <host>", "API host", "127.0.0.1")
    .option("--no-demo", "do not seed demo records")
    .option("--reset", "delete the dev chain first and start a new one")
    .action(async (options: { dir: string; port: number; host: string; demo: boolean; reset?: boolean }) => {
      const directory = resolve(options.dir);
      if (options.reset === true) rmSync(directory, { recursive: true, force: true });
      const city = demoCityKeys(directory, ed25519Suite);
      if (!existsSync(join(directory, "genesis.json"))) {
        mkdirSync(directory, { recursive: true });
        writeNetworkLayout({
          // The demo city: organizations, departments, officials and residents, a committee.
          initialState: (validatorSet) => demoCityInitialState(city, validatorSet),
          out: directory,
          validators: 1,
          chainId: DEV_CHAIN_ID,
          suite: "ed25519",
          host: options.host,
          p2pPortBase: 26656,
          apiPortBase: options.port,
          genesisTimeMs: BigInt(Date.now()),
        });
      }
      const configFile = join(directory, "node-1", "config.json");
      const config = loadNodeConfig(configFile);
      const running = await runNode(
        {
          ...config,
          api: { ...config.api, host: options.host, port: options.port },
          logLevel: process.env.LOG_LEVEL ?? "warn",
        },
        { apiPortFallback: true },
      );
      stopOnSignals(running);
      const marker = join(directory, DEMO_MARKER_FILE);
      let seeded = "";
      if (options.demo && !existsSync(marker)) {
        const result = await seedDemoCity(running.node, city, running.node.suite, running.node.chain.chainId);
        writeFileSync(marker, `${JSON.stringify(result, null, 2)}\n`);
        seeded = [
          `Demo city: 4 organizations, ${city.keys.length} members, a 3-seat committee; seeded ${result.notaryRecords} notary records,`,
          `the ${result.contract.name} contract deployed by committee vote (${result.proposals} proposals), and a service request.`,
        ].join("\n");
      } else if (existsSync(marker)) {
        seeded = "demo data: already seeded in this data directory";
      }
      const status = running.node.status();
      console.log(
        [
          "",
          `CityLedger dev chain "${status.chainId}" is running (one validator, height ${status.height}).`,
          seeded,
          "",
          running.portal
            ? `  Portal          ${running.apiUrl}/`
            : "  Portal          not built (npm run web:build, then start again)",
          `  API             ${running.apiUrl}/v1/status`,
          `  API reference   ${running.apiUrl}/docs`,
          `  Health          ${running.apiUrl}/health`,
          `  Metrics         ${running.apiUrl}/metrics`,
          `  Latest block    ${running.apiUrl}/v1/blocks/latest`,
          "",
          `Data directory: ${directory} (delete it, or pass --reset, to start over).`,
          `Demo people's keys: ${join(directory, "keys")} (mayor, health-director, emergency-chief, records-clerk,`,
          "  community-worker, resident, ...); use one with the CLI, e.g.",
          `  CITYLEDGER_PASSPHRASE=$(cat ${city.passphraseFile}) cityledger gov list --api ${running.apiUrl}`,
          "Press Ctrl-C to stop.",
          "",
        ]
          .filter((line, index, lines) => line !== "" || lines[index - 1] !== "")
          .join("\n"),
      );
    });

  program
    .command("init")
    .description("create keys, a genesis and node configs for a new network")
    .requiredOption(
      "--validators <count>",
      "number of validator nodes",
      parseInteger("validators", 1, NETWORK_NODES_MAX),
    )
    .requiredOption("--out <folder>", "where to write the network (one folder per node)")
    .option("--chain-id <id>", "chain id (lower-case letters, digits, dashes)", "cityledger-city")
    .option("--suite <suite>", "signature suite: ed25519 or sm2-sm3", parseSuite, "ed25519" as SuiteName)
    .option("--host <host>", "address nodes listen on and dial", "127.0.0.1")
    .option(
      "--p2p-port <port>",
      "first peer port (node i uses port + i)",
      parseInteger("p2p-port", 1, 65535),
      26656,
    )
    .option(
      "--api-port <port>",
      "first API port (node i uses port + i)",
      parseInteger("api-port", 1, 65535),
      8080,
    )
    .option("--json", "print the layout as JSON")
    .action(
      (options: {
        validators: number;
        out: string;
        chainId: string;
        suite: SuiteName;
        host: string;
        p2pPort: number;
        apiPort: number;
        json?: boolean;
      }) => {
        const layout = writeNetworkLayout({
          out: resolve(options.out),
          validators: options.validators,
          chainId: options.chainId,
          suite: options.suite,
          host: options.host,
          p2pPortBase: options.p2pPort,
          apiPortBase: options.apiPort,
          genesisTimeMs: BigInt(Date.now()),
        });
        if (options.json === true) {
          printJson(layout);
          return;
        }
        console.log(
          `network "${options.chainId}" with ${layout.nodes.length} validators in ${resolve(options.out)}`,
        );
        for (const node of layout.nodes) {
          console.log(
            `  ${node.name}: cityledger node start --config ${node.configFile}   (API ${node.apiUrl})`,
          );
        }
        console.log("Each node folder holds its key file and a passphrase file (mode 0600) for testing;");
        console.log(
          "in production, delete the passphrase file and set the passphrase in the environment instead.",
        );
      },
    );

  program
    .command("testnet")
    .description("start N validators as separate processes on free loopback ports; Ctrl-C stops them all")
    .requiredOption(
      "--validators <count>",
      "number of validators",
      parseInteger("validators", 1, NETWORK_NODES_MAX),
    )
    .option("--dir <folder>", "where the network lives (reused when it exists)", ".cityledger/testnet")
    .option("--json", "print the nodes' URLs as JSON once all are ready")
    .action(async (options: { validators: number; dir: string; json?: boolean }) => {
      const directory = resolve(options.dir);
      if (!existsSync(join(directory, "genesis.json"))) {
        const ports = await freePorts(options.validators * 2);
        writeNetworkLayout({
          out: directory,
          validators: options.validators,
          chainId: "cityledger-testnet",
          suite: "ed25519",
          host: "127.0.0.1",
          p2pPortBase: 1,
          apiPortBase: 1,
          p2pPorts: ports.slice(0, options.validators),
          apiPorts: ports.slice(options.validators),
          genesisTimeMs: BigInt(Date.now()),
          consensus: TESTNET_CONSENSUS,
        });
      }
      const nodes = Array.from({ length: options.validators }, (_, index) =>
        join(directory, `node-${index + 1}`),
      );
      const children: ChildProcess[] = [];
      for (const nodeDirectory of nodes) {
        const log = openSync(join(nodeDirectory, "node.log"), "a");
        children.push(
          spawn(
            process.execPath,
            [binPath, "node", "start", "--config", join(nodeDirectory, "config.json")],
            {
              stdio: ["ignore", log, log],
            },
          ),
        );
      }
      let stopping = false;
      const stopAll = () => {
        if (stopping) return;
        stopping = true;
        for (const child of children) child.kill("SIGTERM");
      };
      process.on("SIGINT", stopAll);
      process.on("SIGTERM", stopAll);
      for (const child of children) {
        child.on("exit", (code) => {
          if (!stopping) console.error(`a node exited (code ${code}); see its node.log`);
        });
      }
      const urls = nodes.map((nodeDirectory) => {
        const config = loadNodeConfig(join(nodeDirectory, "config.json"));
        return {
          name: config.name,
          apiUrl: `http://127.0.0.1:${config.api.port}`,
          log: join(nodeDirectory, "node.log"),
        };
      });
      await waitForHealth(
        urls.map((url) => url.apiUrl),
        TESTNET_READY_TIMEOUT_MS,
        options.json !== true && process.stdout.isTTY === true,
      );
      if (options.json === true) printJson({ directory, nodes: urls });
      else {
        console.log(`testnet of ${nodes.length} validators in ${directory}:`);
        for (const url of urls) console.log(`  ${url.name}  ${url.apiUrl}/v1/status   log: ${url.log}`);
        console.log("Press Ctrl-C to stop all nodes.");
      }
      await Promise.all(children.map((child) => new Promise((done) => child.once("exit", done))));
    });

  const node = program.command("node").description("run a node");
  node
    .command("start")
    .description("start a node from its config file (see `cityledger init`)")
    .requiredOption("--config <file>", "the node's config.json")
    .action(async (options: { config: string }) => {
      const config = loadNodeConfig(options.config);
      const running = await runNode(config);
      stopOnSignals(running);
      running.node.logger.info({ api: running.apiUrl }, "API listening");
    });
}

async function waitForHealth(urls: readonly string[], timeoutMs: number, progress = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const bar = progress
    ? new SingleBar({ format: "starting nodes [{bar}] {value}/{total} healthy" }, Presets.shades_classic)
    : null;
  bar?.start(urls.length, 0);
  try {
    for (const url of urls) {
      await waitForOne(url, deadline, timeoutMs);
      bar?.increment();
    }
  } finally {
    bar?.stop();
  }
}

async function waitForOne(url: string, deadline: number, timeoutMs: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new CityLedgerError(
        "CLI_TESTNET_NOT_READY",
        `${url} did not become healthy in ${timeoutMs} ms; see the node logs`,
      );
    }
    await new Promise((done) => setTimeout(done, 200));
  }
}
