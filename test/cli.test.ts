import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";

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
  it("says plainly what exists when run bare (npm start)", () => {
    const result = run([]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /What exists now/);
    assert.match(result.stdout, /not built yet/);
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
