/** Tables of blocks and transactions (they scroll sideways on a phone rather than squeeze). */
import type { BlockRow, TransactionRow } from "../chain-data.ts";
import { useI18n } from "../i18n.tsx";
import { Link } from "../router.tsx";
import { Ago, Hash } from "./common.tsx";

export function BlockTable(props: { readonly rows: readonly BlockRow[] }) {
  const { t, formatNumber } = useI18n();
  if (props.rows.length === 0) return <p className="muted">{t("blocks.none")}</p>;
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">{t("field.height")}</th>
            <th scope="col">{t("field.hash")}</th>
            <th scope="col">{t("field.transactions")}</th>
            <th scope="col">{t("field.time")}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={String(row.height)}>
              <td>
                <Link to={`/blocks/${row.height}`}>{formatNumber(row.height)}</Link>
              </td>
              <td>
                <Hash value={row.hash} short />
              </td>
              <td>{row.txCount}</td>
              <td>
                <Ago timeMs={row.timeMs} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TransactionTable(props: { readonly rows: readonly TransactionRow[] }) {
  const { t, formatNumber } = useI18n();
  if (props.rows.length === 0) return <p className="muted">{t("transactions.none")}</p>;
  return (
    <div className="table-scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">{t("field.hash")}</th>
            <th scope="col">{t("field.block")}</th>
            <th scope="col">{t("field.indexInBlock")}</th>
            <th scope="col">{t("field.time")}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr key={row.hash}>
              <td>
                <Hash value={row.hash} short to={`/transactions/${row.hash}`} />
              </td>
              <td>
                <Link to={`/blocks/${row.height}`}>{formatNumber(row.height)}</Link>
              </td>
              <td>{row.indexInBlock}</td>
              <td>
                <Ago timeMs={row.timeMs} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
