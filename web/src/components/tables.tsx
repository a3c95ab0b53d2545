/**
 * Tables of the portal's lists: the generic list table the pages share, and the tables of blocks
 * and transactions (they scroll sideways on a phone rather than squeeze).
 */
import type { ReactNode } from "react";
import type { BlockRow, TransactionRow } from "../chain-data.ts";
import { useI18n } from "../i18n.tsx";
import { Link } from "../router.tsx";
import { Ago, Hash } from "./common.tsx";

/** One column of a list table: its header and what each row shows in it. */
export interface ListColumn<Row> {
  readonly header: string;
  /** The row's cell; `index` is the row's position in the list (0 first). */
  readonly cell: (row: Row, index: number) => ReactNode;
}

/**
 * A list as a table with a header row and one row per item, or the `empty` message alone when
 * the list is empty. Without `empty`, an empty list still draws the header: the page shows its own
 * message around the table (with a pager or a count), or the list is never empty.
 */
export function ListTable<Row>(props: {
  readonly columns: readonly ListColumn<Row>[];
  readonly rows: readonly Row[];
  readonly rowKey: (row: Row) => string;
  readonly empty?: string;
  /** The table's data-testid, which the browser test finds it by. */
  readonly testId?: string;
}) {
  if (props.rows.length === 0 && props.empty !== undefined) return <p className="muted">{props.empty}</p>;
  return (
    <div className="table-scroll">
      <table data-testid={props.testId}>
        <thead>
          <tr>
            {props.columns.map((column, index) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: the columns never move; their position is their identity.
              <th key={index} scope="col">
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row, rowIndex) => (
            <tr key={props.rowKey(row)}>
              {props.columns.map((column, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the columns never move; their position is their identity.
                <td key={index}>{column.cell(row, rowIndex)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function BlockTable(props: { readonly rows: readonly BlockRow[] }) {
  const { t, formatNumber } = useI18n();
  return (
    <ListTable
      rows={props.rows}
      rowKey={(row) => String(row.height)}
      empty={t("blocks.none")}
      columns={[
        {
          header: t("field.height"),
          cell: (row) => <Link to={`/blocks/${row.height}`}>{formatNumber(row.height)}</Link>,
        },
        { header: t("field.hash"), cell: (row) => <Hash value={row.hash} short /> },
        { header: t("field.transactions"), cell: (row) => row.txCount },
        { header: t("field.time"), cell: (row) => <Ago timeMs={row.timeMs} /> },
      ]}
    />
  );
}

export function TransactionTable(props: { readonly rows: readonly TransactionRow[] }) {
  const { t, formatNumber } = useI18n();
  return (
    <ListTable
      rows={props.rows}
      rowKey={(row) => row.hash}
      empty={t("transactions.none")}
      columns={[
        {
          header: t("field.hash"),
          cell: (row) => <Hash value={row.hash} short to={`/transactions/${row.hash}`} />,
        },
        {
          header: t("field.block"),
          cell: (row) => <Link to={`/blocks/${row.height}`}>{formatNumber(row.height)}</Link>,
        },
        { header: t("field.indexInBlock"), cell: (row) => row.indexInBlock },
        { header: t("field.time"), cell: (row) => <Ago timeMs={row.timeMs} /> },
      ]}
    />
  );
}
