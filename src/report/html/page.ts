/**
 * The page every HTML report is built on: one self-contained file (inline CSS and SVG, no script, no fetched
 * resource), a verdict banner, a table of contents and sections. A report (run, compare — and pilot, sweep as
 * they come) is `htmlPage({ title, banner, sections })` with sections made of `renderChart` figures,
 * `htmlTable`s and paragraphs. Pure functions: strings in, a string out.
 */

export type BannerStatus = 'pass' | 'fail' | 'inconclusive';

export interface Banner {
  status: BannerStatus;
  /** The word shown large, e.g. "PASS" or "NO REGRESSION". */
  label: string;
  /** Plain sentences under it (the conclusion, what made it so). */
  lines: string[];
}

export interface Section {
  /** HTML id (the table of contents links to it). */
  id: string;
  title: string;
  /** Markup: charts, tables, paragraphs. */
  body: string;
}

export interface Page {
  title: string;
  /** A line under the title: what was run, when. */
  subtitle: string;
  banner: Banner;
  /** Shown above the banner in a box, e.g. a calibration run's warning. */
  notice?: string | null;
  sections: Section[];
  footer: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A paragraph of plain text (escaped). */
export function para(text: string, cls?: string): string {
  return `<p${cls === undefined ? '' : ` class="${cls}"`}>${escapeHtml(text)}</p>`;
}

/** A table (src/report/tables.ts) of plain text, escaped; a header starting with '>' right-aligns its column, as in Markdown. */
export function htmlTable({ header, rows }: { header: string[]; rows: (string | number)[][] }): string {
  const right = header.map((h) => h.startsWith('>'));
  const cell = (tag: string, c: string | number, i: number) => `<${tag}${right[i] === true ? ' class="num"' : ''}>${escapeHtml(String(c))}</${tag}>`;
  const head = `<tr>${header.map((h, i) => cell('th', h.replace(/^>/, ''), i)).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((c, i) => cell('td', c, i)).join('')}</tr>`).join('\n');
  return `<div class="table"><table><thead>${head}</thead><tbody>\n${body}\n</tbody></table></div>`;
}

const BANNER_MARK: Record<BannerStatus, string> = { pass: '✓', fail: '✗', inconclusive: '?' };

export function htmlPage(page: Page): string {
  const toc = page.sections.map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`).join('');
  const sections = page.sections.map((s) => `<section id="${s.id}">\n<h2>${escapeHtml(s.title)}</h2>\n${s.body}\n</section>`).join('\n');
  const notice = page.notice == null ? '' : `<div class="notice">${escapeHtml(page.notice)}</div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(page.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeHtml(page.title)}</h1>
<p class="subtitle">${escapeHtml(page.subtitle)}</p>
</header>
${notice}
<div class="banner ${page.banner.status}" role="status">
<div class="verdict"><span class="mark" aria-hidden="true">${BANNER_MARK[page.banner.status]}</span> ${escapeHtml(page.banner.label)}</div>
${page.banner.lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
</div>
<nav><ul>${toc}</ul></nav>
<main>
${sections}
</main>
<footer>${escapeHtml(page.footer)}</footer>
</body>
</html>
`;
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1000px; padding: 16px 24px 48px; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #222; background: #fff; }
h1 { font-size: 26px; margin: 8px 0 0; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #ddd; }
h3 { font-size: 16px; margin: 24px 0 6px; }
.subtitle { color: #555; margin: 2px 0 16px; }
.notice { border: 2px solid #E69F00; background: #fff7e0; padding: 10px 14px; margin: 12px 0; font-weight: 600; }
.banner { border-radius: 6px; padding: 14px 18px; margin: 12px 0 8px; }
.banner p { margin: 6px 0 0; }
.banner .verdict { font-size: 24px; font-weight: 700; letter-spacing: 0.02em; }
.banner.pass { background: #009E73; color: #fff; }
.banner.fail { background: #D55E00; color: #fff; }
.banner.inconclusive { background: #E69F00; color: #000; }
nav ul { list-style: none; padding: 0; margin: 12px 0; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 14px; }
nav a, a { color: #0060a0; }
figure.chart { margin: 16px 0; }
figure.chart svg { display: block; max-width: 100%; height: auto; border: 1px solid #eee; border-radius: 4px; }
figcaption { color: #444; font-size: 13.5px; margin-top: 4px; }
.table { overflow-x: auto; margin: 8px 0 12px; }
table { border-collapse: collapse; font-size: 13.5px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.small { font-size: 13px; color: #555; }
footer { margin-top: 40px; font-size: 12.5px; color: #666; }
`;
