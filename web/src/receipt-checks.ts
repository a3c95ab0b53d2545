/**
 * Receipt verification as the portal shows it: the SDK's verifyReceipt (run here, in the
 * browser, against the pinned checkpoint) and which of its checks passed, failed or were not
 * reached. verifyReceipt checks in a fixed order (src/sdk/receipt.ts) and stops at the first
 * failure, so its code tells which step failed and that every step before it passed.
 *
 * The certificate's signatures are checked first, with WebCrypto (./signature-precheck.ts);
 * verifyReceipt then runs unchanged with a suite that answers from those results.
 */
import type { TrustCheckpoint } from "./checkpoint.ts";
import {
  bytesToHex,
  decodeExecutionReceipt,
  decodeValue,
  type ReceiptCheckCode,
  type ReceiptVerification,
  receiptFromJson,
  type TransactionReceipt,
  type Value,
  verifyReceipt,
} from "./sdk.ts";
import { precheckSignatures } from "./signature-precheck.ts";

export const CHECK_STEPS = [
  "format",
  "chain",
  "transactionHash",
  "header",
  "blockHash",
  "inclusion",
  "execution",
  "signingSet",
  "certificate",
] as const;
export type CheckStep = (typeof CHECK_STEPS)[number];
/** `absent`: the receipt has no execution receipt to check (it proves inclusion only). */
export type StepState = "passed" | "failed" | "skipped" | "absent";

const FAILED_STEP: Readonly<Record<ReceiptCheckCode, CheckStep>> = {
  RECEIPT_MALFORMED: "format",
  RECEIPT_TRUST_INVALID: "signingSet",
  RECEIPT_WRONG_CHAIN: "chain",
  RECEIPT_TX_HASH_MISMATCH: "transactionHash",
  RECEIPT_HEADER_MISMATCH: "header",
  RECEIPT_BLOCK_HASH_MISMATCH: "blockHash",
  RECEIPT_INCLUSION_INVALID: "inclusion",
  RECEIPT_VALIDATOR_SET_UNTRUSTED: "signingSet",
  RECEIPT_HEADER_CHAIN_INVALID: "signingSet",
  RECEIPT_CERTIFICATE_INVALID: "certificate",
  RECEIPT_EXECUTION_INVALID: "execution",
};

/** Failure codes of the portal's own, before the SDK is reached. */
export type PortalCheckCode = "RECEIPT_NOT_JSON" | "RECEIPT_WIRE_INVALID" | "CHECKPOINT_MISSING";

export interface ReceiptCheckReport {
  readonly ok: boolean;
  readonly code: ReceiptCheckCode | PortalCheckCode | null;
  /** The SDK's own English explanation (the portal shows a translated one by code beside it). */
  readonly detail: string | null;
  readonly steps: readonly { readonly step: CheckStep; readonly state: StepState }[];
  /** Time to verify, in milliseconds (parsing excluded): signatures ahead plus verifyReceipt. */
  readonly durationMs: number;
  /** Of which: the certificate signatures (WebCrypto), and verifyReceipt itself. */
  readonly signaturesMs: number;
  readonly verifyMs: number;
  /** What checked the certificate signatures (null when verification did not run). */
  readonly signatureEngine: "webcrypto" | "portable" | null;
  readonly receipt: TransactionReceipt | null;
  readonly checkpoint: TrustCheckpoint | null;
  /** What the transaction did, as far as the receipt says and how far that is proved. */
  readonly outcome: ReceiptOutcome | null;
}

export interface OutcomeEvent {
  readonly contract: string;
  readonly type: string;
  /** The event's data decoded, or null when it is not a canonical value. */
  readonly value: Value | null;
  readonly dataHex: string;
}

/**
 * `proved`: the execution receipt is in the header's receipt root and the receipt verified;
 * `inclusionOnly`: the receipt carries no execution receipt, so only `result` (unproved) says
 * what happened; `invalid`: the execution receipt is there but does not check out; `unchecked`:
 * verification stopped before it.
 */
export type OutcomeProof = "proved" | "inclusionOnly" | "invalid" | "unchecked";

export interface ReceiptOutcome {
  readonly proof: OutcomeProof;
  readonly ok: boolean;
  readonly errorCode: string | null;
  /** From the execution receipt; null without one (or when it does not decode). */
  readonly gasUsed: bigint | null;
  readonly events: readonly OutcomeEvent[] | null;
}

