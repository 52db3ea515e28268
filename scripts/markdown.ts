/** Markdown helpers for the generated parts of docs/, in the layout `biome format` keeps. */

/** A column: its header and whether numbers align right. */
export interface Column {
  readonly header: string;
  readonly right?: boolean;
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** A table padded to its widest cell, as Biome formats Markdown tables. */
export function markdownTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const body = rows.map((row) => row.map(cell));
  const widths = columns.map((column, i) =>
    Math.max(3, column.header.length, ...body.map((row) => [...(row[i] ?? '')].length)),
  );
  const pad = (text: string, i: number) => {
    const gap = ' '.repeat(widths[i] - [...text].length);
    return columns[i].right ? gap + text : text + gap;
  };
  const line = (cells: readonly string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((width, i) => (columns[i].right ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(columns.map((column) => column.header)), rule, ...body.map(line)].join('\n');
}
