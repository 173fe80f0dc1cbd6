import type { FigureInterval, ProtocolEstimates, ProtocolResult, ResultDocument } from '../result.js';
import type { ComparisonDocument } from '../verdict/compare.js';
import { formatFigure, percent } from './wording.js';
import { mib, ms, rate, signedMs } from './format.js';

/**
 * The tables of the reports as data — a header (a leading '>' marks a right-aligned, numeric column) and rows
 * of text — so report.md (`mdTable`) and report.html (`htmlTable`) show the same figures from one place.
 */
export interface Table {
  header: string[];
  rows: (string | number)[][];
}

/** The run: scenario, times, environment, machine, rounds, placement, tool and the env's facts. */
export function runTable(doc: ResultDocument): Table {
  return {
    header: ['', ''],
    rows: [
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
    ],
  };
}

export function proofsTable(doc: ResultDocument): Table {
  return {
    header: ['variant', 'protocol', 'expected', 'marker seen', 'ok'],
    rows: doc.proofs.map((p) => [
      p.variant, p.protocol,
      p.expect.kind === 'header' ? `header ${p.expect.header}` : p.expect.kind === 'none' ? 'no mesh marker' : `unverified: ${p.expect.why}`,
      p.marker === null ? '—' : truncate(p.marker, 80), p.ok ? 'yes' : 'NO',
    ]),
  };
}

/** Per variant: counts, rate, percentiles, service p99, send lag and the overhead over the baseline (ms). */
export function variantsTable(p: ProtocolResult): Table {
  return {
    header: ['variant', '>count', '>errors', '>req/s', '>p50', '>p90', '>p99', '>p99.9', '>max', '>service p99', '>send lag p99', '>max lag', '>Δp50', '>Δp99', '>p99 ×'],
    rows: Object.entries(p.variants).map(([name, v]) => {
      const o = p.overhead[name];
      return [
        name, v.count, v.errors, rate(v.achievedRateHz), ms(v.latencyUs.p50), ms(v.latencyUs.p90), ms(v.latencyUs.p99),
        ms(v.latencyUs.p999), ms(v.latencyUs.max), ms(v.serviceLatencyUs.p99), v.lagUs === undefined ? '' : ms(v.lagUs.p99), ms(v.maxLagUs),
        o === undefined ? '' : signedMs(o.p50Us), o === undefined ? '' : signedMs(o.p99Us), o === undefined ? '' : o.p99Ratio.toFixed(2),
      ];
    }),
  };
}

/** Errors by kind and dropped requests, of the variants that had any (null when none had). */
export function errorsTable(p: ProtocolResult): Table | null {
  const rows = Object.entries(p.variants).filter(([, v]) => v.errors > 0 || v.dropped > 0);
  if (rows.length === 0) return null;
  return {
    header: ['variant', ...Object.keys(rows[0]?.[1].errorsByKind ?? {}).map((k) => `>${k}`), '>dropped'],
    rows: rows.map(([name, v]) => [name, ...Object.values(v.errorsByKind), v.dropped]),
  };
}

/** Per variant and proxy: CPU seconds, CPU µs per request, peak RSS (null without proxies). */
export function sidecarTable(p: ProtocolResult): Table | null {
  const rows = Object.entries(p.variants).flatMap(([name, v]) => v.proxies.map((x) => [name, x.name, x.cpuSeconds.toFixed(2), x.cpuUsPerRequest.toFixed(1), mib(x.peakRssBytes)]));
  return rows.length === 0 ? null : { header: ['variant', 'proxy', '>CPU s', '>CPU µs/request', '>peak RSS MiB'], rows };
}

/**
 * Connection churn, per variant (null without): new connections, their connect time and first response, and what
 * a new connection adds to a request — in all (first response − the service p50) and beyond the client's own
 * connect (the handshakes further along the path: a mesh's sidecars).
 */
export function churnTable(p: ProtocolResult): Table | null {
  const rows = Object.entries(p.variants).flatMap(([name, v]) => {
    const c = v.churn;
    if (c === undefined) return [];
    return [[name, c.opened, ms(c.connectUs.p50), ms(c.connectUs.p99), ms(c.firstResponseUs.p50), ms(c.firstResponseUs.p99), signedMs(c.newConnectionCostUs), signedMs(c.newConnectionCostUs - c.connectUs.p50)]];
  });
  return rows.length === 0 ? null : { header: ['variant', '>new connections', '>connect p50', '>connect p99', '>first response p50', '>first response p99', '>new-connection cost p50', '>beyond the connect'], rows };
}

