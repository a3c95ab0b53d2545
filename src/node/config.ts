/**
 * The node's configuration file (JSON), validated with a TypeBox schema at the edge: an error
 * names the field and what it must be. Paths in the file are relative to the file's folder.
 * @module
 */
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Static, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { BLOCK_TXS_MAX } from "../base/limits.ts";
import { TIMEOUTS_DEFAULT } from "../consensus/index.ts";
import { MEMPOOL_TXS_MAX } from "../mempool/index.ts";
import { NodeError } from "./errors.ts";
import { SIGNATURE_WORKERS_MAX } from "./signature-pool.ts";
import {
  SNAPSHOT_INTERVAL_HEIGHTS_DEFAULT,
  SNAPSHOT_INTERVAL_HEIGHTS_MAX,
  SNAPSHOTS_KEPT_DEFAULT,
  SNAPSHOTS_KEPT_MAX,
} from "./snapshot-limits.ts";

export const CONFIG_FILE_BYTES_MAX = 256 * 1024;
export const PEERS_CONFIGURED_MAX = 256;

const HexKey = Type.String({ pattern: "^[0-9a-f]{64}$", description: "32-byte key, lower-case hex" });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Host = Type.String({ minLength: 1, maxLength: 255 });
const Milliseconds = (maximum: number) => Type.Integer({ minimum: 0, maximum });

