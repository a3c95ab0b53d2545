/** Download a receipt as JSON, and show or download it as a QR code (generated in the browser). */
import { useEffect, useState } from "react";
import { useI18n } from "../i18n.tsx";
import { QR_PAYLOAD_BYTES_MAX, receiptQrPayloadOf } from "../receipt-qr.ts";
import type { ReceiptJson } from "../sdk.ts";
import { saveFile } from "./common.tsx";

/** A data: URL's bytes (fetching it would need a wider Content-Security-Policy). */
function blobOfDataUrl(dataUrl: string): Blob {
  const [header = "", base64 = ""] = dataUrl.split(",", 2);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return new Blob([bytes], { type: /^data:([^;]+)/.exec(header)?.[1] ?? "application/octet-stream" });
}

export function ReceiptExport(props: { readonly receipt: ReceiptJson }) {
  const { t } = useI18n();
  const [qr, setQr] = useState<{ dataUrl: string } | { tooLarge: number } | null>(null);
  const { receipt } = props;
  useEffect(() => {
    let current = true;
    const payload = receiptQrPayloadOf(receipt);
    const size = new TextEncoder().encode(payload).length;
    if (size > QR_PAYLOAD_BYTES_MAX) {
      setQr({ tooLarge: size });
      return;
    }
    // The QR library loads only when a receipt is shown.
    void import("qrcode").then(async (qrcode) => {
      const dataUrl = await qrcode.toDataURL(payload, { errorCorrectionLevel: "L", margin: 4, scale: 4 });
      if (current) setQr({ dataUrl });
    });
    return () => {
      current = false;
    };
  }, [receipt]);
  const shortHash = receipt.hash.slice(0, 16);
  return (
    <section className="card" aria-labelledby="export-title">
      <h2 id="export-title">{t("receipt.exportTitle")}</h2>
      <p className="muted small">{t("receipt.exportExplain")}</p>
      <div className="actions">
        <button
          type="button"
          data-testid="download-receipt-json"
          onClick={() =>
            saveFile(
              `receipt-${shortHash}.json`,
              new Blob([`${JSON.stringify(receipt, null, 2)}\n`], { type: "application/json" }),
            )
          }
        >
          {t("receipt.downloadJson")}
        </button>
        {qr !== null && "dataUrl" in qr ? (
          <button
            type="button"
            className="button-secondary"
            data-testid="download-receipt-qr"
            onClick={() => saveFile(`receipt-${shortHash}.png`, blobOfDataUrl(qr.dataUrl))}
          >
            {t("receipt.downloadQr")}
          </button>
        ) : null}
      </div>
      {qr === null ? null : "dataUrl" in qr ? (
        <img
          className="qr"
          src={qr.dataUrl}
          alt={t("receipt.qrAlt", { hash: shortHash })}
          data-testid="receipt-qr"
        />
      ) : (
        <p className="muted">{t("receipt.qrTooLarge", { bytes: qr.tooLarge })}</p>
      )}
      <p className="muted small">{t("receipt.qrInclusionOnly")}</p>
    </section>
  );
}
