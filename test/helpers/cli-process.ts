/**
 * The `cityledger` command as real child processes for end-to-end tests: `cityledger dev` started
 * and stopped (its printed portal and API lines parsed), and one-shot commands run the way a user
 * runs them, each with a time bound, several at once when a test wants them concurrent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

export const BIN = resolve(import.meta.dirname, "../../bin/cityledger.js");
/** How long `cityledger dev` may take to print its banner (tsx start-up and demo seeding included). */
export const DEV_START_TIMEOUT_MS = 120_000;
/** How long one CLI command may run (start-up, and the commit it waits for) before it is killed. */
export const CLI_TIMEOUT_MS = 60_000;

export interface CliResult {
  /** The exit code; null when the command was killed by a signal (its time bound). */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cityledger <args>` to completion; killed (SIGKILL) after `timeoutMs`. */
export function runCli(
  args: readonly string[],
  environment: Readonly<Record<string, string>> = {},
  timeoutMs = CLI_TIMEOUT_MS,
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...environment },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${timeoutMs} ms: cityledger ${args.join(" ")}]`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      fail(error);
    });
    child.once("close", (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr });
    });
  });
}

export interface DevChain {
  readonly child: ChildProcess;
  /** The API's base URL, as printed (`API  http://127.0.0.1:<port>/v1/status`). */
  readonly apiUrl: string;
  /** The portal's URL as printed, or null when the portal is not built. */
  readonly portalUrl: string | null;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** SIGINT, then waits for the exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

/** Starts `cityledger dev --dir <directory> <args>` and waits for its banner. */
export async function startDevChain(
  directory: string,
  args: readonly string[] = ["--port", "0"],
  timeoutMs = DEV_START_TIMEOUT_MS,
): Promise<DevChain> {
  const child = spawn(process.execPath, [BIN, "dev", "--dir", directory, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGINT");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + timeoutMs;
  while (!/Press Ctrl-C/.test(output)) {
    if (child.exitCode !== null) throw new Error(`cityledger dev exited (${child.exitCode}): ${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`cityledger dev did not start within ${timeoutMs} ms: ${output}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  const api = /\bAPI\s+(http:\/\/[^\s/]+)\/v1\/status/.exec(output);
  if (api === null) throw new Error(`cityledger dev printed no API line: ${output}`);
  const portal = /\bPortal\s+(http:\/\/\S+\/)\s/.exec(output);
  return { child, apiUrl: api[1]!, portalUrl: portal?.[1] ?? null, output: () => output, stop };
}
