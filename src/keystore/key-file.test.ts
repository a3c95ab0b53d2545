import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ed25519Suite, KeyFileError } from "../crypto/index.ts";
import { loadKeyFile, saveKeyFile } from "./key-file.ts";

const directory = mkdtempSync(join(tmpdir(), "cityledger-keys-"));
after(() => rmSync(directory, { recursive: true, force: true }));
const fastCost = { logN: 10, r: 8, p: 1 };
const keyPair = ed25519Suite.keyPairFromSeed(new Uint8Array(32).fill(5));

function expectCode(action: () => unknown, code: string): void {
  assert.throws(action, (error: unknown) => error instanceof KeyFileError && error.code === code);
}

describe("key files", () => {
  it("round-trips with mode 0600 and the right passphrase", () => {
    const path = join(directory, "a.key");
    saveKeyFile(path, ed25519Suite, keyPair.privateKey, "correct horse battery", { cost: fastCost });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const opened = loadKeyFile(path, "correct horse battery", ed25519Suite);
    assert.deepEqual(opened.privateKey, keyPair.privateKey);
    assert.deepEqual(opened.publicKey, keyPair.publicKey);
    assert.ok(!readFileSync(path, "utf8").includes(Buffer.from(keyPair.privateKey).toString("hex")));
  });

  it("uses the default scrypt cost when not told otherwise", () => {
    const path = join(directory, "default.key");
    saveKeyFile(path, ed25519Suite, keyPair.privateKey, "correct horse battery");
    assert.equal(JSON.parse(readFileSync(path, "utf8")).kdf.logN, 15);
  });

  it("refuses to overwrite, a wrong passphrase, a damaged file and open permissions", () => {
    const path = join(directory, "b.key");
    saveKeyFile(path, ed25519Suite, keyPair.privateKey, "correct horse battery", { cost: fastCost });
    expectCode(
      () => saveKeyFile(path, ed25519Suite, keyPair.privateKey, "another passphrase"),
      "KEY_FILE_EXISTS",
    );
    expectCode(() => loadKeyFile(path, "wrong passphrase!", ed25519Suite), "KEY_FILE_WRONG_PASSPHRASE");
    expectCode(
      () => loadKeyFile(join(directory, "missing.key"), "whatever1", ed25519Suite),
      "KEY_FILE_NOT_FOUND",
    );

    const document = JSON.parse(readFileSync(path, "utf8"));
    const tampered = join(directory, "c.key");
    // A flipped ciphertext nibble fails authentication.
    const ciphertext: string = document.cipher.ciphertext;
    document.cipher.ciphertext = (ciphertext[0] === "0" ? "1" : "0") + ciphertext.slice(1);
    writeFileSync(tampered, JSON.stringify(document), { mode: 0o600 });
    expectCode(
      () => loadKeyFile(tampered, "correct horse battery", ed25519Suite),
      "KEY_FILE_WRONG_PASSPHRASE",
    );
    // Truncated JSON and a missing field are reported as damage.
    writeFileSync(tampered, readFileSync(path, "utf8").slice(0, 40), { mode: 0o600 });
    expectCode(() => loadKeyFile(tampered, "correct horse battery", ed25519Suite), "KEY_FILE_DAMAGED");
    delete document.cipher.tag;
    writeFileSync(tampered, JSON.stringify(document), { mode: 0o600 });
    expectCode(() => loadKeyFile(tampered, "correct horse battery", ed25519Suite), "KEY_FILE_DAMAGED");

    chmodSync(path, 0o644);
    expectCode(
      () => loadKeyFile(path, "correct horse battery", ed25519Suite),
      "KEY_FILE_INSECURE_PERMISSIONS",
    );
  });

  it("refuses short passphrases", () => {
    expectCode(
      () =>
        saveKeyFile(join(directory, "d.key"), ed25519Suite, keyPair.privateKey, "short", { cost: fastCost }),
      "KEY_FILE_PASSPHRASE_INVALID",
    );
  });
});