function outcomeOf(receipt: TransactionReceipt, verification: ReceiptVerification): ReceiptOutcome {
  const stated = { ok: receipt.result.ok, errorCode: receipt.result.errorCode };
  if (receipt.execution === null) return { proof: "inclusionOnly", ...stated, gasUsed: null, events: null };
  // Proved only when the whole receipt verified: a receipt root in an unsigned header proves nothing.
  const proof: OutcomeProof = verification.ok
    ? "proved"
    : verification.code === "RECEIPT_EXECUTION_INVALID"
      ? "invalid"
      : "unchecked";
  try {
    const decoded = decodeExecutionReceipt(receipt.execution.receipt);
    return {
      proof,
      ok: decoded.status === "ok",
      errorCode: decoded.errorCode,
      gasUsed: decoded.gasUsed,
      events: decoded.events.map((event) => {
        let value: Value | null = null;
        try {
          value = decodeValue(event.data);
        } catch {
          // Shown as hex.
        }
        return { contract: event.contract, type: event.type, value, dataHex: bytesToHex(event.data) };
      }),
    };
  } catch {
    return { proof: "invalid", ...stated, gasUsed: null, events: null };
  }
}

function stepsOf(failed: CheckStep | null, trustFailed: boolean, executionPresent = true) {
  const failedIndex = failed === null ? CHECK_STEPS.length : CHECK_STEPS.indexOf(failed);
  return CHECK_STEPS.map((step, index) => {
    let stepState: StepState;
    if (index === failedIndex) stepState = "failed";
    else if (step === "execution" && !executionPresent) stepState = "absent";
    // The checkpoint is checked before anything else: nothing passed when it is unusable.
    else if (index < failedIndex && !trustFailed) stepState = "passed";
    else stepState = "skipped";
    return { step, state: stepState };
  });
}

function refusal(
  code: PortalCheckCode,
  detail: string,
  checkpoint: TrustCheckpoint | null,
  receipt: TransactionReceipt | null = null,
): ReceiptCheckReport {
  const failed: CheckStep = code === "CHECKPOINT_MISSING" ? "signingSet" : "format";
  return {
    ok: false,
    code,
    detail,
    steps: stepsOf(failed, true),
    durationMs: 0,
    signaturesMs: 0,
    verifyMs: 0,
    signatureEngine: null,
    receipt,
    checkpoint,
    outcome: null,
  };
}

/** Parses and verifies a receipt's JSON text against the checkpoint; never rejects. */
export async function checkReceiptText(
  text: string,
  checkpoint: TrustCheckpoint | null,
): Promise<ReceiptCheckReport> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refusal("RECEIPT_NOT_JSON", "the text is not JSON", checkpoint);
  }
  return checkReceiptJson(json, checkpoint);
}

export async function checkReceiptJson(
  json: unknown,
  checkpoint: TrustCheckpoint | null,
): Promise<ReceiptCheckReport> {
  let receipt: TransactionReceipt;
  try {
    receipt = receiptFromJson(json);
  } catch (error) {
    return refusal("RECEIPT_WIRE_INVALID", (error as Error).message, checkpoint);
  }
  if (checkpoint === null) return refusal("CHECKPOINT_MISSING", "no checkpoint is pinned", null, receipt);
  const started = performance.now();
  const { suite, engine } = await precheckSignatures([receipt], checkpoint.validatorSet);
  const signaturesDone = performance.now();
  const verification: ReceiptVerification = verifyReceipt(
    receipt,
    { chainId: checkpoint.chainId, validatorSet: checkpoint.validatorSet },
    { suite },
  );
  const verified = performance.now();
  const timing = {
    durationMs: verified - started,
    signaturesMs: signaturesDone - started,
    verifyMs: verified - signaturesDone,
    signatureEngine: engine,
  };
  const executionPresent = receipt.execution !== null;
  const outcome = outcomeOf(receipt, verification);
  if (verification.ok) {
    return {
      ok: true,
      code: null,
      detail: null,
      steps: stepsOf(null, false, executionPresent),
      ...timing,
      receipt,
      checkpoint,
      outcome,
    };
  }
  return {
    ok: false,
    code: verification.code,
    detail: verification.message,
    steps: stepsOf(
      FAILED_STEP[verification.code],
      verification.code === "RECEIPT_TRUST_INVALID",
      executionPresent,
    ),
    ...timing,
    receipt,
    checkpoint,
    outcome,
  };
}
