import { BASELINE_VARIANT } from '../protocols.js';
import type { ResultDocument } from '../result.js';
import { calibrationNote } from './conclusion.js';
import { ms, rate, signedMs, textTable } from './format.js';
import { drillsTable, runDrills } from './drills.js';

/** The worst p99 among the hiccup sources `pick` selects (ms), or "" when none was recorded. */
function hiccupP99(hiccupsUs: Record<string, { p99: number }> | undefined, pick: (source: string) => boolean): string {
  const p99s = Object.entries(hiccupsUs ?? {}).filter(([source]) => pick(source)).map(([, h]) => h.p99);
  return p99s.length === 0 ? '' : ms(Math.max(...p99s));
}

/** The summary printed on stdout at the end of `meshbench run`: a pure function of the result document. */
export function renderSummary(doc: ResultDocument): string {
  const rows: (string | number)[][] = [];
  for (const p of doc.protocols) {
    for (const [variant, v] of Object.entries(p.variants)) {
      const o = p.overhead[variant];
      const i = doc.verdict.statistics?.estimates.find((e) => e.protocol === p.name)?.overhead[variant]?.p99Us;
      rows.push([
        `${p.name} ${variant}`, v.count, v.errors, rate(v.achievedRateHz),
        ms(v.latencyUs.p50), ms(v.latencyUs.p90), ms(v.latencyUs.p99), ms(v.latencyUs.p999), ms(v.latencyUs.max),
        o === undefined ? '' : signedMs(o.p99Us),
        i === null || i === undefined ? '' : `[${ms(i.low)}, ${ms(i.high)}]`,
        hiccupP99(v.hiccupsUs, (source) => source === 'generator'),
        hiccupP99(v.hiccupsUs, (source) => source !== 'generator'),
      ]);
    }
  }
  const table = textTable(['protocol/variant', 'count', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'Δp99 ms', 'Δp99 interval', 'hiccup p99 gen', 'hiccup p99 env'], rows);
  const verdict = `verdict: ${doc.verdict.status.toUpperCase()}`;
  const drills = drillsTable(runDrills(doc));
  const calibration = calibrationNote(doc);
  const insecure = insecureNote(doc);
  return [
    ...(insecure === null ? [] : [insecure, '']),
    rows.length > 0 ? table : '(no round completed)', '', ...(drills === null ? [] : [textTable(drills.header, drills.rows), '']),
    ...(calibration === null ? [] : [calibration, '']),
    verdict, ...doc.verdict.reasons.map((r) => `  - ${r}`),
  ].join('\n');
}

/** A run that did not verify its targets' certificates (--insecure, scenario tls.insecure) says so first. */
export function insecureNote(doc: ResultDocument): string | null {
  const variants = doc.environment.facts['tlsInsecure'];
  if (!Array.isArray(variants) || variants.length === 0) return null;
  return `WARNING: TLS certificates were NOT verified (insecure) for: ${variants.map(String).join(', ')}`;
}

/**
 * Each candidate's difference from the baseline, per protocol: p50, p99 and p99.9 of both, the difference and
 * its interval (the verdict's), and the errors of both with the error-rate difference's interval when it was
 * checked. `names` relabels the variants (`meshbench ab`: A and B).
 */
export function renderDifferences(doc: ResultDocument, names: { baseline: string; candidate: string } = { baseline: BASELINE_VARIANT, candidate: 'meshed' }): string {
  const blocks: string[] = [];
  for (const p of doc.protocols) {
    const base = p.variants[BASELINE_VARIANT];
    if (base === undefined) continue;
    const estimates = doc.verdict.statistics?.estimates.find((e) => e.protocol === p.name);
    for (const [variant, v] of Object.entries(p.variants)) {
      if (variant === BASELINE_VARIANT) continue;
      const o = p.overhead[variant];
      const intervals = estimates?.overhead[variant];
      const label = Object.keys(p.variants).length > 2 ? variant : names.candidate;
      const row = (figure: string, a: number, b: number, diff: number | undefined, i: { low: number; high: number; confidence: number } | null | undefined): (string | number)[] => [
        figure, ms(a), ms(b), diff === undefined ? '' : signedMs(diff), i === null || i === undefined ? '' : `[${signedMs(i.low)}, ${signedMs(i.high)}] (${Math.round(i.confidence * 100)} %)`,
      ];
      const rows = [
        row('p50 ms', base.latencyUs.p50, v.latencyUs.p50, o?.p50Us, intervals?.p50Us),
        row('p99 ms', base.latencyUs.p99, v.latencyUs.p99, o?.p99Us, intervals?.p99Us),
        row('p99.9 ms', base.latencyUs.p999, v.latencyUs.p999, o?.p999Us, intervals?.p999Us),
      ];
      const rateOf = (r: { count: number; errors: number }): number => (r.count + r.errors > 0 ? r.errors / (r.count + r.errors) : 0);
      const check = doc.verdict.checks.find((c) => c.protocol === p.name && c.variant === variant && c.budget === 'errorRateOverhead');
      const pct = (x: number): string => `${x >= 0 && x !== 0 ? '+' : ''}${(x * 100).toFixed(3)} %`;
      rows.push([
        'errors', `${base.errors} (${(rateOf(base) * 100).toFixed(3)} %)`, `${v.errors} (${(rateOf(v) * 100).toFixed(3)} %)`, pct(rateOf(v) - rateOf(base)),
        check?.interval === null || check?.interval === undefined ? '' : `[${pct(check.interval.low)}, ${pct(check.interval.high)}] (${Math.round(check.interval.confidence * 100)} %)`,
      ]);
      blocks.push(`${p.name}: ${label} − ${names.baseline}\n${textTable(['', names.baseline, label, 'difference', 'interval'], rows)}`);
    }
  }
  return blocks.length > 0 ? blocks.join('\n\n') : '(no round completed)';
}
