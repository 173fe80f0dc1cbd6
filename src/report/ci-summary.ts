import type { ResultDocument } from '../result.js';
import type { ComparisonDocument } from '../verdict/compare.js';
import { describeRegression, percent } from './wording.js';
import { calibrationNote, renderConclusion } from './conclusion.js';
import { checksTable, comparisonTable } from './tables.js';
import { renderP99Chart } from './mermaid.js';
import { md } from './format.js';

/**
 * summary.md: the short Markdown a CI job shows (appended to $GITHUB_STEP_SUMMARY by the CLI): verdict,
 * the plain-language conclusion, a Mermaid chart of the P99s against their budget, every check with its
 * interval, and why. Pure functions.
 */
export function renderCiSummary(doc: ResultDocument): string {
  const out: string[] = [];
  out.push(`### meshbench ${doc.scenario.name}${doc.aa === true ? ' (A/A)' : ''}: ${doc.verdict.status.toUpperCase()}`, '');
  const calibration = calibrationNote(doc);
  if (calibration !== null) out.push(`**${calibration}**`, '');
  out.push(renderConclusion(doc), '');
  const chart = renderP99Chart(doc);
  if (chart !== null) out.push(chart, '');
  if (doc.verdict.checks.length > 0) out.push(md(checksTable(doc)), '');
  const notable = doc.verdict.reasons.filter((r) => /^(invalid|over budget|undecided|A\/A difference|the run was interrupted)/.test(r));
  if (notable.length > 0) {
    out.push('<details><summary>Why</summary>', '');
    for (const r of notable) out.push(`- ${r}`);
    out.push('', '</details>', '');
  }
  return out.join('\n');
}

/** compare.md and the comparison's CI summary (the same text: a comparison has no longer form). */
export function renderComparisonMarkdown(doc: ComparisonDocument): string {
  const out: string[] = [];
  const verdict = doc.verdict.status === 'pass' ? ' (no regression)' : doc.verdict.status === 'fail' ? ' (regression)' : '';
  out.push(`### meshbench compare ${doc.candidate.scenario}: ${doc.verdict.status.toUpperCase()}${verdict}`, '');
  out.push(`Baseline \`${doc.baseline.path}\` (${doc.baseline.startedAt}) against candidate \`${doc.candidate.path}\` (${doc.candidate.startedAt}). ` +
    `A figure regresses when it rises by more than ${doc.tolerance.ms} ms${doc.tolerance.ratio > 0 ? ` + ${doc.tolerance.ratio} × the baseline's P99` : ''}; ` +
    `changes are ${percent(doc.statistics.confidence)} intervals.`, '');
  if (doc.checks.length > 0) {
    out.push(md(comparisonTable(doc)), '');
  }
  const notable = doc.verdict.reasons.filter((r) => r.startsWith('invalid') || r.startsWith('regressed') || r.startsWith('undecided'));
  for (const r of notable) out.push(`- ${r}`);
  if (notable.length > 0) out.push('');
  if (doc.notes.length > 0) {
    out.push('Differences between the two runs (allowed, recorded):', '');
    for (const n of doc.notes) out.push(`- ${n}`);
    out.push('');
  }
  out.push(`Method: ${doc.statistics.method}; ${doc.statistics.resamples} resamples, seed ${doc.statistics.seed}. ` +
    'Drift between the two runs themselves (another time, another machine) is not measured by either: the tolerance absorbs it.', '');
  return out.join('\n');
}

/** The comparison's stdout summary. */
export function renderComparisonText(doc: ComparisonDocument): string {
  const lines = doc.checks.map((c) => `  ${c.status === 'pass' ? 'ok  ' : c.status === 'fail' ? 'FAIL' : '??  '} ${describeRegression(c)}`);
  const reasons = doc.verdict.reasons.filter((r) => !r.startsWith('regressed') && !r.startsWith('undecided') && !doc.checks.some((c) => r === describeRegression(c)));
  return [...lines, '', `compare: ${doc.verdict.status.toUpperCase()}`, ...reasons.map((r) => `  - ${r}`)].join('\n');
}
