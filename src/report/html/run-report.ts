import type { BudgetCheck, ProtocolResult, ResultDocument } from '../../result.js';
import { calibrationNote, PROTOCOL_LABEL, renderConclusion } from '../conclusion.js';
import { renderHlogNames } from '../markdown.js';
import { checksTable, errorsTable, estimatesTable, hiccupsTable, levelPrefix, proofsTable, roundsTable, runTable, sidecarTable, variantsTable } from '../tables.js';
import { describeDrillCheck, percent } from '../wording.js';
import { renderChart, variantColor } from './chart.js';
import { forestChart, type ForestOptions, type ForestRow } from './forest.js';
import { escapeHtml, htmlPage, htmlTable, para, type Section } from './page.js';
import { roundsChart } from './rounds.js';
import { sidecarChart } from './sidecars.js';
import { spectrumChart, type SpectrumCurve } from './spectrum.js';
import { timelineChart } from './timeline.js';
import { hopsSentence, hopsTable, topologyOf } from '../topology.js';
import { drillsSection } from './drills.js';
import { runDrills } from '../drills.js';

/**
 * report.html of a run: the verdict, each budget as a forest plot, per protocol the percentile spectrum, latency
 * over time and the rounds, then sidecar cost, path proofs and the environment. A pure function of the result
 * document: every chart is rendered to inline SVG here, so the file needs nothing else to be read.
 */
export function renderHtmlReport(doc: ResultDocument): string {
  const stats = doc.verdict.statistics;
  const sections: Section[] = [];
  const drills = drillsSection(runDrills(doc));
  if (drills !== null) sections.push(drills);
  if (doc.verdict.checks.length > 0) sections.push(budgetsSection(doc));
  for (const p of doc.protocols) sections.push(protocolSection(doc, p));
  const topology = topologyOf(doc);
  if (topology !== null) {
    const body = doc.protocols.flatMap((p) => {
      const estimates = stats?.estimates.find((e) => e.protocol === p.name);
      return [`<h3>${escapeHtml(p.name)}</h3>`, para(hopsSentence(p, estimates, topology)), htmlTable(hopsTable(p, estimates, topology.hops))];
    });
    sections.push({ id: 'per-hop', title: 'Per hop', body: body.join('\n') });
  }
  const sidecars = sidecarChart('sidecar-cpu', doc.protocols);
  if (sidecars !== null) {
    const tables = doc.protocols.flatMap((p) => {
      const t = sidecarTable(p);
      return t === null ? [] : [`<h3>${escapeHtml(p.name)}</h3>`, htmlTable(t)];
    });
    sections.push({ id: 'sidecar-cost', title: 'Sidecar cost', body: [renderChart(sidecars), ...tables].join('\n') });
  }
  sections.push({
    id: 'path-proofs',
    title: 'Path proofs',
    body: para('Before any load, each path was proven: the meshed path must return the marker only a verifying server-side sidecar adds, the unmeshed path none.') + htmlTable(proofsTable(doc)),
  });
  sections.push({ id: 'environment', title: 'Environment', body: htmlTable(runTable(doc)) });
  const hlogs = [...renderHlogNames(doc)].map((n) => `<a href="${escapeHtml(n)}">${escapeHtml(n)}</a>`).join(', ');
  sections.push({
    id: 'method',
    title: 'Method and files',
    body: [
      stats === undefined ? '' : para(`Intervals: ${stats.method}. Confidence ${percent(stats.confidence)}, ${stats.resamples} resamples per protocol, seed ${stats.seed} — the same result always gets the same verdict.`),
      para('Open loop: latency is measured from each request\'s intended send time (coordinated-omission corrected); service time from the actual send time.'),
      `<p>The figures come from <a href="result.json">result.json</a>; per interval, one standard HdrHistogram log per protocol and variant (µs): ${hlogs}.</p>`,
    ].join('\n'),
  });

  const label = `${doc.verdict.status.toUpperCase()}${doc.interrupted === true ? ' (interrupted)' : ''}${doc.aa === true ? ' — A/A calibration run' : ''}`;
  return htmlPage({
    title: `meshbench: ${doc.scenario.name}`,
    subtitle: `${doc.startedAt} → ${doc.finishedAt} · ${doc.environment.kind} environment · variants ${doc.environment.variants.join(' vs ')} · meshbench ${doc.tool.version}`,
    notice: calibrationNote(doc),
    banner: { status: doc.verdict.status, label, lines: [renderConclusion(doc)] },
    sections,
    footer: `Written by meshbench ${doc.tool.version} from result.json (schema ${doc.schemaVersion}); \`meshbench report\` writes it again from that file. Charts: Apache ECharts, rendered to SVG when the report was written — the page runs no script and loads nothing.`,
  });
}

type BudgetView = Omit<ForestOptions, 'id' | 'caption' | 'decisions'> & { scale?: number };

