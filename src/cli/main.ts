/**
 * The `cityledger` command (commander): `dev` (what `npm start` runs), `init`, `testnet`,
 * `node start`, `keys`, the client commands (`tx`, `receipt`, `verify`, `status`, `notary`)
 * and `store verify`. Parsing lives here and in *-commands.ts; the work in src/node and the SDK.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { readKeyFilePublicKey, type SuiteName, suiteByName } from "../crypto/index.ts";
import { saveKeyFile } from "../keystore/index.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import { openStore, verifyStore } from "../storage/index.ts";
import { registerClientCommands } from "./client-commands.ts";
import { registerGovernanceCommands } from "./governance-commands.ts";
import { registerNodeCommands } from "./node-commands.ts";
import { ERROR_PREFIX, HINT_PREFIX, parseSuite, passphraseFrom } from "./ui.ts";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};
const binPath = fileURLToPath(new URL("../../bin/cityledger.js", import.meta.url));

const program = new Command()
  .name("cityledger")
  .description("CityLedger: a verifiable, private-by-default ledger for city governments")
  .version(packageJson.version, "-v, --version")
  .action(() => {
    program.help();
  });

registerNodeCommands(program, binPath);
registerClientCommands(program);
registerGovernanceCommands(program);

const keys = program.command("keys").description("create and inspect key files (encrypted at rest)");

keys
  .command("new")
  .alias("generate")
  .description("create a new key pair and save it encrypted with a passphrase (mode 0600)")
  .requiredOption("--out <file>", "where to write the key file")
  .option("--suite <suite>", "signature suite: ed25519 or sm2-sm3", parseSuite, "ed25519" as SuiteName)
  .option("--passphrase-env <name>", "environment variable holding the passphrase", "CITYLEDGER_PASSPHRASE")
  .action((options: { out: string; suite: SuiteName; passphraseEnv: string }) => {
    const suite = suiteByName(options.suite);
    const keyPair = suite.keyPairFromSeed(randomBytes(32));
    saveKeyFile(options.out, suite, keyPair.privateKey, passphraseFrom(options.passphraseEnv));
    console.log(`key file: ${options.out}`);
    console.log(`suite:    ${suite.name}`);
    console.log(`public:   ${bytesToHex(keyPair.publicKey)}`);
    console.log(`key id:   ${bytesToHex(keyIdOf(suite, keyPair.publicKey))}`);
  });

keys
  .command("show")
  .description("print the public key and key id held in a key file (no passphrase needed)")
  .argument("<file>", "key file")
  .action((file: string) => {
    const { suiteName, publicKey } = readKeyFilePublicKey(readFileSync(file, "utf8"));
    const suite = suiteByName(suiteName);
    console.log(`suite:    ${suiteName}`);
    console.log(`public:   ${bytesToHex(publicKey)}`);
    console.log(`key id:   ${bytesToHex(keyIdOf(suite, publicKey))}`);
  });

const store = program.command("store").description("inspect a node's store (SQLite file or PostgreSQL)");

store
  .command("verify")
  .description("walk the whole store: block hashes, certificates, transactions, log root, state root")
  .requiredOption("--data <location>", "the node's data directory, SQLite file, or postgres:// URL")
  .action(async (options: { data: string }) => {
    const opened = await openStore(options.data, { create: false });
    try {
      const report = await verifyStore(opened);
      if (report.ok) {
        console.log(
          `store OK: ${report.height} blocks, ${report.transactions} transactions, ${report.stateEntries} state entries`,
        );
      } else {
        console.error(`store DAMAGED at height ${report.height}: ${report.reason} [${report.code}]`);
        process.exitCode = 1;
      }
    } finally {
      await opened.close();
    }
  });

program.showHelpAfterError("(run cityledger --help for usage)");

/** What to do next, for the errors a person meets first. */
const HINTS: Readonly<Record<string, string>> = {
  NODE_GENESIS_MISMATCH:
    "this data directory belongs to another chain: point dataDir elsewhere, or delete it",
  NODE_CONFIG_INVALID: "compare the file with the one `cityledger init` writes",
  NODE_KEY_INVALID: "check the passphrase source named in the config (passphrase.env or passphrase.file)",
  KEY_FILE_INSECURE_PERMISSIONS: "key files must be readable by their owner only",
  CLI_PASSPHRASE_MISSING:
    "export the variable, e.g. read -rs CITYLEDGER_PASSPHRASE; export CITYLEDGER_PASSPHRASE",
  STORE_CORRUPT: "restore the data directory from a backup, or resync the node from its peers",
};

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CityLedgerError) {
    console.error(`${ERROR_PREFIX} ${error.message} [${error.code}]`);
    const hint = HINTS[error.code];
    if (hint !== undefined) console.error(`${HINT_PREFIX} ${hint}`);
    process.exit(1);
  }
  if (error instanceof Error && "code" in error && error.code === "ENOENT") {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
