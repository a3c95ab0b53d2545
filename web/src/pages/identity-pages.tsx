/** Organizations with their department trees, and members looked up by key id. */
import { type FormEvent, useState } from "react";
import { Ago, Fields, Hash, Page, Show, useLoad } from "../components/common.tsx";
import { KeyLink, RoleTags, StatusBadge } from "../components/identity.tsx";
import { ListTable } from "../components/tables.tsx";
import {
  type DepartmentNode,
  departmentTree,
  isKeyIdText,
  loadMember,
  loadOrganization,
  loadOrganizations,
  type Member,
} from "../governance-data.ts";
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Link, navigate } from "../router.tsx";

export function OrganizationsPage() {
  const { t } = useI18n();
  const organizations = useLoad(() => loadOrganizations(), []);
  return (
    <Page title={t("organizations.title")} lead={t("organizations.lead")}>
      <Show loaded={organizations}>
        {(list) => (
          <ListTable
            testId="organizations"
            rows={list}
            rowKey={(organization) => organization.id}
            empty={t("organizations.none")}
            columns={[
              {
                header: t("field.organization"),
                cell: (organization) => (
                  <Link to={`/organizations/${organization.id}`}>{organization.name}</Link>
                ),
              },
              { header: t("field.id"), cell: (organization) => <code>{organization.id}</code> },
              {
                header: t("field.status"),
                cell: (organization) => <StatusBadge status={organization.status} />,
              },
              { header: t("field.departments"), cell: (organization) => organization.departments.length },
              { header: t("field.admins"), cell: (organization) => organization.admins.length },
            ]}
          />
        )}
      </Show>
    </Page>
  );
}

function DepartmentTree(props: { readonly nodes: readonly DepartmentNode[]; readonly root?: boolean }) {
  const { t } = useI18n();
  return (
    <ul className={props.root === true ? "tree" : undefined}>
      {props.nodes.map((node) => (
        <li key={node.department.id}>
          <span className="tree-item">
            <strong>{node.department.name}</strong>{" "}
            <span className="tag">{levelText(t, node.department.level)}</span>{" "}
            <code className="muted small">{node.department.id}</code>
          </span>
          {node.children.length === 0 ? null : <DepartmentTree nodes={node.children} />}
        </li>
      ))}
    </ul>
  );
}

function levelText(t: (key: MessageKey) => string, level: string): string {
  const known = ["city", "district", "street", "community", "agency", "department"];
  return known.includes(level) ? t(`level.${level}` as MessageKey) : level;
}

export function OrganizationPage(props: { readonly id: string }) {
  const { t, formatNumber } = useI18n();
  const organization = useLoad(() => loadOrganization(props.id), [props.id]);
  return (
    <Show loaded={organization}>
      {(found) =>
        found === null ? (
          <Page title={t("organization.notFound", { id: props.id })}>
            <p>
              <Link to="/organizations">{t("organizations.all")}</Link>
            </p>
          </Page>
        ) : (
          <Page title={found.name}>
            <Fields
              rows={[
                ["field.id", <code key="id">{found.id}</code>],
                [
                  "field.status",
                  <StatusBadge key="status" status={found.status} testId="organization-status" />,
                ],
                [
                  "field.created",
                  <Link key="created" to={`/blocks/${found.created.height}`}>
                    {t("common.blockNumber", { height: formatNumber(found.created.height) })}
                  </Link>,
                ],
              ]}
            />
            <section className="card" aria-labelledby="departments-title">
              <h2 id="departments-title">
                {t("organization.departments", { count: found.departments.length })}
              </h2>
              <div data-testid="department-tree">
                <DepartmentTree nodes={departmentTree(found.departments)} root />
              </div>
            </section>
            <section className="card" aria-labelledby="admins-title">
              <h2 id="admins-title">{t("organization.admins", { count: found.admins.length })}</h2>
              {found.admins.length === 0 ? (
                <p className="muted">{t("organization.noAdmins")}</p>
              ) : (
                <ul className="plain-list">
                  {found.admins.map((admin) => (
                    <li key={admin}>
                      <KeyLink keyId={admin} />
                    </li>
                  ))}
                </ul>
              )}
            </section>
            <p>
              <Link to="/organizations">{t("organizations.all")}</Link>
            </p>
          </Page>
        )
      }
    </Show>
  );
}

function MemberDetails(props: { readonly member: Member }) {
  const { t, formatTime, formatNumber } = useI18n();
  const { member } = props;
  return (
    <section className="card" aria-labelledby="member-title" data-testid="member">
      <h2 id="member-title">{member.label ?? t("member.unnamed")}</h2>
      <Fields
        rows={[
          ["field.status", <StatusBadge key="status" status={member.status} testId="member-status" />],
          [
            "field.organization",
            <Link key="org" to={`/organizations/${member.organization}`}>
              {member.organization}
            </Link>,
          ],
          ["field.department", <code key="dept">{member.department}</code>],
          [
            "field.roles",
            <span key="roles" data-testid="member-roles">
              <RoleTags roles={member.roles} />
            </span>,
          ],
          [
            "field.expires",
            member.expiresAtMs === null ? t("member.noExpiry") : formatTime(member.expiresAtMs),
          ],
          [
            "field.attested",
            <span key="attested">
              {member.attested.by === "genesis" || member.attested.by === null ? (
                t("member.attestedGenesis")
              ) : (
                <KeyLink keyId={member.attested.by} />
              )}{" "}
              ·{" "}
              <Link to={`/blocks/${member.attested.height}`}>
                {t("common.blockNumber", { height: formatNumber(member.attested.height) })}
              </Link>{" "}
              · <Ago timeMs={member.attested.timeMs} />
            </span>,
          ],
          ...(member.revokedReason === null
            ? []
            : ([["member.revokedReason", member.revokedReason]] as const)),
          ["field.keyId", <Hash key="key" value={member.keyId} />],
        ]}
      />
    </section>
  );
}

/** Look up a key id: who attested it, for which organization and department, with which roles. */
export function MembersPage(props: { readonly keyId?: string }) {
  const { t } = useI18n();
  const keyId = props.keyId?.toLowerCase() ?? "";
  const [text, setText] = useState(keyId);
  const [problem, setProblem] = useState<string | null>(null);
  const member = useLoad(async () => (keyId === "" ? undefined : loadMember(keyId)), [keyId]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!isKeyIdText(text)) {
      setProblem(t("members.badKeyId"));
      return;
    }
    setProblem(null);
    navigate(`/members/${text.trim().toLowerCase()}`);
  };
  return (
    <Page title={t("members.title")} lead={t("members.lead")}>
      <form className="inline-form" onSubmit={submit}>
        <label htmlFor="member-key">{t("field.keyId")}</label>
        <input
          id="member-key"
          value={text}
          spellCheck={false}
          autoComplete="off"
          aria-describedby={problem === null ? undefined : "member-key-problem"}
          onChange={(event) => setText(event.target.value)}
        />
        <button type="submit">{t("members.lookUp")}</button>
      </form>
      {problem === null ? null : (
        <p id="member-key-problem" className="notice notice-error" role="alert">
          {problem}
        </p>
      )}
      {keyId === "" ? null : (
        <Show loaded={member}>
          {(found) =>
            found === undefined ? null : found === null ? (
              <p className="notice" data-testid="member-none">
                {t("members.none")}
              </p>
            ) : (
              <MemberDetails member={found} />
            )
          }
        </Show>
      )}
    </Page>
  );
}
