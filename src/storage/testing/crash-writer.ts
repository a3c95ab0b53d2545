/**
 * The writer process of the crash tests: opens a store, resumes from its head, and commits real
 * blocks (TestChain) one by one, printing `committed <height>` on stdout only after
 * `commitBlock` resolved, i.e. once the block is durable. The tests kill it with SIGKILL at
 * random moments and restart it.
 *
 *   node --import tsx src/storage/testing/crash-writer.ts --location <path or postgres URL>
 *     [--seed 1] [--txs-per-block 8] [--heights-max 100000] [--index-batch-rows N]
 * @module
 */
import { parseArgs } from "node:util";
import { utf8 } from "../../base/bytes.ts";
import { isPostgresLocation, openStore } from "../open-store.ts";
import { PersistentLedger } from "../persistent-ledger.ts";
import { openSqliteStore } from "../sqlite/sqlite-store.ts";
import { METADATA_KEYS } from "../store.ts";
import { TestChain } from "./test-chain.ts";

const { values } = parseArgs({
  options: {
    location: { type: "string" },
    seed: { type: "string", default: "1" },
    "txs-per-block": { type: "string", default: "8" },
    "heights-max": { type: "string", default: "100000" },
    /** SQLite only: small deferred-index batches, so kills also land inside index batches. */
    "index-batch-rows": { type: "string" },
  },
});
if (values.location === undefined) {
  process.stderr.write("crash-writer: --location is required\n");
  process.exit(2);
}
const chain = new TestChain({ seed: Number(values.seed), txsPerBlock: Number(values["txs-per-block"]) });
const heightsMax = BigInt(values["heights-max"]);
const batchRows = values["index-batch-rows"];
const store =
  batchRows !== undefined && !isPostgresLocation(values.location)
    ? await openSqliteStore(values.location, {
        indexBatchRows: { transactions: Number(batchRows), stateNodes: 4 * Number(batchRows) },
      })
    : await openStore(values.location);
if ((await store.readMetadata(METADATA_KEYS.chainId)) === undefined) {
  await store.writeMetadata([
    [METADATA_KEYS.chainId, utf8(chain.chainId)],
    [METADATA_KEYS.genesisHash, chain.genesisHash],
    [METADATA_KEYS.suite, utf8("ed25519")],
  ]);
}
const ledger = await PersistentLedger.open(store);
process.stdout.write(`ready ${ledger.head?.height ?? 0n}\n`);
while ((ledger.head?.height ?? 0n) < heightsMax) {
  const built = await chain.commitNext(ledger);
  // process.stdout is synchronous on pipes (Linux): the line is in the pipe before the next commit.
  process.stdout.write(`committed ${built.block.header.height}\n`);
}
await store.close();
process.stdout.write("done\n");
