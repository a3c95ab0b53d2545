/**
 * The baseline servers of `npm run bench`, started and stopped by the benchmark itself in
 * temporary folders on free loopback ports:
 *   - PostgreSQL 15: a throwaway cluster (the tests' helper, src/storage/postgres/test-cluster.ts:
 *     `initdb` as the `postgres` user when we are root, fsync and synchronous_commit on);
 *   - etcd 3.4 (Debian `etcd-server`): an n-member cluster on 127.0.0.1, each member a process.
 * Install both with `npm run bench:install` (bench/install-baselines.sh) when missing.
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePorts } from "../src/cli/node-commands.ts";
import { type PostgresCluster, startPostgresCluster } from "../src/storage/postgres/test-cluster.ts";

/** An etcd member or the cluster as a whole may take this long to answer its health check. */
const ETCD_START_TIMEOUT_MS = 30_000;
const ETCD_STOP_TIMEOUT_MS = 10_000;
/**
 * etcd refuses a transaction of more operations than this (default 128); the benchmark puts a
 * batch of records (up to 500, as CityLedger's batch request) in one transaction.
 */
export const ETCD_TXN_OPS_MAX = 1_000;

/** A baseline server is missing: the message says how to install it. */
export class BaselineUnavailableError extends Error {
  override readonly name = "BaselineUnavailableError";
}

export interface EtcdCluster {
  /** Client URLs, one per member. */
  readonly endpoints: readonly string[];
  readonly pids: readonly number[];
  readonly directory: string;
  stop(): Promise<void>;
}

export function etcdBinary(): string | null {
  for (const candidate of ["/usr/bin/etcd", "/usr/local/bin/etcd"])
    if (existsSync(candidate)) return candidate;
  return null;
}

/** Starts `members` etcd processes forming one cluster, and waits until it has a leader. */
export async function startEtcdCluster(members: number): Promise<EtcdCluster> {
  const binary = etcdBinary();
  if (binary === null)
    throw new BaselineUnavailableError("etcd is not installed: run `npm run bench:install` (etcd-server)");
  const directory = mkdtempSync(join(tmpdir(), "cityledger-bench-etcd-"));
  const ports = await freePorts(members * 2);
  const names = Array.from({ length: members }, (_, index) => `member${index + 1}`);
  const peerUrl = (index: number) => `http://127.0.0.1:${ports[members + index]}`;
  const clientUrl = (index: number) => `http://127.0.0.1:${ports[index]}`;
  const initialCluster = names.map((name, index) => `${name}=${peerUrl(index)}`).join(",");
  const children: ChildProcess[] = names.map((name, index) => {
    const log = openSync(join(directory, `${name}.log`), "a");
    return spawn(
      binary,
      [
        "--name",
        name,
        "--data-dir",
        join(directory, name),
        "--listen-client-urls",
        clientUrl(index),
        "--advertise-client-urls",
        clientUrl(index),
        "--listen-peer-urls",
        peerUrl(index),
        "--initial-advertise-peer-urls",
        peerUrl(index),
        "--initial-cluster",
        initialCluster,
        "--initial-cluster-state",
        "new",
        "--initial-cluster-token",
        `bench-${process.pid}`,
        "--max-txn-ops",
        String(ETCD_TXN_OPS_MAX),
        // 2 MiB requests: a batch of 500 records of ≈ 290 bytes, with room.
        "--max-request-bytes",
        String(2 * 1024 * 1024),
        "--logger",
        "zap",
        "--log-outputs",
        "stderr",
      ],
      { stdio: ["ignore", log, log] },
    );
  });
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((done) => child.once("exit", done));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), ETCD_STOP_TIMEOUT_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
    rmSync(directory, { recursive: true, force: true });
  };
  const deadline = Date.now() + ETCD_START_TIMEOUT_MS;
  try {
    for (let index = 0; index < members; index++) {
      for (;;) {
        const child = children[index]!;
        if (child.exitCode !== null)
          throw new Error(
            `etcd ${names[index]} exited: ${readFileSync(join(directory, `${names[index]}.log`), "utf8").slice(-2000)}`,
          );
        try {
          const response = await fetch(`${clientUrl(index)}/health`, { signal: AbortSignal.timeout(2_000) });
          if (response.ok && ((await response.json()) as { health?: string }).health === "true") break;
        } catch {
          // Not listening yet.
        }
        if (Date.now() > deadline)
          throw new Error(`etcd ${names[index]} not healthy after ${ETCD_START_TIMEOUT_MS} ms`);
        await new Promise((done) => setTimeout(done, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    endpoints: names.map((_, index) => clientUrl(index)),
    pids: children.map((child) => child.pid!),
    directory,
    stop,
  };
}

export interface PostgresBaseline {
  readonly cluster: PostgresCluster;
  /** The postmaster's pid (its backends are its children). */
  readonly postmasterPid: number;
}

export async function startPostgres(): Promise<PostgresBaseline> {
  let cluster: PostgresCluster;
  try {
    cluster = await startPostgresCluster();
  } catch (error) {
    if ((error as Error).message.includes("not installed"))
      throw new BaselineUnavailableError(
        "PostgreSQL is not installed: run `npm run bench:install` (postgresql)",
      );
    throw error;
  }
  const pidFile = readFileSync(join(cluster.directory, "data", "postmaster.pid"), "utf8");
  return { cluster, postmasterPid: Number(pidFile.split("\n")[0]) };
}

/** A process and its descendants (PostgreSQL's backends are children of the postmaster). */
export function processTree(rootPid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while we listed.
    }
  }
  const tree = [rootPid];
  for (let index = 0; index < tree.length; index++) {
    for (const [pid, parent] of parentOf) if (parent === tree[index]) tree.push(pid);
  }
  return tree;
}

/** The installed server versions, for the figures file. */
export function baselineVersions(): { postgres: string; etcd: string } {
  const version = (command: string, args: string[]) => {
    try {
      return execFileSync(command, args, { stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .split("\n")[0]!
        .trim();
    } catch {
      return "not installed";
    }
  };
  const pgBin = readdirSyncSafe("/usr/lib/postgresql")
    .filter((name) => /^\d+$/.test(name))
    .sort((left, right) => Number(right) - Number(left))[0];
  return {
    postgres:
      pgBin === undefined
        ? "not installed"
        : version(`/usr/lib/postgresql/${pgBin}/bin/postgres`, ["--version"]),
    etcd: version(etcdBinary() ?? "etcd", ["--version"]),
  };
}

function readdirSyncSafe(directory: string): string[] {
  try {
    return readdirSync(directory);
  } catch {
    return [];
  }
}
