/** What was checked, against which checkpoint, and the result: the receipt pages' panel. */
import { useState } from "react";
import {
  CheckpointError,
  forgetCheckpoint,
  pinCheckpointFromGenesis,
  pinCheckpointFromNode,
  type TrustCheckpoint,
} from "../checkpoint.ts";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import type { OutcomeProof, ReceiptCheckReport, ReceiptOutcome, StepState } from "../receipt-checks.ts";
import { valueToDisplay } from "../value-display.ts";
import { Hash } from "./common.tsx";

const STATE_MARK: Readonly<Record<StepState, string>> = {
  passed: "✓",
  failed: "✗",
  skipped: "–",
  absent: "○",
};

const PROOF_CLASS: Readonly<Record<OutcomeProof, string>> = {
  proved: "notice notice-ok",
  inclusionOnly: "notice",
  invalid: "notice notice-error",
  unchecked: "notice",
};

/** What the transaction did (status, error code, gas, events) and whether the receipt proves it. */
export function OutcomePanel(props: { readonly outcome: ReceiptOutcome }) {
  const { t, formatNumber } = useI18n();
  const { outcome } = props;
  return (
    <section
      className="card"
      aria-labelledby="outcome-title"
      data-testid="outcome"
      data-proof={outcome.proof}
    >
      <h2 id="outcome-title">{t("outcome.title")}</h2>
      <p className={PROOF_CLASS[outcome.proof]} data-testid="outcome-proof">
        {t(`outcome.proof.${outcome.proof}` as MessageKey)}
      </p>
      <dl className="fields">
        <div className="field">
          <dt>{t("outcome.status")}</dt>
          <dd data-testid="outcome-status">
            <span className={outcome.ok ? "badge badge-ok" : "badge badge-error"}>
              {outcome.ok ? t("outcome.ok") : t("outcome.failed")}
            </span>
          </dd>
        </div>
        {outcome.errorCode === null ? null : (
          <div className="field">
            <dt>{t("outcome.errorCode")}</dt>
            <dd>
              <code>{outcome.errorCode}</code>
            </dd>
          </div>
        )}
        <div className="field">
          <dt>{t("outcome.gasUsed")}</dt>
          <dd>{outcome.gasUsed === null ? t("outcome.notInReceipt") : formatNumber(outcome.gasUsed)}</dd>
        </div>
      </dl>
      {outcome.events === null ? null : outcome.events.length === 0 ? (
        <p className="muted">{t("outcome.noEvents")}</p>
      ) : (
        <>
          <h3>{t("outcome.events", { count: outcome.events.length })}</h3>
          <ol className="event-list" data-testid="outcome-events">
            {outcome.events.map((event, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: an event's position in the receipt is its identity.
              <li key={index} className="card">
                <p>
                  <strong>
                    {event.contract}.{event.type}
                  </strong>
                </p>
                <pre className="code-block">
                  {event.value === null ? event.dataHex : valueToDisplay(event.value)}
                </pre>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

export function VerificationPanel(props: { readonly report: ReceiptCheckReport }) {
  const { t } = useI18n();
  const { report } = props;
  const receipt = report.receipt;
  return (
    <section
      className={`verification ${report.ok ? "verification-ok" : "verification-failed"}`}
      aria-labelledby="verification-title"
      data-testid="verification"
      data-result={report.ok ? "valid" : "invalid"}
    >
      <h2 id="verification-title">{report.ok ? t("verify.resultValid") : t("verify.resultInvalid")}</h2>
      {report.ok ? (
        <p>{t("verify.validExplained", { height: receipt?.height ?? 0n, index: receipt?.logIndex ?? 0 })}</p>
      ) : (
        <p role="alert" data-testid="verification-reason">
          <strong>{t(`reason.${report.code ?? "RECEIPT_MALFORMED"}` as MessageKey)}</strong>{" "}
          <span className="muted">
            ({report.code}: {report.detail})
          </span>
        </p>
      )}
      <ol className="checks">
        {report.steps.map(({ step, state }) => (
          <li key={step} className={`check check-${state}`}>
            <span className="check-mark" aria-hidden="true">
              {STATE_MARK[state]}
            </span>
            <span>
              {t(`check.${step}` as MessageKey, {
                logSize: receipt?.logSize ?? 0n,
                height: receipt?.height ?? 0n,
              })}
            </span>
            <span className="visually-hidden">{t(`checkState.${state}` as MessageKey)}</span>
          </li>
        ))}
      </ol>
      <p className="muted">
        {report.checkpoint === null
          ? t("verify.noCheckpoint")
          : t("verify.againstCheckpoint", {
              chain: report.checkpoint.chainId,
              hash: report.checkpoint.validatorSetHash.slice(0, 16),
            })}{" "}
        {report.durationMs > 0 ? (
          <span data-testid="verification-time" data-engine={report.signatureEngine ?? undefined}>
            {t("verify.duration", {
              ms: report.durationMs.toFixed(2),
              signaturesMs: report.signaturesMs.toFixed(2),
              verifyMs: report.verifyMs.toFixed(2),
            })}
          </span>
        ) : null}
      </p>
    </section>
  );
}

/** The pinned checkpoint, and the ways to pin one. */
export function CheckpointPanel(props: {
  readonly checkpoint: TrustCheckpoint | null;
  readonly onChange: (checkpoint: TrustCheckpoint | null) => void;
}) {
  const { t, formatTime } = useI18n();
  const [problem, setProblem] = useState<string | null>(null);
  const { checkpoint } = props;
  const pinFromNode = async () => {
    setProblem(null);
    try {
      props.onChange(await pinCheckpointFromNode(Date.now()));
    } catch (error) {
      setProblem(error instanceof CheckpointError ? error.message : String(error));
    }
  };
  const pinFromFile = async (file: File | undefined) => {
    if (file === undefined) return;
    setProblem(null);
    try {
      props.onChange(pinCheckpointFromGenesis(file.name, await file.text(), Date.now()));
    } catch (error) {
      setProblem(t("checkpoint.fileInvalid", { reason: (error as Error).message }));
    }
  };
  return (
    <section className="card" aria-labelledby="checkpoint-title">
      <h2 id="checkpoint-title">{t("checkpoint.title")}</h2>
      {checkpoint === null ? (
        <p>{t("checkpoint.none")}</p>
      ) : (
        <>
          <p>
            {t(checkpoint.source === "node" ? "checkpoint.fromNode" : "checkpoint.fromFile", {
              origin: checkpoint.origin,
              time: formatTime(checkpoint.pinnedAtMs),
            })}
          </p>
          <dl className="fields">
            <div className="field">
              <dt>{t("field.chainId")}</dt>
              <dd>{checkpoint.chainId}</dd>
            </div>
            <div className="field">
              <dt>{t("field.validatorSetHash")}</dt>
              <dd>
                <Hash value={checkpoint.validatorSetHash} />
              </dd>
            </div>
            <div className="field">
              <dt>{t("field.validators")}</dt>
              <dd>
                {checkpoint.validatorSet.validators.length} ({checkpoint.validatorSet.suite})
              </dd>
            </div>
          </dl>
        </>
      )}
      <div className="actions">
        <button type="button" onClick={() => void pinFromNode()}>
          {checkpoint === null ? t("checkpoint.pinFromNode") : t("checkpoint.repinFromNode")}
        </button>
        <label className="button button-secondary">
          {t("checkpoint.pinFromFile")}
          <input
            type="file"
            accept="application/json,.json"
            className="visually-hidden"
            onChange={(event) => void pinFromFile(event.target.files?.[0])}
          />
        </label>
        {checkpoint === null ? null : (
          <button
            type="button"
            className="button-secondary"
            onClick={() => {
              forgetCheckpoint();
              props.onChange(null);
            }}
          >
            {t("checkpoint.forget")}
          </button>
        )}
      </div>
      {problem === null ? null : (
        <p className="notice notice-error" role="alert">
          {problem}
        </p>
      )}
      <p className="muted small">{t("checkpoint.explain")}</p>
    </section>
  );
}
