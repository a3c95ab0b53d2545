import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { utf8 } from "../base/bytes.ts";
import { openStore, STORE_FILE_NAME } from "./open-store.ts";
import { PersistentLedger } from "./persistent-ledger.ts";
import { METADATA_KEYS } from "./store.ts";
import { TestChain } from "./testing/test-chain.ts";

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const cli = join(root, "bin", "cityledger.js");

async function verifyCommand(data: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, "store", "verify", "--data", data], {
      cwd: root,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("cityledger store verify", () => {
  const directory = mkdtempSync(join(tmpdir(), "cityledger-verify-"));
  after(() => rmSync(directory, { recursive: true, force: true }));

  it("prints one OK line with counts, then names the first damaged height and exits 1", async () => {
    const store = await openStore(directory);
    await store.writeMetadata([[METADATA_KEYS.suite, utf8("ed25519")]]);
    const chain = new TestChain({ seed: 4, txsPerBlock: 3 });
    const ledger = await PersistentLedger.open(store);
    for (let height = 0; height < 4; height++) await chain.commitNext(ledger);
    await store.close();

    const intact = await verifyCommand(directory);
    assert.equal(intact.code, 0, intact.stderr);
    assert.match(intact.stdout, /^store OK: 4 blocks, 12 transactions, \d+ state entries\n$/);

    const database = new Database(join(directory, STORE_FILE_NAME));
    const row = database.prepare("SELECT header FROM blocks WHERE height = 3").get() as { header: Buffer };
    row.header[row.header.length - 1]! ^= 1;
    database.prepare("UPDATE blocks SET header = ? WHERE height = 3").run(row.header);
    database.close();
    const damaged = await verifyCommand(directory);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /store DAMAGED at height 3: .*\[STORE_CORRUPT\]/);
  });

  it("refuses a location that is not a store, without creating one", async () => {
    const text = join(directory, "notes.txt");
    writeFileSync(text, "not a ledger\n".repeat(100));
    const notOurs = await verifyCommand(text);
    assert.equal(notOurs.code, 1);
    assert.match(notOurs.stderr, /STORE_NOT_CITYLEDGER/);
    const missing = await verifyCommand(join(directory, "absent.sqlite"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /STORE_NOT_FOUND/);
  });
});
