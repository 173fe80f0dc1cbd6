import { join } from 'node:path';
import { sumErrors } from '../drivers/driver.js';
import { drivers } from '../drivers/index.js';
import { errorMessage, MeshbenchError } from '../errors.js';
import { decodeHistogram, summarizeEncoded, writeHlog } from '../histograms/index.js';
import { defaultWorkers, runLoad } from '../load/pool.js';
import type { LoadResult, LoadSpec } from '../load/types.js';
import { ms, rate, textTable } from '../report/format.js';
import { toolVersion } from '../version.js';
import { EXIT } from './exit-codes.js';
import { checkOutDir, writeFailed } from './out-dir.js';
import { requestSetup, type LoadFlags, type LoadRequestSetup } from './load-options.js';

export interface LoadCommandOptions extends LoadFlags {
  /** Largest share of failed requests (0–1) before the exit code is 1. Absent: not checked. */
  maxErrorRate?: number;
  signal: AbortSignal;
}

/** Version of the `load` result document (result.json of `load --out`, and `load --json`). */
export const LOAD_RESULT_VERSION = 1;

/** The percentiles of the latency distribution, as wrk --latency prints them (and the tail wrk2 adds). */
export const DISTRIBUTION_PERCENTILES = [50, 75, 90, 99, 99.9, 99.99, 100] as const;

/** `meshbench load <target...>`: ad hoc load, one target (or a mix of URLs of one origin), no verdict. */
export async function loadCommand(targets: string[], opts: LoadCommandOptions): Promise<number> {
  const setup = requestSetup(targets, opts);
  const target = targets[0] ?? '';
  const spec: LoadSpec = {
    protocol: setup.protocol,
    target,
    model: opts.rate === undefined ? 'closed' : 'open',
    rateHz: opts.rate ?? 0,
    connections: opts.connections,
    durationMs: Math.round(opts.duration * 1000),
    warmupMs: Math.round(opts.warmup * 1000),
    payloadBytes: setup.payloadBytes,
    timeoutMs: opts.timeout,
    headers: setup.headers,
    workers: Math.min(opts.workers ?? defaultWorkers(), opts.connections),
    intervalMs: 1000,
    maxRequests: 0,
    lateThresholdUs: 1000,
    driverOptions: setup.driverOptions,
  };
  if (setup.tls?.insecure === true) process.stderr.write(`WARNING: --insecure: the certificate of ${target} is NOT verified\n`);
  const out = opts.out === undefined ? undefined : await checkOutDir(opts.out);
  try {
    await drivers[spec.protocol].probe({ ...setup.driverOptions, target, payloadBytes: spec.payloadBytes, headers: spec.headers }, Math.min(spec.timeoutMs, 5000));
  } catch (err) {
    throw new MeshbenchError('MB_UNREACHABLE_TARGET', `${target} did not answer a ${spec.protocol} probe (${errorMessage(err)}): ${hintFor(err, spec.protocol)}`);
  }
  const tty = process.stderr.isTTY === true && opts.quiet !== true;
  const startedAt = new Date().toISOString();
  const result = await runLoad(spec, opts.signal, (p) => {
    if (tty) process.stderr.write(`\r\x1b[2K${(p.elapsedMs / 1000).toFixed(1)} s  ${p.rateHz.toFixed(0)} req/s  p99 ${(p.p99Us / 1000).toFixed(3)} ms`);
  });
  if (tty) process.stderr.write('\r\x1b[2K');
  const doc = loadDocument(spec, setup, targets, result, startedAt, opts.maxErrorRate);
  const files = new Map([
    ['result.json', `${JSON.stringify(doc, null, 2)}\n`],
    [`${spec.protocol}.hlog`, writeHlog(result.intervals, { startTimeMs: result.startedAtMs, comments: [`[meshbench ${toolVersion}: load ${spec.protocol} ${target}]`] })],
  ]);
  // report/index.js (and its renderers) only when there is something to write: `load` starts fast otherwise
  const written: { files: string[] } | { err: unknown } = out === undefined
    ? { files: [] }
    : await (await import('../report/index.js')).writeFiles(files, out.path).then((paths) => ({ files: paths }), (err: unknown) => ({ err }));
  process.stdout.write(opts.json === true ? `${JSON.stringify(doc, null, 2)}\n` : `${renderLoad(doc)}\n`);
  if ('err' in written) throw writeFailed(out?.path ?? '', written.err);
  if (written.files.length > 0 && opts.json !== true) process.stdout.write(`wrote ${written.files.join(', ')}\n`);
  if (doc.errorRateExceeded === true) return EXIT.fail;
  return result.count === 0 ? EXIT.inconclusive : EXIT.pass;
}

