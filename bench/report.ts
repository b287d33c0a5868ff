/** Plain-text tables for the benchmark's output. */

export type Align = 'left' | 'right';

export function table(headers: string[], rows: (string | number)[][], align: Align[] = []): string {
  const cells = rows.map((row) => row.map(String));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    '| ' +
    row
      .map((cell, i) =>
        (align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i]),
      )
      .join(' | ') +
    ' |';
  const separator =
    '| ' +
    widths
      .map((w, i) => ((align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? '-'.repeat(w) : '-'.repeat(w - 1) + ':'))
      .join(' | ') +
    ' |';
  return [line(headers), separator, ...cells.map(line)].join('\n');
}

export const int = (n: number) => Math.round(n).toLocaleString('en-US');
export const fixed = (n: number, digits = 1) => n.toFixed(digits);
export const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
export const mbFromKb = (kb: number) => (kb / 1024).toFixed(0);
