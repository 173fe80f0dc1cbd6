import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { errorMessage, type BenchContext } from '../lib/context.js';
import { runTool } from '../lib/proc.js';
import type { Target } from '../lib/targets.js';
import { runAutocannon, runMeshbench, runPingPong, type LoadFigures } from '../lib/tools.js';
import { CLOSED_CONNECTIONS } from './closed-loop.js';

/**
 * 2. Garbage per request, two ways.
 * - The generator core alone (bench/micro/alloc-core.ts): heap growth over 500k requests with no GC
 *   in between — exactly what meshbench's own code (loop, recorder, clock, parser) allocates per request.
 * - Whole processes in steady state, from `--trace-gc-nvp` with a 1 MB semi-space (bench/lib/gc.ts):
 *   meshbench load (closed loop, and open loop at 10k/s), autocannon and the node:net ping-pong against the
 *   same target. This includes what Node itself allocates per socket read and write.
 */

export interface CoreAllocation {
  /** null when a GC ran during the measurement (the heap growth then says nothing). */
  bytesPerRequest: number | null;
  gcs: number;
  nsPerRequest: number;
  requests: number;
}

export interface AllocationSection {
  core: { closed: CoreAllocation; open: CoreAllocation } | { error: string };
  processes: { tool: string; bytesPerReq: number; upperBound: boolean; gcs: number; rps: number }[];
  durationS: number;
}

const GC_FLAGS = ['--trace-gc-nvp', '--max-semi-space-size=1'];
const OPEN_RATE_HZ = 10_000;

export async function allocation(ctx: BenchContext, target: Target): Promise<AllocationSection> {
  let core: AllocationSection['core'];
  try {
    const script = join(packageRoot, 'dist-bench', 'bench', 'micro', 'alloc-core.js');
    // A young generation large enough that 500k requests at up to 128 B each never trigger a GC.
    const run = await runTool(process.execPath, ['--expose-gc', '--min-semi-space-size=64', '--max-semi-space-size=64', script], { timeoutMs: 120_000 });
    core = JSON.parse(run.stdout) as { closed: CoreAllocation; open: CoreAllocation };
    const b = (x: CoreAllocation): string => (x.bytesPerRequest === null ? `n/a (${x.gcs} GCs)` : `${x.bytesPerRequest.toFixed(1)} B/req`);
    ctx.log(`  allocation core: closed ${b(core.closed)} (${core.closed.nsPerRequest.toFixed(0)} ns/req), open ${b(core.open)} (${core.open.nsPerRequest.toFixed(0)} ns/req)`);
  } catch (err) {
    core = { error: errorMessage(err) };
    ctx.log(`  allocation core failed: ${core.error}`);
  }
  const durationS = ctx.quick ? 4 : 8;
  const a = { url: target.url, connections: CLOSED_CONNECTIONS, durationS };
  const runs: [string, () => Promise<LoadFigures>][] = [
    ['meshbench', () => runMeshbench({ ...a, nodeFlags: GC_FLAGS, extra: ['--payload', '0'] })],
    // Open loop adds the ticker thread and a wake-up per request the completions do not send in time.
    ['meshbench open loop 10k/s', () => runMeshbench({ ...a, rateHz: OPEN_RATE_HZ, nodeFlags: GC_FLAGS, extra: ['--payload', '0'] })],
    ['autocannon', () => runAutocannon(a, GC_FLAGS)],
    ['node:net ping-pong', () => runPingPong('http1-net', { ...a, payloadBytes: 0, warmupS: 0, nodeFlags: GC_FLAGS })],
  ];
  const processes: AllocationSection['processes'] = [];
  for (const [tool, run] of runs) {
    const f = await run();
    const alloc = f.alloc ?? { bytesPerReq: NaN, gcs: 0, upperBound: true };
    processes.push({ tool, bytesPerReq: alloc.bytesPerReq, upperBound: alloc.upperBound, gcs: alloc.gcs, rps: f.rps });
    ctx.log(`  allocation ${tool.padEnd(18)} ${alloc.upperBound ? '≤ ' : ''}${alloc.bytesPerReq.toFixed(0)} B/req (${alloc.gcs} GCs at ${f.rps.toFixed(0)} req/s)`);
  }
  return { core, processes, durationS };
}
