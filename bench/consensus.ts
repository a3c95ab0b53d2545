/**
 * `npm run bench:consensus`: heights decided per second by 1, 4, 7 and 16 validators in one
 * process on a zero-latency virtual network, with empty and 1,000-transaction blocks, and the
 * consensus messages each validator processes per second. Every validator runs the real state
 * machine, verifies every signature (Ed25519), encodes and decodes every message, writes its
 * WAL (in memory) and validates every proposed block through the simulator's application
 * (transaction root over the block's transactions, header hash). A second table repeats the
 * runs with the simulator's keyed-hash test double instead of Ed25519: the consensus logic
 * alone. Flags: --quick (shorter rounds), --validators=1,4 (a subset).
 */
import { cpus } from "node:os";
import { SIM_CHAIN_ID, SimApplication } from "../sim/application.ts";
import { fastSimSuite } from "../sim/fast-suite.ts";
import { keyObjectSigner } from "../sim/key-object-signer.ts";
import { assertNever } from "../src/base/assert.ts";
import {
  type ConsensusInput,
  type ConsensusOutput,
  type ConsensusState,
  createState,
  decodeConsensusMessage,
  encodeConsensusMessage,
  initialProposerPriorities,
  MemoryWal,
  type Signer,
  step,
  suiteSigner,
} from "../src/consensus/index.ts";
import { ed25519Suite } from "../src/crypto/ed25519.ts";
import type { SignatureSuite } from "../src/crypto/suite.ts";
import { canonicalValidatorSet, type ValidatorSet } from "../src/ledger/validator-set.ts";
import { printTable } from "./harness.ts";

const quick = process.argv.includes("--quick");
const validatorsArgument = process.argv.find((argument) => argument.startsWith("--validators="));
const validatorCounts = validatorsArgument
  ? validatorsArgument.slice("--validators=".length).split(",").map(Number)
  : [1, 4, 7, 16];
const runMs = quick ? 600 : 1_500;
const TRANSACTION_BYTES = 250;

interface Figures {
  readonly heights: number;
  readonly elapsedMs: number;
  readonly messages: number;
}

/** n validators, every broadcast delivered at once to every other validator (FIFO). */
function run(validatorCount: number, transactionCount: number, suite: SignatureSuite): Figures {
  const seeds = Array.from({ length: validatorCount }, (_, index) => new Uint8Array(32).fill(index + 1));
  const signers: Signer[] = seeds.map((seed) =>
    suite === ed25519Suite ? keyObjectSigner(seed) : suiteSigner(suite, seed),
  );
  const set: ValidatorSet = canonicalValidatorSet(
    suite.name,
    signers.map((signer) => ({ publicKey: signer.publicKey, power: 1n })),
  );
  const checkpoint = {
    height: 1n,
    validatorSet: set,
    nextValidatorSet: set,
    proposerPriorities: initialProposerPriorities(set),
  };
  const timeouts = {
    proposeBaseMs: 3_000,
    proposeDeltaMs: 500,
    prevoteBaseMs: 1_000,
    prevoteDeltaMs: 500,
    precommitBaseMs: 1_000,
    precommitDeltaMs: 500,
  };
  const states: ConsensusState[] = signers.map((signer) =>
    createState({ chainId: SIM_CHAIN_ID, suite, signer, timeouts }, checkpoint),
  );
  const apps = signers.map(() => new SimApplication(suite, set, () => true));
  const wals = signers.map(() => new MemoryWal());
  const queue: Array<{ to: number; bytes: Uint8Array }> = [];
  const local: ConsensusInput[][] = signers.map(() => []);
  let messages = 0;
  let heights = 0;

  const handle = (node: number, outputs: readonly ConsensusOutput[]): void => {
    for (const output of outputs) {
      switch (output.kind) {
        case "walAppend":
          void wals[node]!.walAppend(output.height, output.record);
          break;
        case "broadcast": {
          const bytes = encodeConsensusMessage(output.message);
          for (let to = 0; to < validatorCount; to++) if (to !== node) queue.push({ to, bytes });
          break;
        }
        case "requestValue": {
          const value = apps[node]!.proposeValue(output.height, {
            timeMs: Number(output.height),
            proposerPublicKey: signers[node]!.publicKey,
            transactionCount,
            transactionBytes: TRANSACTION_BYTES,
            salt: node,
            setChange: null,
          });
          local[node]!.push({ kind: "valueReady", height: output.height, round: output.round, value });
          break;
        }
        case "validateValue":
          local[node]!.push({
            kind: "valueValidated",
            height: output.height,
            valueHash: output.value.hash,
            verdict: apps[node]!.validateValue(output.height, output.value),
          });
          break;
        case "decide": {
          const nextSet = apps[node]!.commit(output.height, output.round, output.value, output.certificate);
          apps[node]!.forgetBlocksBelow(output.height); // keep memory flat
          void wals[node]!.walPrune(output.height + 1n);
          local[node]!.push({ kind: "validatorSet", height: output.height + 2n, validatorSet: nextSet });
          if (node === 0) heights++;
          break;
        }
        case "scheduleTimeout":
        case "evidence":
        case "rejected":
        case "event":
          break;
        default:
          assertNever(output);
      }
    }
  };
  const feed = (node: number, input: ConsensusInput): void => {
    const result = step(states[node]!, input);
    states[node] = result.state;
    handle(node, result.outputs);
    while (local[node]!.length > 0) feed(node, local[node]!.shift()!);
  };

  const start = performance.now();
  for (let node = 0; node < validatorCount; node++) feed(node, { kind: "start" });
  while (performance.now() - start < runMs) {
    for (let batch = 0; batch < 256 && queue.length > 0; batch++) {
      const { to, bytes } = queue.shift()!;
      const message = decodeConsensusMessage(bytes);
      messages++;
      feed(
        to,
        message.kind === "vote"
          ? { kind: "vote", vote: message.vote }
          : { kind: "proposal", proposal: message.proposal },
      );
    }
    if (queue.length === 0) break; // n = 1: nothing travels, every height decides inside feed
  }
  return { heights, elapsedMs: performance.now() - start, messages };
}

