import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CityLedgerError } from "../base/errors.ts";
import { parseNodeConfig } from "./config.ts";

const valid = {
  name: "node-1",
  genesisFile: "genesis.json",
  keyFile: "node.key",
  passphrase: { env: "CITYLEDGER_PASSPHRASE" },
  p2p: { host: "127.0.0.1", port: 26656, peers: [] },
  api: { host: "127.0.0.1", port: 8080 },
};

describe("node config", () => {
  it("resolves paths against the config's folder and fills defaults", () => {
    const config = parseNodeConfig(valid, "/srv/city/node-1");
    assert.equal(config.dataDir, "/srv/city/node-1/data");
    assert.equal(config.store, "/srv/city/node-1/data");
    assert.equal(config.keyFile, "/srv/city/node-1/node.key");
    assert.equal(config.validatorKeyFile, config.keyFile);
    assert.equal(config.consensus.timeouts.proposeBaseMs, 3000);
    const postgres = parseNodeConfig({ ...valid, store: "postgres://city@db/ledger" }, "/srv");
    assert.equal(postgres.store, "postgres://city@db/ledger");
    assert.deepEqual(config.sync, { snapshot: false, snapshotIntervalHeights: 1_000, snapshotsKept: 2 });
    const joining = parseNodeConfig(
      { ...valid, sync: { snapshot: true, snapshotIntervalHeights: 0 } },
      "/srv",
    );
    assert.deepEqual(joining.sync, { snapshot: true, snapshotIntervalHeights: 0, snapshotsKept: 2 });
  });

  it("names the bad field", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ ...valid, api: { ...valid.api, port: 70000 } }, /\/api\/port/],
      [
        { ...valid, p2p: { ...valid.p2p, peers: [{ nodeKey: "xyz", host: "h", port: 1 }] } },
        /\/p2p\/peers\/0\/nodeKey/,
      ],
      [{ ...valid, surprise: true }, /config field/],
      [{ ...valid, sync: { snapshotsKept: 9 } }, /\/sync\/snapshotsKept/],
      [{ ...valid, sync: { snapshot: "yes" } }, /\/sync\/snapshot/],
      [{ ...valid, name: undefined }, /config field/],
      ["not an object", /config field/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => parseNodeConfig(input, "/srv"),
        (error: unknown) =>
          error instanceof CityLedgerError &&
          error.code === "NODE_CONFIG_INVALID" &&
          message.test(error.message),
      );
    }
  });
});
