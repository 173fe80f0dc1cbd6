import type { PeriodVerdict, PilotSummary } from '../pilot-record.js';
import { mdTable } from './format.js';
import { drillsMarkdown } from './drills.js';
import { describeCheck, describeDrillCheck, percent } from './wording.js';
import { renderPilotHtml } from './html/pilot-report.js';
import { driftTable, drillSentence, pilotDrillsView, windowsTable } from './pilot-tables.js';

/**
 * The pilot's reports: pure functions of its summary (src/pilot/documents.ts summarizePilot), which is a pure
 * function of its folder — so `meshbench report DIR` run twice gives the same files, byte for byte.
 */
export function renderPilotFiles(summary: PilotSummary): Map<string, string> {
  return new Map([
    ['pilot-summary.json', `${JSON.stringify(summary, null, 2)}\n`],
    ['pilot.md', renderPilotMarkdown(summary)],
    ['report.html', renderPilotHtml(summary)],
  ]);
}

const mdTableOf = (t: { header: string[]; rows: string[][] }): string => mdTable(t.header, t.rows);

function duration(s: number): string {
  if (s >= 86_400 && s % 86_400 === 0) return `${s / 86_400} d`;
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600} h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}

function period(p: PeriodVerdict): string[] {
  const lines = [`### ${p.label}: ${p.verdict?.status.toUpperCase() ?? 'NO JUDGED WINDOW'}`, ''];
  lines.push(`${p.windows.length} window(s) judged${p.excluded.length > 0 ? `; left out: ${p.excluded.map((e) => `#${e.index} (${e.marks.join(', ')})`).join(', ')}` : ''}.`, '');
  if (p.verdict === null) return lines;
  for (const reason of p.verdict.reasons) lines.push(`- ${reason}`);
  if (p.verdict.checks.length > 0) {
    lines.push('', mdTable(['check', 'status'], p.verdict.checks.map((c) => [describeCheck(c), c.status])));
  }
  lines.push('');
  return lines;
}

function drillLines(s: PilotSummary): string[] {
  if (s.drills.status === null) return [];
  const out = [`## Drill: ${s.drills.status.toUpperCase()}`, '', drillSentence(s), ''];
  const open = s.drills.checks.filter((c) => c.status !== 'pass');
  if (open.length > 0) out.push(...open.map((c) => `- ${c.status}: ${describeDrillCheck(c)}`), '');
  // The tables' own "## Drills" heading sits under this one.
  return [...out, ...drillsMarkdown(pilotDrillsView(s)).map((l) => (l.startsWith('#') ? `#${l}` : l))];
}

export function renderPilotMarkdown(s: PilotSummary): string {
  const lines: string[] = [];
  lines.push(`# meshbench pilot ${s.pilotId}`, '');
  lines.push(`Scenario **${s.scenario}**, started ${s.startedAt}, planned for ${duration(s.forS)} in windows of ${duration(s.windowS)}.`);
  lines.push(s.coveredUntil === null ? 'No window has closed yet.' : `Closed windows: ${s.windows.length}, up to ${s.coveredUntil}.`, '');
  const gaps = s.segments.filter((g) => g.gapS !== null);
  if (gaps.length > 0) {
    lines.push(`Resumed ${gaps.length} time(s): ${gaps.map((g) => `segment ${g.segment} at ${g.startedAt} after a gap of ${(g.gapS ?? 0).toFixed(0)} s`).join('; ')}.`, '');
  }
  lines.push('## Verdict over the whole pilot', '', ...period(s.whole));
  if (s.days.length > 1 || (s.days[0]?.windows.length ?? 0) !== s.whole.windows.length) {
    lines.push('## Per day', '');
    for (const d of s.days) lines.push(...period(d));
  }
  lines.push(...drillLines(s));
  lines.push('## Drift', '');
  if (s.drift.length === 0) lines.push('Not enough judged windows (at least 3) to estimate a trend.', '');
  else {
    const confidence = s.drift[0]?.confidence ?? 0.95;
    lines.push(
      `Least-squares slope over the judged windows, with its ${percent(confidence)} t interval (windows taken as independent: slow noise makes it optimistic). "rising"/"falling": the interval excludes 0.`,
      '',
      mdTableOf(driftTable(s.drift)),
      '',
    );
  }
  lines.push('## Windows', '');
  lines.push(
    'Each window judged on its own (its blocks are the rounds). Marks: **partial** — cut short by the end or a stop; **restart** — the first after a resume; **invalid** — the window broke a validity rule; **errors** — requests failed; **drill** — a drill event ran in it. Partial, restart, invalid and drilled windows are left out of the day and pilot verdicts.',
    '',
    mdTableOf(windowsTable(s.windows)),
    '',
  );
  return `${lines.join('\n')}\n`;
}
