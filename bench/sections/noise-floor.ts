import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultDocument } from '../../src/result.js';
import type { BenchContext } from '../lib/context.js';
import { runTool } from '../lib/proc.js';
import type { EchoTarget, Target } from '../lib/targets.js';
import { MESHBENCH_CLI, runMeshbench } from '../lib/tools.js';

/**
 * 7. The harness's noise floor (issue "Decisive on a 2-core CI runner"): what meshbench itself adds to the
 * tail it measures, all from this one run.
 * - echo p99 ÷ nginx p99: the same generator, open loop 1000 req/s, 16 connections, against nginx (1 worker)
 *   and against `meshbench echo`, repetitions interleaved, medians;
 * - the generator's send lag p99 at 1k req/s (how late requests left after their intended time), and its
 *   hiccups (a 1 ms timer's lateness on the generator thread);
 * - the platform's own wake-up jitter, with cyclictest when rt-tests is installed;
 * - the A/A half-width: `meshbench run --aa` on the quickstart (every variant direct, time-paired), the 95 %
 *   interval of each protocol's P99 difference.
 */

export interface NoiseFloorSection {
  rateHz: number;
  connections: number;
  durationS: number;
  reps: number;
  nginxP99Us: number;
  echoP99Us: number;
  echoOverNginx: number;
  lagP99Us: number;
  hiccupP99Us: number;
  platform: { avgUs: number; maxUs: number } | null;
  aa: { scenario: string; wallS: number; status: string; halfWidthUs: Record<string, number> } | null;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : ((s[(s.length - 1) >> 1] ?? NaN) + (s[s.length >> 1] ?? NaN)) / 2;
};

export async function noiseFloor(ctx: BenchContext, nginx: Target, echo: EchoTarget): Promise<NoiseFloorSection> {
  const rateHz = 1000;
  const connections = 16;
  const durationS = ctx.quick ? 5 : 10;
  const nginxP99: number[] = [];
  const echoP99: number[] = [];
  const lagP99: number[] = [];
  const hiccupP99: number[] = [];
  for (let rep = 0; rep < ctx.reps; rep++) {
    for (const [name, url, into] of [['nginx', nginx.url, nginxP99], ['echo', echo.httpUrl, echoP99]] as const) {
      const f = await runMeshbench({ url, connections, durationS, warmupS: 1, rateHz, extra: ['--payload', '0'] });
      into.push(f.json.latencyUs.p99);
      if (f.json.lagUs !== undefined) lagP99.push(f.json.lagUs.p99);
      if (f.json.hiccupUs !== undefined) hiccupP99.push(f.json.hiccupUs.p99);
      ctx.log(`  noise floor ${name.padEnd(5)} p99 ${(f.json.latencyUs.p99 / 1000).toFixed(3)} ms, send lag p99 ${((f.json.lagUs?.p99 ?? NaN) / 1000).toFixed(3)} ms`);
    }
  }
  const section: NoiseFloorSection = {
    rateHz, connections, durationS, reps: ctx.reps,
    nginxP99Us: median(nginxP99),
    echoP99Us: median(echoP99),
    echoOverNginx: median(echoP99) / median(nginxP99),
    lagP99Us: median(lagP99),
    hiccupP99Us: median(hiccupP99),
    platform: await cyclictest(ctx),
    aa: await aaHalfWidth(ctx),
  };
  return section;
}

/** cyclictest's average and maximum wake-up latency over 5 s (1 ms interval), or null without rt-tests. */
async function cyclictest(ctx: BenchContext): Promise<{ avgUs: number; maxUs: number } | null> {
  const run = await runTool('cyclictest', ['-m', '-q', '-i', '1000', '-l', '5000'], { timeoutMs: 20_000 }).catch(() => null);
  const line = run?.stdout.split('\n').find((l) => l.includes('Max:'));
  if (line === undefined) {
    ctx.log('  noise floor: cyclictest not available (apt-get install -y rt-tests); platform jitter not measured');
    return null;
  }
  const avgUs = Number(/Avg:\s*(\d+)/.exec(line)?.[1]);
  const maxUs = Number(/Max:\s*(\d+)/.exec(line)?.[1]);
  ctx.log(`  noise floor: platform wake-up latency avg ${avgUs} µs, max ${maxUs} µs (cyclictest)`);
  return { avgUs, maxUs };
}

/** One `meshbench run --aa quickstart`: the half-width of each protocol's A/A P99-difference interval. */
async function aaHalfWidth(ctx: BenchContext): Promise<NoiseFloorSection['aa']> {
  const out = mkdtempSync(join(tmpdir(), 'meshbench-bench-aa-'));
  try {
    const started = performance.now();
    const run = await runTool(process.execPath, [MESHBENCH_CLI, 'run', 'quickstart', '--aa', '--out', out, '--quiet'], { timeoutMs: 300_000 });
    const wallS = (performance.now() - started) / 1000;
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    const halfWidthUs: Record<string, number> = {};
    for (const e of doc.verdict.statistics?.estimates ?? []) {
      const i = e.overhead['meshed']?.p99Us;
      if (i !== null && i !== undefined) halfWidthUs[e.protocol] = (i.high - i.low) / 2;
    }
    ctx.log(`  noise floor: A/A (quickstart, ${wallS.toFixed(0)} s, exit ${run.code ?? run.signal}) ${doc.verdict.status}; P99 half-widths ${Object.entries(halfWidthUs).map(([p, w]) => `${p} ${(w / 1000).toFixed(3)} ms`).join(', ')}`);
    return { scenario: 'quickstart', wallS, status: doc.verdict.status, halfWidthUs };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
