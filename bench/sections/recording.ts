import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import type { BenchContext } from '../lib/context.js';
import { runTool } from '../lib/proc.js';

/**
 * 6. Recording cost (bench/micro/record-cost.ts): ns per clock read, per histogram record (JS as used, WASM
 * for comparison) and per timed + recorded request; and that cost as a share of the CPU meshbench spends
 * per request in the closed-loop comparison.
 */

export interface RecordingSection {
  clockNs: number;
  recordJsNs: number;
  recordWasmNs: number;
  /** Two clock reads and one record (closed loop). */
  closedNs: number;
  /** Two clock reads and two records (open loop: latency and service time). */
  openNs: number;
  /** closedNs ÷ meshbench's CPU per request in the closed-loop comparison. */
  shareOfGeneratorCpu: number;
}

export async function recording(ctx: BenchContext, meshbenchCpuUsPerReq: number): Promise<RecordingSection> {
  const script = join(packageRoot, 'dist-bench', 'bench', 'micro', 'record-cost.js');
  const run = await runTool(process.execPath, [script], { timeoutMs: 120_000 });
  const r = JSON.parse(run.stdout) as Omit<RecordingSection, 'shareOfGeneratorCpu'>;
  const share = r.closedNs / (meshbenchCpuUsPerReq * 1000);
  ctx.log(`  recording: clock ${r.clockNs.toFixed(1)} ns, record ${r.recordJsNs.toFixed(1)} ns (WASM ${r.recordWasmNs.toFixed(1)}), timed+recorded ${r.closedNs.toFixed(0)} ns = ${(share * 100).toFixed(1)} % of meshbench's CPU per request`);
  return { clockNs: r.clockNs, recordJsNs: r.recordJsNs, recordWasmNs: r.recordWasmNs, closedNs: r.closedNs, openNs: r.openNs, shareOfGeneratorCpu: share };
}
