/**
 * Runs `cityledger node start` as a real child process for multi-process tests: start, wait
 * for /health, kill (SIGKILL or SIGTERM), restart; logs go to a file in the node's folder.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { join, resolve } from "node:path";

const bin = resolve(import.meta.dirname, "../../bin/cityledger.js");
/** How long a node may take to answer /health after it is spawned (tsx start-up included). */
export const NODE_START_TIMEOUT_MS = 60_000;

export class NodeProcess {
  child: ChildProcess | null = null;
  exits = 0;

  constructor(
    readonly name: string,
    readonly directory: string,
    readonly apiUrl: string,
  ) {}

  get running(): boolean {
    return this.child !== null;
  }

  async start(): Promise<void> {
    if (this.child !== null) throw new Error(`${this.name} is already running`);
    const log = openSync(join(this.directory, "node.log"), "a");
    const child = spawn(
      process.execPath,
      [bin, "node", "start", "--config", join(this.directory, "config.json")],
      {
        stdio: ["ignore", log, log],
        env: { ...process.env, LOG_LEVEL: "info" },
      },
    );
    this.child = child;
    child.once("exit", () => {
      this.exits++;
      if (this.child === child) this.child = null;
    });
    await this.waitHealthy();
  }

  async waitHealthy(timeoutMs = NODE_START_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const response = await fetch(`${this.apiUrl}/health`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      if (this.child === null)
        throw new Error(`${this.name} exited during start-up; see ${this.directory}/node.log`);
      if (Date.now() > deadline) throw new Error(`${this.name} not healthy after ${timeoutMs} ms`);
      await new Promise((done) => setTimeout(done, 100));
    }
  }

  /** Kills the process and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === null) return;
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.kill(signal);
    await exited;
  }
}

export async function getJson<Type>(url: string): Promise<Type> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as Type;
}

export interface StatusJson {
  readonly height: string;
  readonly headHash: string | null;
  readonly stateRoot: string;
  readonly peers: number;
  readonly consensus: { readonly height: string; readonly round: number; readonly step: string };
}

export async function heightOf(node: NodeProcess): Promise<bigint> {
  return BigInt((await getJson<StatusJson>(`${node.apiUrl}/v1/status`)).height);
}

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}
