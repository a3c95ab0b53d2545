/** Pieces the identity, governance and contract pages share: key links and status badges. */
import { useI18n } from "../i18n.tsx";
import type { MessageKey } from "../messages/en.ts";
import { Hash } from "./common.tsx";

/** A key id, shortened, linking to its member page (who it is, if anyone attested it). */
export function KeyLink(props: { readonly keyId: string }) {
  return <Hash value={props.keyId} short to={`/members/${props.keyId}`} />;
}

type BadgeTone = "ok" | "error" | "warn" | "neutral";

const STATUS_TONE: Readonly<Record<string, BadgeTone>> = {
  active: "ok",
  executed: "ok",
  open: "neutral",
  failed: "error",
  rejected: "error",
  revoked: "error",
  suspended: "warn",
  removed: "error",
  expired: "warn",
};

/**
 * A status word (member, organization or proposal status) as a badge: the text says it, the
 * colour only repeats it. Unknown statuses show as they came.
 */
export function StatusBadge(props: { readonly status: string; readonly testId?: string }) {
  const { t } = useI18n();
  const key = `status.${props.status}` as MessageKey;
  const tone = STATUS_TONE[props.status] ?? "neutral";
  const known = props.status in STATUS_TONE;
  return (
    <span className={`badge badge-${tone}`} data-testid={props.testId} data-status={props.status}>
      {known ? t(key) : props.status}
    </span>
  );
}

/** Roles as small tags. */
export function RoleTags(props: { readonly roles: readonly string[] }) {
  return (
    <span className="tags">
      {props.roles.map((role) => (
        <span key={role} className="tag">
          {role}
        </span>
      ))}
    </span>
  );
}
