/**
 * Receipt verification as the portal shows it: the SDK's verifyReceipt (run here, in the
 * browser, against the pinned checkpoint) and which of its checks passed, failed or were not
 * reached. verifyReceipt checks in a fixed order (src/sdk/receipt.ts) and stops at the first
 * failure, so its code tells which step failed and that every step before it passed.
 */
import type { TrustCheckpoint } from "./checkpoint.ts";
import {
  type ReceiptCheckCode,
  type ReceiptVerification,
  receiptFromJson,
  type TransactionReceipt,
  verifyReceipt,
} from "./sdk.ts";

export const CHECK_STEPS = [
  "format",
  "chain",
  "transactionHash",
  "header",
  "blockHash",
  "inclusion",
  "signingSet",
  "certificate",
] as const;
export type CheckStep = (typeof CHECK_STEPS)[number];
export type StepState = "passed" | "failed" | "skipped";

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
  RECEIPT_EXECUTION_INVALID: "inclusion",
};

/** Failure codes of the portal's own, before the SDK is reached. */
export type PortalCheckCode = "RECEIPT_NOT_JSON" | "RECEIPT_WIRE_INVALID" | "CHECKPOINT_MISSING";

export interface ReceiptCheckReport {
  readonly ok: boolean;
  readonly code: ReceiptCheckCode | PortalCheckCode | null;
  /** The SDK's own English explanation (the portal shows a translated one by code beside it). */
  readonly detail: string | null;
  readonly steps: readonly { readonly step: CheckStep; readonly state: StepState }[];
  /** Time verifyReceipt took, in milliseconds (parsing excluded). */
  readonly durationMs: number;
  readonly receipt: TransactionReceipt | null;
  readonly checkpoint: TrustCheckpoint | null;
}

function stepsOf(failed: CheckStep | null, trustFailed: boolean) {
  const failedIndex = failed === null ? CHECK_STEPS.length : CHECK_STEPS.indexOf(failed);
  return CHECK_STEPS.map((step, index) => {
    let stepState: StepState;
    if (index === failedIndex) stepState = "failed";
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
  return { ok: false, code, detail, steps: stepsOf(failed, true), durationMs: 0, receipt, checkpoint };
}

/** Parses and verifies a receipt's JSON text against the checkpoint; never throws. */
export function checkReceiptText(text: string, checkpoint: TrustCheckpoint | null): ReceiptCheckReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return refusal("RECEIPT_NOT_JSON", "the text is not JSON", checkpoint);
  }
  return checkReceiptJson(json, checkpoint);
}

export function checkReceiptJson(json: unknown, checkpoint: TrustCheckpoint | null): ReceiptCheckReport {
  let receipt: TransactionReceipt;
  try {
    receipt = receiptFromJson(json);
  } catch (error) {
    return refusal("RECEIPT_WIRE_INVALID", (error as Error).message, checkpoint);
  }
  if (checkpoint === null) return refusal("CHECKPOINT_MISSING", "no checkpoint is pinned", null, receipt);
  const started = performance.now();
  const verification: ReceiptVerification = verifyReceipt(receipt, {
    chainId: checkpoint.chainId,
    validatorSet: checkpoint.validatorSet,
  });
  const durationMs = performance.now() - started;
  if (verification.ok) {
    return {
      ok: true,
      code: null,
      detail: null,
      steps: stepsOf(null, false),
      durationMs,
      receipt,
      checkpoint,
    };
  }
  return {
    ok: false,
    code: verification.code,
    detail: verification.message,
    steps: stepsOf(FAILED_STEP[verification.code], verification.code === "RECEIPT_TRUST_INVALID"),
    durationMs,
    receipt,
    checkpoint,
  };
}