const BUDGET_VIEW: Record<BudgetCheck['budget'], BudgetView> = {
  p99Ms: { title: 'P99 latency against its budget', axisName: 'P99 latency (ms)', limitName: 'budget' },
  p99OverheadMs: { title: 'P99 overhead (variant − unmeshed) against its budget', axisName: 'P99 overhead (ms)', limitName: 'budget', zeroLine: true },
  p99OverheadRatio: { title: 'P99 ratio (variant ÷ unmeshed) against its budget', axisName: 'P99 ratio to unmeshed (×)', limitName: 'budget' },
  p99OverheadZero: { title: 'A/A: P99 difference between identical variants', axisName: 'P99 difference (ms)', limitName: 'zero', zeroLine: true },
  errorRateOverhead: { title: 'Error-rate overhead (variant − unmeshed) against its budget', axisName: 'error-rate overhead (%)', limitName: 'budget', zeroLine: true, scale: 100 },
};

function budgetsSection(doc: ResultDocument): Section {
  const charts: string[] = [];
  for (const [budget, view] of Object.entries(BUDGET_VIEW) as [BudgetCheck['budget'], BudgetView][]) {
    const checks = doc.verdict.checks.filter((c) => c.budget === budget);
    if (checks.length === 0) continue;
    const k = view.scale ?? 1;
    const rows: ForestRow[] = checks.map((c) => ({
      label: `${c.protocol} · ${c.variant}`,
      estimate: c.actual * k,
      interval: c.interval === null ? null : { low: c.interval.low * k, high: c.interval.high * k },
      limit: budget === 'p99OverheadZero' ? null : c.limit * k,
      status: c.status,
    }));
    const level = checks.find((c) => c.interval !== null)?.interval?.confidence;
    const aa = budget === 'p99OverheadZero';
    charts.push(renderChart(forestChart(rows, {
      ...view,
      id: `budget-${budget}`,
      decisions: aa ? { pass: 'contains 0', fail: 'excludes 0', inconclusive: 'no interval' } : { pass: 'within budget', fail: 'over budget', inconclusive: 'undecided' },
      caption: aa
        ? `Dot: the measured difference; bar: its ${levelPrefix(level)}interval. Identical variants should give bars that cross 0.`
        : `Dot: the estimate; bar: its ${levelPrefix(level)}interval; black tick: the budget. A check passes when the whole bar is within the budget, fails when the whole bar is beyond it, and is undecided when the bar crosses it.`,
    })));
  }
  const reasons = doc.verdict.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('\n');
  return {
    id: 'budgets',
    title: doc.aa === true ? 'A/A checks' : 'Budgets',
    body: [...charts, `<ul class="small">${reasons}</ul>`, htmlTable(checksTable(doc))].join('\n'),
  };
}

function protocolSection(doc: ResultDocument, p: ProtocolResult): Section {
  const variants = doc.environment.variants;
  const timePaired = doc.scenario.pairing === 'time';
  const curves: SpectrumCurve[] = variants.flatMap((name, i) => {
    const v = p.variants[name];
    if (v === undefined) return [];
    const color = variantColor(i);
    return [
      { name: `${name}`, color, histogram: v.histogram },
      { name: `${name} service time`, color, histogram: v.serviceHistogram, dashed: true },
    ];
  });
  const load = p.model === 'open' ? `open loop at ${p.rateHz} req/s per variant` : 'closed loop';
  const est = estimatesTable(p, doc.verdict.statistics?.estimates.find((e) => e.protocol === p.name));
  const errors = errorsTable(p);
  const hiccups = hiccupsTable(p, timePaired);
  const body = [
    para(`${load}, ${p.connections} connections/streams, ${p.payloadBytes} B payload, ${p.variants[variants[0] ?? '']?.rounds.length ?? 0} rounds.`),
    renderChart(spectrumChart(`spectrum-${p.name}`, `${p.name}: latency by percentile`,
      'Latency at each percentile, from the minimum to p99.99, per variant — solid: from the intended send time (coordinated-omission corrected); ' +
      'dashed: service time, from the actual send time. The x axis is 1/(1−q) on a log scale, as HdrHistogram plots it: each step right is ten times rarer. ' +
      'Where a solid curve rises above its dashed one, requests waited for the generator before they were sent.', curves)),
    renderChart(timelineChart(`timeline-${p.name}`, p, variants, timePaired)),
    renderChart(roundsChart(`rounds-${p.name}`, p, variants)),
    '<h3>Figures (ms)</h3>', htmlTable(variantsTable(p)),
    est === null ? '' : `<h3>Estimates with ${escapeHtml(levelPrefix(est.level))}intervals (ms)</h3>${htmlTable(est.table)}`,
    errors === null ? '' : `<h3>Errors and dropped requests</h3>${htmlTable(errors)}`,
    hiccups === null ? '' : `<h3>Hiccups — how late a 1 ms timer woke in each process (ms)</h3>${htmlTable(hiccups)}`,
    `<details><summary>Per round</summary>${htmlTable(roundsTable(p))}</details>`,
  ];
  return { id: `protocol-${p.name}`, title: `${PROTOCOL_LABEL[p.name]} (${p.name})`, body: body.filter((b) => b !== '').join('\n') };
}

