/**
 * Writes a new network's files: per node a folder with its key file, its passphrase file (mode
 * 0600; for development and test networks; production passes the passphrase in the
 * environment), its config, and the shared genesis. Used by `cityledger init`, `testnet` and
 * `dev`. Keys come from the operating system's random source.
 * @module
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bytesToHex } from "../base/bytes.ts";
import { ed25519Suite, type SuiteName, suiteByName } from "../crypto/index.ts";
import type { ValueMap } from "../encoding/value.ts";
import { saveKeyFile } from "../keystore/index.ts";
import { canonicalValidatorSet, type ValidatorSet } from "../ledger/index.ts";
import type { NodeConfigFile } from "./config.ts";
import { NodeError } from "./errors.ts";
import { type GenesisFile, genesisFileOf } from "./genesis-file.ts";

export const NETWORK_NODES_MAX = 64;
export const VALIDATOR_POWER_DEFAULT = 10n;

export interface NetworkLayoutOptions {
  readonly out: string;
  readonly validators: number;
  readonly chainId: string;
  readonly suite: SuiteName;
  readonly host: string;
  /** Ports are `p2pPortBase + index` and `apiPortBase + index`. */
  readonly p2pPortBase: number;
  readonly apiPortBase: number;
  /** Explicit ports per node (free ports found by the caller), instead of base + index. */
  readonly p2pPorts?: readonly number[];
  readonly apiPorts?: readonly number[];
  /** Nodes admitted to the network that do not validate (they follow the chain). */
  readonly observers?: number;
  readonly genesisTimeMs: bigint;
  /**
   * The genesis initial state (organizations, members, committee, ...), or a function of the
   * generated validator set that returns it (governance keeps the genesis set); default {}.
   */
  readonly initialState?: ValueMap | ((validatorSet: ValidatorSet) => ValueMap);
  readonly consensus?: NodeConfigFile["consensus"];
  /**
   * Snapshot settings written into every node's config; observers (nodes that start later) also
   * get `snapshot: true` when `observersJoinFromSnapshot` is set (validators start together, from
   * genesis).
   */
  readonly sync?: {
    readonly snapshotIntervalHeights?: number;
    readonly snapshotsKept?: number;
    readonly observersJoinFromSnapshot?: boolean;
  };
  /** Serve the portal from this folder (an absolute path), when given. */
  readonly portalDir?: string;
}

export interface NetworkLayoutNode {
  readonly name: string;
  readonly directory: string;
  readonly configFile: string;
  readonly nodeKey: string;
  readonly apiUrl: string;
  readonly p2pPort: number;
  readonly validator: boolean;
}

export interface NetworkLayout {
  readonly genesis: GenesisFile;
  readonly nodes: readonly NetworkLayoutNode[];
}

/** The `sync` section of one node's config, or nothing when the layout sets none. */
function syncConfigOf(sync: NetworkLayoutOptions["sync"], validator: boolean): Pick<NodeConfigFile, "sync"> {
  if (sync === undefined) return {};
  return {
    sync: {
      ...(sync.snapshotIntervalHeights === undefined
        ? {}
        : { snapshotIntervalHeights: sync.snapshotIntervalHeights }),
      ...(sync.snapshotsKept === undefined ? {} : { snapshotsKept: sync.snapshotsKept }),
      ...(!validator && sync.observersJoinFromSnapshot === true ? { snapshot: true } : {}),
    },
  };
}

