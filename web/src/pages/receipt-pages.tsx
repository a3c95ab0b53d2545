/**
 * A receipt fetched from the node and verified here, and the offline "verify a receipt" page:
 * pasted or uploaded JSON, or a QR code image, checked against the pinned checkpoint with no
 * call to the node.
 */
import { useEffect, useState } from "react";
import { client } from "../api.ts";
import { setCurrentCheckpoint, useCheckpoint } from "../checkpoint.ts";
import { Fields, Hash, Page, Show, useLoad } from "../components/common.tsx";
import { ReceiptExport } from "../components/receipt-export.tsx";
import { CheckpointPanel, OutcomePanel, VerificationPanel } from "../components/verification.tsx";
import { useI18n } from "../i18n.tsx";
import { checkReceiptJson, checkReceiptText, type ReceiptCheckReport } from "../receipt-checks.ts";
import { isReceiptQrPayload, receiptJsonOfQrPayload } from "../receipt-qr.ts";
import { Link } from "../router.tsx";
import type { ReceiptJson } from "../sdk.ts";

function ProofDetails(props: { readonly receipt: ReceiptJson }) {
  const { t, formatNumber } = useI18n();
  const { receipt } = props;
  return (
    <>
      <h2>{t("receipt.proofTitle")}</h2>
      <Fields
        rows={[
          [
            "field.transactionHash",
            <Hash key="hash" value={receipt.hash} to={`/transactions/${receipt.hash}`} />,
          ],
          [
            "field.block",
            <Link key="block" to={`/blocks/${receipt.height}`}>
              {formatNumber(BigInt(receipt.height))}
            </Link>,
          ],
          ["field.logIndex", formatNumber(receipt.logIndex)],
          ["field.logSize", formatNumber(BigInt(receipt.logSize))],
          ["field.logRoot", <Hash key="root" value={receipt.header.logRoot} />],
          ["field.validatorSetHash", <Hash key="vs" value={receipt.header.validatorSetHash} />],
          ["field.signatures", String(receipt.certificate.signatures.length)],
          ["field.result", receipt.result.ok ? t("transaction.resultOk") : (receipt.result.errorCode ?? "")],
        ]}
      />
      <h3>{t("receipt.inclusionProof", { count: receipt.inclusionProof.length })}</h3>
      {receipt.inclusionProof.length === 0 ? (
        <p className="muted">{t("receipt.proofEmpty")}</p>
      ) : (
        <ol className="plain-list">
          {receipt.inclusionProof.map((hash, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: a proof's hashes may repeat; their position is their identity.
            <li key={index}>
              <Hash value={hash} />
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

export function ReceiptPage(props: { readonly hash: string }) {
  const { t } = useI18n();
  const checkpoint = useCheckpoint(true);
  const [runs, setRuns] = useState(0);
  const receipt = useLoad(() => client.receiptJson(props.hash), [props.hash]);
  const [report, setReport] = useState<ReceiptCheckReport | null>(null);
  useEffect(() => {
    if (receipt.state !== "ready" || runs < 0) return;
    let current = true;
    setReport(null); // "Verify again" shows the new result, not the last one.
    void checkReceiptJson(receipt.data, checkpoint).then((checked) => current && setReport(checked));
    return () => {
      current = false;
    };
  }, [receipt, checkpoint, runs]);
  return (
    <Page title={t("receipt.title")} lead={t("receipt.lead")}>
      <Show loaded={receipt}>
        {(data) => (
          <>
            {report === null ? null : <VerificationPanel report={report} />}
            {report?.outcome == null ? null : <OutcomePanel outcome={report.outcome} />}
            <p>
              <button type="button" className="button-secondary" onClick={() => setRuns(runs + 1)}>
                {t("receipt.verifyAgain")}
              </button>
            </p>
            <ProofDetails receipt={data} />
            <ReceiptExport receipt={data} />
            <CheckpointPanel checkpoint={checkpoint} onChange={setCurrentCheckpoint} />
          </>
        )}
      </Show>
    </Page>
  );
}

async function textOfQrImage(file: File): Promise<string> {
  const [{ default: jsQR }, bitmap] = await Promise.all([import("jsqr"), createImageBitmap(file)]);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d");
  if (context === null) throw new Error("no canvas");
  context.drawImage(bitmap, 0, 0);
  const image = context.getImageData(0, 0, bitmap.width, bitmap.height);
  const code = jsQR(image.data, image.width, image.height);
  if (code === null) throw new Error("no QR code found in the image");
  return code.data;
}

export function VerifyPage() {
  const { t } = useI18n();
  const checkpoint = useCheckpoint(false);
  const [text, setText] = useState("");
  const [report, setReport] = useState<ReceiptCheckReport | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const verifyText = async (input: string) => {
    setProblem(null);
    const trimmed = input.trim();
    if (isReceiptQrPayload(trimmed) && !trimmed.includes('"format"')) {
      let json: ReceiptJson;
      try {
        json = receiptJsonOfQrPayload(trimmed);
      } catch (error) {
        setReport(null);
        setProblem(t("verify.qrInvalid", { reason: (error as Error).message }));
        return;
      }
      setReport(await checkReceiptJson(json, checkpoint));
      return;
    }
    setReport(await checkReceiptText(trimmed, checkpoint));
  };
  const verifyFile = async (file: File | undefined) => {
    if (file === undefined) return;
    setProblem(null);
    try {
      const content = file.type.startsWith("image/") ? await textOfQrImage(file) : await file.text();
      setText(content);
      await verifyText(content);
    } catch (error) {
      setReport(null);
      setProblem(t("verify.fileInvalid", { reason: (error as Error).message }));
    }
  };

  return (
    <Page title={t("verify.title")} lead={t("verify.lead")}>
      <form
        className="card"
        onSubmit={(event) => {
          event.preventDefault();
          void verifyText(text);
        }}
      >
        <label htmlFor="receipt-text">{t("verify.pasteLabel")}</label>
        <textarea
          id="receipt-text"
          rows={8}
          value={text}
          spellCheck={false}
          onChange={(event) => setText(event.target.value)}
          placeholder='{"format": "cityledger/receipt/v2", …}'
        />
        <div className="actions">
          <button type="submit" disabled={text.trim() === ""}>
            {t("verify.submit")}
          </button>
          <label className="button button-secondary">
            {t("verify.uploadLabel")}
            <input
              type="file"
              accept="application/json,.json,image/*"
              className="visually-hidden"
              data-testid="receipt-file"
              onChange={(event) => void verifyFile(event.target.files?.[0])}
            />
          </label>
        </div>
        <p className="muted small">{t("verify.offlineNote")}</p>
        <p className="muted small">{t("verify.qrInclusionOnly")}</p>
      </form>
      {problem === null ? null : (
        <p className="notice notice-error" role="alert">
          {problem}
        </p>
      )}
      {report === null ? null : <VerificationPanel report={report} />}
      {report?.outcome == null ? null : <OutcomePanel outcome={report.outcome} />}
      <CheckpointPanel checkpoint={checkpoint} onChange={setCurrentCheckpoint} />
    </Page>
  );
}
