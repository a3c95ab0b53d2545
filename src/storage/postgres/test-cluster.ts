/**
 * A throwaway PostgreSQL cluster for tests: a temporary directory owned by the `postgres` user
 * (when we run as root; otherwise by us), `initdb`, `pg_ctl start` on a free loopback port with
 * the socket inside the directory, one database per `createDatabase`. `stop` stops the server
 * and removes everything; call it from `after` so it also runs when a test fails. Only
 * 127.0.0.1 is listened on.
 * @module
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { assert } from "../../base/assert.ts";

const run = promisify(execFile);
/** pg_ctl waits at most this long for the server to start or stop. */
const PG_CTL_WAIT_SECONDS = 60;
const PORT_ATTEMPTS_MAX = 3;

export interface PostgresCluster {
  readonly port: number;
  readonly directory: string;
  /** A new empty database; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** `pg_ctl restart -m immediate`: the server dies without a checkpoint and recovers from its WAL. */
  restartImmediate(): Promise<void>;
  stop(): Promise<void>;
}

/** The directory of initdb and pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin. */
export async function postgresBinDirectory(): Promise<string | null> {
  try {
    const { stdout } = await run("pg_config", ["--bindir"]);
    const directory = stdout.trim();
    if (existsSync(join(directory, "initdb"))) return directory;
  } catch {
    // pg_config comes with libpq-dev, which a server-only install lacks: look in the usual place.
  }
  if (!existsSync("/usr/lib/postgresql")) return null;
  const versions = readdirSync("/usr/lib/postgresql")
    .filter((name) => /^\d+$/.test(name) && existsSync(join("/usr/lib/postgresql", name, "bin", "initdb")))
    .sort((left, right) => Number(right) - Number(left));
  return versions.length === 0 ? null : join("/usr/lib/postgresql", versions[0]!, "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      assert(address !== null && typeof address === "object", "a listening server has an address");
      server.close(() => resolve(address.port));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const binDirectory = await postgresBinDirectory();
  if (binDirectory === null) throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  const asRoot = process.getuid?.() === 0;
  const directory = mkdtempSync(join(tmpdir(), "cityledger-pg-"));
  const data = join(directory, "data");
  const asOwner = async (program: string, args: string[]): Promise<string> => {
    const binary = join(binDirectory, program);
    const { stdout } = asRoot
      ? await run("runuser", ["-u", "postgres", "--", binary, ...args], { cwd: directory })
      : await run(binary, args, { cwd: directory });
    return stdout;
  };
  try {
    if (asRoot) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: group } = await run("id", ["-g", "postgres"]);
      chownSync(directory, Number(stdout.trim()), Number(group.trim()));
    }
    await asOwner("initdb", [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  let port = 0;
  const serverOptions = () =>
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${directory} -c fsync=on -c synchronous_commit=on -c max_connections=40`;
  const pgCtl = (action: string, extra: string[] = []) =>
    asOwner("pg_ctl", [action, "-D", data, "-w", "-t", String(PG_CTL_WAIT_SECONDS), ...extra]);
  let started = false;
  for (let attempt = 0; attempt < PORT_ATTEMPTS_MAX && !started; attempt++) {
    port = await freePort();
    try {
      await pgCtl("start", ["-l", join(directory, "server.log"), "-o", serverOptions()]);
      started = true;
    } catch (error) {
      if (attempt === PORT_ATTEMPTS_MAX - 1) {
        rmSync(directory, { recursive: true, force: true });
        throw error;
      }
    }
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    port,
    directory,
    async createDatabase(name: string): Promise<string> {
      assert(/^[a-z][a-z0-9_]*$/.test(name), "database names are simple identifiers");
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async restartImmediate(): Promise<void> {
      await pgCtl("restart", ["-m", "immediate", "-l", join(directory, "server.log"), "-o", serverOptions()]);
    },
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      try {
        await pgCtl("stop", ["-m", "immediate"]);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}
