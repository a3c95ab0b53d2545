/** Validators, events (cursor pages, by contract, type and key), search, documents. */
import { type FormEvent, useState } from "react";
import { client } from "../api.ts";
import { Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
import { ListTable } from "../components/tables.tsx";
import { loadContract, loadMember, loadOrganization, loadProposal } from "../governance-data.ts";
import { useI18n } from "../i18n.tsx";
import { useLiveChain } from "../live.ts";
import type { MessageKey } from "../messages/en.ts";
import { Link, navigate, useLocation } from "../router.tsx";
import {
  bytesToHex,
  ClientError,
  decodeValue,
  hexToBytesOrNull,
  keyIdOf,
  portableSuiteByName,
  type SuiteName,
} from "../sdk.ts";
import { valueToDisplay } from "../value-display.ts";

export function ValidatorsPage() {
  const { t, formatNumber } = useI18n();
  const loaded = useLoad(async () => {
    const [validators, status] = await Promise.all([client.validators(), client.status()]);
    return { validators, status };
  }, []);
  return (
    <Page title={t("validators.title")} lead={t("validators.lead")}>
      <Show loaded={loaded}>
        {({ validators, status }) => {
          const total = BigInt(validators.totalPower);
          const suite = portableSuiteByName(validators.validatorSet.suite as SuiteName);
          const keyIdText = (publicKeyHex: string) =>
            bytesToHex(keyIdOf(suite, hexToBytesOrNull(publicKeyHex) ?? new Uint8Array()));
          return (
            <>
              <p className="muted small">
                {t("validators.summary", {
                  count: validators.validatorSet.validators.length,
                  power: formatNumber(total),
                  suite: validators.validatorSet.suite,
                })}{" "}
                <Hash value={validators.validatorSetHash} short />
              </p>
              <ListTable
                rows={validators.validatorSet.validators}
                rowKey={(validator) => validator.publicKey}
                columns={[
                  {
                    header: t("field.keyId"),
                    cell: (validator) => (
                      <>
                        <Hash value={keyIdText(validator.publicKey)} short />
                        {validator.publicKey === status.nodePublicKey ? (
                          <span className="tag">{t("validators.thisNode")}</span>
                        ) : null}
                      </>
                    ),
                  },
                  {
                    header: t("field.publicKey"),
                    cell: (validator) => <Hash value={validator.publicKey} short />,
                  },
                  { header: t("field.power"), cell: (validator) => formatNumber(BigInt(validator.power)) },
                  {
                    header: t("field.share"),
                    cell: (validator) =>
                      total === 0n
                        ? "–"
                        : `${(Number((BigInt(validator.power) * 10_000n) / total) / 100).toFixed(2)} %`,
                  },
                ]}
              />
            </>
          );
        }}
      </Show>
    </Page>
  );
}

const EVENTS_PAGE_SIZE = 50;

function eventDataText(hex: string): string {
  const bytes = hexToBytesOrNull(hex);
  if (bytes === null) return hex;
  try {
    return valueToDisplay(decodeValue(bytes));
  } catch {
    return hex; // Not a canonical value: shown as it came.
  }
}

interface EventFilter {
  readonly contract: string;
  readonly type: string;
  readonly key: string;
}

function eventsQueryOf(filter: EventFilter, after?: number): string {
  const parameters = new URLSearchParams();
  if (filter.contract !== "") parameters.set("contract", filter.contract);
  if (filter.type !== "") parameters.set("type", filter.type);
  if (filter.key !== "") parameters.set("key", filter.key);
  if (after !== undefined) parameters.set("after", String(after));
  const text = parameters.toString();
  return text === "" ? "/events" : `/events?${text}`;
}

export function EventsPage() {
  const { t, formatNumber } = useI18n();
  const { query } = useLocation();
  const live = useLiveChain();
  const afterText = query.get("after");
  const after = afterText !== null && /^[0-9]{1,15}$/.test(afterText) ? Number(afterText) : undefined;
  const filter: EventFilter = {
    contract: query.get("contract") ?? "",
    type: query.get("type") ?? "",
    key: query.get("key") ?? "",
  };
  const page = useLoad(
    () =>
      client.events({
        limit: EVENTS_PAGE_SIZE,
        ...(after === undefined ? {} : { after }),
        ...(filter.contract === "" ? {} : { contract: filter.contract }),
        ...(filter.type === "" ? {} : { type: filter.type }),
        ...(filter.key === "" ? {} : { key: filter.key }),
      }),
    [after, filter.contract, filter.type, filter.key, after === undefined ? live.events.length : 0],
  );
  const [draft, setDraft] = useState<EventFilter>(filter);
  const filtered = filter.contract !== "" || filter.type !== "" || filter.key !== "";
  return (
    <Page title={t("events.title")} lead={t("events.lead")}>
      <form
        className="filter-form"
        aria-label={t("events.filterLabel")}
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          navigate(
            eventsQueryOf({
              contract: draft.contract.trim(),
              type: draft.type.trim(),
              key: draft.key.trim(),
            }),
          );
        }}
      >
        <div>
          <label htmlFor="events-contract">{t("events.contractFilter")}</label>
          <input
            id="events-contract"
            value={draft.contract}
            onChange={(event) => setDraft({ ...draft, contract: event.target.value })}
          />
        </div>
        <div>
          <label htmlFor="events-type">{t("events.typeFilter")}</label>
          <input
            id="events-type"
            value={draft.type}
            onChange={(event) => setDraft({ ...draft, type: event.target.value })}
          />
        </div>
        <div>
          <label htmlFor="events-key">{t("events.keyFilter")}</label>
          <input
            id="events-key"
            value={draft.key}
            spellCheck={false}
            aria-describedby="events-key-help"
            onChange={(event) => setDraft({ ...draft, key: event.target.value })}
          />
        </div>
        <div className="actions">
          <button type="submit">{t("events.filter")}</button>
          {filtered ? (
            <Link
              className="button button-secondary"
              to="/events"
              onClick={() => setDraft({ contract: "", type: "", key: "" })}
            >
              {t("events.clear")}
            </Link>
          ) : null}
        </div>
        <p id="events-key-help" className="muted small">
          {t("events.keyHelp")}
        </p>
      </form>
      <Show loaded={page}>
        {(data) =>
          data.events.length === 0 ? (
            <p className="muted" data-testid="events-none">
              {t("events.none")}
            </p>
          ) : (
            <>
              <ul className="event-list" data-testid="events">
                {data.events.map((event) => (
                  <li key={`${event.logIndex}-${event.eventIndex}`} className="card" data-testid="event">
                    <p>
                      <Link
                        className="tag"
                        to={eventsQueryOf({ contract: event.contract, type: "", key: "" })}
                      >
                        {event.contract}
                      </Link>{" "}
                      <strong>{event.type}</strong>
                      {event.key === null ? null : (
                        <>
                          {" "}
                          ·{" "}
                          <Link
                            to={eventsQueryOf({ contract: "", type: "", key: event.key })}
                            data-testid="event-key"
                          >
                            {t("events.key", { key: event.key })}
                          </Link>
                        </>
                      )}{" "}
                      ·{" "}
                      <Link to={`/blocks/${event.height}`}>
                        {t("common.blockNumber", { height: formatNumber(BigInt(event.height)) })}
                      </Link>{" "}
                      · {t("events.logIndex", { index: event.logIndex })}
                    </p>
                    <pre className="code-block">{eventDataText(event.data)}</pre>
                  </li>
                ))}
              </ul>
              <Pager
                newer={after === undefined ? null : eventsQueryOf(filter)}
                older={data.next === null ? null : eventsQueryOf(filter, data.next)}
              />
            </>
          )
        }
      </Show>
    </Page>
  );
}

