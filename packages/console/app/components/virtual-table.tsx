import { type ReactNode, useState } from 'react';

/** One column of a {@link VirtualTable}. */
export interface VirtualColumn<T> {
  /** The header cell's text. */
  readonly header: string;
  /** The cell of one row. */
  readonly cell: (item: T) => ReactNode;
  /** CSS class of the column's cells. */
  readonly className?: string;
}

/** Props of {@link VirtualTable}. */
export interface VirtualTableProps<T> {
  readonly items: readonly T[];
  readonly columns: readonly VirtualColumn<T>[];
  /** The table's caption (its accessible name). */
  readonly caption: string;
  /** Every row's height in pixels (fixed: that is what makes windowing cheap). */
  readonly rowHeightPx: number;
  /** Most height of the scrolling viewport in pixels. */
  readonly maxHeightPx: number;
  /** Rows rendered beyond each edge of the viewport. */
  readonly overscan?: number;
  readonly keyOf: (item: T) => string;
}

/**
 * A real `<table>` that renders only the rows in view (plus a few), so ten thousand devices
 * scroll as smoothly as ten. `aria-rowcount`/`aria-rowindex` tell assistive technology how many
 * rows there are in all. Sizes and positions go through React's `style`, which writes the
 * CSSOM: a strict `style-src 'self'` CSP allows that (it blocks style attributes in markup,
 * which this never produces).
 */
export function VirtualTable<T>(props: VirtualTableProps<T>): ReactNode {
  const { items, rowHeightPx, overscan = 8 } = props;
  const [scrollTop, setScrollTop] = useState(0);
  // The header row sits inside the scrolling area (sticky), so it counts in the height.
  const heightPx = Math.min(props.maxHeightPx, (Math.max(1, items.length) + 1) * rowHeightPx);
  const first = Math.max(0, Math.floor(scrollTop / rowHeightPx) - overscan);
  const last = Math.min(items.length, Math.ceil((scrollTop + heightPx) / rowHeightPx) + overscan);
  const rows: ReactNode[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index] as T;
    rows.push(
      <tr
        key={props.keyOf(item)}
        aria-rowindex={index + 2}
        style={{ transform: `translateY(${index * rowHeightPx}px)`, height: rowHeightPx }}
      >
        {props.columns.map((column) => (
          <td key={column.header} className={column.className}>
            {column.cell(item)}
          </td>
        ))}
      </tr>,
    );
  }
  return (
    <section
      className="virtual-viewport"
      aria-label={`${props.caption}, scrollable`}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus to scroll by keyboard (WCAG 2.1.1).
      tabIndex={0}
      style={{ height: heightPx }}
      onScroll={(event) => setScrollTop(event.currentTarget.scrollTop)}
    >
      <table className="virtual-table" aria-rowcount={items.length + 1}>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead>
          <tr aria-rowindex={1} style={{ height: rowHeightPx }}>
            {props.columns.map((column) => (
              <th key={column.header} scope="col" className={column.className}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody style={{ height: items.length * rowHeightPx }}>{rows}</tbody>
      </table>
    </section>
  );
}
