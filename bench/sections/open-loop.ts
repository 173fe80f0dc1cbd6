import type { BenchContext } from '../lib/context.js';
import type { Target } from '../lib/targets.js';
import { runMeshbench } from '../lib/tools.js';
import { CLOSED_CONNECTIONS } from './closed-loop.js';

/**
 * 3. Open-loop accuracy: meshbench at fixed rates — 1k, 10k and 80 % of its own closed-loop maximum against
 * the same target — achieved ÷ intended, and how far behind its schedule it sent (mean and max lag, share
 * of requests sent more than 1 ms late), with latency counted from the intended send time.
 */

export interface OpenLoopRow {
  label: string;
  intendedHz: number;
  achievedHz: number;
  ratio: number;
  dropped: number;
  meanLagUs: number;
  maxLagUs: number;
  lateShare: number;
  p50Us: number;
  p99Us: number;
  serviceP99Us: number;
  cpuUsPerReq: number;
  errors: number;
}

export interface OpenLoopSection {
  connections: number;
  durationS: number;
  rows: OpenLoopRow[];
}

export async function openLoop(ctx: BenchContext, target: Target, closedMaxHz: number): Promise<OpenLoopSection> {
  const durationS = ctx.quick ? 3 : 10;
  const rates: [string, number][] = [
    ['1k', 1000],
    ['10k', 10_000],
  ];
  if (Number.isFinite(closedMaxHz) && closedMaxHz > 0) rates.push(['80 % of closed max', Math.round((closedMaxHz * 0.8) / 100) * 100]);
  const rows: OpenLoopRow[] = [];
  for (const [label, rateHz] of rates) {
    const f = await runMeshbench({ url: target.url, connections: CLOSED_CONNECTIONS, durationS, warmupS: 1, rateHz, extra: ['--payload', '0'] });
    const j = f.json;
    const sent = j.count + j.errors;
    const row: OpenLoopRow = {
      label,
      intendedHz: rateHz,
      achievedHz: j.achievedRateHz,
      ratio: j.achievedRateHz / rateHz,
      dropped: j.dropped,
      meanLagUs: sent > 0 ? j.behindUs / sent : NaN,
      maxLagUs: j.maxLagUs,
      lateShare: j.lateShare,
      p50Us: j.latencyUs.p50,
      p99Us: j.latencyUs.p99,
      serviceP99Us: j.serviceLatencyUs.p99,
      cpuUsPerReq: f.cpuUsPerReq,
      errors: j.errors,
    };
    rows.push(row);
    ctx.log(`  open loop ${label.padEnd(18)} ${rateHz} → ${row.achievedHz.toFixed(0)} req/s (${(row.ratio * 100).toFixed(2)} %), lag mean ${row.meanLagUs.toFixed(1)} µs max ${(row.maxLagUs / 1000).toFixed(2)} ms, ${(row.lateShare * 100).toFixed(2)} % > 1 ms late, p99 ${(row.p99Us / 1000).toFixed(3)} ms`);
  }
  return { connections: CLOSED_CONNECTIONS, durationS, rows };
}
