/** Small pieces every page uses: loading states, hashes, key/value lists, pagers. */
import { type DependencyList, type ReactNode, useEffect, useState } from "react";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Link } from "../router.tsx";

export type Loaded<Data> =
  | { readonly state: "loading" }
  | { readonly state: "failed"; readonly error: Error }
  | { readonly state: "ready"; readonly data: Data };

/**
 * Runs `load` when the dependencies change; a stale answer never overwrites a newer one.
 * `keepWhileReloading`: a reload of the same thing (the chain status at each new block) keeps
 * showing what was loaded until the new answer arrives, instead of flashing "Loading" each time.
 */
export function useLoad<Data>(
  load: () => Promise<Data>,
  dependencies: DependencyList,
  options: { readonly keepWhileReloading?: boolean } = {},
): Loaded<Data> {
  const [loaded, setLoaded] = useState<Loaded<Data>>({ state: "loading" });
  const keepWhileReloading = options.keepWhileReloading === true;
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what `load` depends on.
  useEffect(() => {
    let current = true;
    if (!keepWhileReloading) setLoaded({ state: "loading" });
    load().then(
      (data) => current && setLoaded({ state: "ready", data }),
      (error: unknown) =>
        current &&
        setLoaded({ state: "failed", error: error instanceof Error ? error : new Error(String(error)) }),
    );
    return () => {
      current = false;
    };
  }, [...dependencies]);
  return loaded;
}

export function Page(props: {
  readonly title: string;
  readonly children: ReactNode;
  readonly lead?: ReactNode;
}) {
  return (
    <section className="page">
      <h1 tabIndex={-1}>{props.title}</h1>
      {props.lead === undefined ? null : <p className="lead">{props.lead}</p>}
      {props.children}
    </section>
  );
}

export function Show<Data>(props: {
  readonly loaded: Loaded<Data>;
  readonly children: (data: Data) => ReactNode;
}) {
  const { t } = useI18n();
  if (props.loaded.state === "loading") {
    return (
      <p className="muted" role="status" data-testid="loading">
        {t("common.loading")}
      </p>
    );
  }
  if (props.loaded.state === "failed") {
    return (
      <p className="notice notice-error" role="alert">
        {t("common.loadFailed", { reason: props.loaded.error.message })}
      </p>
    );
  }
  return <>{props.children(props.loaded.data)}</>;
}

/** A hash or key: monospace, breaks anywhere on narrow screens; links when `to` is given. */
export function Hash(props: { readonly value: string; readonly to?: string; readonly short?: boolean }) {
  const text = props.short === true ? `${props.value.slice(0, 10)}…${props.value.slice(-6)}` : props.value;
  const body = (
    <code className="hash" title={props.value}>
      {text}
    </code>
  );
  return props.to === undefined ? body : <Link to={props.to}>{body}</Link>;
}

export function Fields(props: { readonly rows: readonly (readonly [MessageKey, ReactNode])[] }) {
  const { t } = useI18n();
  return (
    <dl className="fields">
      {props.rows.map(([label, value]) => (
        <div key={label} className="field">
          <dt>{t(label)}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Pager(props: { readonly newer: string | null; readonly older: string | null }) {
  const { t } = useI18n();
  return (
    <nav className="pager" aria-label={t("common.pages")}>
      {props.newer === null ? <span /> : <Link to={props.newer}>← {t("common.newer")}</Link>}
      {props.older === null ? <span /> : <Link to={props.older}>{t("common.older")} →</Link>}
    </nav>
  );
}

/** "12 s ago", refreshed every second. */
export function Ago(props: { readonly timeMs: number }) {
  const { t, formatTime } = useI18n();
  const [nowMs, setNowMs] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNowMs(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.round((nowMs - props.timeMs) / 1000));
  const text =
    seconds < 60
      ? t("common.secondsAgo", { count: seconds })
      : seconds < 3600
        ? t("common.minutesAgo", { count: Math.floor(seconds / 60) })
        : formatTime(props.timeMs);
  return <time dateTime={new Date(props.timeMs).toISOString()}>{text}</time>;
}

export function saveFile(name: string, content: Blob): void {
  const url = URL.createObjectURL(content);
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
