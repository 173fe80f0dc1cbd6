/** Small pure formatting helpers shared by the text reports. */

export function ms(us: number, digits = 3): string {
  return (us / 1000).toFixed(digits);
}

export function signedMs(us: number): string {
  const s = ms(us);
  return us >= 0 ? `+${s}` : s;
}

export function rate(hz: number): string {
  return hz >= 100 ? hz.toFixed(0) : hz.toFixed(1);
}

export function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** A Markdown (GitHub) table; numbers right-aligned where the header says so with a leading '>'. */
export function mdTable(header: string[], rows: (string | number)[][]): string {
  const align = header.map((h) => (h.startsWith('>') ? '---:' : '---'));
  const names = header.map((h) => h.replace(/^>/, ''));
  const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(names), `|${align.join('|')}|`, ...rows.map(line)].join('\n');
}

/** A table of src/report/tables.ts as Markdown. */
export function md(t: { header: string[]; rows: (string | number)[][] }): string {
  return mdTable(t.header, t.rows);
}

/** A plain fixed-width table for terminals. */
export function textTable(header: string[], rows: (string | number)[][]): string {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  return all
    .map((r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}