interface SearchHit {
  readonly path: string;
  readonly label: MessageKey;
  readonly parameters: Readonly<Record<string, string>>;
}

async function found<Result>(load: () => Promise<Result>): Promise<Result | null> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ClientError && error.code === "NOT_FOUND") return null;
    throw error;
  }
}

/**
 * Everything a search text may name: a block height or proposal number (`#3` is a proposal); a
 * 64-hex transaction, block, validator, document or member key id; an organization id or a
 * contract name; else an event key.
 */
async function searchHits(text: string): Promise<SearchHit[]> {
  const query = text.trim();
  const lower = query.toLowerCase();
  const proposalOnly = /^(#|p|proposal\s*)([0-9]{1,19})$/i.exec(query);
  if (proposalOnly !== null) {
    const id = proposalOnly[2]!;
    return (await loadProposal(BigInt(id))) === null
      ? []
      : [{ path: `/proposals/${id}`, label: "search.hitProposal", parameters: { id } }];
  }
  if (/^[0-9]{1,19}$/.test(query)) {
    const [status, proposal] = await Promise.all([client.status(), found(() => loadProposal(BigInt(query)))]);
    const hits: SearchHit[] = [];
    if (BigInt(query) >= 1n && BigInt(query) <= BigInt(status.height))
      hits.push({ path: `/blocks/${query}`, label: "search.hitBlock", parameters: { height: query } });
    if (proposal !== null)
      hits.push({ path: `/proposals/${query}`, label: "search.hitProposal", parameters: { id: query } });
    return hits;
  }
  if (/^[0-9a-f]{64}$/.test(lower)) {
    const [transaction, block, validators, document, member] = await Promise.all([
      client.transactionStatus(lower),
      found(() => client.blockByHash(lower)),
      client.validators(),
      client.notary(lower),
      found(() => loadMember(lower)),
    ]);
    const hits: SearchHit[] = [];
    const short = `${lower.slice(0, 12)}…`;
    if (transaction.status !== "unknown")
      hits.push({
        path: `/transactions/${lower}`,
        label: "search.hitTransaction",
        parameters: { hash: short },
      });
    if (block !== null)
      hits.push({
        path: `/blocks/${block.height}`,
        label: "search.hitBlock",
        parameters: { height: block.height },
      });
    if (validators.validatorSet.validators.some((validator) => validator.publicKey === lower))
      hits.push({ path: "/validators", label: "search.hitValidator", parameters: { key: short } });
    if (document.record !== null)
      hits.push({ path: `/documents/${lower}`, label: "search.hitDocument", parameters: { hash: short } });
    if (member !== null)
      hits.push({ path: `/members/${lower}`, label: "search.hitMember", parameters: { key: short } });
    return hits;
  }
  const hits: SearchHit[] = [];
  if (/^[a-z][a-z0-9_-]{0,63}$/.test(lower)) {
    const [organization, contract] = await Promise.all([
      /^[a-z][a-z0-9-]{0,47}$/.test(lower) ? loadOrganization(lower) : Promise.resolve(null),
      loadContract(lower),
    ]);
    if (organization !== null)
      hits.push({
        path: `/organizations/${lower}`,
        label: "search.hitOrganization",
        parameters: { name: organization.name },
      });
    if (contract !== null)
      hits.push({ path: `/contracts/${lower}`, label: "search.hitContract", parameters: { name: lower } });
    if (hits.length > 0) return hits;
  }
  // Anything else may be what an event is about: a request id, a document hash, a proposal key.
  if (query.length <= 128) {
    const keyed = await client.events({ key: query, limit: 1 });
    if (keyed.events.length > 0)
      hits.push({
        path: `/events?key=${encodeURIComponent(query)}`,
        label: "search.hitEventKey",
        parameters: { key: query },
      });
  }
  if (hits.length === 0 && /^[a-z][a-z0-9_-]{0,63}$/.test(lower)) {
    const byContract = await client.events({ contract: lower, limit: 1 });
    if (byContract.events.length > 0)
      hits.push({
        path: `/events?contract=${encodeURIComponent(lower)}`,
        label: "search.hitEventContract",
        parameters: { name: lower },
      });
  }
  return hits;
}

export function SearchPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const result = useLoad(async () => {
    const hits = text === "" ? [] : await searchHits(text);
    // One answer: go there. Several (a number that is a block and a proposal): let the reader pick.
    if (hits.length === 1) navigate(hits[0]!.path, { replace: true });
    return hits;
  }, [text]);
  return (
    <Page title={t("search.title")}>
      <Show loaded={result}>
        {(hits) =>
          hits.length === 0 ? (
            <p className="notice">{t("search.nothing", { query: text })}</p>
          ) : hits.length === 1 ? null : (
            <>
              <p>{t("search.several", { query: text })}</p>
              <ul className="plain-list" data-testid="search-hits">
                {hits.map((hit) => (
                  <li key={hit.path}>
                    <Link to={hit.path}>{t(hit.label, hit.parameters)}</Link>
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </Show>
    </Page>
  );
}

export function DocumentPage(props: { readonly hash: string }) {
  const { t } = useI18n();
  const loaded = useLoad(() => client.notary(props.hash), [props.hash]);
  return (
    <Page title={t("document.title")}>
      <p>
        <Hash value={props.hash} />
      </p>
      <Show loaded={loaded}>
        {(data) =>
          data.record === null ? (
            <p className="notice">{t("document.notAnchored")}</p>
          ) : (
            <>
              <p className="notice notice-ok">{t("document.anchored", { height: data.read.height })}</p>
              <pre className="code-block">{JSON.stringify(data.record, null, 2)}</pre>
            </>
          )
        }
      </Show>
    </Page>
  );
}

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <Page title={t("notFound.title")}>
      <p>
        <Link to="/">{t("notFound.home")}</Link>
      </p>
    </Page>
  );
}
