/**
 * `npm run bench:core`: throughput of the ledger core on this machine, one core, with baselines
 * run beside it in the same process (ratios printed). Flags:
 *   --log-sizes=10000,1000000,10000000   log sizes for the flat-cost check (default all three)
 *   --quick                              shorter rounds and only 10^4 and 10^6
 */
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { cpus } from "node:os";
import sodium from "sodium-native";
import { ed25519Suite, type SignatureSuite, sha256, sm2Sm3Suite } from "../src/crypto/index.ts";
import { nativeSha256 } from "../src/crypto/native-sha256.ts";
import { ed25519PortableSuite } from "../src/crypto/portable/ed25519-suite.ts";
import { sha256 as portableSha256 } from "../src/crypto/portable/sha256.ts";
import {
  decodeTransaction,
  encodeTransaction,
  MerkleLog,
  signTransaction,
  type Transaction,
  validateTransaction,
  verifyConsistency,
  verifyInclusion,
} from "../src/ledger/index.ts";
import { SparseMerkleTree, verifyStateProof } from "../src/state/index.ts";
import { formatRate, type Measurement, measure, printTable } from "./harness.ts";

const quick = process.argv.includes("--quick");
const logSizesArgument = process.argv.find((argument) => argument.startsWith("--log-sizes="));
const logSizes = logSizesArgument
  ? logSizesArgument.slice("--log-sizes=".length).split(",").map(Number)
  : quick
    ? [10_000, 1_000_000]
    : [10_000, 1_000_000, 10_000_000];
const roundMs = quick ? 150 : 400;

const rows: Record<string, string>[] = [];
function report(measurement: Measurement, target?: number, baseline?: Measurement): void {
  rows.push({
    operation: measurement.name,
    "ops/s": formatRate(measurement.opsPerSecond),
    "µs/op": measurement.microsecondsPerOp.toFixed(2),
    target:
      target === undefined
        ? ""
        : `>= ${formatRate(target)} ${measurement.opsPerSecond >= target ? "ok" : "MISSED"}`,
    baseline: baseline === undefined ? "" : `${baseline.name}: ${formatRate(baseline.opsPerSecond)}`,
    ratio: baseline === undefined ? "" : `${(measurement.opsPerSecond / baseline.opsPerSecond).toFixed(2)}x`,
  });
}

function makeTransaction(suite: SignatureSuite): Transaction {
  const sender = suite.keyPairFromSeed(new Uint8Array(32).fill(3));
  return signTransaction(suite, sender.privateKey, {
    chainId: "bench-city-1",
    nonce: 0n,
    expiryHeight: 1_000_000n,
    contract: "notary",
    method: "anchor",
    args: {
      title: "Inspection report 2026-11-25 for permit 4711",
      documentHash: new Uint8Array(32).fill(9),
      pages: 12n,
    },
  });
}

// --- transactions -------------------------------------------------------------------------
function benchTransactions(): void {
  const transaction = makeTransaction(ed25519Suite);
  const encoded = encodeTransaction(transaction);
  console.log(`sample transaction: ${encoded.length} bytes`);
  const json = JSON.stringify({ ...transaction, nonce: "0", expiryHeight: "1000000" }, (_, value) =>
    value instanceof Uint8Array
      ? Buffer.from(value).toString("hex")
      : typeof value === "bigint"
        ? value.toString()
        : value,
  );
  const ours = measure("tx encode+decode", () => decodeTransaction(encodeTransaction(transaction)), {
    roundMs,
  });
  const jsonBaseline = measure("JSON stringify+parse", () => JSON.parse(JSON.stringify(JSON.parse(json))), {
    roundMs,
  });
  report(ours, undefined, jsonBaseline);

  const context = { chainId: "bench-city-1", height: 1n, nonceNextOf: () => 0n };
  const ed25519Validate = measure(
    "tx validate, ed25519 (libsodium)",
    () => validateTransaction(encoded, { ...context, suite: ed25519Suite }),
    { roundMs },
  );
  // Baseline: node:crypto Ed25519 verify with a cached KeyObject, same signed bytes.
  const keyObject = createPublicKey({
    key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), transaction.senderPublicKey]),
    format: "der",
    type: "spki",
  });
  const signingBytes = encoded.subarray(0, encoded.length - 4 - transaction.signature.length);
  const nodeBaseline = measure(
    "node:crypto verify",
    () => nodeVerify(null, signingBytes, keyObject, transaction.signature),
    { roundMs },
  );
  report(ed25519Validate, 10_000, nodeBaseline);
  report(
    measure(
      "tx validate, ed25519 (portable, browser)",
      () => validateTransaction(encoded, { ...context, suite: ed25519PortableSuite }),
      {
        roundMs,
        rounds: 3,
      },
    ),
  );
  const sm2Encoded = encodeTransaction(makeTransaction(sm2Sm3Suite));
  report(
    measure(
      "tx validate, sm2-sm3",
      () => validateTransaction(sm2Encoded, { ...context, suite: sm2Sm3Suite }),
      {
        roundMs,
        rounds: 3,
      },
    ),
  );
}