/** n = 1 decides every height inside one feed: time a fixed number of heights instead. */
function runSingle(transactionCount: number, suite: SignatureSuite): Figures {
  const signer =
    suite === ed25519Suite
      ? keyObjectSigner(new Uint8Array(32).fill(1))
      : suiteSigner(suite, new Uint8Array(32).fill(1));
  const set = canonicalValidatorSet(suite.name, [{ publicKey: signer.publicKey, power: 1n }]);
  const app = new SimApplication(suite, set, () => true);
  const wal = new MemoryWal();
  let state = createState(
    {
      chainId: SIM_CHAIN_ID,
      suite,
      signer,
      timeouts: {
        proposeBaseMs: 1,
        proposeDeltaMs: 1,
        prevoteBaseMs: 1,
        prevoteDeltaMs: 1,
        precommitBaseMs: 1,
        precommitDeltaMs: 1,
      },
    },
    {
      height: 1n,
      validatorSet: set,
      nextValidatorSet: set,
      proposerPriorities: initialProposerPriorities(set),
    },
  );
  let heights = 0;
  const start = performance.now();
  let pending: ConsensusInput | null = { kind: "start" };
  while (pending !== null && performance.now() - start < runMs) {
    const result = step(state, pending);
    state = result.state;
    pending = null;
    for (const output of result.outputs) {
      if (output.kind === "walAppend") void wal.walAppend(output.height, output.record);
      if (output.kind === "decide") {
        app.commit(output.height, output.round, output.value, output.certificate);
        app.forgetBlocksBelow(output.height);
        void wal.walPrune(output.height + 1n);
        state = step(state, { kind: "validatorSet", height: output.height + 2n, validatorSet: set }).state;
        heights++;
      }
      if (output.kind === "requestValue") {
        const value = app.proposeValue(output.height, {
          timeMs: heights,
          proposerPublicKey: signer.publicKey,
          transactionCount,
          transactionBytes: TRANSACTION_BYTES,
          salt: 0,
          setChange: null,
        });
        pending = { kind: "valueReady", height: output.height, round: output.round, value };
      }
    }
  }
  return { heights, elapsedMs: performance.now() - start, messages: 0 };
}

function table(suite: SignatureSuite, label: string): void {
  const rows: Record<string, string>[] = [];
  for (const validatorCount of validatorCounts) {
    for (const transactionCount of [0, 1_000]) {
      const figures =
        validatorCount === 1
          ? runSingle(transactionCount, suite)
          : run(validatorCount, transactionCount, suite);
      const seconds = figures.elapsedMs / 1000;
      rows.push({
        validators: String(validatorCount),
        block: transactionCount === 0 ? "empty" : "1,000 tx",
        "heights/s": (figures.heights / seconds).toFixed(1),
        "messages/s per validator":
          validatorCount === 1 ? "-" : Math.round(figures.messages / seconds).toLocaleString("en-US"),
        "CPU ms per height per validator": (
          figures.elapsedMs /
          Math.max(1, figures.heights) /
          validatorCount
        ).toFixed(3),
        heights: String(figures.heights),
      });
    }
  }
  console.log(`\n${label}`);
  printTable(rows);
}

console.log(
  `consensus benchmark: ${cpus()[0]?.model ?? "cpu"}, Node ${process.version}, all validators in one process on one core,` +
    ` zero-latency network, ${runMs} ms per row`,
);
table(
  ed25519Suite,
  "Ed25519 (sign with a cached node:crypto key, verify with libsodium), blocks validated by every validator",
);
table(
  fastSimSuite,
  "keyed-hash test double instead of Ed25519 (the consensus logic and the application alone)",
);
console.log(
  "\nmessages/s per validator: all n machines share one core, so one validator on its own core would process" +
    " the whole process's rate; CPU ms per height per validator = wall time / heights / n.",
);
