import { defaultWorkers } from '../../src/load/pool.js';
import { errorMessage, type BenchContext } from '../lib/context.js';
import { startStallServer } from '../lib/targets.js';
import { runAutocannon, runMeshbench, runWrk, type LoadFigures } from '../lib/tools.js';

/**
 * 4. Coordinated omission: a server that stops answering for STALL_MS once per second, driven at a fixed
 * rate. Requests intended during a stall wait for its end, so ~STALL_MS/1000 of all requests are late by
 * up to STALL_MS, and the true p99 is about STALL_MS·(1 − 0.01·1000/STALL_MS) = 90 ms. A generator that
 * times from the actual send (or stops sending while its connections are blocked) reports far less.
 * wrk has no fixed-rate mode: it runs closed loop with the same connections, which is how it is used.
 * autocannon -R sends at the rate but times from the actual send, so a stall hides behind its blocked
 * connections.
 */

export const STALL_MS = 100;
const RATE_HZ = 1000;
const CONNECTIONS = 32;

export interface OmissionRow {
  tool: string;
  mode: string;
  rps: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  error?: string;
}

export interface OmissionSection {
  stallMs: number;
  rateHz: number;
  connections: number;
  durationS: number;
  expectedP99Us: number;
  rows: OmissionRow[];
}

export async function omission(ctx: BenchContext): Promise<OmissionSection> {
  const durationS = ctx.quick ? 5 : 10;
  const target = await startStallServer(STALL_MS);
  const rows: OmissionRow[] = [];
  const a = { url: target.url, connections: CONNECTIONS, durationS };
  const runs: [string, string, () => Promise<LoadFigures>][] = [
    ['meshbench', `open loop ${RATE_HZ}/s`, () => runMeshbench({ ...a, rateHz: RATE_HZ, warmupS: 1, extra: ['--payload', '0'] })],
    ['autocannon', `-R ${RATE_HZ}`, () => runAutocannon({ ...a, rateHz: RATE_HZ })],
  ];
  const { wrk } = ctx.tools;
  // wrk 4 corrects after the run: each recorded latency above the mean per-connection interval adds
  // synthetic samples (its stats_correct), so its closed-loop p99 shows the stall too.
  if (wrk !== undefined) runs.push(['wrk', 'closed loop, corrected after the run', () => runWrk(wrk, { ...a, threads: defaultWorkers() })]);
  try {
    for (const [tool, mode, run] of runs) {
      try {
        const f = await run();
        rows.push({ tool, mode, rps: f.rps, p50Us: f.p50Us, p99Us: f.p99Us, maxUs: f.maxUs });
        ctx.log(`  omission ${tool.padEnd(11)} ${mode.padEnd(26)} p50 ${(f.p50Us / 1000).toFixed(2)} ms  p99 ${(f.p99Us / 1000).toFixed(2)} ms  max ${(f.maxUs / 1000).toFixed(1)} ms`);
      } catch (err) {
        rows.push({ tool, mode, rps: NaN, p50Us: NaN, p99Us: NaN, maxUs: NaN, error: errorMessage(err) });
        ctx.log(`  omission ${tool} failed: ${errorMessage(err)}`);
      }
    }
  } finally {
    await target.stop();
  }
  return { stallMs: STALL_MS, rateHz: RATE_HZ, connections: CONNECTIONS, durationS, expectedP99Us: STALL_MS * (1 - 0.01 * (1000 / STALL_MS)) * 1000, rows };
}
