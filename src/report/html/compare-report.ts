import type { ResultDocument } from '../../result.js';
import type { ComparisonDocument } from '../../verdict/compare.js';
import { PROTOCOL_LABEL } from '../conclusion.js';
import { comparisonTable, levelPrefix } from '../tables.js';
import { OKABE_ITO, renderChart, variantColor } from './chart.js';
import { forestChart } from './forest.js';
import { escapeHtml, htmlPage, htmlTable, para, type Section } from './page.js';
import { spectrumChart, type SpectrumCurve } from './spectrum.js';

/** Baseline (light, dashed) and candidate (dark, solid) colours of the first two variants; further ones share one colour. */
const PAIRS: [string, string][] = [[OKABE_ITO.skyBlue, OKABE_ITO.blue], [OKABE_ITO.orange, OKABE_ITO.vermillion]];

/**
 * report.html of `meshbench compare`: the decision, each compared figure's change as a forest plot against the
 * tolerance, and per protocol the baseline's and the candidate's percentile spectra on one chart. A pure
 * function of the comparison document and the two result documents it compared.
 */
export function renderComparisonHtml(doc: ComparisonDocument, baseline: ResultDocument, candidate: ResultDocument): string {
  const sections: Section[] = [];
  const level = doc.checks.find((c) => c.interval !== null)?.interval?.confidence;
  if (doc.checks.length > 0) {
    const forest = forestChart(doc.checks.map((c) => ({
      label: `${c.protocol} · ${c.variant} · ${c.figure === 'p99Ms' ? 'P99' : 'overhead'}`,
      estimate: c.change,
      interval: c.interval,
      limit: c.limit,
      status: c.status,
    })), {
      id: 'forest-changes',
      title: 'Change of each figure, candidate − baseline, against the tolerance',
      axisName: 'change in P99 (ms)',
      limitName: 'tolerance',
      decisions: { pass: 'no regression', fail: 'regression', inconclusive: 'inconclusive' },
      zeroLine: true,
      caption: `Dot: the change (candidate − baseline); bar: its ${levelPrefix(level)}interval; black tick: the tolerance. No regression when the whole bar is left of the tick, a regression when all of it is right of it.`,
    });
    sections.push({ id: 'changes', title: 'Changes', body: [renderChart(forest), htmlTable(comparisonTable(doc))].join('\n') });
  }
  for (const bp of baseline.protocols) {
    const cp = candidate.protocols.find((p) => p.name === bp.name);
    if (cp === undefined) continue;
    const curves: SpectrumCurve[] = baseline.environment.variants.flatMap((name, i) => {
      const b = bp.variants[name];
      const c = cp.variants[name];
      if (b === undefined || c === undefined) return [];
      const [light, dark] = PAIRS[i] ?? [variantColor(i), variantColor(i)];
      return [
        { name: `${name} baseline`, color: light, histogram: b.histogram, dashed: true },
        { name: `${name} candidate`, color: dark, histogram: c.histogram },
      ];
    });
    sections.push({
      id: `protocol-${bp.name}`,
      title: `${PROTOCOL_LABEL[bp.name]} (${bp.name})`,
      body: renderChart(spectrumChart(`spectrum-${bp.name}`, `${bp.name}: latency by percentile, baseline vs candidate`,
        'Latency at each percentile (from the intended send time), per variant: dashed the baseline, solid the candidate. The x axis is 1/(1−q) on a log scale, as HdrHistogram plots it.', curves)),
    });
  }
  if (doc.notes.length > 0) {
    sections.push({ id: 'notes', title: 'Differences between the two runs', body: `<ul>${doc.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` });
  }
  sections.push({
    id: 'method',
    title: 'Method',
    body: para(`${doc.statistics.method}; ${doc.statistics.resamples} resamples, seed ${doc.statistics.seed}. A figure regresses when it rises by more than ${doc.tolerance.ms} ms` +
      `${doc.tolerance.ratio > 0 ? ` + ${doc.tolerance.ratio} × the baseline's P99` : ''}. Drift between the two runs themselves (another time, another machine) is measured by neither: the tolerance absorbs it.`),
  });
  const label = doc.verdict.status === 'pass' ? 'NO REGRESSION' : doc.verdict.status === 'fail' ? 'REGRESSION' : 'INCONCLUSIVE';
  const notable = doc.verdict.reasons.filter((r) => r.startsWith('invalid') || r.startsWith('regressed') || r.startsWith('undecided'));
  return htmlPage({
    title: `meshbench compare: ${doc.candidate.scenario}`,
    subtitle: `baseline ${doc.baseline.path} (${doc.baseline.startedAt}) · candidate ${doc.candidate.path} (${doc.candidate.startedAt})`,
    banner: { status: doc.verdict.status, label, lines: notable.length > 0 ? notable : [doc.verdict.reasons[0] ?? ''] },
    sections,
    footer: `Written by meshbench ${doc.tool.version} from comparison.json and the two result documents it compared. Charts: Apache ECharts, rendered to SVG when the report was written — the page runs no script and loads nothing.`,
  });
}
