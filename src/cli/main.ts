/**
 * The `cityledger` command. What exists today: key management and store verification. The node, the network, the
 * portal and the API arrive with their issues; until then `cityledger` (and `npm start`)
 * says so plainly instead of pretending.
 * @module
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { bytesToHex } from "../base/bytes.ts";
import { CityLedgerError } from "../base/errors.ts";
import { readKeyFilePublicKey, type SuiteName, suiteByName } from "../crypto/index.ts";
import { saveKeyFile } from "../keystore/index.ts";
import { keyIdOf } from "../ledger/key-id.ts";
import { openStore, verifyStore } from "../storage/index.ts";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const SUITE_NAMES: readonly SuiteName[] = ["ed25519", "sm2-sm3"];

function parseSuite(value: string): SuiteName {
  if (!SUITE_NAMES.includes(value as SuiteName)) {
    throw new InvalidArgumentError(`choose one of: ${SUITE_NAMES.join(", ")}`);
  }
  return value as SuiteName;
}

function passphraseFrom(variable: string): string {
  const passphrase = process.env[variable];
  if (passphrase === undefined || passphrase.length === 0) {
    throw new CityLedgerError(
      "CLI_PASSPHRASE_MISSING",
      `set the passphrase in the environment variable ${variable}`,
    );
  }
  return passphrase;
}

const STATUS = `CityLedger ${packageJson.version}

What exists now: the ledger core (canonical encoding, Ed25519 and SM2/SM3 suites, transactions,
blocks, commit certificates, the RFC 9162 transparency log, the authenticated state tree, the
browser SDK's offline verifiers), key files (\`cityledger keys\`) and durable storage on SQLite or
PostgreSQL with state snapshots and an integrity check (\`cityledger store verify\`).

The running node (one-node chain, web portal and API) is not built yet: it arrives with the
issue "A running CityLedger network". Until then, \`npm test\` runs the whole test suite and
\`npm run bench:core\` measures the core.`;

const program = new Command()
  .name("cityledger")
  .description("CityLedger: a verifiable, private-by-default ledger for city governments")
  .version(packageJson.version, "-v, --version")
  .action(() => {
    console.log(STATUS);
  });

const keys = program.command("keys").description("create and inspect key files (encrypted at rest)");

keys
  .command("generate")
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

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CityLedgerError) {
    console.error(`error: ${error.message} [${error.code}]`);
    process.exit(1);
  }
  if (error instanceof Error && "code" in error && error.code === "ENOENT") {
    console.error(`error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
