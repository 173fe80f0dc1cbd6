import { sumErrors } from '../drivers/driver.js';
import { drivers } from '../drivers/index.js';
import { errorMessage, MeshbenchError } from '../errors.js';
import { summarizeEncoded } from '../histograms/index.js';
import { defaultWorkers, runLoad } from '../load/pool.js';
import type { LoadSpec } from '../load/types.js';
import type { Protocol } from '../protocols.js';
import { ms, rate, textTable } from '../report/format.js';
import { EXIT } from './exit-codes.js';

export interface LoadCommandOptions {
  protocol: Protocol;
  connections: number;
  rate?: number;
  duration: number;
  warmup: number;
  payload: number;
  timeout: number;
  /** Absent: defaultWorkers() (half the cores, at least 1). */
  workers?: number;
  header?: string[];
  json?: boolean;
  quiet?: boolean;
  signal: AbortSignal;
}

function parseHeaders(list: string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf(':');
    if (i <= 0) throw new MeshbenchError('MB_BAD_ARGUMENT', `--header "${item}": expected name:value, e.g. -H 'traceparent: 00-…'`);
    headers[item.slice(0, i).trim().toLowerCase()] = item.slice(i + 1).trim();
  }
  return headers;
}

/** `meshbench load <target>`: ad hoc load, one target, no verdict. Exit 0 when it measured, 2 when nothing succeeded. */
export async function loadCommand(target: string, opts: LoadCommandOptions): Promise<number> {
  const spec: LoadSpec = {
    protocol: opts.protocol,
    target,
    model: opts.rate === undefined ? 'closed' : 'open',
    rateHz: opts.rate ?? 0,
    connections: opts.connections,
    durationMs: Math.round(opts.duration * 1000),
    warmupMs: Math.round(opts.warmup * 1000),
    payloadBytes: opts.payload,
    timeoutMs: opts.timeout,
    headers: parseHeaders(opts.header),
    workers: Math.min(opts.workers ?? defaultWorkers(), opts.connections),
    intervalMs: 1000,
    maxRequests: 0,
    lateThresholdUs: 1000,
  };
  try {
    await drivers[spec.protocol].probe({ target: spec.target, payloadBytes: spec.payloadBytes, headers: spec.headers }, Math.min(spec.timeoutMs, 5000));
  } catch (err) {
    throw new MeshbenchError('MB_UNREACHABLE_TARGET', `${target} did not answer a ${spec.protocol} probe (${errorMessage(err)}): check the address, port and --protocol`);
  }
  const tty = process.stderr.isTTY === true && opts.quiet !== true;
  const result = await runLoad(spec, opts.signal, (p) => {
    if (tty) process.stderr.write(`\r\x1b[2K${(p.elapsedMs / 1000).toFixed(1)} s  ${p.rateHz.toFixed(0)} req/s  p99 ${(p.p99Us / 1000).toFixed(3)} ms`);
  });
  if (tty) process.stderr.write('\r\x1b[2K');
  const latencyUs = summarizeEncoded(result.histogram);
  const errors = sumErrors(result.errors);
  if (opts.json === true) {
    const out = {
      protocol: result.protocol, target: result.target, model: result.model, connections: spec.connections,
      count: result.count, errors, errorsByKind: result.errors, dropped: result.dropped,
      intendedRateHz: result.intendedRateHz, achievedRateHz: result.achievedRateHz, measuredMs: result.measuredMs,
      latencyUs, serviceLatencyUs: summarizeEncoded(result.serviceHistogram),
      behindUs: result.behindUs, maxLagUs: result.maxLagUs, lateShare: result.lateShare, lagUs: summarizeEncoded(result.lagHistogram),
      hiccupUs: summarizeEncoded(result.hiccupHistogram), histogram: result.histogram,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    process.stdout.write(`${textTable(
      ['target', 'count', 'errors', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms'],
      [[`${spec.protocol} ${target}`, result.count, errors, rate(result.achievedRateHz), ms(latencyUs.p50), ms(latencyUs.p90), ms(latencyUs.p99), ms(latencyUs.p999), ms(latencyUs.max)]],
    )}\n`);
    if (spec.model === 'open') {
      const lag = summarizeEncoded(result.lagHistogram);
      process.stdout.write(`schedule: intended ${spec.rateHz} req/s, send lag p99 ${ms(lag.p99)} ms, max ${ms(result.maxLagUs)} ms, ${(result.lateShare * 100).toFixed(2)} % sent > ${ms(spec.lateThresholdUs)} ms late\n`);
    }
    const hiccups = summarizeEncoded(result.hiccupHistogram);
    process.stdout.write(`generator hiccups (a 1 ms timer's lateness): p99 ${ms(hiccups.p99)} ms, max ${ms(hiccups.max)} ms\n`);
  }
  return result.count > 0 ? EXIT.pass : EXIT.inconclusive;
}
