import type { BudgetCheck, ResultDocument } from '../result.js';
import { describeCheck, describeDrillCheck, describeRegression, formatRate } from './wording.js';
import type { ComparisonDocument, RegressionCheck } from '../verdict/compare.js';

/**
 * junit.xml for CI systems (GitHub, GitLab, Jenkins): one <testsuite> per protocol, one <testcase> per
 * protocol × budget (or × regression check for `compare`), plus one per protocol for the run's validity.
 * A failed check is a <failure> whose message carries the figures and interval; an undecided check, or any
 * check of an invalid run, is an <error> — not a pass, and not a measured failure either. Pure functions.
 */

interface Case {
  name: string;
  /** Absent: passed. */
  outcome?: { kind: 'failure' | 'error'; type: string; message: string; detail: string };
}

interface Suite {
  name: string;
  cases: Case[];
}

/** Escapes text for XML content and attribute values; drops characters XML 1.0 cannot hold. */
export function xmlEscape(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;')
    .replaceAll('\n', '&#10;')
    .replaceAll('\r', '&#13;')
    .replaceAll('\t', '&#9;');
}

function render(name: string, timestamp: string, seconds: number, suites: Suite[]): string {
  const count = (cases: Case[], kind: 'failure' | 'error') => cases.filter((c) => c.outcome?.kind === kind).length;
  const all = suites.flatMap((s) => s.cases);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlEscape(name)}" tests="${all.length}" failures="${count(all, 'failure')}" errors="${count(all, 'error')}" time="${seconds.toFixed(3)}">`,
  ];
  for (const suite of suites) {
    lines.push(`  <testsuite name="${xmlEscape(suite.name)}" tests="${suite.cases.length}" failures="${count(suite.cases, 'failure')}" errors="${count(suite.cases, 'error')}" skipped="0" timestamp="${xmlEscape(timestamp)}" time="0">`);
    for (const c of suite.cases) {
      const open = `    <testcase classname="${xmlEscape(suite.name)}" name="${xmlEscape(c.name)}" time="0"`;
      if (c.outcome === undefined) {
        lines.push(`${open}/>`);
        continue;
      }
      const o = c.outcome;
      lines.push(`${open}>`, `      <${o.kind} message="${xmlEscape(o.message)}" type="${xmlEscape(o.type)}">${xmlEscape(o.detail)}</${o.kind}>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>', '');
  return lines.join('\n');
}

function elapsedS(from: string, to: string): number {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
}

const CHECK_NAME: Record<BudgetCheck['budget'], (c: BudgetCheck) => string> = {
  p99Ms: (c) => `${c.variant} P99 ≤ ${c.limit} ms`,
  p99OverheadMs: (c) => `${c.variant} P99 overhead ≤ ${c.limit} ms`,
  p99OverheadRatio: (c) => `${c.variant} P99 ratio ≤ ${c.limit}×`,
  p99OverheadZero: (c) => `${c.variant} A/A P99 difference contains 0`,
  errorRateOverhead: (c) => `${c.variant} error-rate overhead ≤ ${formatRate(c.limit)}`,
};

export function renderJunit(doc: ResultDocument): string {
  const invalid = doc.interrupted === true || doc.verdict.validity.length > 0;
  const suites: Suite[] = doc.protocols.map((p) => {
    const suite = `meshbench.${doc.scenario.name}${doc.aa === true ? '.aa' : ''}.${p.name}`;
    const problems = doc.verdict.validity.filter((v) => v.protocol === p.name).map((v) => v.detail);
    if (doc.interrupted === true) problems.unshift('the run was interrupted before all rounds finished');
    const cases: Case[] = [{
      name: 'run validity',
      ...(problems.length > 0 ? { outcome: { kind: 'error' as const, type: 'invalid', message: problems[0] ?? '', detail: problems.join('\n') } } : {}),
    }];
    for (const c of doc.verdict.checks.filter((x) => x.protocol === p.name)) {
      const text = describeCheck(c);
      let outcome: Case['outcome'];
      if (invalid) outcome = { kind: 'error', type: 'inconclusive', message: `invalid run, not judged: ${text}`, detail: text };
      else if (c.status === 'fail') outcome = { kind: 'failure', type: c.budget, message: text, detail: text };
      else if (c.status === 'inconclusive') outcome = { kind: 'error', type: 'inconclusive', message: text, detail: text };
      cases.push({ name: CHECK_NAME[c.budget](c), ...(outcome === undefined ? {} : { outcome }) });
    }
    // A drill's event budgets, one case each (an event that did not happen is an error, as an undecided check).
    for (const c of (doc.verdict.drills ?? []).filter((x) => x.protocol === p.name)) {
      const text = describeDrillCheck(c);
      const outcome: Case['outcome'] = c.status === 'fail' ? { kind: 'failure', type: c.budget, message: text, detail: text }
        : c.status === 'inconclusive' || invalid ? { kind: 'error', type: 'inconclusive', message: text, detail: text } : undefined;
      const what = c.budget === 'happened' ? 'happened' : c.budget === 'maxErrors' ? `errors ≤ ${c.limit ?? 0}` : `p99 recovered within ${c.limit ?? 0} s`;
      cases.push({ name: `event ${c.event + 1} ${c.action} round ${c.round + 1} ${c.variant} ${what}`, ...(outcome === undefined ? {} : { outcome }) });
    }
    return { name: suite, cases };
  });
  return render(`meshbench ${doc.scenario.name}`, doc.startedAt, elapsedS(doc.startedAt, doc.finishedAt), suites);
}

const REGRESSION_NAME: Record<RegressionCheck['figure'], (c: RegressionCheck) => string> = {
  p99Ms: (c) => `${c.variant} P99 did not regress by more than ${c.limit.toFixed(3)} ms`,
  p99OverheadMs: (c) => `${c.variant} P99 overhead did not regress by more than ${c.limit.toFixed(3)} ms`,
};

export function renderComparisonJunit(doc: ComparisonDocument): string {
  const invalid = doc.verdict.reasons.filter((r) => r.startsWith('invalid: '));
  const protocols = [...new Set(doc.checks.map((c) => c.protocol))];
  const suites: Suite[] = protocols.map((protocol) => {
    const name = `meshbench.compare.${doc.candidate.scenario}.${protocol}`;
    const cases: Case[] = [{
      name: 'both runs valid',
      ...(invalid.length > 0 ? { outcome: { kind: 'error' as const, type: 'invalid', message: invalid[0] ?? '', detail: invalid.join('\n') } } : {}),
    }];
    for (const c of doc.checks.filter((x) => x.protocol === protocol)) {
      const text = describeRegression(c);
      let outcome: Case['outcome'];
      if (invalid.length > 0) outcome = { kind: 'error', type: 'inconclusive', message: `invalid run, not judged: ${text}`, detail: text };
      else if (c.status === 'fail') outcome = { kind: 'failure', type: 'regression', message: text, detail: text };
      else if (c.status === 'inconclusive') outcome = { kind: 'error', type: 'inconclusive', message: text, detail: text };
      cases.push({ name: REGRESSION_NAME[c.figure](c), ...(outcome === undefined ? {} : { outcome }) });
    }
    return { name, cases };
  });
  return render(`meshbench compare ${doc.candidate.scenario}`, doc.candidate.startedAt, 0, suites);
}
