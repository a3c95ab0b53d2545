/**
 * Create or import a key (sealed with a passphrase in this browser; imported from its hex or from
 * a CLI key file), unlock it, and see who it is on chain: its membership (organization,
 * department, roles, status) or none.
 */
import { type FormEvent, useState } from "react";
import { client } from "../api.ts";
import { Fields, Hash, Page, Show, useLoad } from "../components/common.tsx";
import { RoleTags, StatusBadge } from "../components/identity.tsx";
import { loadMember } from "../governance-data.ts";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Link } from "../router.tsx";
import type { SuiteName } from "../sdk.ts";
import { openKeyFile } from "../wallet/key-file-import.ts";
import {
  newPrivateKey,
  PASSPHRASE_LENGTH_MIN,
  privateKeyOfHex,
  saveKey,
  WalletError,
} from "../wallet/key-vault.ts";
import { useWallet } from "../wallet/wallet-context.tsx";

function errorText(
  t: (key: MessageKey, parameters?: Record<string, string | number>) => string,
  error: unknown,
) {
  if (error instanceof WalletError)
    return t(`wallet.error.${error.code}` as MessageKey, { min: PASSPHRASE_LENGTH_MIN });
  return error instanceof Error ? error.message : String(error);
}

function NewKeyForm() {
  const { t } = useI18n();
  const wallet = useWallet();
  const [mode, setMode] = useState<"create" | "import" | "keyFile">("create");
  const [keyFileText, setKeyFileText] = useState<string | null>(null);
  const [keyFilePassphrase, setKeyFilePassphrase] = useState("");
  const [label, setLabel] = useState("");
  const [privateKeyHex, setPrivateKeyHex] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const suite = useLoad(async () => (await client.status()).suite as SuiteName, []);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    if (passphrase !== repeat) {
      setProblem(t("wallet.passphraseMismatch"));
      return;
    }
    if (suite.state !== "ready") return;
    setBusy(true);
    try {
      let privateKey: Uint8Array;
      if (mode === "create") privateKey = newPrivateKey(suite.data);
      else if (mode === "import") privateKey = privateKeyOfHex(privateKeyHex);
      else {
        if (keyFileText === null) return;
        const opened = await openKeyFile(keyFileText, keyFilePassphrase);
        if (opened.suite !== suite.data) {
          throw new WalletError(
            "WALLET_KEY_INVALID",
            `the key file is ${opened.suite}, the chain ${suite.data}`,
          );
        }
        privateKey = opened.privateKey;
      }
      const stored = await saveKey(
        suite.data,
        privateKey,
        passphrase,
        label.trim() || t("wallet.defaultLabel"),
        Date.now(),
      );
      await wallet.adopt(stored, privateKey);
      setPassphrase("");
      setRepeat("");
      setPrivateKeyHex("");
      setKeyFilePassphrase("");
      setKeyFileText(null);
    } catch (error) {
      setProblem(errorText(t, error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card" onSubmit={(event) => void submit(event)} aria-labelledby="new-key-title">
      <h2 id="new-key-title">{t("wallet.newKeyTitle")}</h2>
      <fieldset className="choice">
        <legend>{t("wallet.howLabel")}</legend>
        <label>
          <input type="radio" name="mode" checked={mode === "create"} onChange={() => setMode("create")} />
          {t("wallet.create")}
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === "import"} onChange={() => setMode("import")} />
          {t("wallet.import")}
        </label>
        <label>
          <input type="radio" name="mode" checked={mode === "keyFile"} onChange={() => setMode("keyFile")} />
          {t("wallet.importKeyFile")}
        </label>
      </fieldset>
      <label htmlFor="key-label">{t("wallet.label")}</label>
      <input
        id="key-label"
        value={label}
        onChange={(event) => setLabel(event.target.value)}
        autoComplete="off"
      />
      {mode === "import" ? (
        <>
          <label htmlFor="key-private">{t("wallet.privateKey")}</label>
          <input
            id="key-private"
            value={privateKeyHex}
            onChange={(event) => setPrivateKeyHex(event.target.value)}
            autoComplete="off"
            spellCheck={false}
            required
          />
        </>
      ) : null}
      {mode === "keyFile" ? (
        <>
          <label htmlFor="key-file">{t("wallet.keyFile")}</label>
          <input
            id="key-file"
            type="file"
            accept=".key,application/json"
            data-testid="key-file"
            required
            onChange={(event) => {
              const file = event.target.files?.[0];
              if (file === undefined) setKeyFileText(null);
              else void file.text().then(setKeyFileText);
            }}
          />
          <label htmlFor="key-file-passphrase">{t("wallet.keyFilePassphrase")}</label>
          <input
            id="key-file-passphrase"
            type="password"
            value={keyFilePassphrase}
            onChange={(event) => setKeyFilePassphrase(event.target.value)}
            autoComplete="off"
            required
          />
          <p className="muted small">{t("wallet.keyFileHelp")}</p>
        </>
      ) : null}
      <label htmlFor="key-passphrase">{t("wallet.passphrase")}</label>
      <input
        id="key-passphrase"
        type="password"
        value={passphrase}
        onChange={(event) => setPassphrase(event.target.value)}
        autoComplete="new-password"
        minLength={PASSPHRASE_LENGTH_MIN}
        required
        aria-describedby="passphrase-help"
      />
      <p id="passphrase-help" className="muted small">
        {t("wallet.passphraseHelp", { min: PASSPHRASE_LENGTH_MIN })}
      </p>
      <label htmlFor="key-passphrase-repeat">{t("wallet.passphraseRepeat")}</label>
      <input
        id="key-passphrase-repeat"
        type="password"
        value={repeat}
        onChange={(event) => setRepeat(event.target.value)}
        autoComplete="new-password"
        required
      />
      <div className="actions">
        <button type="submit" disabled={busy || suite.state !== "ready"}>
          {busy
            ? mode === "keyFile"
              ? t("wallet.openingKeyFile")
              : t("wallet.sealing")
            : mode === "create"
              ? t("wallet.createSubmit")
              : t("wallet.importSubmit")}
        </button>
      </div>
      {problem === null ? null : (
        <p className="notice notice-error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

function UnlockForm() {
  const { t } = useI18n();
  const wallet = useWallet();
  const [passphrase, setPassphrase] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <form
      className="inline-form"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setProblem(null);
        wallet
          .unlock(passphrase)
          .then(() => setPassphrase(""))
          .catch((error: unknown) => setProblem(errorText(t, error)))
          .finally(() => setBusy(false));
      }}
    >
      <label htmlFor="unlock-passphrase">{t("wallet.passphrase")}</label>
      <input
        id="unlock-passphrase"
        type="password"
        value={passphrase}
        onChange={(event) => setPassphrase(event.target.value)}
        autoComplete="current-password"
        required
      />
      <button type="submit" disabled={busy}>
        {t("wallet.unlock")}
      </button>
      {problem === null ? null : (
        <p className="notice notice-error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

/** Who the key is on chain: the membership an organization attested, or none. */
function Membership(props: { readonly keyId: string; readonly isValidator: boolean }) {
  const { t } = useI18n();
  const member = useLoad(() => loadMember(props.keyId), [props.keyId]);
  return (
    <Show loaded={member}>
      {(found) =>
        found === null ? (
          <p data-testid="wallet-roles">
            {t("wallet.notMember")}
            {props.isValidator ? <span className="tag">{t("wallet.roleValidator")}</span> : null}
          </p>
        ) : (
          <dl className="fields" data-testid="wallet-membership">
            <div className="field">
              <dt>{t("field.organization")}</dt>
              <dd>
                <Link to={`/organizations/${found.organization}`}>{found.organization}</Link>
              </dd>
            </div>
            <div className="field">
              <dt>{t("field.department")}</dt>
              <dd>
                <code>{found.department}</code>
              </dd>
            </div>
            <div className="field">
              <dt>{t("wallet.roles")}</dt>
              <dd data-testid="wallet-roles">
                <RoleTags roles={found.roles} />
                {props.isValidator ? <span className="tag">{t("wallet.roleValidator")}</span> : null}
              </dd>
            </div>
            <div className="field">
              <dt>{t("field.status")}</dt>
              <dd>
                <StatusBadge status={found.status} testId="wallet-member-status" />
              </dd>
            </div>
          </dl>
        )
      }
    </Show>
  );
}

export function WalletPage() {
  const { t, formatTime } = useI18n();
  const wallet = useWallet();
  const validators = useLoad(() => client.validators(), []);
  const selected = wallet.selected;
  const isValidator =
    selected !== null &&
    validators.state === "ready" &&
    validators.data.validatorSet.validators.some((validator) => validator.publicKey === selected.publicKey);

  return (
    <Page title={t("wallet.title")} lead={t("wallet.lead")}>
      {selected === null ? null : (
        <section className="card" aria-labelledby="identity-title">
          <h2 id="identity-title">{t("wallet.identityTitle")}</h2>
          {wallet.keys.length > 1 ? (
            <>
              <label htmlFor="key-select">{t("wallet.selectKey")}</label>
              <select
                id="key-select"
                value={selected.id}
                onChange={(event) => wallet.select(event.target.value)}
              >
                {wallet.keys.map((key) => (
                  <option key={key.id} value={key.id}>
                    {key.label} ({key.id.slice(0, 8)})
                  </option>
                ))}
              </select>
            </>
          ) : null}
          <Fields
            rows={[
              ["wallet.label", selected.label],
              ["field.keyId", <Hash key="id" value={selected.id} />],
              ["field.publicKey", <Hash key="pk" value={selected.publicKey} />],
              ["field.suite", selected.suite],
              ["wallet.created", formatTime(selected.createdAtMs)],
            ]}
          />
          <h3>{t("wallet.membership")}</h3>
          <Membership keyId={selected.id} isValidator={isValidator} />
          <p className="notice" role="status" data-testid="wallet-lock-state">
            {wallet.unlocked ? t("wallet.unlocked") : t("wallet.locked")}
          </p>
          {wallet.unlocked ? (
            <div className="actions">
              <Link className="button" to="/notary">
                {t("wallet.goNotary")}
              </Link>
              <button type="button" className="button-secondary" onClick={wallet.lock}>
                {t("wallet.lock")}
              </button>
            </div>
          ) : (
            <UnlockForm />
          )}
        </section>
      )}
      {wallet.loading ? null : <NewKeyForm />}
      <p className="muted small">{t("wallet.storageNote")}</p>
    </Page>
  );
}
