/**
 * Runs one node as a process: the node, its peer network (when it has peers) and its API, with
 * graceful shutdown on SIGINT and SIGTERM (API first, so no request is accepted that cannot be
 * served; then peers; then consensus and the store).
 * @module
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { FastifyInstance } from "fastify";
import pino from "pino";
import { startApi } from "../api/index.ts";
import type { NodeConfig } from "../node/config.ts";
import { CityLedgerNode } from "../node/node.ts";
import type { PeerNetworkHandle } from "../node/peer-network.ts";

/** Where `npm run web:build` (and `npm start`'s prestart) writes the built portal. */
export const PORTAL_DIRECTORY_DEFAULT = resolve(import.meta.dirname, "../../web/dist");

/** The built portal when there is one (a fresh clone has none until it is built). */
export function builtPortalDirectory(directory = PORTAL_DIRECTORY_DEFAULT): string | null {
  return existsSync(join(directory, "index.html")) ? directory : null;
}

/** Ports tried after the configured one when it is taken (dev only). */
export const API_PORT_ATTEMPTS_MAX = 20;

export interface RunningNode {
  readonly node: CityLedgerNode;
  readonly api: FastifyInstance;
  readonly apiUrl: string;
  readonly network: PeerNetworkHandle | null;
  /** True when the API serves the web portal at `/`. */
  readonly portal: boolean;
  stop(): Promise<void>;
}

export interface RunNodeOptions {
  /** Try the next ports when the API port is taken (for `dev`). */
  readonly apiPortFallback?: boolean;
  /** Log to this destination instead of stdout (a file for `testnet`). */
  readonly logDestination?: string;
  readonly passphrase?: string;
  /** The built web portal to serve at `/`; default the package's web/dist when built; null: none. */
  readonly portalDirectory?: string | null;
}

export async function runNode(config: NodeConfig, options: RunNodeOptions = {}): Promise<RunningNode> {
  const logger = pino(
    { level: config.logLevel, base: { node: config.name } },
    options.logDestination === undefined
      ? undefined
      : pino.destination({ dest: options.logDestination, sync: false }),
  );
  const node = await CityLedgerNode.start({
    config,
    logger,
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
  });
  let network: PeerNetworkHandle | null = null;
  let api: FastifyInstance | null = null;
  const portalDirectory =
    options.portalDirectory === undefined ? builtPortalDirectory() : options.portalDirectory;
  try {
    network = config.p2p.peers.length === 0 ? null : await node.startPeerNetwork();
    for (let attempt = 0; ; attempt++) {
      try {
        api = await startApi(node, {
          logger: logger.child({ component: "api" }),
          rateLimit:
            config.api.rateLimitPerMinute === 0
              ? false
              : { requestsMax: config.api.rateLimitPerMinute, windowMs: 60_000 },
          corsOrigins: config.api.corsOrigins,
          ...(portalDirectory === null ? {} : { portalDirectory }),
          host: config.api.host,
          port: config.api.port === 0 ? 0 : config.api.port + attempt,
        });
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "EADDRINUSE" || options.apiPortFallback !== true || attempt + 1 >= API_PORT_ATTEMPTS_MAX)
          throw error;
      }
    }
  } catch (error) {
    await network?.stop();
    await node.stop();
    throw error;
  }
  const address = api.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.api.port;
  const host = config.api.host.includes(":") ? `[${config.api.host}]` : config.api.host;
  const apiUrl = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;
  let stopping: Promise<void> | null = null;
  const running: RunningNode = {
    node,
    api,
    apiUrl,
    network,
    portal: portalDirectory !== null,
    stop: () => {
      stopping ??= (async () => {
        await api?.close();
        await network?.stop();
        await node.stop();
        logger.flush();
      })();
      return stopping;
    },
  };
  return running;
}

/** Stops the node on SIGINT/SIGTERM and exits; a second signal exits at once. */
export function stopOnSignals(running: RunningNode, onStopped: () => void = () => process.exit(0)): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    running.node.logger.info({ signal }, "stopping");
    void running.stop().then(onStopped, (error: unknown) => {
      running.node.logger.error({ error: (error as Error).message }, "stopping failed");
      process.exit(1);
    });
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  running.node.onFatalStop = () => {
    void running.stop().finally(() => process.exit(1));
  };
}
