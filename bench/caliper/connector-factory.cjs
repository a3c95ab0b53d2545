"use strict";
/**
 * Caliper's entry to the CityLedger connector: name this file as `caliper.blockchain` in the
 * network configuration (an absolute path, or ./-relative to the workspace). Caliper requires it
 * and awaits `ConnectorFactory(workerIndex)`. The connector is TypeScript (connector.ts), loaded
 * through tsx. The connector's settings come from the network configuration's `cityledger`
 * section, whose file is named by CITYLEDGER_CALIPER_NETWORK (set by `npm run bench:caliper`;
 * Caliper's workers inherit the environment) or by --caliper-networkconfig on the command line.
 */
const { readFileSync } = require("node:fs");
const { join, resolve } = require("node:path");
const { pathToFileURL } = require("node:url");

function networkConfigPath() {
  if (process.env.CITYLEDGER_CALIPER_NETWORK) return process.env.CITYLEDGER_CALIPER_NETWORK;
  const flag = process.argv.indexOf("--caliper-networkconfig");
  if (flag !== -1 && process.argv[flag + 1]) return resolve(process.argv[flag + 1]);
  throw new Error("CityLedger connector: set CITYLEDGER_CALIPER_NETWORK to the network configuration file");
}

async function ConnectorFactory(workerIndex) {
  const network = JSON.parse(readFileSync(networkConfigPath(), "utf8"));
  if (!network.cityledger || !Array.isArray(network.cityledger.apiUrls)) {
    throw new Error("CityLedger connector: the network configuration needs cityledger.apiUrls");
  }
  const connector = await loadConnectorModule();
  return connector.createConnector(workerIndex, network.cityledger);
}

/** connector.ts: imported directly when a TypeScript loader is registered, else through tsx's API. */
async function loadConnectorModule() {
  const url = pathToFileURL(join(__dirname, "connector.ts")).href;
  try {
    return await import(url);
  } catch (error) {
    if (error.code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
  }
  // tsx's CommonJS entry of this API registers a path it does not ship (tsx 4.23): use the ESM entry.
  const { tsImport } = await import("tsx/esm/api");
  return tsImport(url, __filename);
}

module.exports.ConnectorFactory = ConnectorFactory;
