/**
 * Commands that talk to a running node through its API (the SDK's client) or work offline:
 * `status`, `tx send|status`, `notary anchor|show`, `receipt get`, `verify`.
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { suiteByName } from "../crypto/index.ts";
import { type Value, ValueJsonError, valueFromJson } from "../encoding/index.ts";
import { decodeNonceValue, decodeReceipt, nonceKeyOf } from "../exec/index.ts";
import { loadKeyFile } from "../keystore/index.ts";
import { encodeTransaction, keyIdOf, signTransaction } from "../ledger/index.ts";
import { parseGenesisFile } from "../node/genesis-file.ts";
import { CityLedgerClient } from "../sdk/client.ts";
import { receiptFromJson, verifyReceipt } from "../sdk/receipt.ts";
import type { TransactionCommittedJson } from "../sdk/wire.ts";
import { parseInteger, passphraseFrom, printJson } from "./ui.ts";

export const API_DEFAULT = process.env.CITYLEDGER_API ?? "http://127.0.0.1:8080";
/** Blocks a transaction stays valid for, by default. */
const EXPIRY_HEIGHTS_DEFAULT = 10_000n;

export interface ApiOption {
  readonly api: string;
  readonly json?: boolean;
}

export function clientOf(options: ApiOption): CityLedgerClient {
  return new CityLedgerClient({ baseUrl: options.api });
}

/** `--args` JSON to a canonical Value (the value JSON form, docs/PROTOCOL.md 1.1.1). */
export function argsOfJson(text: string, option = "--args"): Value {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CityLedgerError("CLI_ARGS_INVALID", `${option} is not JSON`);
  }
  try {
    return valueFromJson(json);
  } catch (error) {
    if (error instanceof ValueJsonError)
      throw new CityLedgerError("CLI_ARGS_INVALID", `${option} at ${error.message}`);
    throw error;
  }
}

export interface SendOptions extends ApiOption {
  readonly key: string;
  readonly passphraseEnv: string;
  readonly nonce?: number;
  readonly wait: boolean;
}

/** What `send` did: the transaction's hash and, unless told not to wait, its committed status. */
export interface SendOutcome {
  readonly hash: string;
  /** Null with --no-wait. */
  readonly committed: TransactionCommittedJson | null;
}

/**
 * Signs and submits one transaction; waits for its commit unless told not to. Prints the outcome
 * unless `quiet` (a command that prints one JSON document of several steps); an included but
 * failed transaction sets the exit code 2 either way.
 */
export async function send(
  options: SendOptions,
  contract: string,
  method: string,
  args: Value,
  output: { readonly quiet?: boolean } = {},
): Promise<SendOutcome> {
  const quiet = output.quiet === true;
  const client = clientOf(options);
  const status = await client.status();
  const suite = suiteByName(status.suite as "ed25519" | "sm2-sm3");
  const key = loadKeyFile(options.key, passphraseFrom(options.passphraseEnv), suite);
  let nonce: bigint;
  if (options.nonce !== undefined) nonce = BigInt(options.nonce);
  else {
    const read = await client.readState(nonceKeyOf(suite.hash, keyIdOf(suite, key.publicKey)));
    nonce = read.value === null ? 0n : decodeNonceValue(read.value);
  }
  const transaction = signTransaction(suite, key.privateKey, {
    chainId: status.chainId,
    nonce,
    expiryHeight: BigInt(status.height) + EXPIRY_HEIGHTS_DEFAULT,
    contract,
    method,
    args,
  });
  const submitted = await client.submit(encodeTransaction(transaction));
  const hash = submitted.hash;
  if (!options.wait) {
    if (quiet) return { hash, committed: null };
    if (options.json === true) printJson({ hash, status: "pending" });
    else console.log(`submitted ${hash} (nonce ${nonce}); check it with: cityledger tx status ${hash}`);
    return { hash, committed: null };
  }
  const committed = await client.waitForCommit(hash, { timeoutMs: 60_000, pollIntervalMs: 200 });
  if (quiet) {
    // Nothing printed here: the caller prints the whole outcome.
  } else if (options.json === true) printJson(committed);
  else {
    const result = committed.result;
    console.log(
      `committed ${hash} at height ${committed.height}: ${result.ok ? "ok" : `failed [${result.errorCode}] ${result.errorMessage ?? ""}`}`,
    );
    console.log(`receipt: cityledger receipt get ${hash} --out receipt.json`);
  }
  if (!committed.result.ok) process.exitCode = 2;
  return { hash, committed };
}

