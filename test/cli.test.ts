import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type DevChain, startDevChain } from "./helpers/cli-process.ts";

const bin = resolve(import.meta.dirname, "../bin/cityledger.js");
const directory = mkdtempSync(join(tmpdir(), "cityledger-cli-"));
after(() => rmSync(directory, { recursive: true, force: true }));

function run(args: string[], environment: Record<string, string> = {}) {
  return spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...environment },
  });
}

describe("cityledger command", () => {
  it("lists its commands when run bare", () => {
    const result = run([]);
    assert.equal(result.status, 0, result.stderr);
    for (const command of [
      "dev",
      "init",
      "testnet",
      "node",
      "keys",
      "tx",
      "receipt",
      "verify",
      "status",
      "store",
      "contract",
      "gov",
      "org",
      "member",
    ]) {
      assert.match(result.stdout, new RegExp(`\\n  ${command}\\b`), `help lists ${command}`);
    }
  });

  it("init writes a network (keys 0600, genesis, configs) and refuses to overwrite it", () => {
    const out = join(directory, "network");
    const result = run(["init", "--validators", "3", "--out", out, "--chain-id", "test-city", "--json"]);
    assert.equal(result.status, 0, result.stderr);
    const layout = JSON.parse(result.stdout) as { nodes: Array<{ configFile: string; directory: string }> };
    assert.equal(layout.nodes.length, 3);
    for (const node of layout.nodes) {
      assert.equal(statSync(join(node.directory, "node.key")).mode & 0o777, 0o600);
      assert.equal(statSync(join(node.directory, "passphrase")).mode & 0o777, 0o600);
    }
    const again = run(["init", "--validators", "3", "--out", out]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds a network/);
    const bad = run(["init", "--validators", "0", "--out", join(directory, "other")]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /validators must be between 1 and/);
  });

  for (const suite of ["ed25519", "sm2-sm3"]) {
    it(`generates a ${suite} key file and shows its public key`, () => {
      const path = join(directory, `${suite}.key`);
      const generated = run(["keys", "generate", "--out", path, "--suite", suite], {
        CITYLEDGER_PASSPHRASE: "a long passphrase",
      });
      assert.equal(generated.status, 0, generated.stderr);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const shown = execFileSync(process.execPath, [bin, "keys", "show", path], { encoding: "utf8" });
      const publicLine = generated.stdout.split("\n").find((line) => line.startsWith("public:"));
      assert.ok(publicLine !== undefined && shown.includes(publicLine));
    });
  }

  it("fails clearly without a passphrase, with an unknown suite, or over an existing file", () => {
    const path = join(directory, "x.key");
    const noPassphrase = run(["keys", "generate", "--out", path], { CITYLEDGER_PASSPHRASE: "" });
    assert.equal(noPassphrase.status, 1);
    assert.match(noPassphrase.stderr, /CITYLEDGER_PASSPHRASE/);
    const badSuite = run(["keys", "generate", "--out", path, "--suite", "rsa"], {
      CITYLEDGER_PASSPHRASE: "a long passphrase",
    });
    assert.notEqual(badSuite.status, 0);
    assert.match(badSuite.stderr, /ed25519, sm2-sm3/);
    assert.equal(
      run(["keys", "generate", "--out", path], { CITYLEDGER_PASSPHRASE: "a long passphrase" }).status,
      0,
    );
    const again = run(["keys", "generate", "--out", path], { CITYLEDGER_PASSPHRASE: "a long passphrase" });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /KEY_FILE_EXISTS/);
  });
});

describe("cityledger dev and the client commands, end to end", { timeout: 180_000 }, () => {
  const devDirectory = join(directory, "dev");
  let dev: DevChain | null = null;
  let api = "";

  before(async () => {
    dev = await startDevChain(devDirectory, ["--port", "0"], 90_000);
    assert.match(dev.output(), /seeded 5 notary records/);
    api = dev.apiUrl;
  });

  after(async () => {
    await dev?.stop();
  });

  it("status, notary anchor, tx status, receipt get, and an offline verify that catches tampering", () => {
    const environment = { CITYLEDGER_PASSPHRASE: "a long passphrase", CITYLEDGER_API: api };
    const status = run(["status", "--json"], environment);
    assert.equal(status.status, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { chainId: string }).chainId, "cityledger-dev");

    const key = join(directory, "clerk.key");
    assert.equal(run(["keys", "new", "--out", key], environment).status, 0);
    const document = join(directory, "permit.txt");
    writeFileSync(document, "Building permit BP-2026-0999, 3 Harbour Lane");
    const anchored = run(
      [
        "notary",
        "anchor",
        document,
        "--title",
        "Permit BP-2026-0999",
        "--type",
        "permit",
        "--key",
        key,
        "--json",
      ],
      environment,
    );
    assert.equal(anchored.status, 0, anchored.stderr);
    const committed = JSON.parse(anchored.stdout) as { hash: string; status: string };
    assert.equal(committed.status, "committed");

    const shown = run(["notary", "show", document, "--json"], environment);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /Permit BP-2026-0999/);

    const again = run(["notary", "anchor", document, "--title", "twice", "--key", key], environment);
    assert.equal(again.status, 2, "an included but failed transaction exits with 2");
    assert.match(again.stdout, /NOTARY_ALREADY_ANCHORED/);

    const txStatus = run(["tx", "status", committed.hash, "--json"], environment);
    assert.equal(txStatus.status, 0, txStatus.stderr);
    assert.match(txStatus.stdout, /"committed"/);

    const receiptFile = join(directory, "receipt.json");
    const fetched = run(["receipt", "get", committed.hash, "--out", receiptFile], environment);
    assert.equal(fetched.status, 0, fetched.stderr);
    const checkpoint = join(devDirectory, "genesis.json");
    const verified = run(["verify", receiptFile, "--checkpoint", checkpoint]);
    assert.equal(verified.status, 0, verified.stderr);
    assert.match(verified.stdout, /receipt OK/);

    const receipt = JSON.parse(readFileSync(receiptFile, "utf8")) as {
      inclusionProof: string[];
      logIndex: number;
    };
    const tampered = join(directory, "tampered.json");
    writeFileSync(tampered, JSON.stringify({ ...receipt, logIndex: receipt.logIndex + 1 }));
    const refused = run(["verify", tampered, "--checkpoint", checkpoint]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /receipt INVALID \[RECEIPT_/);
  });
});
