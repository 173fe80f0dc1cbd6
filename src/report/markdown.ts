import type { FigureInterval, ProtocolEstimates, ProtocolResult, ResultDocument } from '../result.js';
import { percent } from './wording.js';
import { calibrationNote, checksTable, renderConclusion } from './conclusion.js';
import { hlogFileName } from './hlog.js';
import { mdTable, mib, ms, rate, signedMs } from './format.js';
import { insecureNote } from './summary.js';

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
  out.push('## Run', '');
  out.push(mdTable(['', ''], [
    ['scenario', `${doc.scenario.name} (${doc.scenarioPath})`],
    ['started / finished', `${doc.startedAt} / ${doc.finishedAt}`],
    ['environment', `${doc.environment.kind}; variants ${doc.environment.variants.join(', ')}; baseline ${doc.environment.variants[0] ?? ''}`],
    ['machine', `node ${doc.environment.nodeVersion}, ${doc.environment.platform}, ${doc.environment.cpus} CPUs`],
    ['rounds', doc.scenario.pairing === 'time'
      ? `${doc.scenario.rounds}, cut from one continuous load per protocol that drives both variants at once from one generator, requests alternating (time pairing)`
      : `${doc.scenario.rounds} per variant, interleaved A B B A`],
    ['placement', doc.environment.placement === undefined ? 'not recorded' : `${doc.environment.placement.obtained} (requested ${doc.environment.placement.requested})${doc.environment.placement.note === undefined ? '' : `; ${doc.environment.placement.note}`}`],
    ['meshbench', `${doc.tool.version}, result schema ${doc.schemaVersion}`],
    ...Object.entries(doc.environment.facts).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  ]), '');

  out.push('## Path proofs', '');
  out.push(mdTable(['variant', 'protocol', 'expected', 'marker seen', 'ok'], doc.proofs.map((p) => [
    p.variant, p.protocol,
    p.expect.kind === 'header' ? `header ${p.expect.header}` : p.expect.kind === 'none' ? 'no mesh marker' : `unverified: ${p.expect.why}`,
    p.marker === null ? '—' : truncate(p.marker, 80), p.ok ? 'yes' : 'NO',
  ])), '');

  for (const p of doc.protocols) out.push(...protocolSection(p, doc.verdict.statistics?.estimates.find((e) => e.protocol === p.name), doc.scenario.pairing === 'time'));

  if (doc.verdict.checks.length > 0) {
    out.push(doc.aa === true ? '## A/A checks' : '## Budgets', '');
    out.push('Each check is decided on its interval: pass when all of it is within the budget, fail when all of it is beyond, inconclusive when it straddles the budget.', '');
    out.push(checksTable(doc), '');
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

function protocolSection(p: ProtocolResult, estimates: ProtocolEstimates | undefined, timePaired: boolean): string[] {
  const out: string[] = [];
  const load = p.model === 'open' ? `open loop at ${p.rateHz} req/s` : 'closed loop';
  out.push(`## ${p.name}`, '', `${load}, ${p.connections} connections/streams, ${p.payloadBytes} B payload.`, '');
  out.push(mdTable(
    ['variant', '>count', '>errors', '>req/s', '>p50', '>p90', '>p99', '>p99.9', '>max', '>service p99', '>send lag p99', '>max lag', '>Δp50', '>Δp99', '>p99 ×'],
    Object.entries(p.variants).map(([name, v]) => {
      const o = p.overhead[name];
      return [
        name, v.count, v.errors, rate(v.achievedRateHz), ms(v.latencyUs.p50), ms(v.latencyUs.p90), ms(v.latencyUs.p99),
        ms(v.latencyUs.p999), ms(v.latencyUs.max), ms(v.serviceLatencyUs.p99), v.lagUs === undefined ? '' : ms(v.lagUs.p99), ms(v.maxLagUs),
        o === undefined ? '' : signedMs(o.p50Us), o === undefined ? '' : signedMs(o.p99Us), o === undefined ? '' : o.p99Ratio.toFixed(2),
      ];
    }),
  ), '');
  const errorRows = Object.entries(p.variants).filter(([, v]) => v.errors > 0 || v.dropped > 0);
  if (errorRows.length > 0) {
    out.push(mdTable(['variant', ...Object.keys(errorRows[0]?.[1].errorsByKind ?? {}).map((k) => `>${k}`), '>dropped'],
      errorRows.map(([name, v]) => [name, ...Object.values(v.errorsByKind), v.dropped])), '');
  }
  const proxies = Object.entries(p.variants).flatMap(([name, v]) => v.proxies.map((x) => [name, x.name, x.cpuSeconds.toFixed(2), x.cpuUsPerRequest.toFixed(1), mib(x.peakRssBytes)]));
  if (proxies.length > 0) {
    out.push('Sidecar cost:', '', mdTable(['variant', 'proxy', '>CPU s', '>CPU µs/request', '>peak RSS MiB'], proxies), '');
  }
  out.push(...estimatesTable(p, estimates));
  out.push(...hiccupsTable(p, timePaired));
  out.push('Per round:', '');
  const rounds = Object.entries(p.variants)
    .flatMap(([name, v]) => v.rounds.map((r) => ({ name, r })))
    .sort((a, b) => a.r.round - b.r.round || a.r.order - b.r.order);
  out.push(mdTable(['>round', 'variant', '>count', '>errors', '>req/s', '>p50', '>p99', '>max', '>max lag'], rounds.map(({ name, r }) => [
    r.round + 1, name, r.count, r.errors, rate(r.achievedRateHz), ms(r.latencyUs.p50), ms(r.latencyUs.p99), ms(r.latencyUs.max), ms(r.maxLagUs),
  ])), '');
  return out;
}

/**
 * The hiccups (a 1 ms timer's lateness) of the generator and the env's processes while this protocol ran:
 * stalls of the platform or the harness itself, beside the latencies they would otherwise hide in.
 */
function hiccupsTable(p: ProtocolResult, timePaired: boolean): string[] {
  // Time-paired variants ran side by side and share the same records: list them once.
  const variants = Object.entries(p.variants).slice(0, timePaired ? 1 : undefined);
  const rows = variants.flatMap(([name, v]) => Object.entries(v.hiccupsUs ?? {}).map(([source, h]) =>
    [source, timePaired ? 'all (side by side)' : name, ms(h.p50), ms(h.p99), ms(h.p999), ms(h.max), String(h.count)]));
  if (rows.length === 0) return [];
  return ['Hiccups — how late a 1 ms timer woke in each process while this protocol ran (ms):', '', mdTable(['source', 'during rounds of', '>p50', '>p99', '>p99.9', '>max', '>ticks'], rows), ''];
}

/** p50 / p99 / p99.9 of each variant and of the overhead, each with its interval. */
function estimatesTable(p: ProtocolResult, e: ProtocolEstimates | undefined): string[] {
  if (e === undefined) return [];
  const cell = (i: FigureInterval | null | undefined, fallbackUs: number) =>
    i === null || i === undefined ? ms(fallbackUs) : `${ms(i.estimate)} [${ms(i.low)}, ${ms(i.high)}]`;
  const rows: string[][] = [];
  for (const [name, v] of Object.entries(p.variants)) {
    const iv = e.variants[name];
    rows.push([name, cell(iv?.p50Us, v.latencyUs.p50), cell(iv?.p99Us, v.latencyUs.p99), cell(iv?.p999Us, v.latencyUs.p999)]);
  }
  for (const [name, o] of Object.entries(p.overhead)) {
    const iv = e.overhead[name];
    rows.push([`${name} − unmeshed`, cell(iv?.p50Us, o.p50Us), cell(iv?.p99Us, o.p99Us), cell(iv?.p999Us, o.p999Us)]);
  }
  const level = Object.values(e.variants)[0]?.p99Us?.confidence;
  return [`Estimates with ${level === undefined ? '' : `${percent(level)} `}intervals (ms):`, '', mdTable(['', '>p50', '>p99', '>p99.9'], rows), ''];
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The .hlog files a run writes (src/report/hlog.ts), in the order report.md links them. */
function* renderHlogNames(doc: ResultDocument): Generator<string> {
  for (const p of doc.protocols) {
    for (const variant of doc.environment.variants) if (p.variants[variant] !== undefined) yield hlogFileName(p.name, variant);
  }
}
