/**
 * The notary: drop a file, its hash is computed here (the file never leaves the browser), signed
 * with the wallet's key, anchored on chain, followed live to its commit, with its receipt.
 */
import { type DragEvent, type FormEvent, useState } from "react";
import { client } from "../api.ts";
import { Hash, Page } from "../components/common.tsx";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Link } from "../router.tsx";
import { bytesToHex, portableSuiteByName, type TransactionCommittedJson } from "../sdk.ts";
import { useWallet } from "../wallet/wallet-context.tsx";

/** The notary contract's document types (src/exec/notary.ts). */
const DOCUMENT_TYPES = ["policy", "permit", "certificate", "minutes", "report", "other"] as const;
/** Files hashed in the browser: large enough for a council's scanned minutes. */
export const NOTARY_FILE_BYTES_MAX = 256 * 1024 * 1024;

interface HashedFile {
  readonly name: string;
  readonly sizeBytes: number;
  readonly algorithm: "sha256" | "sm3";
  readonly hash: Uint8Array;
}

type Progress =
  | { readonly state: "idle" }
  | { readonly state: "submitting" }
  | { readonly state: "pending"; readonly hash: string }
  | { readonly state: "committed"; readonly hash: string; readonly committed: TransactionCommittedJson }
  | { readonly state: "failed"; readonly reason: string };

export function NotaryPage() {
  const { t } = useI18n();
  const wallet = useWallet();
  const [file, setFile] = useState<HashedFile | null>(null);
  const [title, setTitle] = useState("");
  const [documentType, setDocumentType] = useState<(typeof DOCUMENT_TYPES)[number]>("other");
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<Progress>({ state: "idle" });
  const [hashProblem, setHashProblem] = useState<string | null>(null);

  const hashFile = async (picked: File | undefined) => {
    if (picked === undefined) return;
    setHashProblem(null);
    setProgress({ state: "idle" });
    if (picked.size > NOTARY_FILE_BYTES_MAX) {
      setHashProblem(t("notary.fileTooLarge", { megabytes: NOTARY_FILE_BYTES_MAX / 1024 / 1024 }));
      return;
    }
    const suiteName = wallet.selected?.suite ?? ((await client.status()).suite as "ed25519" | "sm2-sm3");
    const suite = portableSuiteByName(suiteName);
    const bytes = new Uint8Array(await picked.arrayBuffer());
    setFile({
      name: picked.name,
      sizeBytes: picked.size,
      algorithm: suiteName === "sm2-sm3" ? "sm3" : "sha256",
      hash: suite.hash(bytes),
    });
    if (title === "") setTitle(picked.name.replace(/\.[^.]+$/, ""));
  };

  const onDrop = (event: DragEvent<HTMLElement>) => {
    event.preventDefault();
    setDragging(false);
    void hashFile(event.dataTransfer.files[0]);
  };

  const anchor = async (event: FormEvent) => {
    event.preventDefault();
    if (file === null) return;
    setProgress({ state: "submitting" });
    try {
      const submitted = await wallet.submit("notary", "anchor", {
        algorithm: file.algorithm,
        documentHash: file.hash,
        title: title.trim(),
        documentType,
      });
      setProgress({ state: "pending", hash: submitted.hash });
      const committed = await client.waitForCommit(submitted.hash, { timeoutMs: 120_000 });
      setProgress({ state: "committed", hash: submitted.hash, committed });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      setProgress({
        state: "failed",
        reason: typeof code === "string" ? `${code}: ${(error as Error).message}` : String(error),
      });
    }
  };

  if (!wallet.unlocked) {
    return (
      <Page title={t("notary.title")} lead={t("notary.lead")}>
        <p className="notice">
          {t("notary.needKey")} <Link to="/wallet">{t("notary.openWallet")}</Link>
        </p>
      </Page>
    );
  }

  return (
    <Page title={t("notary.title")} lead={t("notary.lead")}>
      <form className="card" onSubmit={(event) => void anchor(event)}>
        <label
          className={`dropzone ${dragging ? "dropzone-active" : ""}`}
          onDragOver={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <span className="dropzone-title">{t("notary.dropHere")}</span>
          <span className="muted small">{t("notary.staysHere")}</span>
          <input
            type="file"
            className="visually-hidden"
            data-testid="notary-file"
            onChange={(event) => void hashFile(event.target.files?.[0])}
          />
        </label>
        {hashProblem === null ? null : (
          <p className="notice notice-error" role="alert">
            {hashProblem}
          </p>
        )}
        {file === null ? null : (
          <p data-testid="document-hash">
            {t("notary.hashOf", { name: file.name, algorithm: file.algorithm })}{" "}
            <Hash value={bytesToHex(file.hash)} />
          </p>
        )}
        <label htmlFor="notary-title">{t("notary.documentTitle")}</label>
        <input
          id="notary-title"
          value={title}
          onChange={(event) => setTitle(event.target.value)}
          required
          maxLength={200}
        />
        <label htmlFor="notary-type">{t("notary.documentType")}</label>
        <select
          id="notary-type"
          value={documentType}
          onChange={(event) => setDocumentType(event.target.value as (typeof DOCUMENT_TYPES)[number])}
        >
          {DOCUMENT_TYPES.map((type) => (
            <option key={type} value={type}>
              {t(`notary.type.${type}` as MessageKey)}
            </option>
          ))}
        </select>
        <div className="actions">
          <button
            type="submit"
            disabled={
              file === null ||
              title.trim() === "" ||
              progress.state === "submitting" ||
              progress.state === "pending"
            }
          >
            {t("notary.anchor")}
          </button>
        </div>
      </form>
      <div role="status" aria-live="polite" data-testid="notary-progress">
        {progress.state === "submitting" ? <p className="notice">{t("notary.signing")}</p> : null}
        {progress.state === "pending" ? (
          <p className="notice">
            {t("notary.pending")} <Hash value={progress.hash} short />
          </p>
        ) : null}
        {progress.state === "committed" ? (
          <div className="notice notice-ok">
            <p>
              {progress.committed.result.ok
                ? t("notary.committed", { height: progress.committed.height })
                : t("notary.committedFailed", {
                    height: progress.committed.height,
                    code: progress.committed.result.errorCode ?? "",
                  })}
            </p>
            <p>
              <Link className="button" to={`/receipts/${progress.hash}`} data-testid="open-receipt">
                {t("notary.openReceipt")}
              </Link>
            </p>
          </div>
        ) : null}
        {progress.state === "failed" ? (
          <p className="notice notice-error" role="alert">
            {t("notary.failed", { reason: progress.reason })}
          </p>
        ) : null}
      </div>
    </Page>
  );
}
