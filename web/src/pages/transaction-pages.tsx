/** The transaction list (paged by block height) and one transaction, decoded, followed live. */
import { useEffect, useState } from "react";
import { client } from "../api.ts";
import { TRANSACTIONS_PAGE_BLOCKS_MAX, transactionsDownFrom } from "../chain-data.ts";
import { Fields, Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
import { TransactionTable } from "../components/tables.tsx";
import { useI18n } from "../i18n.tsx";
import { Link, useLocation } from "../router.tsx";
import {
  bytesToHex,
  decodeTransaction,
  hexToBytes,
  keyIdOf,
  portableSuiteByName,
  type SuiteName,
  type TransactionStatusJson,
} from "../sdk.ts";
import { valueToDisplay } from "../value-display.ts";

export function TransactionsPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const belowText = query.get("below");
  const below = belowText !== null && /^[0-9]{1,20}$/.test(belowText) ? BigInt(belowText) : null;
  const page = useLoad(async () => {
    const head = BigInt((await client.status()).height);
    return transactionsDownFrom(below === null || below > head ? head : below);
  }, [below]);
  return (
    <Page
      title={t("transactions.title")}
      lead={t("transactions.lead", { blocks: TRANSACTIONS_PAGE_BLOCKS_MAX })}
    >
      <Show loaded={page}>
        {(data) => (
          <>
            <p className="muted small">
              {t("transactions.scanned", { from: data.scannedFrom, to: data.scannedTo })}
            </p>
            <TransactionTable rows={data.rows} />
            <Pager
              newer={below === null ? null : "/transactions"}
              older={data.nextBelow === null ? null : `/transactions?below=${data.nextBelow}`}
            />
          </>
        )}
      </Show>
    </Page>
  );
}

/** The transaction's status, followed over the WebSocket until it commits. */
function useTransactionStatus(hash: string) {
  const [status, setStatus] = useState<TransactionStatusJson | null>(null);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    const controller = new AbortController();
    setStatus(null);
    setError(null);
    (async () => {
      const first = await client.transactionStatus(hash, { signal: controller.signal });
      setStatus(first);
      if (first.status === "pending") {
        const committed = await client.waitForCommit(hash, { signal: controller.signal, timeoutMs: 600_000 });
        setStatus(committed);
      }
    })().catch((caught: unknown) => {
      if (!controller.signal.aborted) setError(caught instanceof Error ? caught : new Error(String(caught)));
    });
    return () => controller.abort();
  }, [hash]);
  return { status, error };
}

export function TransactionPage(props: { readonly hash: string }) {
  const { t, formatNumber } = useI18n();
  const hash = props.hash.toLowerCase();
  const { status, error } = useTransactionStatus(hash);
  const committed = status?.status === "committed" ? status : null;
  const details = useLoad(async () => {
    if (committed === null) return null;
    const [receipt, node] = await Promise.all([client.receiptJson(hash), client.status()]);
    const transaction = decodeTransaction(hexToBytes(receipt.transaction));
    const suite = portableSuiteByName(node.suite as SuiteName);
    return { transaction, keyId: bytesToHex(keyIdOf(suite, transaction.senderPublicKey)) };
  }, [hash, committed?.height]);

  return (
    <Page title={t("transaction.title")}>
      <p>
        <Hash value={hash} />
      </p>
      {error === null ? null : (
        <p className="notice notice-error" role="alert">
          {t("common.loadFailed", { reason: error.message })}
        </p>
      )}
      <p className="notice" role="status" aria-live="polite" data-testid="transaction-status">
        {status === null
          ? t("common.loading")
          : status.status === "pending"
            ? t("transaction.pending")
            : status.status === "unknown"
              ? t("transaction.unknown")
              : t("transaction.committed", { height: status.height })}
      </p>
      {committed === null ? null : (
        <>
          <Fields
            rows={[
              [
                "field.block",
                <Link key="block" to={`/blocks/${committed.height}`}>
                  {formatNumber(BigInt(committed.height))}
                </Link>,
              ],
              ["field.indexInBlock", String(committed.indexInBlock)],
              ["field.logIndex", formatNumber(committed.logIndex)],
              [
                "field.result",
                committed.result.ok
                  ? t("transaction.resultOk")
                  : t("transaction.resultFailed", {
                      code: committed.result.errorCode ?? "",
                      message: committed.result.errorMessage ?? "",
                    }),
              ],
            ]}
          />
          <p>
            <Link className="button" to={`/receipts/${hash}`}>
              {t("transaction.openReceipt")}
            </Link>
          </p>
          <Show loaded={details}>
            {(data) =>
              data === null ? null : (
                <>
                  <h2>{t("transaction.contents")}</h2>
                  <Fields
                    rows={[
                      ["field.contract", `${data.transaction.contract}.${data.transaction.method}`],
                      ["field.sender", <Hash key="sender" value={data.keyId} />],
                      [
                        "field.publicKey",
                        <Hash key="key" value={bytesToHex(data.transaction.senderPublicKey)} />,
                      ],
                      ["field.nonce", String(data.transaction.nonce)],
                      ["field.expiryHeight", String(data.transaction.expiryHeight)],
                      ["field.chainId", data.transaction.chainId],
                    ]}
                  />
                  <h3>{t("field.arguments")}</h3>
                  <pre className="code-block">{valueToDisplay(data.transaction.args)}</pre>
                </>
              )
            }
          </Show>
        </>
      )}
    </Page>
  );
}
