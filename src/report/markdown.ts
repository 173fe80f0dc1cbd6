import type { ProtocolEstimates, ProtocolResult, ResultDocument } from '../result.js';
import { percent } from './wording.js';
import { calibrationNote, renderConclusion } from './conclusion.js';
import { hlogFileName } from './hlog.js';
import { insecureNote } from './summary.js';
import { md } from './format.js';
import { drillsMarkdown, runDrills } from './drills.js';
import { hopsSentence, hopsTable, topologyOf } from './topology.js';
import { churnTable, checksTable, errorsTable, estimatesTable, hiccupsTable, levelPrefix, proofsTable, roundsTable, runTable, sidecarTable, variantsTable } from './tables.js';

/** report.md: rendered from result.json only (a pure function of the result document). */
export function renderMarkdown(doc: ResultDocument): string {
  const out: string[] = [];
  out.push(`# meshbench: ${doc.scenario.name}`, '');
  out.push(`**Verdict: ${doc.verdict.status.toUpperCase()}**${doc.interrupted === true ? ' (interrupted)' : ''}${doc.aa === true ? ' — A/A calibration run' : ''}`, '');
  const calibration = calibrationNote(doc);
  if (calibration !== null) out.push(`> **${calibration}**`, '');
  const insecure = insecureNote(doc);
  if (insecure !== null) out.push(`> **${insecure}**`, '');
  out.push(renderConclusion(doc), '');
  for (const reason of doc.verdict.reasons) out.push(`- ${reason}`);
  out.push('');
  out.push('## Run', '', md(runTable(doc)), '');
  out.push('## Path proofs', '', md(proofsTable(doc)), '');

  for (const p of doc.protocols) out.push(...protocolSection(p, doc.verdict.statistics?.estimates.find((e) => e.protocol === p.name), doc.scenario.pairing === 'time', topologyOf(doc)));

  out.push(...drillsMarkdown(runDrills(doc)));
  if (doc.verdict.checks.length > 0) {
    out.push(doc.aa === true ? '## A/A checks' : '## Budgets', '');
    out.push('Each check is decided on its interval: pass when all of it is within the budget, fail when all of it is beyond, inconclusive when it straddles the budget.', '');
    out.push(md(checksTable(doc)), '');
  }
  const stats = doc.verdict.statistics;
  if (stats !== undefined) {
    out.push('## Method', '');
    out.push(`Intervals: ${stats.method}. Confidence ${percent(stats.confidence)}, ${stats.resamples} resamples per protocol, seed ${stats.seed} — the same result always gets the same verdict.`, '');
  }
  out.push('Latencies in ms. Open loop: measured from each request\'s intended send time (coordinated-omission corrected);',
    '"service p99" is measured from the actual send time. Histograms are in result.json and, per interval, in one standard',
    'HdrHistogram log per protocol and variant (µs; `HistogramLogProcessor -i FILE -outputValueUnitRatio 1000` prints ms):',
    [...renderHlogNames(doc)].map((name) => `[${name}](${name})`).join(', '), '');
  return out.join('\n');
}

function protocolSection(p: ProtocolResult, estimates: ProtocolEstimates | undefined, timePaired: boolean, topology: ReturnType<typeof topologyOf>): string[] {
  const out: string[] = [];
  const load = p.model === 'open' ? `open loop at ${p.rateHz} req/s` : 'closed loop';
  out.push(`## ${p.name}`, '', `${load}, ${p.connections} connections/streams, ${p.payloadBytes} B payload.`, '');
  out.push(md(variantsTable(p)), '');
  const errors = errorsTable(p);
  if (errors !== null) out.push(md(errors), '');
  const sidecars = sidecarTable(p);
  if (sidecars !== null) out.push('Sidecar cost:', '', md(sidecars), '');
  const churn = churnTable(p);
  if (churn !== null) out.push('Connection churn — what a new connection costs, apart from request latency (ms):', '', md(churn), '');
  const est = estimatesTable(p, estimates);
  if (est !== null) out.push(`Estimates with ${levelPrefix(est.level)}intervals (ms):`, '', md(est.table), '');
  if (topology !== null) out.push('Per hop:', '', hopsSentence(p, estimates, topology), '', md(hopsTable(p, estimates, topology.hops)), '');
  const hiccups = hiccupsTable(p, timePaired);
  if (hiccups !== null) out.push('Hiccups — how late a 1 ms timer woke in each process while this protocol ran (ms):', '', md(hiccups), '');
  out.push('Per round:', '', md(roundsTable(p)), '');
  return out;
}

/** The .hlog files a run writes (src/report/hlog.ts), in the order report.md links them. */
export function* renderHlogNames(doc: ResultDocument): Generator<string> {
  for (const p of doc.protocols) {
    for (const variant of doc.environment.variants) if (p.variants[variant] !== undefined) yield hlogFileName(p.name, variant);
  }
}