export function writeNetworkLayout(options: NetworkLayoutOptions): NetworkLayout {
  if (
    !Number.isInteger(options.validators) ||
    options.validators < 1 ||
    options.validators > NETWORK_NODES_MAX
  ) {
    throw new NodeError("NODE_CONFIG_INVALID", `a network has 1 to ${NETWORK_NODES_MAX} validators`);
  }
  if (existsSync(join(options.out, "genesis.json"))) {
    throw new NodeError(
      "NODE_CONFIG_INVALID",
      `${options.out} already holds a network (genesis.json exists)`,
    );
  }
  mkdirSync(options.out, { recursive: true });
  const suite = suiteByName(options.suite);
  const observers = options.observers ?? 0;
  const total = options.validators + observers;
  if (options.p2pPorts !== undefined && options.p2pPorts.length < total) {
    throw new NodeError("NODE_CONFIG_INVALID", "one peer port per node is needed");
  }
  if (options.apiPorts !== undefined && options.apiPorts.length < total) {
    throw new NodeError("NODE_CONFIG_INVALID", "one API port per node is needed");
  }
  const p2pPortOf = (index: number) => options.p2pPorts?.[index] ?? options.p2pPortBase + index;
  const apiPortOf = (index: number) => options.apiPorts?.[index] ?? options.apiPortBase + index;
  const prepared = [];
  for (let index = 0; index < total; index++) {
    const name = `node-${index + 1}`;
    const directory = join(options.out, name);
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    const passphrase = randomBytes(24).toString("base64url");
    writeFileSync(join(directory, "passphrase"), `${passphrase}\n`, { mode: 0o600 });
    const nodeKeyPair = ed25519Suite.keyPairFromSeed(randomBytes(32));
    saveKeyFile(join(directory, "node.key"), ed25519Suite, nodeKeyPair.privateKey, passphrase);
    let validatorPublicKey = nodeKeyPair.publicKey;
    if (suite.name !== "ed25519") {
      const validatorKeyPair = suite.keyPairFromSeed(randomBytes(32));
      saveKeyFile(join(directory, "validator.key"), suite, validatorKeyPair.privateKey, passphrase);
      validatorPublicKey = validatorKeyPair.publicKey;
    }
    prepared.push({
      name,
      directory,
      nodeKey: nodeKeyPair.publicKey,
      validatorPublicKey,
      index,
      validator: index < options.validators,
    });
  }
  const validatorSet = canonicalValidatorSet(
    suite.name,
    prepared
      .filter((node) => node.validator)
      .map((node) => ({ publicKey: node.validatorPublicKey, power: VALIDATOR_POWER_DEFAULT })),
  );
  const initialState =
    typeof options.initialState === "function"
      ? options.initialState(validatorSet)
      : (options.initialState ?? {});
  const genesis = genesisFileOf({
    genesis: {
      chainId: options.chainId,
      genesisTimeMs: options.genesisTimeMs,
      validatorSet,
      nodes: [...prepared]
        .map((node) => ({ name: node.name, nodeKey: node.nodeKey }))
        .sort((left, right) => bytesToHex(left.nodeKey).localeCompare(bytesToHex(right.nodeKey))),
      initialState,
    },
    suite,
    validatorNames: new Map(
      prepared
        .filter((node) => node.validator)
        .map((node) => [bytesToHex(node.validatorPublicKey), node.name]),
    ),
  });
  const genesisText = `${JSON.stringify(genesis, null, 2)}\n`;
  writeFileSync(join(options.out, "genesis.json"), genesisText);
  const nodes: NetworkLayoutNode[] = [];
  for (const node of prepared) {
    writeFileSync(join(node.directory, "genesis.json"), genesisText);
    const p2pPort = p2pPortOf(node.index);
    const apiPort = apiPortOf(node.index);
    const config: NodeConfigFile = {
      name: node.name,
      dataDir: "data",
      genesisFile: "genesis.json",
      keyFile: "node.key",
      ...(suite.name === "ed25519" ? {} : { validatorKeyFile: "validator.key" }),
      passphrase: { file: "passphrase" },
      p2p: {
        host: options.host,
        port: p2pPort,
        peers: prepared
          .filter((other) => other !== node)
          .map((other) => ({
            name: other.name,
            nodeKey: bytesToHex(other.nodeKey),
            host: options.host,
            port: p2pPortOf(other.index),
          })),
      },
      api: {
        host: options.host,
        port: apiPort,
        ...(options.portalDir === undefined ? {} : { portalDir: options.portalDir }),
      },
      ...(options.consensus === undefined ? {} : { consensus: options.consensus }),
      ...syncConfigOf(options.sync, node.validator),
    };
    const configFile = join(node.directory, "config.json");
    writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
    nodes.push({
      name: node.name,
      directory: node.directory,
      configFile,
      nodeKey: bytesToHex(node.nodeKey),
      apiUrl: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${apiPort}`,
      p2pPort,
      validator: node.validator,
    });
  }
  return { genesis, nodes };
}