/** The options every command that signs and sends a transaction takes. */
export function withSendOptions(command: Command): Command {
  return command
    .requiredOption("--key <file>", "the sender's key file")
    .option(
      "--passphrase-env <name>",
      "environment variable holding the key's passphrase",
      "CITYLEDGER_PASSPHRASE",
    )
    .option(
      "--nonce <n>",
      "the sender's nonce (default: the next one on chain)",
      parseInteger("nonce", 0, Number.MAX_SAFE_INTEGER),
    )
    .option("--no-wait", "return once the node accepts it, without waiting for the commit")
    .option("--api <url>", "the node's API", API_DEFAULT)
    .option("--json", "print JSON");
}

export function registerClientCommands(program: Command): void {
  program
    .command("status")
    .description("show a node's chain, height, consensus step, pool and peers")
    .option("--api <url>", "the node's API", API_DEFAULT)
    .option("--json", "print JSON")
    .action(async (options: ApiOption) => {
      const status = await clientOf(options).status();
      if (options.json === true) {
        printJson(status);
        return;
      }
      console.log(`chain      ${status.chainId} (${status.suite})`);
      console.log(`height     ${status.height}   head ${status.headHash ?? "-"}`);
      console.log(
        `consensus  height ${status.consensus.height} round ${status.consensus.round} ${status.consensus.step}`,
      );
      console.log(`pool       ${status.mempool.count} transactions, ${status.mempool.sizeBytes} bytes`);
      console.log(`peers      ${status.peers}${status.validator ? "   (this node validates)" : ""}`);
    });

  const tx = program.command("tx").description("send transactions and follow them");

  withSendOptions(
    tx
      .command("send")
      .description("sign a transaction and submit it")
      .requiredOption("--contract <name>", "contract, e.g. notary")
      .requiredOption("--method <name>", "method, e.g. anchor")
      .option("--args <json>", 'arguments in the value JSON form; bytes as {"$bytes": "<hex>"}', "{}"),
  ).action(async (options: SendOptions & { contract: string; method: string; args: string }) => {
    await send(options, options.contract, options.method, argsOfJson(options.args));
  });

  tx.command("status")
    .description("where a transaction is: pending, committed (with its result) or unknown")
    .argument("<hash>", "transaction hash (hex)")
    .option("--api <url>", "the node's API", API_DEFAULT)
    .option("--json", "print JSON")
    .action(async (hash: string, options: ApiOption) => {
      const status = await clientOf(options).transactionStatus(hash);
      if (options.json === true) printJson(status);
      else console.log(JSON.stringify(status, null, 2));
    });

  const notary = program
    .command("notary")
    .description("anchor documents and look them up (the notary contract)");
  withSendOptions(
    notary
      .command("anchor")
      .description("anchor a document's hash with a title and a type; the document stays with you")
      .argument("<file>", "the document")
      .requiredOption("--title <text>", "the document's title")
      .option("--type <type>", "policy, permit, certificate, minutes, report, other", "other")
      .option("--description <text>", "a short description"),
  ).action(
    async (file: string, options: SendOptions & { title: string; type: string; description?: string }) => {
      const status = await clientOf(options).status();
      const suite = suiteByName(status.suite as "ed25519" | "sm2-sm3");
      const documentHash = suite.hash(readFileSync(file));
      if (options.json !== true)
        console.log(
          `document ${file}: ${suite.name === "sm2-sm3" ? "sm3" : "sha256"} ${bytesToHex(documentHash)}`,
        );
      await send(options, "notary", "anchor", {
        algorithm: suite.name === "sm2-sm3" ? "sm3" : "sha256",
        documentHash,
        title: options.title,
        documentType: options.type,
        ...(options.description === undefined ? {} : { description: options.description }),
      });
    },
  );

  notary
    .command("show")
    .description("look a document up by its file or its hash, with the state proof")
    .argument("<file-or-hash>", "the document, or its 64-hex-digit hash")
    .option("--api <url>", "the node's API", API_DEFAULT)
    .option("--json", "print JSON")
    .action(async (target: string, options: ApiOption) => {
      const client = clientOf(options);
      let hash = /^[0-9a-f]{64}$/.test(target) ? target : null;
      if (hash === null) {
        const status = await client.status();
        hash = bytesToHex(suiteByName(status.suite as "ed25519" | "sm2-sm3").hash(readFileSync(target)));
      }
      const read = await client.notary(hash);
      if (options.json === true) printJson(read);
      else if (read.record === null) {
        console.log(`not anchored: ${hash}`);
        process.exitCode = 3;
      } else console.log(JSON.stringify(read.record, null, 2));
    });

  const receipt = program.command("receipt").description("fetch receipts");
  receipt
    .command("get")
    .description(
      "fetch a committed transaction's receipt (transaction, inclusion proof, header, certificate)",
    )
    .argument("<hash>", "transaction hash (hex)")
    .option("--out <file>", "write the receipt to this file (default: print it)")
    .option("--api <url>", "the node's API", API_DEFAULT)
    .action(async (hash: string, options: ApiOption & { out?: string }) => {
      const json = await clientOf(options).receiptJson(hash);
      const text = `${JSON.stringify(json, null, 2)}\n`;
      if (options.out === undefined) process.stdout.write(text);
      else {
        writeFileSync(options.out, text);
        console.log(
          `receipt written to ${options.out}; check it offline with: cityledger verify ${options.out} --checkpoint genesis.json`,
        );
      }
    });

  program
    .command("verify")
    .description("check a receipt offline against a checkpoint you trust (the chain's genesis.json)")
    .argument("<receipt>", "receipt JSON file (cityledger receipt get --out)")
    .requiredOption("--checkpoint <file>", "genesis.json of the chain (its chain id and validator set)")
    .option("--json", "print JSON")
    .action((file: string, options: { checkpoint: string; json?: boolean }) => {
      const loaded = parseGenesisFile(JSON.parse(readFileSync(options.checkpoint, "utf8")));
      const parsedReceipt = receiptFromJson(JSON.parse(readFileSync(file, "utf8")));
      const verdict = verifyReceipt(parsedReceipt, {
        chainId: loaded.genesis.chainId,
        validatorSet: loaded.genesis.validatorSet,
      });
      if (options.json === true) printJson(verdict);
      else if (verdict.ok) {
        console.log(
          `receipt OK: transaction ${bytesToHex(parsedReceipt.hash)} is entry ${parsedReceipt.logIndex} of the log, ` +
            `in block ${parsedReceipt.height} of ${loaded.genesis.chainId}, committed by more than 2/3 of the validators`,
        );
        if (parsedReceipt.execution === null) {
          console.log("outcome: not proved (the node did not hold the block's execution receipts)");
        } else {
          const execution = decodeReceipt(parsedReceipt.execution.receipt);
          console.log(
            `outcome proved by the block's receipt root: ${execution.status === "ok" ? "ok" : `failed [${execution.errorCode}]`}, ` +
              `${execution.gasUsed} gas, ${execution.events.length} event(s)` +
              (execution.events.length === 0
                ? ""
                : `: ${execution.events.map((event) => `${event.contract}.${event.type}`).join(", ")}`),
          );
        }
      } else console.error(`receipt INVALID [${verdict.code}]: ${verdict.message}`);
      if (!verdict.ok) process.exitCode = 1;
    });
}
