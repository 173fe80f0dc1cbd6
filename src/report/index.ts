import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ResultDocument } from '../result.js';
import { renderHlogs } from './hlog.js';
import { renderMarkdown } from './markdown.js';
import { renderCiSummary, renderComparisonMarkdown } from './ci-summary.js';
import { renderComparisonJunit, renderJunit } from './junit.js';
import type { ComparisonDocument } from '../verdict/compare.js';
import { renderComparisonHtml, renderHtmlReport } from './html/index.js';

/** Every file a run writes, by name: each a pure function of the result document. */
export function renderReportFiles(doc: ResultDocument): Map<string, string> {
  const files = new Map<string, string>();
  files.set('result.json', `${JSON.stringify(doc, null, 2)}\n`);
  files.set('report.md', renderMarkdown(doc));
  files.set('report.html', renderHtmlReport(doc));
  files.set('summary.md', renderCiSummary(doc));
  files.set('junit.xml', renderJunit(doc));
  for (const [name, text] of renderHlogs(doc)) files.set(name, text);
  return files;
}

/** reports/<scenario>-<UTC timestamp>/, relative to the working directory, e.g. reports/quickstart-20261125T073000Z. */
export function defaultOutDir(scenarioName: string, startedAt: Date): string {
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return join('reports', `${scenarioName}-${stamp}`);
}

/**
 * Every file `compare` writes, by name: each a pure function of the comparison document — report.html also of
 * the two result documents it compared (their spectra), and only when they are given.
 */
export function renderComparisonFiles(doc: ComparisonDocument, results: { baseline: ResultDocument; candidate: ResultDocument } | null): Map<string, string> {
  const summary = renderComparisonMarkdown(doc);
  const files = new Map([
    ['comparison.json', `${JSON.stringify(doc, null, 2)}\n`],
    ['compare.md', summary],
    ['summary.md', summary],
    ['junit.xml', renderComparisonJunit(doc)],
  ]);
  if (results !== null) files.set('report.html', renderComparisonHtml(doc, results.baseline, results.candidate));
  return files;
}

/** Writes every report file into `dir` (created if needed); returns the paths written. */
export async function writeReports(doc: ResultDocument, dir: string): Promise<string[]> {
  return writeFiles(renderReportFiles(doc), dir);
}

/**
 * Each file goes to a temporary name first and is renamed into place once whole, so a write that fails (a full
 * disk) leaves no truncated result.json for a later `compare` to trust; the temporary file is removed.
 */
export async function writeFiles(files: Map<string, string>, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, text] of files) {
    const path = join(dir, name);
    const partial = `${path}.partial`;
    try {
      await writeFile(partial, text);
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true }).catch(() => undefined);
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { path }); // the file, not its temporary name
    }
    written.push(path);
  }
  return written;
}
