/** The governance committee, proposals (list and detail with the votes), and chain parameters. */
import { Fields, Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
import { KeyLink, StatusBadge } from "../components/identity.tsx";
import { ListTable } from "../components/tables.tsx";
import {
  type Committee,
  loadCommittee,
  loadParameters,
  loadProposal,
  loadProposals,
  PROPOSALS_PAGE_SIZE,
  type Proposal,
  type Tally,
} from "../governance-data.ts";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Link, useLocation } from "../router.tsx";
import { PROPOSAL_KINDS } from "../sdk.ts";

function TallyBadge(props: { readonly tally: Tally }) {
  const { t } = useI18n();
  const { tally } = props;
  return (
    <span className="badge badge-neutral" data-testid="tally">
      {t("proposal.tally", { yes: tally.yes, no: tally.no, abstain: tally.abstain, total: tally.total })}
    </span>
  );
}

/** Proposal kinds with a translated name: every kind the governance contract knows. */
const KNOWN_KINDS: ReadonlySet<string> = new Set(PROPOSAL_KINDS);

function kindText(t: (key: MessageKey) => string, kind: string): string {
  return KNOWN_KINDS.has(kind) ? t(`kind.${kind}` as MessageKey) : kind;
}

function choiceText(t: (key: MessageKey) => string, choice: string): string {
  return choice === "yes" || choice === "no" || choice === "abstain" ? t(`choice.${choice}`) : choice;
}

function CommitteeSection(props: { readonly committee: Committee | null }) {
  const { t, formatNumber } = useI18n();
  const { committee } = props;
  if (committee === null) return <p className="muted">{t("governance.noCommittee")}</p>;
  const days = Number(committee.votingPeriodMs) / 86_400_000;
  return (
    <section className="card" aria-labelledby="committee-title" data-testid="committee">
      <h2 id="committee-title">{t("governance.committee", { count: committee.seats.length })}</h2>
      <p className="muted small">
        {t("governance.rules", {
          quorum: committee.quorumPercent,
          threshold: committee.thresholdPercent,
          days: formatNumber(Math.round(days * 10) / 10),
        })}{" "}
        {committee.proposalId === 0n ? (
          t("governance.setAtGenesis")
        ) : (
          <Link to={`/proposals/${committee.proposalId}`}>
            {t("governance.setByProposal", { id: committee.proposalId })}
          </Link>
        )}
      </p>
      <ListTable
        rows={committee.seats}
        rowKey={(seat) => seat.keyId}
        columns={[
          { header: t("field.seat"), cell: (_seat, index) => index + 1 },
          { header: t("field.keyId"), cell: (seat) => <KeyLink keyId={seat.keyId} /> },
          { header: t("field.weight"), cell: (seat) => formatNumber(seat.weight) },
        ]}
      />
    </section>
  );
}

function ProposalTable(props: { readonly proposals: readonly Proposal[] }) {
  const { t, formatTime } = useI18n();
  return (
    <ListTable
      testId="proposals"
      rows={props.proposals}
      rowKey={(proposal) => String(proposal.id)}
      columns={[
        {
          header: "#",
          cell: (proposal) => <Link to={`/proposals/${proposal.id}`}>{String(proposal.id)}</Link>,
        },
        {
          header: t("field.title"),
          cell: (proposal) => <Link to={`/proposals/${proposal.id}`}>{proposal.title}</Link>,
        },
        { header: t("field.kind"), cell: (proposal) => kindText(t, proposal.kind) },
        { header: t("field.status"), cell: (proposal) => <StatusBadge status={proposal.status} /> },
        { header: t("field.votes"), cell: (proposal) => <TallyBadge tally={proposal.tally} /> },
        { header: t("field.time"), cell: (proposal) => formatTime(proposal.timeMs) },
      ]}
    />
  );
}

/** Newest page first would need the total before the first read; the API pages oldest first. */
export function GovernancePage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const fromText = query.get("from");
  const from = fromText !== null && /^[0-9]{1,19}$/.test(fromText) ? BigInt(fromText) : 1n;
  const committee = useLoad(() => loadCommittee(), []);
  const page = useLoad(() => loadProposals(from), [from]);
  const previous = from > 1n ? from - BigInt(PROPOSALS_PAGE_SIZE) : null;
  return (
    <Page title={t("governance.title")} lead={t("governance.lead")}>
      <Show loaded={committee}>{(data) => <CommitteeSection committee={data} />}</Show>
      <h2>{t("governance.proposals")}</h2>
      <Show loaded={page}>
        {(data) =>
          data.proposals.length === 0 ? (
            <p className="muted">{t("governance.noProposals")}</p>
          ) : (
            <>
              <p className="muted small">{t("governance.proposalCount", { total: data.total })}</p>
              <ProposalTable proposals={data.proposals} />
              <Pager
                newer={data.next === null ? null : `/governance?from=${data.next}`}
                older={previous === null ? null : `/governance?from=${previous < 1n ? 1n : previous}`}
              />
            </>
          )
        }
      </Show>
      <p>
        <Link to="/parameters">{t("parameters.title")}</Link>
      </p>
    </Page>
  );
}

