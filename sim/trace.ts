/** Readable one-line descriptions of what happens in a simulated run (`--trace`). */
import { bytesToHex } from "../src/base/bytes.ts";
import type { ConsensusMessage, ConsensusOutput } from "../src/consensus/index.ts";
import type { SimulationOptions } from "./options.ts";
import type { SimMessage } from "./types.ts";

export function shortHash(hash: Uint8Array | null): string {
  return hash === null ? "nil" : bytesToHex(hash.subarray(0, 4));
}

const VOTE_NAMES: Readonly<Record<number, string>> = { 1: "prevote", 2: "precommit" };

export function describeMessage(message: ConsensusMessage): string {
  if (message.kind === "proposal") {
    const proposal = message.proposal;
    return `proposal h${proposal.height} r${proposal.round} pol${proposal.polRound} ${shortHash(proposal.value.hash)}`;
  }
  const vote = message.vote;
  return `${VOTE_NAMES[vote.type]} h${vote.height} r${vote.round} ${shortHash(vote.blockHash)} by v${vote.validatorIndex}`;
}

export function describeSimMessage(message: SimMessage): string {
  switch (message.kind) {
    case "consensus":
      return describeMessage(message.message);
    case "status":
      return `status h${message.height}`;
    case "commit":
      return `commit h${message.height} r${message.certificate.round} ${shortHash(message.value.hash)}`;
  }
}

/** The trace line of an output, or null for outputs not worth a line. */
export function describeOutput(output: ConsensusOutput): string | null {
  switch (output.kind) {
    case "walAppend":
      return null;
    case "broadcast":
      return `signs ${describeMessage(output.message)}`;
    case "scheduleTimeout":
      return `sets timeout ${output.timeout.step} h${output.timeout.height} r${output.timeout.round} in ${output.durationMs}ms`;
    case "requestValue":
      return `asks for a value for h${output.height} r${output.round}`;
    case "validateValue":
      return `validates ${shortHash(output.value.hash)} for h${output.height}`;
    case "decide":
      return `DECIDES h${output.height} r${output.round} ${shortHash(output.value.hash)} (${output.certificate.signatures.length} precommits)`;
    case "evidence":
      return `records evidence of equivocation at h${output.height}`;
    case "rejected":
      return `rejects a message from ${output.peer ?? "?"}: ${output.code} (h${output.height} r${output.round})`;
    case "event":
      return output.name === "round_started" || output.name === "round_skipped"
        ? `${output.name.replace("_", " ")} h${output.height} r${output.round}`
        : null;
  }
}

/** The configuration of a run, for the head of a trace. */
export function describeOptions(options: SimulationOptions): string[] {
  const byzantine = [...options.byzantine].map(
    ([node, behaviours]) => `n${node}: ${[...behaviours].join("+")}`,
  );
  const network = options.network;
  return [
    `seed ${options.seed}: ${options.validatorCount} validators (powers ${options.powers.join(", ")}), ` +
      `${options.followerCount} followers`,
    `byzantine: ${byzantine.length === 0 ? "none" : byzantine.join("; ")}${options.byzantineAtOneThird ? " (up to 1/3)" : ""}`,
    `network: ${network.distribution} delays ${network.delayMinMs}-${network.delayMaxMs}ms, drop ${network.dropProbability.toFixed(3)}, ` +
      `duplicate ${network.duplicateProbability.toFixed(3)}${options.adversarialScheduling ? ", adversarial scheduling" : ""}`,
    `faults: partitions ${options.partitions === null ? "off" : `every ~${options.partitions.intervalMeanMs}ms`}, ` +
      `clogs ${options.clogs === null ? "off" : `every ~${options.clogs.intervalMeanMs}ms`}, ` +
      `crashes ${options.crashes === null ? "off" : `every ~${options.crashes.intervalMeanMs}ms${options.crashes.tornWrites ? " with torn WAL writes" : ""}`}, ` +
      `set changes ${(options.setChangeProbability * 100).toFixed(0)}% of blocks`,
    `timeouts: propose ${options.timeouts.proposeBaseMs}+${options.timeouts.proposeDeltaMs}r, prevote ` +
      `${options.timeouts.prevoteBaseMs}+${options.timeouts.prevoteDeltaMs}r, precommit ${options.timeouts.precommitBaseMs}+` +
      `${options.timeouts.precommitDeltaMs}r ms; safety phase ${options.safetyPhaseMs}ms, then heal`,
  ];
}
