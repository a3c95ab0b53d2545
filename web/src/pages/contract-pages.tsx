/** Deployed contracts: the list with each active version, and every version of one contract. */
import { Fields, Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
import { KeyLink } from "../components/identity.tsx";
import { ListTable } from "../components/tables.tsx";
import { CONTRACTS_PAGE_SIZE, loadContract, loadContracts } from "../governance-data.ts";
import { useI18n } from "../i18n.tsx";
import { Link, useLocation } from "../router.tsx";

/** The code of a version as the node serves it (text/javascript), to read in the browser. */
function codeUrl(codeHash: string): string {
  return `/v1/code/${codeHash}`;
}

export function ContractsPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const fromText = query.get("from");
  const from = fromText !== null && /^[0-9]{1,19}$/.test(fromText) ? BigInt(fromText) : 0n;
  const page = useLoad(() => loadContracts(from), [from]);
  const previous = from > 0n ? from - BigInt(CONTRACTS_PAGE_SIZE) : null;
  return (
    <Page title={t("contracts.title")} lead={t("contracts.lead")}>
      <Show loaded={page}>
        {(data) =>
          data.contracts.length === 0 ? (
            <p className="muted">{t("contracts.none")}</p>
          ) : (
            <>
              <ListTable
                testId="contracts"
                rows={data.contracts}
                rowKey={(contract) => contract.name}
                columns={[
                  {
                    header: t("field.name"),
                    cell: (contract) => (
                      <Link to={`/contracts/${encodeURIComponent(contract.name)}`}>{contract.name}</Link>
                    ),
                  },
                  { header: t("contracts.activeVersion"), cell: (contract) => String(contract.version) },
                  {
                    header: t("field.codeHash"),
                    cell: (contract) => <Hash value={contract.codeHash} short />,
                  },
                  {
                    header: t("field.status"),
                    cell: (contract) => (
                      <span className={`badge ${contract.frozen ? "badge-warn" : "badge-ok"}`}>
                        {contract.frozen ? t("contracts.frozen") : t("contracts.callable")}
                      </span>
                    ),
                  },
                ]}
              />
              <Pager
                newer={data.next === null ? null : `/contracts?from=${data.next}`}
                older={previous === null ? null : `/contracts?from=${previous < 0n ? 0n : previous}`}
              />
            </>
          )
        }
      </Show>
    </Page>
  );
}

export function ContractPage(props: { readonly name: string }) {
  const { t, formatNumber, formatTime } = useI18n();
  const contract = useLoad(() => loadContract(props.name), [props.name]);
  return (
    <Show loaded={contract}>
      {(found) =>
        found === null ? (
          <Page title={t("contract.notFound", { name: props.name })}>
            <p>
              <Link to="/contracts">{t("contracts.title")}</Link>
            </p>
          </Page>
        ) : (
          <Page title={t("contract.title", { name: found.active.name })}>
            <Fields
              rows={[
                ["contracts.activeVersion", String(found.active.version)],
                [
                  "field.codeHash",
                  <span key="code">
                    <Hash value={found.active.codeHash} />{" "}
                    <a href={codeUrl(found.active.codeHash)}>{t("contract.viewCode")}</a>
                  </span>,
                ],
                ["field.status", found.active.frozen ? t("contracts.frozen") : t("contracts.callable")],
              ]}
            />
            <p>
              <Link to={`/events?contract=${encodeURIComponent(found.active.name)}`}>
                {t("contract.events")}
              </Link>
            </p>
            <h2>{t("contract.versions", { count: found.versions.length })}</h2>
            <ListTable
              testId="contract-versions"
              rows={found.versions}
              rowKey={(version) => String(version.version)}
              columns={[
                {
                  header: t("field.version"),
                  cell: (version) => (
                    <>
                      {String(version.version)}
                      {version.version === found.active.version ? (
                        <span className="tag tag-on">{t("contract.active")}</span>
                      ) : null}
                    </>
                  ),
                },
                {
                  header: t("field.codeHash"),
                  cell: (version) => (
                    <>
                      <Hash value={version.codeHash} short />{" "}
                      <a href={codeUrl(version.codeHash)}>{t("contract.code")}</a>
                    </>
                  ),
                },
                { header: t("field.deployer"), cell: (version) => <KeyLink keyId={version.deployer} /> },
                {
                  header: t("field.proposal"),
                  cell: (version) =>
                    version.proposalId === 0n ? (
                      t("contract.genesis")
                    ) : (
                      <Link to={`/proposals/${version.proposalId}`}>
                        {t("contract.proposal", { id: version.proposalId })}
                      </Link>
                    ),
                },
                {
                  header: t("field.height"),
                  cell: (version) => (
                    <Link to={`/blocks/${version.height}`}>{formatNumber(version.height)}</Link>
                  ),
                },
                { header: t("field.time"), cell: (version) => formatTime(version.timeMs) },
              ]}
            />
          </Page>
        )
      }
    </Show>
  );
}
