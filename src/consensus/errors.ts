import { CityLedgerError } from "../base/errors.ts";

/**
 * Errors of the consensus module that reach a caller (bad input from storage or a driver).
 * Messages from peers never throw: they are dropped and reported as `rejected` outputs.
 */
export type ConsensusErrorCode =
  | "WAL_RECORD_MALFORMED"
  | "WAL_AHEAD_OF_CHECKPOINT"
  | "WAL_CONFLICTING_RECORDS"
  | "CHECKPOINT_INVALID"
  | "EVIDENCE_MALFORMED";

export class ConsensusError extends CityLedgerError<ConsensusErrorCode> {
  override name = "ConsensusError";
}
