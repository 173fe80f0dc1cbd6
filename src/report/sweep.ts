import { BASELINE_VARIANT } from '../protocols.js';
import { capacityChange, type Knee, type SweepDocument, type SweepProtocol } from '../sweep-record.js';
import { mdTable, ms, rate, textTable } from './format.js';

/** A rate as people say it: 9.4k req/s, 850 req/s. */
function kRate(hz: number): string {
  return hz >= 1000 ? `${(hz / 1000).toFixed(hz >= 10_000 ? 0 : 1)}k` : Number.isInteger(hz) ? String(hz) : hz.toFixed(1);
}

function pct(x: number): string {
  const v = (x * 100).toFixed(0);
  return x > 0 ? `+${v} %` : `${v === '-0' ? '0' : v.replace('-', '−')} %`;
}

/** Where one knee lies, as a phrase: "up to 9.4k req/s (breaks at 9.8k)". */
function kneePhrase(knee: Knee, maxHz: number): string {
  if (knee.holdsUpToHz === null) return knee.breaksAtHz === null ? 'no step was decided' : `not even at ${kRate(knee.breaksAtHz)} req/s, the first step`;
  if (knee.breaksAtHz === null) return `up to ${kRate(knee.holdsUpToHz)} req/s and did not break up to the sweep's ${kRate(maxHz)}`;
  return `up to ${kRate(knee.holdsUpToHz)} req/s (breaks at ${kRate(knee.breaksAtHz)})`;
}

/**
 * The headline of one protocol: "http1: unmeshed holds p99 ≤ 5 ms up to 9.4k req/s (breaks at 9.8k), meshed up
 * to 6.1k (breaks at 6.4k) (−35 %, −38 % to −31 %)" — the change is the meshed knee against the unmeshed one,
 * with the range the two brackets allow.
 */
export function sweepHeadline(doc: SweepDocument, p: SweepProtocol): string {
  const maxHz = doc.scenario.sweep?.maxRateHz ?? 0;
  const base = p.variants[BASELINE_VARIANT];
  const parts = Object.entries(p.variants).map(([name, v], i) => {
    const change = base !== undefined && name !== BASELINE_VARIANT ? capacityChange(v.knee, base.knee) : null;
    const range = change === null ? '' : ` (${pct(change.change)}, ${pct(change.low)} to ${pct(change.high)})`;
    return `${name} ${i === 0 ? `holds p99 ≤ ${doc.p99BudgetMs} ms ` : ''}${kneePhrase(v.knee, maxHz)}${range}`;
  });
  return `${p.name}: ${parts.join(', ')}`;
}

function stepRows(p: SweepProtocol): (string | number)[][] {
  return Object.entries(p.variants).flatMap(([name, v]) =>
    [...v.steps].sort((a, b) => a.rateHz - b.rateHz).map((s) => [
      name, rate(s.rateHz) + (s.refinement ? '*' : '') + (s.repeat ? '²' : ''), rate(s.achievedRateHz), s.errors, ms(s.p50Us), ms(s.p99Us),
      s.p99IntervalUs === null ? '–' : `${ms(s.p99IntervalUs.low)}–${ms(s.p99IntervalUs.high)}`, (s.lateShare * 100).toFixed(2), s.outcome, s.reason,
    ]),
  );
}

const HEADER = ['variant', '>rate req/s', '>achieved', '>errors', '>p50 ms', '>p99 ms', '>p99 interval ms', '>late %', 'step', 'why'];

/** sweep.md: the headline per protocol, then every step (the latency-vs-load curve) with its p99 interval. */
export function renderSweepMarkdown(doc: SweepDocument): string {
  const lines = [`# meshbench sweep: ${doc.scenario.name}`, ''];
  if (doc.interrupted === true) lines.push('**Interrupted**: the sweep was stopped before it finished; the knees below are of the steps it ran.', '');
  lines.push(`Each step: ${doc.scenario.rounds} × ${doc.scenario.protocols[0]?.durationS ?? '?'} s per variant on its own, judged on its p99's ${((doc.scenario.statistics.confidence) * 100).toFixed(0)} % interval against ${doc.p99BudgetMs} ms, its errors (≤ ${(doc.scenario.validity.maxErrorRate * 100).toFixed(2)} %) and its validity; a step that breaks is measured again (²) and a rate breaks only when both did. \\* = a refinement step.`, '');
  for (const p of doc.protocols) {
    lines.push(`## ${p.name}`, '', `**${sweepHeadline(doc, p)}**`, '', mdTable(HEADER, stepRows(p)), '');
  }
  return lines.join('\n');
}

/** What `meshbench sweep` prints: the headlines, then each protocol's steps as a terminal table. */
export function renderSweepSummary(doc: SweepDocument): string {
  return doc.protocols.map((p) => `${sweepHeadline(doc, p)}\n${textTable(HEADER.map((h) => h.replace(/^>/, '')), stepRows(p))}`).join('\n\n');
}