/** What to check when the probe failed: TLS errors name the flags that fix them. */
function hintFor(err: unknown, protocol: string): string {
  const text = `${errorMessage(err)} ${String((err as { code?: unknown } | null)?.code ?? '')}`;
  if (/self[- ]signed|unable to (get|verify)|CERT_|certificate/i.test(text)) return 'trust its CA with --cacert FILE (or, for a test endpoint only, --insecure)';
  if (/alert|handshake|certificate required|bad certificate/i.test(text)) return 'the server may require a client certificate: --cert FILE --key FILE';
  return `check the address, port and --protocol (${protocol})`;
}

/** The `load` result document: what ran, against what, and what it measured. */
export interface LoadDocument {
  kind: 'meshbench-load';
  version: typeof LOAD_RESULT_VERSION;
  tool: { name: 'meshbench'; version: string };
  startedAt: string;
  protocol: string;
  target: string;
  /** With several URLs or --requests: every request of the mix with its weight. */
  requests?: { method: string; path: string; weight: number }[];
  method?: string;
  expectStatus: string;
  /** The TLS flags (paths), `insecure` loud: a run that did not verify the server says so. */
  tls?: { insecure: boolean; cacert?: string; cert?: string };
  grpcCall?: { proto: string; call: string };
  model: string;
  connections: number;
  workers: number;
  count: number;
  errors: number;
  errorsByKind: LoadResult['errors'];
  errorRate: number;
  maxErrorRate?: number;
  errorRateExceeded?: boolean;
  dropped: number;
  intendedRateHz: number;
  achievedRateHz: number;
  measuredMs: number;
  latencyUs: ReturnType<typeof summarizeEncoded>;
  /** The latency distribution: value (µs) at each of DISTRIBUTION_PERCENTILES. */
  distributionUs: { percentile: number; valueUs: number }[];
  serviceLatencyUs: ReturnType<typeof summarizeEncoded>;
  behindUs: number;
  maxLagUs: number;
  lateShare: number;
  lagUs: ReturnType<typeof summarizeEncoded>;
  hiccupUs: ReturnType<typeof summarizeEncoded>;
  histogram: string;
}

export function loadDocument(spec: LoadSpec, setup: LoadRequestSetup, targets: readonly string[], result: LoadResult, startedAt: string, maxErrorRate: number | undefined): LoadDocument {
  const errors = sumErrors(result.errors);
  const sent = result.count + errors;
  const errorRate = sent > 0 ? errors / sent : 0;
  const histogram = decodeHistogram(result.histogram);
  const extras = setup.driverOptions;
  const doc: LoadDocument = {
    kind: 'meshbench-load',
    version: LOAD_RESULT_VERSION,
    tool: { name: 'meshbench', version: toolVersion },
    startedAt,
    protocol: result.protocol,
    target: targets.length > 1 ? targets.join(' ') : result.target,
    expectStatus: extras.expectStatus ?? '2xx,3xx',
    model: result.model,
    connections: spec.connections,
    workers: spec.workers,
    count: result.count,
    errors,
    errorsByKind: result.errors,
    errorRate,
    dropped: result.dropped,
    intendedRateHz: result.intendedRateHz,
    achievedRateHz: result.achievedRateHz,
    measuredMs: result.measuredMs,
    latencyUs: summarizeEncoded(result.histogram),
    distributionUs: DISTRIBUTION_PERCENTILES.map((percentile) => ({ percentile, valueUs: histogram.totalCount > 0 ? histogram.getValueAtPercentile(percentile) : 0 })),
    serviceLatencyUs: summarizeEncoded(result.serviceHistogram),
    behindUs: result.behindUs,
    maxLagUs: result.maxLagUs,
    lateShare: result.lateShare,
    lagUs: summarizeEncoded(result.lagHistogram),
    hiccupUs: summarizeEncoded(result.hiccupHistogram),
    histogram: result.histogram,
  };
  if (extras.requests !== undefined) doc.requests = extras.requests.map((r) => ({ method: r.method, path: r.path, weight: r.weight }));
  if (extras.method !== undefined) doc.method = extras.method;
  if (setup.tls !== undefined) {
    doc.tls = { insecure: setup.tls.insecure };
    if (setup.tls.cacert !== undefined) doc.tls.cacert = setup.tls.cacert;
    if (setup.tls.cert !== undefined) doc.tls.cert = setup.tls.cert;
  }
  if (extras.grpcCall !== undefined) doc.grpcCall = { proto: extras.grpcCall.protoFile, call: extras.grpcCall.call };
  if (maxErrorRate !== undefined) {
    doc.maxErrorRate = maxErrorRate;
    doc.errorRateExceeded = errorRate > maxErrorRate;
  }
  return doc;
}

