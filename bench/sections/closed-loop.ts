import { defaultWorkers } from '../../src/load/pool.js';
import { interleaved, median, sleep, type BenchContext } from '../lib/context.js';
import type { Target } from '../lib/targets.js';
import { runAutocannon, runH2load, runMeshbench, runPingPong, runWrk, type LoadFigures } from '../lib/tools.js';

/**
 * 1. HTTP/1.1 closed loop: every tool against the same target with the same connections and duration,
 * interleaved repetitions, medians. Every tool gets as many generator threads as meshbench's default
 * (half the cores, at least one: wrk -t, h2load -t; autocannon runs on its one main thread); the cores are
 * shared with the target, so CPU per request is reported beside the rate. The node:net ping-pong is a
 * reference: the fastest a Node client using the plain stream API gets (no parsing, no timing).
 */

export interface ToolSummary {
  tool: string;
  rps: number;
  cpuUsPerReq: number;
  peakRssMb: number;
  p50Us: number;
  p99Us: number;
  /** CPU µs the target spent per request while this tool drove it. */
  targetCpuUsPerReq: number;
  errors: number;
  runs: LoadFigures[];
}

export interface ClosedLoopSection {
  target: string;
  connections: number;
  durationS: number;
  reps: number;
  /** Generator threads of each tool (meshbench workers, wrk/h2load -t). */
  threads: number;
  tools: ToolSummary[];
  ratios: Record<string, number>;
}

export const CLOSED_CONNECTIONS = 32;

interface Entry {
  name: string;
  run(): Promise<LoadFigures>;
}

export async function closedLoop(ctx: BenchContext, target: Target): Promise<ClosedLoopSection> {
  const a = { url: target.url, connections: CLOSED_CONNECTIONS, durationS: ctx.durationS };
  const entries: Entry[] = [
    { name: 'meshbench', run: () => runMeshbench({ ...a, extra: ['--payload', '0'] }) },
    { name: 'autocannon', run: () => runAutocannon(a) },
  ];
  const { wrk, h2load } = ctx.tools;
  const threads = defaultWorkers();
  if (wrk !== undefined) entries.push({ name: 'wrk', run: () => runWrk(wrk, { ...a, threads }) });
  if (h2load !== undefined) entries.push({ name: 'h2load', run: () => runH2load(h2load, { ...a, threads }) });
  entries.push({ name: 'node:net ping-pong', run: () => runPingPong('http1-net', { ...a, payloadBytes: 0, warmupS: 0 }) });

  const targetCpu = new Map<string, number[]>();
  const results = await interleaved(entries, ctx.reps, async (entry, round) => {
    await sleep(300); // let the previous run's sockets close
    const before = target.service.cpuMs();
    const f = await entry.run();
    const targetUs = ((target.service.cpuMs() - before) * 1000) / f.requests;
    (targetCpu.get(entry.name) ?? targetCpu.set(entry.name, []).get(entry.name))?.push(targetUs);
    ctx.log(`  closed loop ${round + 1}/${ctx.reps} ${entry.name.padEnd(18)} ${f.rps.toFixed(0).padStart(7)} req/s  ${f.cpuUsPerReq.toFixed(2)} µs CPU/req  RSS ${(f.peakRssKb / 1024).toFixed(0)} MB${f.errors > 0 ? `  ${f.errors} errors` : ''}`);
    return f;
  });

  const tools: ToolSummary[] = entries.map(({ name }) => {
    const runs = results.get(name) ?? [];
    return {
      tool: name,
      rps: median(runs.map((r) => r.rps)),
      cpuUsPerReq: median(runs.map((r) => r.cpuUsPerReq)),
      peakRssMb: median(runs.map((r) => r.peakRssKb / 1024)),
      p50Us: median(runs.map((r) => r.p50Us)),
      p99Us: median(runs.map((r) => r.p99Us)),
      targetCpuUsPerReq: median(targetCpu.get(name) ?? []),
      errors: runs.reduce((s, r) => s + r.errors, 0),
      runs,
    };
  });
  const mesh = tools.find((t) => t.tool === 'meshbench')?.rps ?? NaN;
  const ratios: Record<string, number> = {};
  for (const t of tools) if (t.tool !== 'meshbench') ratios[t.tool] = mesh / t.rps;
  return { target: target.name, connections: a.connections, durationS: a.durationS, reps: ctx.reps, threads, tools, ratios };
}
