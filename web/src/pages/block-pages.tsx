/** The block list (paged by height) and one block with its header and certificate, checked. */
import { client } from "../api.ts";
import { BLOCKS_PAGE_SIZE, blockRowOf, blocksDownFrom } from "../chain-data.ts";
import { useCheckpoint } from "../checkpoint.ts";
import { Fields, Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
import { BlockTable } from "../components/tables.tsx";
import { useI18n } from "../i18n.tsx";
import { Link, useLocation } from "../router.tsx";
import { certificateFromJson, headerFromJson, verifyCommit } from "../sdk.ts";

function heightParameter(text: string | null): bigint | null {
  return text !== null && /^[0-9]{1,20}$/.test(text) ? BigInt(text) : null;
}

export function BlocksPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const below = heightParameter(query.get("below"));
  const page = useLoad(async () => {
    const head = BigInt((await client.status()).height);
    const top = below === null || below > head ? head : below;
    return { head, top, rows: (await blocksDownFrom(top, BLOCKS_PAGE_SIZE)).map(blockRowOf) };
  }, [below]);
  return (
    <Page title={t("blocks.title")}>
      <Show loaded={page}>
        {({ head, top, rows }) => {
          const bottom = rows[rows.length - 1]?.height ?? 1n;
          const newerTop = top + BigInt(BLOCKS_PAGE_SIZE);
          return (
            <>
              <BlockTable rows={rows} />
              <Pager
                newer={top >= head ? null : newerTop >= head ? "/blocks" : `/blocks?below=${newerTop}`}
                older={bottom <= 1n ? null : `/blocks?below=${bottom - 1n}`}
              />
            </>
          );
        }}
      </Show>
    </Page>
  );
}

export function BlockPage(props: { readonly height: string }) {
  const { t, formatNumber, formatTime } = useI18n();
  const checkpoint = useCheckpoint(true);
  const height = heightParameter(props.height);
  const block = useLoad(async () => {
    if (height === null) throw new Error(t("blocks.badHeight"));
    return client.block(height);
  }, [props.height]);
  return (
    <Page title={t("block.title", { height: props.height })}>
      <Show loaded={block}>
        {(data) => {
          const header = data.header;
          let commitChecked: boolean | null = null;
          if (checkpoint !== null && checkpoint.validatorSetHash === header.validatorSetHash) {
            commitChecked = verifyCommit(
              headerFromJson(header),
              certificateFromJson(data.certificate),
              checkpoint.validatorSet,
            );
          }
          const blockHeight = BigInt(data.height);
          return (
            <>
              <p
                className={`notice ${commitChecked === false ? "notice-error" : commitChecked ? "notice-ok" : ""}`}
                data-testid="block-commit-check"
              >
                {commitChecked === null
                  ? t("block.commitUnchecked")
                  : commitChecked
                    ? t("block.commitValid", { count: data.certificate.signatures.length })
                    : t("block.commitInvalid")}
              </p>
              <Fields
                rows={[
                  ["field.hash", <Hash key="hash" value={data.hash} />],
                  ["field.time", formatTime(Number(header.timeMs))],
                  ["field.transactions", formatNumber(header.txCount)],
                  ["field.sizeBytes", formatNumber(data.sizeBytes)],
                  ["field.proposer", <Hash key="proposer" value={header.proposer} />],
                  [
                    "field.previousBlock",
                    blockHeight > 1n ? (
                      <Hash
                        key="previous"
                        value={header.previousBlockHash}
                        to={`/blocks/${blockHeight - 1n}`}
                      />
                    ) : (
                      <Hash key="previous" value={header.previousBlockHash} />
                    ),
                  ],
                  ["field.logRoot", <Hash key="log" value={header.logRoot} />],
                  ["field.logSize", formatNumber(BigInt(header.logSize))],
                  ["field.stateRoot", <Hash key="state" value={header.stateRoot} />],
                  ["field.txRoot", <Hash key="tx" value={header.txRoot} />],
                  ["field.validatorSetHash", <Hash key="vs" value={header.validatorSetHash} />],
                  ["field.certificateRound", String(data.certificate.round)],
                  ["field.signatures", String(data.certificate.signatures.length)],
                ]}
              />
              <h2>{t("block.transactions")}</h2>
              {data.transactionHashes.length === 0 ? (
                <p className="muted">{t("block.noTransactions")}</p>
              ) : (
                <ol className="plain-list">
                  {data.transactionHashes.map((hash) => (
                    <li key={hash}>
                      <Hash value={hash} to={`/transactions/${hash}`} />
                    </li>
                  ))}
                </ol>
              )}
              <p>
                <Link to={`/blocks/${blockHeight + 1n}`}>{t("block.next")} →</Link>
              </p>
            </>
          );
        }}
      </Show>
    </Page>
  );
}
