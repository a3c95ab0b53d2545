/** Validators, events (cursor pages), search, and sections the node's API may or may not offer. */
import { type FormEvent, useState } from "react";
import { apiPaths, client } from "../api.ts";
import { Hash, Page, Pager, Show, useLoad } from "../components/common.tsx";
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
              <div className="table-scroll">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t("field.keyId")}</th>
                      <th scope="col">{t("field.publicKey")}</th>
                      <th scope="col">{t("field.power")}</th>
                      <th scope="col">{t("field.share")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {validators.validatorSet.validators.map((validator) => {
                      const publicKey = hexToBytesOrNull(validator.publicKey) ?? new Uint8Array();
                      const power = BigInt(validator.power);
                      return (
                        <tr key={validator.publicKey}>
                          <td>
                            <Hash value={bytesToHex(keyIdOf(suite, publicKey))} short />
                            {validator.publicKey === status.nodePublicKey ? (
                              <span className="tag">{t("validators.thisNode")}</span>
                            ) : null}
                          </td>
                          <td>
                            <Hash value={validator.publicKey} short />
                          </td>
                          <td>{formatNumber(power)}</td>
                          <td>
                            {total === 0n ? "–" : `${(Number((power * 10_000n) / total) / 100).toFixed(2)} %`}
                          </td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
              </div>
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

export function EventsPage() {
  const { t, formatNumber } = useI18n();
  const { query } = useLocation();
  const live = useLiveChain();
  const afterText = query.get("after");
  const after = afterText !== null && /^[0-9]{1,15}$/.test(afterText) ? Number(afterText) : undefined;
  const contract = query.get("contract") ?? "";
  const page = useLoad(
    () =>
      client.events({
        limit: EVENTS_PAGE_SIZE,
        ...(after === undefined ? {} : { after }),
        ...(contract === "" ? {} : { contract }),
      }),
    [after, contract, after === undefined ? live.events.length : 0],
  );
  const [filter, setFilter] = useState(contract);
  const filterQuery = contract === "" ? "" : `&contract=${encodeURIComponent(contract)}`;
  return (
    <Page title={t("events.title")} lead={t("events.lead")}>
      <form
        className="inline-form"
        onSubmit={(event: FormEvent) => {
          event.preventDefault();
          navigate(
            filter.trim() === "" ? "/events" : `/events?contract=${encodeURIComponent(filter.trim())}`,
          );
        }}
      >
        <label htmlFor="events-contract">{t("events.contractFilter")}</label>
        <input id="events-contract" value={filter} onChange={(event) => setFilter(event.target.value)} />
        <button type="submit">{t("events.filter")}</button>
      </form>
      <Show loaded={page}>
        {(data) =>
          data.events.length === 0 ? (
            <p className="muted">{t("events.none")}</p>
          ) : (
            <>
              <ul className="event-list">
                {data.events.map((event) => (
                  <li key={`${event.logIndex}-${event.eventIndex}`} className="card">
                    <p>
                      <span className="tag">{event.contract}</span> <strong>{event.type}</strong> ·{" "}
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
                newer={after === undefined ? null : `/events?${filterQuery.slice(1)}`}
                older={data.next === null ? null : `/events?after=${data.next}${filterQuery}`}
              />
            </>
          )
        }
      </Show>
    </Page>
  );
}

/** Where a search goes: a height, or a 64-hex hash tried as transaction, block, document, state key. */
async function resolveSearch(text: string): Promise<string | null> {
  const query = text.trim().toLowerCase();
  if (/^[0-9]{1,20}$/.test(query)) return `/blocks/${query}`;
  if (/^[0-9a-f]{64}$/.test(query)) {
    const status = await client.transactionStatus(query);
    if (status.status !== "unknown") return `/transactions/${query}`;
    try {
      const block = await client.blockByHash(query);
      return `/blocks/${block.height}`;
    } catch (error) {
      if (!(error instanceof ClientError) || error.code !== "NOT_FOUND") throw error;
    }
    const validators = await client.validators();
    if (validators.validatorSet.validators.some((validator) => validator.publicKey === query))
      return "/validators";
    const document = await client.notary(query);
    if (document.record !== null) return `/documents/${query}`;
    return null;
  }
  if (/^[a-z][a-z0-9_-]{0,63}$/.test(query)) return `/events?contract=${encodeURIComponent(query)}`;
  return null;
}

export function SearchPage() {
  const { t } = useI18n();
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const result = useLoad(async () => {
    const target = text === "" ? null : await resolveSearch(text);
    if (target !== null) navigate(target, { replace: true });
    return target;
  }, [text]);
  return (
    <Page title={t("search.title")}>
      <Show loaded={result}>
        {(target) =>
          target === null ? <p className="notice">{t("search.nothing", { query: text })}</p> : null
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

export interface ApiSection {
  /** The portal's path, and the message key of its name. */
  readonly path: string;
  readonly titleKey: MessageKey;
  /** The API list route that must exist for the section to show. */
  readonly apiPath: string;
}

/**
 * Sections whose API is being built (organizations, contracts and their versions, governance
 * proposals): each appears in the navigation once the node's OpenAPI document lists its route.
 */
export const API_SECTIONS: readonly ApiSection[] = [
  { path: "/organizations", titleKey: "nav.organizations", apiPath: "/v1/organizations" },
  { path: "/contracts", titleKey: "nav.contracts", apiPath: "/v1/contracts" },
  { path: "/proposals", titleKey: "nav.proposals", apiPath: "/v1/proposals" },
];

export function useAvailableSections(): readonly ApiSection[] {
  const paths = useLoad(() => apiPaths(), []);
  if (paths.state !== "ready") return [];
  return API_SECTIONS.filter((section) => paths.data.has(section.apiPath));
}

/** A generic list of what the section's API route answers, until the section has its own page. */
export function ApiSectionPage(props: { readonly section: ApiSection }) {
  const { t } = useI18n();
  const loaded = useLoad(async () => {
    const response = await fetch(props.section.apiPath, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return (await response.json()) as unknown;
  }, [props.section.apiPath]);
  return (
    <Page title={t(props.section.titleKey)}>
      <Show loaded={loaded}>
        {(data) => <pre className="code-block">{JSON.stringify(data, null, 2)}</pre>}
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
