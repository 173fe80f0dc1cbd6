import { BASELINE_VARIANT, type Protocol } from '../protocols.js';
import type { BudgetCheck, FigureInterval, ResultDocument } from '../result.js';
import { formatFigure, percent } from './wording.js';

/** How a person names each protocol in a sentence. */
export const PROTOCOL_LABEL: Record<Protocol, string> = {
  http1: 'HTTP/1.1',
  'grpc-bidi': 'gRPC streams',
  'grpc-unary': 'gRPC unary calls',
  websocket: 'websockets',
  http2: 'HTTP/2',
};

const ms = (us: number) => (us / 1000).toFixed(2);

/** "0.31 ms [0.27, 0.36]" from an interval in µs. */
export function msInterval(i: FigureInterval | null | undefined, estimateUs: number): string {
  return i === null || i === undefined ? `${ms(estimateUs)} ms` : `${ms(i.estimate)} ms [${ms(i.low)}, ${ms(i.high)}]`;
}

function budgetClause(c: BudgetCheck | undefined, rounds: number): string {
  if (c === undefined) return '';
  const budget = `the ${c.limit} ms budget`;
  if (c.status === 'pass') return `; within ${budget}`;
  if (c.status === 'fail') return `; over ${budget}`;
  const more = c.roundsNeeded === undefined || c.roundsNeeded === null ? '' : ` (about ${c.roundsNeeded} rounds instead of ${rounds} would likely decide it)`;
  return `; too close to ${budget} to call${more}`;
}

/**
 * The one-paragraph plain-language conclusion, e.g. "On gRPC streams the mesh adds 0.31 ms [0.27, 0.36]
 * to p99; within the 3 ms budget." Intervals are the verdict's (confidence stated once at the end).
 */
export function renderConclusion(doc: ResultDocument): string {
  const stats = doc.verdict.statistics;
  const sentences: string[] = [];
  const invalid = doc.interrupted === true || doc.verdict.validity.length > 0;
  if (invalid) {
    sentences.push(`The run is ${doc.interrupted === true ? 'incomplete (interrupted)' : 'invalid'}, so its figures decide nothing: ${doc.interrupted === true ? 'rerun it to the end' : doc.verdict.validity[0]?.detail ?? ''}.`);
  }
  if (doc.aa === true) sentences.push('Both variants drove the same unmeshed target (A/A), so any difference is the machine\'s and the method\'s own noise.');
  if (doc.drills !== undefined) sentences.push(drillSentence(doc));
  // A drill's rounds are disrupted on purpose: their overall overhead says nothing steady, so it is not concluded on.
  for (const p of doc.drills === undefined ? doc.protocols : []) {
    const est = stats?.estimates.find((e) => e.protocol === p.name);
    for (const [variant, o] of Object.entries(p.overhead)) {
      if (variant === BASELINE_VARIANT) continue;
      const interval = est?.overhead[variant]?.p99Us;
      const figure = msInterval(interval, o.p99Us);
      const who = variant === 'meshed' ? 'the mesh' : `"${variant}"`;
      if (doc.aa === true) {
        // The A/A check's own interval (its confidence is corrected for the number of checks).
        const check = doc.verdict.checks.find((c) => c.protocol === p.name && c.variant === variant && c.budget === 'p99OverheadZero');
        const shown = check?.interval == null ? figure : `${check.actual.toFixed(2)} ms [${check.interval.low.toFixed(2)}, ${check.interval.high.toFixed(2)}] (${percent(check.interval.confidence)})`;
        const verdict = check === undefined ? '' : check.status === 'pass' ? '; the interval contains 0, as it should' : check.status === 'fail' ? '; the interval excludes 0: identical variants were told apart' : '';
        sentences.push(`On ${PROTOCOL_LABEL[p.name]} the measured P99 difference is ${shown}${verdict}.`);
        continue;
      }
      const check = doc.verdict.checks.find((c) => c.protocol === p.name && c.variant === variant && c.budget === 'p99OverheadMs');
      const effect = (interval?.estimate ?? o.p99Us) >= 0 ? `adds ${figure} to p99` : `changes p99 by ${figure}`;
      sentences.push(`On ${PROTOCOL_LABEL[p.name]} ${who} ${effect}${budgetClause(check, doc.scenario.rounds)}.`);
    }
  }
  const level = stats === undefined || doc.aa === true ? '' : ` Intervals are ${percent(stats.confidence)} confidence intervals.`;
  sentences.push(`Verdict: ${doc.verdict.status.toUpperCase()}.${level}`);
  return sentences.join(' ');
}

/**
 * A run with a planted delay (env.plantedDelayMs) is a calibration run: the meshed variant is slower by
 * construction. Every report says so first. Null for an ordinary run.
 */
export function calibrationNote(doc: ResultDocument): string | null {
  const planted = doc.environment.facts['plantedDelayMs'];
  if (typeof planted !== 'number' || planted <= 0) return null;
  return `CALIBRATION RUN: a delay of ${planted} ms was planted on the meshed path (env.plantedDelayMs): every meshed response was held ${planted} ms on purpose, so this verdict judges the harness, not a mesh.`;
}

/** "A drill of 5 events: 3 of 8 event budget checks failed, 1 undecided." */
function drillSentence(doc: ResultDocument): string {
  const checks = doc.verdict.drills ?? [];
  const n = new Set((doc.drills ?? []).map((d) => d.event)).size;
  const failed = checks.filter((c) => c.status === 'fail').length;
  const undecided = checks.filter((c) => c.status === 'inconclusive').length;
  const outcome = checks.length === 0 ? 'no event has a budget, so nothing was judged'
    : failed + undecided === 0 ? `all ${checks.length} event budget checks held`
    : `${failed} of ${checks.length} event budget checks failed${undecided > 0 ? `, ${undecided} undecided` : ''}`;
  return `A drill of ${n} event${n === 1 ? '' : 's'}, each measured on both variants side by side: ${outcome}.`;
}
