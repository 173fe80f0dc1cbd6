import type { ResultDocument } from '../result.js';
import { calibrationNote } from './conclusion.js';
import { ms, rate, signedMs, textTable } from './format.js';

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
  const calibration = calibrationNote(doc);
  return [
    rows.length > 0 ? table : '(no round completed)', '', ...(calibration === null ? [] : [calibration, '']),
    verdict, ...doc.verdict.reasons.map((r) => `  - ${r}`),
  ].join('\n');
}