function percentLabel(p: number): string {
  return `${p.toFixed(p % 1 === 0 ? 0 : p * 10 % 1 === 0 ? 1 : 2)}%`;
}

/** The text `load` prints: a pure function of its document (wrk --latency's shape, with meshbench's extras). */
export function renderLoad(doc: LoadDocument): string {
  const lines: string[] = [];
  lines.push(`${doc.protocol} ${doc.target}: ${doc.model} loop, ${doc.connections} connection(s), ${doc.workers} worker(s)${doc.intendedRateHz > 0 ? `, ${doc.intendedRateHz} req/s intended` : ''}`);
  if (doc.tls?.insecure === true) lines.push('WARNING: TLS certificate NOT verified (--insecure)');
  if (doc.requests !== undefined) lines.push(`requests: ${doc.requests.map((r) => `${r.method} ${r.path} ×${r.weight}`).join(', ')}`);
  if (doc.grpcCall !== undefined) lines.push(`call: ${doc.grpcCall.call} (${doc.grpcCall.proto})`);
  lines.push(textTable(
    ['', 'count', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
    [['latency', doc.count, doc.errors, rate(doc.achievedRateHz), ms(doc.latencyUs.p50), ms(doc.latencyUs.p90), ms(doc.latencyUs.p99), ms(doc.latencyUs.p999), ms(doc.latencyUs.max)]],
  ));
  lines.push(`Latency Distribution (${doc.model === 'open' ? 'from the intended send time, coordinated-omission corrected' : 'from the send time'})`);
  for (const d of doc.distributionUs) lines.push(`  ${percentLabel(d.percentile).padStart(8)}  ${ms(d.valueUs).padStart(10)} ms`);
  const kinds = Object.entries(doc.errorsByKind).filter(([, n]) => n > 0);
  lines.push(`${doc.count + doc.errors} requests in ${(doc.measuredMs / 1000).toFixed(1)} s; errors ${doc.errors} (${(doc.errorRate * 100).toFixed(2)} %)${kinds.length > 0 ? `: ${kinds.map(([k, n]) => `${k} ${n}`).join(', ')}` : ''}${doc.protocol === 'http1' ? `; success = status ${doc.expectStatus}` : ''}`);
  if (doc.model === 'open') {
    lines.push(`schedule: intended ${doc.intendedRateHz} req/s, send lag p99 ${ms(doc.lagUs.p99)} ms, max ${ms(doc.maxLagUs)} ms, ${(doc.lateShare * 100).toFixed(2)} % sent > 1 ms late`);
  }
  lines.push(`generator hiccups (a 1 ms timer's lateness): p99 ${ms(doc.hiccupUs.p99)} ms, max ${ms(doc.hiccupUs.max)} ms`);
  if (doc.errorRateExceeded === true) lines.push(`FAILED: error rate ${(doc.errorRate * 100).toFixed(2)} % > --max-error-rate ${((doc.maxErrorRate ?? 0) * 100).toFixed(2)} %`);
  return lines.join('\n');
}
