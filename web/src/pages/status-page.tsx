/** The explorer's front page: chain status, live, with the newest blocks and events. */
import { useMemo } from "react";
import { client } from "../api.ts";
import { type BlockRow, blockRowOf, blocksDownFrom, transactionsPerSecond } from "../chain-data.ts";
import { Ago, Hash, Page, Show, useLoad } from "../components/common.tsx";
import { BlockTable } from "../components/tables.tsx";
import { useI18n } from "../i18n.tsx";
import { useLiveChain } from "../live.ts";
import { Link } from "../router.tsx";

const FRONT_BLOCKS = 10;

export function StatusPage() {
  const { t, formatNumber } = useI18n();
  const live = useLiveChain();
  const newestLive = live.blocks[0]?.height ?? null;
  // Reload the status when a block arrives (the first load does not wait for one), showing the
  // last status meanwhile: a busy chain commits several blocks a second.
  const status = useLoad(() => client.status(), [newestLive], { keepWhileReloading: true });
  const validators = useLoad(() => client.validators(), []);
  const loadedBlocks = useLoad(async () => {
    const latest = await client.status();
    return (await blocksDownFrom(BigInt(latest.height), FRONT_BLOCKS)).map(blockRowOf);
  }, []);
  const blocks = useMemo<BlockRow[]>(() => {
    const fromLive = live.blocks.map(blockRowOf);
    const fetched = loadedBlocks.state === "ready" ? loadedBlocks.data : [];
    const byHeight = new Map<bigint, BlockRow>();
    for (const row of [...fetched, ...fromLive]) byHeight.set(row.height, row);
    return [...byHeight.values()]
      .sort((left, right) => (left.height > right.height ? -1 : 1))
      .slice(0, FRONT_BLOCKS);
  }, [live.blocks, loadedBlocks]);
  const rate = transactionsPerSecond(blocks);

  return (
    <Page title={t("status.title")} lead={t("status.lead")}>
      <p className={`live live-${live.connection}`} role="status" aria-live="polite">
        <span className="live-dot" aria-hidden="true" />
        {t(`live.${live.connection}`)}
      </p>
      <Show loaded={status}>
        {(data) => (
          <div className="stats">
            <div className="stat">
              <span className="stat-label">{t("status.height")}</span>
              <span className="stat-value" data-testid="chain-height">
                {formatNumber(BigInt(data.height))}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">{t("status.validators")}</span>
              <span className="stat-value">
                {validators.state === "ready" ? validators.data.validatorSet.validators.length : "…"}
              </span>
            </div>
            <div className="stat">
              <span className="stat-label">{t("status.txRate")}</span>
              <span className="stat-value">{rate === null ? "–" : rate.toFixed(rate < 10 ? 2 : 0)}</span>
            </div>
            <div className="stat">
              <span className="stat-label">{t("status.lastBlock")}</span>
              <span className="stat-value">
                {data.headTimeMs === null ? "–" : <Ago timeMs={Number(data.headTimeMs)} />}
              </span>
            </div>
          </div>
        )}
      </Show>
      <Show loaded={status}>
        {(data) => (
          <p className="muted small">
            {t("status.chain", { chain: data.chainId, suite: data.suite })} ·{" "}
            {t("status.pool", { count: data.mempool.count })} · {t("status.peers", { count: data.peers })} ·{" "}
            {t("field.stateRoot")} <Hash value={data.stateRoot} short />
          </p>
        )}
      </Show>
      <div className="columns">
        <section aria-labelledby="latest-blocks">
          <h2 id="latest-blocks">{t("status.latestBlocks")}</h2>
          <BlockTable rows={blocks} />
          <p>
            <Link to="/blocks">{t("status.allBlocks")} →</Link>
          </p>
        </section>
        <section aria-labelledby="latest-events">
          <h2 id="latest-events">{t("status.latestEvents")}</h2>
          {live.events.length === 0 ? (
            <p className="muted">{t("status.noLiveEvents")}</p>
          ) : (
            <ul className="plain-list">
              {live.events.slice(0, 8).map((event) => (
                <li key={event.logIndex * 1000 + event.eventIndex}>
                  <span className="tag">{event.contract}</span> {event.type} ·{" "}
                  <Link to={`/blocks/${event.height}`}>
                    {t("common.blockNumber", { height: event.height })}
                  </Link>
                </li>
              ))}
            </ul>
          )}
          <p>
            <Link to="/events">{t("status.allEvents")} →</Link>
          </p>
        </section>
      </div>
    </Page>
  );
}