// --- hashing baseline ---------------------------------------------------------------------
function benchHashing(): void {
  const node = new Uint8Array(65).fill(1);
  const digest = Buffer.alloc(32);
  const nodeBuffer = Buffer.from(node);
  // The node's SHA-256 (src/crypto/sha256.ts) beside libsodium's, its fallback, and noble's.
  report(
    measure(
      `sha256 65 B (the node's: ${nativeSha256 === null ? "libsodium, the addon is not built" : "OpenSSL, native/sha256"})`,
      () => sha256(node),
      {
        roundMs,
      },
    ),
    undefined,
    measure("sha256 65 B (libsodium)", () => sodium.crypto_hash_sha256(digest, nodeBuffer), { roundMs }),
  );
  report(measure("sha256 65 B (noble, portable)", () => portableSha256(node), { roundMs }));
}

// --- transparency log ---------------------------------------------------------------------
function benchLog(): void {
  const leaf = new Uint8Array(32);
  const log = new MerkleLog();
  let counter = 0;
  report(
    measure(
      "log append",
      () => {
        leaf[0] = counter & 0xff;
        leaf[1] = (counter >> 8) & 0xff;
        counter++;
        log.append(leaf);
      },
      { roundMs },
    ),
    200_000,
  );

  for (const size of logSizes) {
    const sized = new MerkleLog();
    const started = performance.now();
    const data = new Uint8Array(32);
    const view = new DataView(data.buffer);
    for (let index = 0; index < size; index++) {
      view.setUint32(0, index);
      sized.append(data);
    }
    const buildSeconds = (performance.now() - started) / 1000;
    console.log(
      `built a log of ${size.toLocaleString("en-US")} leaves in ${buildSeconds.toFixed(1)} s (${formatRate(size / buildSeconds)} appends/s); heap ${Math.round(process.memoryUsage().rss / 1e6)} MB rss`,
    );
    const root = sized.root();
    let probe = 12345;
    const nextIndex = () => {
      probe = (probe * 1103515245 + 12345) % 2147483648;
      return probe % size;
    };
    report(measure(`log root @ ${size.toExponential(0)}`, () => sized.root(), { roundMs }));
    report(
      measure(
        `inclusion proof generate+verify @ ${size.toExponential(0)}`,
        () => {
          const index = nextIndex();
          view.setUint32(0, index);
          const proof = sized.inclusionProof(index, size);
          if (!verifyInclusion(data, index, size, proof, root, sha256))
            throw new Error("inclusion proof failed");
        },
        { roundMs },
      ),
    );
    const fixedIndex = nextIndex();
    view.setUint32(0, fixedIndex);
    const fixedProof = sized.inclusionProof(fixedIndex, size);
    const leafCopy = data.slice();
    report(
      measure(
        `inclusion verify @ ${size.toExponential(0)}`,
        () => verifyInclusion(leafCopy, fixedIndex, size, fixedProof, root, sha256),
        { roundMs },
      ),
      100_000,
    );
    report(
      measure(
        `consistency proof generate+verify @ ${size.toExponential(0)}`,
        () => {
          const older = 1 + nextIndex();
          const proof = sized.consistencyProof(older, size);
          if (!verifyConsistency(older, size, proof, sized.root(older), root, sha256))
            throw new Error("consistency proof failed");
        },
        { roundMs },
      ),
    );
  }
}

// --- state tree ---------------------------------------------------------------------------
function benchState(): void {
  for (const treeSize of quick ? [100_000] : [100_000, 1_000_000]) {
    const tree = new SparseMerkleTree({});
    const key = (index: number) => {
      const bytes = sha256(new Uint8Array(new Uint32Array([index]).buffer));
      return bytes;
    };
    const value = new Uint8Array(100).fill(7);
    for (let start = 0; start < treeSize; start += 10_000) {
      const updates = [];
      for (let index = start; index < start + 10_000; index++) updates.push({ key: key(index), value });
      tree.applyBatch(updates);
    }
    let cursor = 0;
    report(
      measure(
        `state batch update (1,000 keys) @ ${treeSize.toExponential(0)} keys`,
        () => {
          const updates = [];
          for (let count = 0; count < 1000; count++) {
            updates.push({ key: key(cursor % treeSize), value: new Uint8Array([cursor & 0xff, 1, 2, 3]) });
            cursor += 7919;
          }
          tree.applyBatch(updates);
        },
        { opsPerCall: 1000, roundMs, rounds: 3 },
      ),
      50_000,
    );
    const probeKey = key(42);
    const proof = tree.prove(probeKey);
    const probeValue = tree.get(probeKey)!;
    const root = tree.root;
    report(
      measure(`state proof generate @ ${treeSize.toExponential(0)}`, () => tree.prove(probeKey), { roundMs }),
    );
    report(
      measure(
        `state proof verify @ ${treeSize.toExponential(0)}`,
        () => verifyStateProof(root, probeKey, probeValue, proof, sha256),
        { roundMs },
      ),
    );
  }
}

benchTransactions();
benchHashing();
benchLog();
benchState();

console.log(
  `\nCityLedger core benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? "cpu"} × ${cpus().length}, node ${process.version}\n`,
);
printTable(rows);
