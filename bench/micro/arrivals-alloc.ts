import v8 from 'node:v8';
import { Arrivals, type ArrivalsSpec } from '../../src/load/arrivals/index.js';

/**
 * The arrival schedule in isolation (run with --expose-gc and a large semi-space, e.g.
 * `node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64`): Arrivals.next() N times per kind,
 * in chunks with a forced GC before each and none inside (checked with v8.GCProfiler); the heap growth
 * inside the chunks (less an empty chunk's) over the calls is the garbage per arrival.
 *
 * `node … arrivals-alloc.js [kind]` with kind one of constant, poisson, stages-even, stages-poisson (default:
 * each in turn, in this process — run one kind per process to keep the call sites monomorphic, as a worker is).
 * Prints one JSON line per kind: bytesPerArrival, steadyBytesPerArrival, nsPerArrival, gcs (collections inside
 * the chunks: must be 0).
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const N = 5_000_000;
const CHUNK = 500_000;
const WARM = 1_000_000;

// 1e6 warm-up arrivals, then N measured: stages ramp (crossing a step and a second ramp) and then hold
const stages = [{ durationMs: 1000, targetRateHz: 1e6 }, { durationMs: 0, targetRateHz: 5e5 }, { durationMs: 3000, targetRateHz: 1e6 }];
const specs: Record<string, { spec: ArrivalsSpec; rateHz: number }> = {
  constant: { spec: { kind: 'constant' }, rateHz: 1e6 },
  poisson: { spec: { kind: 'poisson', seed: 1 }, rateHz: 1e6 },
  'stages-even': { spec: { kind: 'stages', startRateHz: 1e5, stages, gaps: 'even', seed: 1 }, rateHz: 0 },
  'stages-poisson': { spec: { kind: 'stages', startRateHz: 1e5, stages, gaps: 'poisson', seed: 1 }, rateHz: 0 },
};

function run(count: number, a: Arrivals): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    a.next();
    sum += a.atUs & 1;
  }
  return sum;
}

/** Heap growth over one chunk of `count` arrivals (after two forced GCs), its time, and the GCs inside it. */
function chunk(a: Arrivals, count: number): { bytes: number; ns: number; gcs: number } {
  gc?.();
  gc?.();
  const profiler = new v8.GCProfiler();
  profiler.start();
  const before = v8.getHeapStatistics().used_heap_size;
  const t0 = process.hrtime.bigint();
  run(count, a);
  const t1 = process.hrtime.bigint();
  const after = v8.getHeapStatistics().used_heap_size;
  const gcs = profiler.stop()?.statistics.length ?? 0;
  return { bytes: after - before, ns: Number(t1 - t0), gcs };
}

/**
 * bytesPerArrival: the growth over all N arrivals, less the harness's own (an empty chunk's) — one-time costs
 * (a deopt and re-optimization where stages cross into a new kind of segment) included; steadyBytesPerArrival:
 * the median chunk's.
 */
function measure(kind: string): { kind: string; bytesPerArrival: number; steadyBytesPerArrival: number; nsPerArrival: number; gcs: number; lastAtUs: number } {
  const { spec, rateHz } = specs[kind] as { spec: ArrivalsSpec; rateHz: number };
  const a = Arrivals.create(spec, rateHz);
  run(WARM, a);
  const empty = Math.min(...Array.from({ length: 5 }, () => chunk(a, 0).bytes));
  const chunks = Array.from({ length: N / CHUNK }, () => chunk(a, CHUNK));
  const perArrival = chunks.map((c) => Math.max(0, c.bytes - empty) / CHUNK).sort((x, y) => x - y);
  return {
    kind,
    bytesPerArrival: chunks.reduce((sum, c) => sum + Math.max(0, c.bytes - empty), 0) / N,
    steadyBytesPerArrival: perArrival[perArrival.length >> 1] as number,
    nsPerArrival: chunks.reduce((sum, c) => sum + c.ns, 0) / N,
    gcs: chunks.reduce((sum, c) => sum + c.gcs, 0),
    lastAtUs: a.atUs,
  };
}

const only = process.argv[2];
for (const kind of only === undefined ? Object.keys(specs) : [only]) {
  if (!(kind in specs)) throw new Error(`unknown kind ${kind}: one of ${Object.keys(specs).join(', ')}`);
  process.stdout.write(`${JSON.stringify(measure(kind))}\n`);
}
