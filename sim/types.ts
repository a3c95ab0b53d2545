/** Shared shapes of the simulator: messages on the simulated wire, events, counters. */
import type {
  ConsensusInput,
  ConsensusMessage,
  ConsensusValue,
  TimeoutEvent,
} from "../src/consensus/index.ts";
import type { SignatureSuite } from "../src/crypto/suite.ts";
import type { CommitCertificate } from "../src/ledger/commit.ts";
import type { ValidatorSet } from "../src/ledger/validator-set.ts";
import type { Adversary } from "./byzantine.ts";
import type { Checker } from "./checker.ts";
import type { SimulationOptions } from "./options.ts";
import type { Prng } from "./prng.ts";

export type SimMessage =
  | { readonly kind: "consensus"; readonly message: ConsensusMessage }
  /** "I am at this height": a peer that decided it answers with a commit. */
  | { readonly kind: "status"; readonly height: bigint }
  | {
      readonly kind: "commit";
      readonly height: bigint;
      readonly value: ConsensusValue;
      readonly certificate: CommitCertificate;
    };

export type SimEvent =
  | { readonly kind: "deliver"; readonly from: number; readonly to: number; readonly message: SimMessage }
  | {
      readonly kind: "timeout";
      readonly node: number;
      readonly epoch: number;
      readonly timeout: TimeoutEvent;
    }
  | { readonly kind: "walSynced"; readonly node: number; readonly epoch: number }
  | {
      readonly kind: "applicationReply";
      readonly node: number;
      readonly epoch: number;
      readonly input: ConsensusInput;
    }
  | { readonly kind: "gossip"; readonly node: number; readonly epoch: number }
  | { readonly kind: "crash"; readonly node: number | null }
  | { readonly kind: "restart"; readonly node: number }
  | { readonly kind: "partition" }
  | { readonly kind: "healPartition" }
  | { readonly kind: "clog" }
  | { readonly kind: "heal" };

export interface FaultCounters {
  crashes: number;
  walWritesLost: number;
  partitions: number;
  clogs: number;
  equivocatingProposals: number;
  doubleVotes: number;
  invalidProposals: number;
  replays: number;
  evidenceDetected: number;
  setChanges: number;
  rejectedMessages: number;
}

export function emptyFaultCounters(): FaultCounters {
  return {
    crashes: 0,
    walWritesLost: 0,
    partitions: 0,
    clogs: 0,
    equivocatingProposals: 0,
    doubleVotes: 0,
    invalidProposals: 0,
    replays: 0,
    evidenceDetected: 0,
    setChanges: 0,
    rejectedMessages: 0,
  };
}

/** What a simulated node may use of the simulation around it. */
export interface SimHost {
  readonly nowMs: number;
  readonly prng: Prng;
  readonly options: SimulationOptions;
  readonly suite: SignatureSuite;
  readonly checker: Checker;
  readonly adversary: Adversary;
  readonly faults: FaultCounters;
  readonly nodeCount: number;
  readonly tracing: boolean;
  schedule(delayMs: number, event: SimEvent): void;
  sendTo(from: number, to: number, message: SimMessage): void;
  trace(line: string): void;
  proposeSetChange(current: ValidatorSet): ValidatorSet | null;
}