function Payload(props: { readonly proposal: Proposal }) {
  const { t } = useI18n();
  const { proposal } = props;
  const payload = proposal.payload;
  const contractName =
    typeof payload === "object" &&
    payload !== null &&
    "name" in payload &&
    proposal.kind.startsWith("contract.")
      ? String((payload as { name: unknown }).name)
      : null;
  return (
    <section className="card" aria-labelledby="payload-title">
      <h2 id="payload-title">{t("proposal.payload")}</h2>
      {contractName === null ? null : (
        <p>
          <Link to={`/contracts/${encodeURIComponent(contractName)}`}>
            {t("proposal.openContract", { name: contractName })}
          </Link>
        </p>
      )}
      <pre className="code-block" data-testid="proposal-payload">
        {JSON.stringify(payload, null, 2)}
      </pre>
    </section>
  );
}

function VotesTimeline(props: { readonly proposal: Proposal }) {
  const { t, formatTime, formatNumber } = useI18n();
  const { proposal } = props;
  const weightOf = new Map(proposal.seats.map((seat) => [seat.keyId, seat.weight]));
  return (
    <section className="card" aria-labelledby="votes-title">
      <h2 id="votes-title">{t("proposal.votes", { count: proposal.votes.length })}</h2>
      {proposal.votes.length === 0 ? (
        <p className="muted">{t("proposal.noVotes")}</p>
      ) : (
        <ol className="timeline" data-testid="votes">
          <li>
            <span className="timeline-when">{formatTime(proposal.timeMs)}</span>
            <span>
              {t("proposal.proposedBy")} <KeyLink keyId={proposal.proposer} /> ·{" "}
              <Link to={`/blocks/${proposal.height}`}>
                {t("common.blockNumber", { height: formatNumber(proposal.height) })}
              </Link>
            </span>
          </li>
          {proposal.votes.map((vote) => (
            <li key={vote.voter} data-testid="vote">
              <span className="timeline-when">{formatTime(vote.timeMs)}</span>
              <span>
                <KeyLink keyId={vote.voter} />{" "}
                <span
                  className={`badge badge-${vote.choice === "yes" ? "ok" : vote.choice === "no" ? "error" : "neutral"}`}
                >
                  {choiceText(t, vote.choice)}
                </span>{" "}
                {t("proposal.weight", { weight: weightOf.get(vote.voter) ?? 0n })} ·{" "}
                <Link to={`/blocks/${vote.height}`}>
                  {t("common.blockNumber", { height: formatNumber(vote.height) })}
                </Link>
              </span>
            </li>
          ))}
          {proposal.decidedHeight === null ? null : (
            <li>
              <span className="timeline-when">
                {proposal.decidedTimeMs === null ? "" : formatTime(proposal.decidedTimeMs)}
              </span>
              <span>
                {t("proposal.decided")} <StatusBadge status={proposal.status} /> ·{" "}
                <Link to={`/blocks/${proposal.decidedHeight}`}>
                  {t("common.blockNumber", { height: formatNumber(proposal.decidedHeight) })}
                </Link>
              </span>
            </li>
          )}
        </ol>
      )}
    </section>
  );
}

export function ProposalPage(props: { readonly id: string }) {
  const { t, formatTime } = useI18n();
  const valid = /^[0-9]{1,19}$/.test(props.id);
  const proposal = useLoad(async () => (valid ? loadProposal(BigInt(props.id)) : null), [props.id]);
  return (
    <Show loaded={proposal}>
      {(found) =>
        found === null ? (
          <Page title={t("proposal.notFound", { id: props.id })}>
            <p>
              <Link to="/governance">{t("governance.title")}</Link>
            </p>
          </Page>
        ) : (
          <Page title={t("proposal.title", { id: found.id, title: found.title })}>
            <Fields
              rows={[
                ["field.status", <StatusBadge key="status" status={found.status} testId="proposal-status" />],
                ["field.kind", kindText(t, found.kind)],
                ["field.votes", <TallyBadge key="tally" tally={found.tally} />],
                [
                  "proposal.rules",
                  t("proposal.rulesValue", {
                    quorum: found.quorumPercent,
                    threshold: found.thresholdPercent,
                  }),
                ],
                ["proposal.deadline", formatTime(found.deadlineMs)],
                [
                  "proposal.result",
                  <span key="result" data-testid="proposal-result">
                    {found.status === "executed"
                      ? t("proposal.resultExecuted")
                      : found.status === "failed"
                        ? t("proposal.resultFailed", { code: found.errorCode ?? "" })
                        : found.status === "open"
                          ? t("proposal.resultOpen")
                          : t("proposal.resultNone")}
                  </span>,
                ],
                [
                  "field.transactionHash",
                  <Hash key="tx" value={found.txHash} short to={`/transactions/${found.txHash}`} />,
                ],
              ]}
            />
            {found.description === null ? null : <p>{found.description}</p>}
            <Payload proposal={found} />
            <VotesTimeline proposal={found} />
            <p>
              <Link to="/governance">{t("governance.allProposals")}</Link>
            </p>
          </Page>
        )
      }
    </Show>
  );
}

export function ParametersPage() {
  const { t, formatNumber } = useI18n();
  const parameters = useLoad(() => loadParameters(), []);
  return (
    <Page title={t("parameters.title")} lead={t("parameters.lead")}>
      <Show loaded={parameters}>
        {(list) => (
          <ListTable
            testId="parameters"
            rows={list}
            rowKey={([name]) => name}
            empty={t("parameters.none")}
            columns={[
              { header: t("field.name"), cell: ([name]) => <code>{name}</code> },
              { header: t("field.value"), cell: ([, value]) => formatNumber(value) },
            ]}
          />
        )}
      </Show>
    </Page>
  );
}