/** p50 / p99 / p99.9 of each variant and of the overhead, each with its interval (null without statistics). */
export function estimatesTable(p: ProtocolResult, e: ProtocolEstimates | undefined): { level: number | undefined; table: Table } | null {
  if (e === undefined) return null;
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
  return { level: Object.values(e.variants)[0]?.p99Us?.confidence, table: { header: ['', '>p50', '>p99', '>p99.9'], rows } };
}

/**
 * The hiccups (a 1 ms timer's lateness) of the generator and the env's processes while this protocol ran:
 * stalls of the platform or the harness itself, beside the latencies they would otherwise hide in.
 */
export function hiccupsTable(p: ProtocolResult, timePaired: boolean): Table | null {
  // Time-paired variants ran side by side and share the same records: list them once.
  const variants = Object.entries(p.variants).slice(0, timePaired ? 1 : undefined);
  const rows = variants.flatMap(([name, v]) => Object.entries(v.hiccupsUs ?? {}).map(([source, h]) =>
    [source, timePaired ? 'all (side by side)' : name, ms(h.p50), ms(h.p99), ms(h.p999), ms(h.max), String(h.count)]));
  return rows.length === 0 ? null : { header: ['source', 'during rounds of', '>p50', '>p99', '>p99.9', '>max', '>ticks'], rows };
}

/** Every round of every variant, in the order they ran. */
export function roundsTable(p: ProtocolResult): Table {
  const rounds = Object.entries(p.variants)
    .flatMap(([name, v]) => v.rounds.map((r) => ({ name, r })))
    .sort((a, b) => a.r.round - b.r.round || a.r.order - b.r.order);
  return {
    header: ['>round', 'variant', '>count', '>errors', '>req/s', '>p50', '>p99', '>max', '>max lag'],
    rows: rounds.map(({ name, r }) => [
      r.round + 1, name, r.count, r.errors, rate(r.achievedRateHz), ms(r.latencyUs.p50), ms(r.latencyUs.p99), ms(r.latencyUs.max), ms(r.maxLagUs),
    ]),
  };
}

/** Every check: estimate, interval, limit, decision, rounds that would decide it. */
export function checksTable(doc: ResultDocument): Table {
  const rows = doc.verdict.checks.map((c) => {
    // in the check's unit: ms, a ratio, or (error rates) percent
    const f = (x: number) => formatFigure(c, x, c.budget === 'errorRateOverhead');
    return [
      c.protocol, c.variant, c.budget, f(c.actual),
      c.interval === null ? '—' : `[${formatFigure(c, c.interval.low, false)}, ${formatFigure(c, c.interval.high, false)}]`,
      c.budget === 'p99OverheadZero' ? 'contains 0' : `≤ ${f(c.limit)}`,
      c.status, c.roundsNeeded === undefined || c.roundsNeeded === null ? '' : String(c.roundsNeeded),
    ];
  });
  return { header: ['protocol', 'variant', 'check', '>estimate', '>interval', 'limit', 'decision', '>rounds to decide'], rows };
}

/** Every regression check of a comparison: baseline, candidate, change with its interval, tolerance, decision. */
export function comparisonTable(doc: ComparisonDocument): Table {
  return {
    header: ['protocol', 'variant', 'figure', '>baseline ms', '>candidate ms', '>change ms', '>interval', '>tolerance ms', 'decision'],
    rows: doc.checks.map((c) => [
      c.protocol, c.variant, c.figure === 'p99Ms' ? 'P99' : 'P99 overhead', c.baseline.toFixed(3), c.candidate.toFixed(3),
      `${c.change >= 0 ? '+' : ''}${c.change.toFixed(3)}`,
      c.interval === null ? '—' : `[${c.interval.low.toFixed(3)}, ${c.interval.high.toFixed(3)}]`,
      c.limit.toFixed(3), c.status === 'pass' ? 'no regression' : c.status === 'fail' ? 'regression' : 'inconclusive',
    ]),
  };
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Confidence as a caption prefix, e.g. "95 % " (empty when unknown). */
export function levelPrefix(level: number | undefined): string {
  return level === undefined ? '' : `${percent(level)} `;
}
