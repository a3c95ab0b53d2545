/**
 * The portal's shell: header with navigation, search and language switch, and the route table.
 * A new explorer section is one row in ROUTES (a pattern and a page) and, when it belongs in the
 * navigation, one row in NAVIGATION with its message key.
 */
import { type FormEvent, type ReactNode, useState } from "react";
import { useI18n } from "./i18n.tsx";
import type { MessageKey } from "./messages/en.ts";
import { BlockPage, BlocksPage } from "./pages/block-pages.tsx";
import { ContractPage, ContractsPage } from "./pages/contract-pages.tsx";
import {
  DocumentPage,
  EventsPage,
  NotFoundPage,
  SearchPage,
  ValidatorsPage,
} from "./pages/explorer-pages.tsx";
import { GovernancePage, ParametersPage, ProposalPage } from "./pages/governance-pages.tsx";
import { MembersPage, OrganizationPage, OrganizationsPage } from "./pages/identity-pages.tsx";
import { NotaryPage } from "./pages/notary-page.tsx";
import { ReceiptPage, VerifyPage } from "./pages/receipt-pages.tsx";
import { StatusPage } from "./pages/status-page.tsx";
import { TransactionPage, TransactionsPage } from "./pages/transaction-pages.tsx";
import { WalletPage } from "./pages/wallet-page.tsx";
import { Link, matchPath, navigate, useFocusOnNavigation, useLocation } from "./router.tsx";
import { useWallet } from "./wallet/wallet-context.tsx";

type Parameters = Record<string, string>;

const ROUTES: readonly { readonly pattern: string; readonly page: (parameters: Parameters) => ReactNode }[] =
  [
    { pattern: "/", page: () => <StatusPage /> },
    { pattern: "/blocks", page: () => <BlocksPage /> },
    { pattern: "/blocks/:height", page: (parameters) => <BlockPage height={parameters.height!} /> },
    { pattern: "/transactions", page: () => <TransactionsPage /> },
    { pattern: "/transactions/:hash", page: (parameters) => <TransactionPage hash={parameters.hash!} /> },
    { pattern: "/receipts/:hash", page: (parameters) => <ReceiptPage hash={parameters.hash!} /> },
    { pattern: "/verify", page: () => <VerifyPage /> },
    { pattern: "/validators", page: () => <ValidatorsPage /> },
    { pattern: "/events", page: () => <EventsPage /> },
    { pattern: "/documents/:hash", page: (parameters) => <DocumentPage hash={parameters.hash!} /> },
    { pattern: "/organizations", page: () => <OrganizationsPage /> },
    { pattern: "/organizations/:id", page: (parameters) => <OrganizationPage id={parameters.id!} /> },
    { pattern: "/members", page: () => <MembersPage /> },
    { pattern: "/members/:keyId", page: (parameters) => <MembersPage keyId={parameters.keyId!} /> },
    { pattern: "/governance", page: () => <GovernancePage /> },
    { pattern: "/proposals", page: () => <GovernancePage /> },
    { pattern: "/proposals/:id", page: (parameters) => <ProposalPage id={parameters.id!} /> },
    { pattern: "/parameters", page: () => <ParametersPage /> },
    { pattern: "/contracts", page: () => <ContractsPage /> },
    { pattern: "/contracts/:name", page: (parameters) => <ContractPage name={parameters.name!} /> },
    { pattern: "/search", page: () => <SearchPage /> },
    { pattern: "/wallet", page: () => <WalletPage /> },
    { pattern: "/notary", page: () => <NotaryPage /> },
  ];

const NAVIGATION: readonly { readonly path: string; readonly label: MessageKey }[] = [
  { path: "/", label: "nav.status" },
  { path: "/blocks", label: "nav.blocks" },
  { path: "/transactions", label: "nav.transactions" },
  { path: "/events", label: "nav.events" },
  { path: "/organizations", label: "nav.organizations" },
  { path: "/members", label: "nav.members" },
  { path: "/governance", label: "nav.governance" },
  { path: "/contracts", label: "nav.contracts" },
  { path: "/validators", label: "nav.validators" },
  { path: "/verify", label: "nav.verify" },
  { path: "/notary", label: "nav.notary" },
  { path: "/wallet", label: "nav.wallet" },
];

/** Pages that belong to a navigation section under another path (a proposal is governance). */
const SECTION_OF_PATH: readonly (readonly [string, string])[] = [
  ["/proposals", "/governance"],
  ["/parameters", "/governance"],
];

function isCurrent(navigationPath: string, path: string): boolean {
  if (navigationPath === "/") return path === "/";
  const within = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  return (
    within(navigationPath) ||
    SECTION_OF_PATH.some(([prefix, section]) => section === navigationPath && within(prefix))
  );
}

function SearchBox() {
  const { t } = useI18n();
  const [text, setText] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() === "") return;
    navigate(`/search?q=${encodeURIComponent(text.trim())}`);
    setText("");
  };
  return (
    <search className="search">
      <form onSubmit={submit}>
        <label htmlFor="search-input" className="visually-hidden">
          {t("search.label")}
        </label>
        <input
          id="search-input"
          type="search"
          value={text}
          placeholder={t("search.placeholder")}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit">{t("search.submit")}</button>
      </form>
    </search>
  );
}

function LanguageSwitch() {
  const { t, language, setLanguage } = useI18n();
  const other = language === "en" ? "zh-CN" : "en";
  return (
    <button
      type="button"
      className="button-secondary language-switch"
      lang={other}
      onClick={() => setLanguage(other)}
      data-testid="language-switch"
    >
      {t("language.switchTo")}
    </button>
  );
}

export function App() {
  const { t } = useI18n();
  const { path } = useLocation();
  const wallet = useWallet();
  const [menuOpen, setMenuOpen] = useState(false);
  useFocusOnNavigation(path);

  let content: ReactNode = null;
  for (const route of ROUTES) {
    const parameters = matchPath(route.pattern, path);
    if (parameters !== null) {
      content = route.page(parameters);
      break;
    }
  }
  if (content === null) content = <NotFoundPage />;

  return (
    <>
      <a className="skip-link" href="#main">
        {t("nav.skip")}
      </a>
      <header className="site-header">
        <div className="header-row">
          <Link to="/" className="brand">
            <span aria-hidden="true" className="brand-mark">
              ◆
            </span>{" "}
            {t("app.name")}
          </Link>
          <SearchBox />
          <LanguageSwitch />
          <button
            type="button"
            className="menu-toggle button-secondary"
            aria-expanded={menuOpen}
            aria-controls="site-navigation"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            {t("nav.menu")}
          </button>
        </div>
        <nav id="site-navigation" aria-label={t("nav.label")} className={menuOpen ? "open" : ""}>
          <ul>
            {NAVIGATION.map((item) => (
              <li key={item.path}>
                <Link
                  to={item.path}
                  aria-current={isCurrent(item.path, path) ? "page" : undefined}
                  onClick={() => setMenuOpen(false)}
                >
                  {t(item.label)}
                  {item.path === "/wallet" && wallet.unlocked ? (
                    <span className="tag tag-on">{t("wallet.unlockedShort")}</span>
                  ) : null}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">{content}</main>
      <footer className="site-footer">
        <p>
          {t("footer.text")} · <a href="/docs">{t("footer.api")}</a>
        </p>
      </footer>
    </>
  );
}