export const NodeConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9._-]+$" }),
    /** Blocks, state and the consensus WAL; default `data` beside the config file. */
    dataDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    /** `sqlite` (in dataDir, the default) or a `postgres://` URL. */
    store: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    genesisFile: Type.String({ minLength: 1, maxLength: 4096 }),
    /** The node's Ed25519 key: its identity on the peer network and, on Ed25519 chains, its validator key. */
    keyFile: Type.String({ minLength: 1, maxLength: 4096 }),
    /** The validator key on chains of another suite (SM2/SM3); absent: keyFile. */
    validatorKeyFile: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    /** Where the key files' passphrase comes from: an environment variable or a file (mode 0600). */
    passphrase: Type.Union([
      Type.Object({ env: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
      Type.Object({ file: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false }),
    ]),
    p2p: Type.Object(
      {
        host: Host,
        port: Port,
        peers: Type.Array(
          Type.Object(
            { name: Type.Optional(Type.String({ maxLength: 64 })), nodeKey: HexKey, host: Host, port: Port },
            { additionalProperties: false },
          ),
          { maxItems: PEERS_CONFIGURED_MAX },
        ),
      },
      { additionalProperties: false },
    ),
    api: Type.Object(
      {
        host: Host,
        port: Port,
        /** Requests per client address per minute; 0 turns the limit off. */
        rateLimitPerMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
        corsOrigins: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 64 })),
        /** Serve the web portal's built files from this folder, when it exists. */
        portalDir: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
      },
      { additionalProperties: false },
    ),
    consensus: Type.Optional(
      Type.Object(
        {
          proposeBaseMs: Type.Optional(Milliseconds(600_000)),
          proposeDeltaMs: Type.Optional(Milliseconds(600_000)),
          prevoteBaseMs: Type.Optional(Milliseconds(600_000)),
          prevoteDeltaMs: Type.Optional(Milliseconds(600_000)),
          precommitBaseMs: Type.Optional(Milliseconds(600_000)),
          precommitDeltaMs: Type.Optional(Milliseconds(600_000)),
          /** Wait this long for transactions before proposing a block that has some. */
          blockIntervalMs: Type.Optional(Milliseconds(60_000)),
          /**
           * Transactions a proposer puts in one block. A block must be built and checked well
           * within the propose timeout, or rounds time out and the work is done again.
           */
          blockTxsMax: Type.Optional(Type.Integer({ minimum: 1, maximum: BLOCK_TXS_MAX })),
          /** With an empty pool, propose an empty block only this often (a heartbeat). */
          emptyBlockIntervalMs: Type.Optional(Milliseconds(3_600_000)),
        },
        { additionalProperties: false },
      ),
    ),
    /** State snapshots: joining from one, and serving them (docs/adr/0005-snapshot-sync.md). */
    sync: Type.Optional(
      Type.Object(
        {
          /** With an empty data directory, join from a peer's snapshot before consensus starts (default false). */
          snapshot: Type.Optional(Type.Boolean()),
          /** Export a snapshot at every multiple of this height; 0 serves none. */
          snapshotIntervalHeights: Type.Optional(
            Type.Integer({ minimum: 0, maximum: SNAPSHOT_INTERVAL_HEIGHTS_MAX }),
          ),
          /** Snapshots kept to serve (the newest). */
          snapshotsKept: Type.Optional(Type.Integer({ minimum: 1, maximum: SNAPSHOTS_KEPT_MAX })),
        },
        { additionalProperties: false },
      ),
    ),
    mempool: Type.Optional(
      Type.Object(
        {
          /**
           * Transactions waiting at most; beyond it submissions get 503 + Retry-After before any
           * signature check. Size it to the backlog clients may wait for (blocks × txs per block).
           */
          txsMax: Type.Optional(Type.Integer({ minimum: 1, maximum: MEMPOOL_TXS_MAX })),
          /**
           * Worker threads that verify the signatures of submitted and gossiped batches; 0 verifies
           * on the main thread. Default: one per core, less the main thread's, at most 8.
           */
          signatureWorkers: Type.Optional(Type.Integer({ minimum: 0, maximum: SIGNATURE_WORKERS_MAX })),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union([
              Type.Literal("fatal"),
              Type.Literal("error"),
              Type.Literal("warn"),
              Type.Literal("info"),
              Type.Literal("debug"),
              Type.Literal("trace"),
              Type.Literal("silent"),
            ]),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type NodeConfigFile = Static<typeof NodeConfigSchema>;

/** The configuration with paths resolved and defaults filled in. */
export interface NodeConfig {
  readonly name: string;
  readonly configDir: string;
  readonly dataDir: string;
  readonly store: string;
  readonly genesisFile: string;
  readonly keyFile: string;
  readonly validatorKeyFile: string;
  readonly passphrase: { readonly env: string } | { readonly file: string };
  readonly p2p: NodeConfigFile["p2p"];
  readonly api: {
    readonly host: string;
    readonly port: number;
    readonly rateLimitPerMinute: number;
    readonly corsOrigins: readonly string[];
    readonly portalDir: string | null;
  };
  readonly consensus: {
    readonly timeouts: typeof TIMEOUTS_DEFAULT;
    readonly blockIntervalMs: number;
    readonly blockTxsMax: number;
    readonly emptyBlockIntervalMs: number;
  };
  readonly sync: {
    /** Join from a peer's snapshot when the data directory holds no block. */
    readonly snapshot: boolean;
    readonly snapshotIntervalHeights: number;
    readonly snapshotsKept: number;
  };
  readonly mempool: {
    readonly txsMax: number;
    /** Worker threads verifying signatures at admission; null: one per core but the main thread's. */
    readonly signatureWorkers: number | null;
  };
  readonly logLevel: string;
}

export const BLOCK_INTERVAL_MS_DEFAULT = 20;
/**
 * Default transactions per block: about 1 s of building and committing at this machine's
 * measured ≈ 1 ms per notary transaction (docs/PERFORMANCE.md), a third of the propose timeout.
 */
export const BLOCK_TXS_MAX_DEFAULT = 1_000;
export const EMPTY_BLOCK_INTERVAL_MS_DEFAULT = 5_000;
export const API_RATE_LIMIT_PER_MINUTE_DEFAULT = 60_000;
/** Default pool bound: ≈ 15 s of backlog at this machine's measured one-node throughput. */
export const MEMPOOL_TXS_PENDING_DEFAULT = 20_000;

/** Checks parsed JSON against the schema; the error names the first bad field. */
export function parseNodeConfig(json: unknown, configDir: string): NodeConfig {
  if (!Value.Check(NodeConfigSchema, json)) {
    const first = Value.Errors(NodeConfigSchema, json).First();
    const field = first === undefined || first.path === "" ? "(the whole file)" : first.path;
    throw new NodeError("NODE_CONFIG_INVALID", `config field ${field}: ${first?.message ?? "invalid"}`, {
      field,
    });
  }
  const file = json;
  const path = (value: string) => (isAbsolute(value) ? value : resolve(configDir, value));
  const dataDir = path(file.dataDir ?? "data");
  const store = file.store === undefined || file.store === "sqlite" ? dataDir : file.store;
  const consensus = file.consensus ?? {};
  return {
    name: file.name,
    configDir,
    dataDir,
    store: store.startsWith("postgres://") || store.startsWith("postgresql://") ? store : path(store),
    genesisFile: path(file.genesisFile),
    keyFile: path(file.keyFile),
    validatorKeyFile: path(file.validatorKeyFile ?? file.keyFile),
    passphrase: "file" in file.passphrase ? { file: path(file.passphrase.file) } : file.passphrase,
    p2p: file.p2p,
    api: {
      host: file.api.host,
      port: file.api.port,
      rateLimitPerMinute: file.api.rateLimitPerMinute ?? API_RATE_LIMIT_PER_MINUTE_DEFAULT,
      corsOrigins: file.api.corsOrigins ?? [],
      portalDir: file.api.portalDir === undefined ? null : path(file.api.portalDir),
    },
    consensus: {
      timeouts: {
        proposeBaseMs: consensus.proposeBaseMs ?? TIMEOUTS_DEFAULT.proposeBaseMs,
        proposeDeltaMs: consensus.proposeDeltaMs ?? TIMEOUTS_DEFAULT.proposeDeltaMs,
        prevoteBaseMs: consensus.prevoteBaseMs ?? TIMEOUTS_DEFAULT.prevoteBaseMs,
        prevoteDeltaMs: consensus.prevoteDeltaMs ?? TIMEOUTS_DEFAULT.prevoteDeltaMs,
        precommitBaseMs: consensus.precommitBaseMs ?? TIMEOUTS_DEFAULT.precommitBaseMs,
        precommitDeltaMs: consensus.precommitDeltaMs ?? TIMEOUTS_DEFAULT.precommitDeltaMs,
      },
      blockIntervalMs: consensus.blockIntervalMs ?? BLOCK_INTERVAL_MS_DEFAULT,
      blockTxsMax: consensus.blockTxsMax ?? BLOCK_TXS_MAX_DEFAULT,
      emptyBlockIntervalMs: consensus.emptyBlockIntervalMs ?? EMPTY_BLOCK_INTERVAL_MS_DEFAULT,
    },
    sync: {
      snapshot: file.sync?.snapshot ?? false,
      snapshotIntervalHeights: file.sync?.snapshotIntervalHeights ?? SNAPSHOT_INTERVAL_HEIGHTS_DEFAULT,
      snapshotsKept: file.sync?.snapshotsKept ?? SNAPSHOTS_KEPT_DEFAULT,
    },
    mempool: {
      txsMax: file.mempool?.txsMax ?? MEMPOOL_TXS_PENDING_DEFAULT,
      signatureWorkers: file.mempool?.signatureWorkers ?? null,
    },
    logLevel: file.log?.level ?? "info",
  };
}

/** Reads and checks a config file. */
export function loadNodeConfig(file: string): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new NodeError(
      "NODE_CONFIG_INVALID",
      `cannot read the config file ${file}: ${(error as Error).message}`,
    );
  }
  if (text.length > CONFIG_FILE_BYTES_MAX) {
    throw new NodeError(
      "NODE_CONFIG_INVALID",
      `the config file is larger than ${CONFIG_FILE_BYTES_MAX} bytes`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new NodeError("NODE_CONFIG_INVALID", `the config file is not JSON: ${(error as Error).message}`);
  }
  return parseNodeConfig(json, dirname(resolve(file)));
}
