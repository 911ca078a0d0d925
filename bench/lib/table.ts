/** Plain-text tables in Markdown pipe syntax: readable in a terminal, pastable into a .md file. */

export interface Table {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** Per column: 'left' or 'right'. @default the first column left, the others right */
  readonly align?: readonly ('left' | 'right')[];
  /** Lines printed under the table (method, caveats, goal verdicts). */
  readonly notes?: readonly string[];
}

export function renderTable(table: Table): string {
  const widths = table.header.map((cell, column) => Math.max(cell.length, ...table.rows.map((row) => (row[column] ?? '').length), 3));
  const right = (column: number): boolean => (table.align?.[column] ?? (column === 0 ? 'left' : 'right')) === 'right';
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((width, column) => (right(column) ? (cells[column] ?? '').padStart(width) : (cells[column] ?? '').padEnd(width))).join(' | ')} |`;
  const separator = `|${widths.map((width, column) => (right(column) ? `${'-'.repeat(width + 1)}:` : '-'.repeat(width + 2))).join('|')}|`;
  const parts = [`### ${table.title}`, '', line(table.header), separator, ...table.rows.map(line)];
  if (table.notes && table.notes.length > 0) parts.push('', ...table.notes);
  return `${parts.join('\n')}\n`;
}
