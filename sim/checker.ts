/**
 * The simulator's checks, run as events happen (after every step): agreement, validity,
 * no honest double sign; liveness is checked when the run ends.
 */
import { bytesToHex } from "../src/base/bytes.ts";
import { valueKey } from "../src/consensus/height-book.ts";
import type { ConsensusMessage } from "../src/consensus/index.ts";

export type ViolationKind =
  | "agreement"
  | "validity"
  | "double-sign"
  | "liveness"
  | "light-client"
  | "assertion";

export interface Violation {
  readonly kind: ViolationKind;
  readonly atMs: number;
  readonly node: number | null;
  readonly detail: string;
}

export const SAFETY_VIOLATIONS: ReadonlySet<ViolationKind> = new Set([
  "agreement",
  "validity",
  "double-sign",
  "light-client",
  "assertion",
]);

export class Checker {
  readonly violations: Violation[] = [];
  /** First decision of each height by an honest node. */
  private readonly decided = new Map<bigint, { hash: string; node: number }>();
  /** What each honest signer sent per (height, round, kind). */
  private readonly signed = new Map<string, string>();

  add(kind: ViolationKind, atMs: number, node: number | null, detail: string): void {
    this.violations.push({ kind, atMs, node, detail });
  }

  onDecide(
    atMs: number,
    node: number,
    height: bigint,
    hash: Uint8Array,
    valid: boolean,
    certificateValid: boolean,
  ): void {
    const hex = bytesToHex(hash);
    const first = this.decided.get(height);
    if (first === undefined) this.decided.set(height, { hash: hex, node });
    else if (first.hash !== hex) {
      this.add(
        "agreement",
        atMs,
        node,
        `height ${height}: n${node} decided ${hex.slice(0, 12)}, n${first.node} decided ${first.hash.slice(0, 12)}`,
      );
    }
    if (!valid)
      this.add("validity", atMs, node, `height ${height}: n${node} decided a value that fails validation`);
    if (!certificateValid) {
      this.add(
        "validity",
        atMs,
        node,
        `height ${height}: n${node} decided with a certificate verifyCommit refuses`,
      );
    }
  }

  /** Called when an honest node's signed message actually leaves it. */
  onHonestSend(atMs: number, node: number, publicKey: Uint8Array, message: ConsensusMessage): void {
    let key: string;
    let target: string;
    if (message.kind === "proposal") {
      const proposal = message.proposal;
      key = `${bytesToHex(publicKey)}/${proposal.height}/${proposal.round}/proposal`;
      target = `${proposal.polRound}/${bytesToHex(proposal.value.hash)}`;
    } else {
      const vote = message.vote;
      key = `${bytesToHex(publicKey)}/${vote.height}/${vote.round}/${vote.type}`;
      target = valueKey(vote.blockHash);
    }
    const previous = this.signed.get(key);
    if (previous === undefined) this.signed.set(key, target);
    else if (previous !== target) {
      this.add("double-sign", atMs, node, `n${node} signed two different messages for ${key.slice(65)}`);
    }
  }

  get decidedHeights(): number {
    return this.decided.size;
  }
}
