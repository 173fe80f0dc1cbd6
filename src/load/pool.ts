import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ERROR_KINDS, sumErrors, zeroErrors } from '../drivers/driver.js';
import { MeshbenchError } from '../errors.js';
import { mergeEncoded } from '../histograms/index.js';
import { distPath } from '../paths.js';
import { sharedNowUs, toSharedUs } from '../timing/clock.js';
import { quietV8 } from '../timing/v8-flags.js';
import type { LoopProgress, LoopResult } from './loop.js';
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker } from './messages.js';
import { phaseOffsetUs, shareOf } from './schedule.js';
import { peakRateHz, workerShare } from './arrivals/index.js';
import type { ChurnResult } from './churn.js';
import type { IntervalCounts, IntervalHistogram } from '../histograms/index.js';
import type { LoadResult, LoadSpec } from './types.js';

/**
 * Worker threads when the user does not say: half the cores, at least one. The target usually shares the
 * machine (local echo, sidecars), and on 2 cores one worker beside nginx moves more requests than two
 * (bench/: 2 workers cost ~25 % more CPU per request and lose throughput); a single Node worker tops out
 * near 130–150k req/s, so bigger machines get more.
 */
export function defaultWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

/** Progress of a whole load job, about once per second. */
export interface LoadProgress {
  /** Since the start of warm-up. */
  elapsedMs: number;
  /** Successful responses in the measured window so far (all workers). */
  count: number;
  /** Completions per second over the last second (all workers, warm-up included). */
  rateHz: number;
  /** The highest of the workers' current-interval p99s (an upper bound of the merged p99). */
  p99Us: number;
}

// Before any load worker exists: its isolate starts with them (timing/v8-flags.ts).
quietV8();

/** Lead time between the start message and the common start, so every worker has it before it is due. */
const START_LEAD_US = 50_000;
/** How long workers may take to open their connections. */
const READY_TIMEOUT_MS = 30_000;
/** Slack on top of warm-up + duration + timeout before the pool declares the workers stuck. */
const FINISH_SLACK_MS = 15_000;

/**
 * Runs one load job on `spec.workers` worker threads (never more than there are connections). Each
 * worker takes an equal share of connections (remainder spread), rate (its schedule interleaved with
 * the others') and maxRequests; all start warm-up at one common instant. Partial results are merged
 * exactly: histograms added, counts summed, maxLag the max, intervals merged by index.
 *
 * Rejects with MB_LOAD_FAILED when a worker cannot open its connections, crashes, or does not finish in
 * time. On `signal` abort the workers stop and the promise resolves with what was measured so far.
 */
export async function runLoad(spec: LoadSpec, signal?: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<LoadResult> {
  const [result] = await runLoads([spec], signal, onProgress === undefined ? undefined : (_lane, p) => onProgress(p));
  return result as LoadResult;
}

/**
 * Runs several load jobs at once, paired in time: every worker thread drives its share of every job (a
 * "lane" each), and the lanes' open-loop schedules interleave — with two lanes at rate R each, requests
 * go out A B A B … at 2R, evenly spaced — so whatever stalls the generator or the machine hits every lane
 * alike, and the lanes' interval histograms cover the same instants (block i of one lane is paired with
 * block i of the other). The first spec sets the shape (model, rate, connections, workers, durations);
 * the others must match it and differ only in target (and headers). Results come back in spec order, each
 * carrying the generator threads' hiccups over the job.
 *
 * Streaming (`onInterval`, a pilot's load of days): every interval is handed over as soon as all workers closed
 * it — merged over workers, lane by lane, in order — and is not kept: the results then carry no intervals, and
 * nothing the pool or the workers hold grows with the load's length.
 */
export function runLoads(
  specs: readonly LoadSpec[],
  signal?: AbortSignal,
  onProgress?: (lane: number, p: LoadProgress) => void,
  onInterval?: (lane: number, interval: IntervalHistogram) => void,
): Promise<LoadResult[]> {
  const spec = specs[0];
  if (spec === undefined) return Promise.resolve([]);
  const mismatch = specs.find((s) => SHAPE.some((k) => JSON.stringify(s[k]) !== JSON.stringify(spec[k])));
  if (mismatch !== undefined) {
    return Promise.reject(new MeshbenchError('MB_LOAD_FAILED', `paired load jobs must share their shape (${SHAPE.join(', ')}); ${mismatch.target} differs from ${spec.target}`));
  }
  const lanes = specs.length;
  let workers = Math.max(1, Math.min(Math.floor(spec.workers), spec.connections));
  if (spec.maxRequests > 0) workers = Math.min(workers, spec.maxRequests);
  if (!(spec.connections >= 1)) return Promise.reject(new MeshbenchError('MB_LOAD_FAILED', `load needs at least one connection, got ${spec.connections}`));
  if (signal?.aborted === true) return Promise.resolve(specs.map((s) => mergeResults(s, [])));
  const what = specs.map((s) => s.target).join(' + ');
  return new Promise<LoadResult[]>((resolve, reject) => {
    const threads: Worker[] = [];
    const results: (FromLoadWorker & { type: 'result' } | undefined)[] = new Array<undefined>(workers).fill(undefined);
    const latest: (LoopProgress | undefined)[][] = specs.map(() => new Array<LoopProgress | undefined>(workers).fill(undefined));
    const reports: number[][] = specs.map(() => new Array<number>(workers).fill(0));
    const reported = new Array<number>(lanes).fill(0);
    // Streaming: per lane, the intervals some but not yet all workers closed, from index `emitted[lane]` on; each
    // interval's parts by worker index (so they merge in worker order, as mergeResults' do).
    const pending: (IntervalHistogram | undefined)[][][] = specs.map(() => []);
    const received: number[][] = specs.map(() => new Array<number>(workers).fill(0));
    const emitted = new Array<number>(lanes).fill(0);
    const emitReady = (lane: number, all: boolean): void => {
      const queue = pending[lane] ?? [];
      while (queue.length > 0 && (all || present(queue[0]).length === workers)) {
        const parts = present(queue.shift());
        emitted[lane] = (emitted[lane] ?? 0) + 1;
        if (parts.length > 0) onInterval?.(lane, mergeWorkerParts(parts));
      }
    };
    let ready = 0;
    let started = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;

    const cleanup = async (): Promise<void> => {
      settled = true;
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      await Promise.allSettled(threads.map((t) => t.terminate()));
    };
    const failWith = (message: string, cause?: unknown): void => {
      if (settled) return;
      const err = new MeshbenchError('MB_LOAD_FAILED', `${spec.protocol} load against ${what}: ${message}`, { cause });
      void cleanup().then(() => reject(err));
    };
    const finishWith = (parts: (FromLoadWorker & { type: 'result' })[]): void => {
      if (settled) return;
      const hiccups = parts.map((p) => p.hiccupHistogram);
      for (let lane = 0; lane < lanes; lane++) emitReady(lane, true);
      void cleanup().then(() => resolve(specs.map((s, lane) => mergeResults(s, parts.map((p) => p.results[lane]).filter((r) => r !== undefined), hiccups))));
    };
    const arm = (ms: number, why: string): void => {
      if (timer !== undefined) clearTimeout(timer);
      const deadline = Date.now() + ms;
      // setTimeout holds at most ~24.8 days; a longer wait (a pilot) re-arms until the deadline.
      const wait = (): void => {
        const left = deadline - Date.now();
        timer = left > 0 ? setTimeout(wait, Math.min(left, MAX_TIMEOUT_MS)) : undefined;
        if (left <= 0) failWith(`${why} within ${Math.round(ms / 1000)} s`);
      };
      timer = setTimeout(wait, Math.min(ms, MAX_TIMEOUT_MS));
    };
    function onAbort(): void {
      if (settled) return;
      if (!started) finishWith([]);
      else for (const t of threads) t.postMessage({ type: 'stop' } satisfies ToLoadWorker);
    }

    const onMessage = (w: number, message: FromLoadWorker): void => {
      if (settled) return;
      switch (message.type) {
        case 'ready':
          if (++ready === workers && !started) {
            started = true;
            const soonUs = sharedNowUs() + START_LEAD_US;
            // performance.timeOrigin + local µs is the wall clock the recorder stamps startedAtMs with (epochMsOf)
            const atUs = spec.startAtMs === undefined ? soonUs : Math.max(soonUs, toSharedUs((spec.startAtMs - performance.timeOrigin) * 1000));
            const start: ToLoadWorker = { type: 'start', startSharedUs: Math.round(atUs) };
            for (const t of threads) t.postMessage(start);
            arm((atUs - soonUs) / 1000 + spec.warmupMs + spec.durationMs + spec.timeoutMs + FINISH_SLACK_MS, 'load workers did not finish');
          }
          break;
        case 'progress': {
          const laneLatest = latest[message.lane];
          const laneReports = reports[message.lane];
          if (laneLatest === undefined || laneReports === undefined) break;
          laneLatest[w] = message.progress;
          laneReports[w] = (laneReports[w] ?? 0) + 1;
          const least = Math.min(...laneReports);
          if (onProgress !== undefined && least > (reported[message.lane] ?? 0)) {
            reported[message.lane] = least;
            onProgress(message.lane, mergeProgress(laneLatest));
          }
          break;
        }
        case 'interval': {
          const lane = message.lane;
          const at = (received[lane]?.[w] ?? 0) - (emitted[lane] ?? 0);
          const queue = pending[lane];
          const counts = received[lane];
          if (queue === undefined || counts === undefined) break;
          counts[w] = (counts[w] ?? 0) + 1;
          (queue[at] ??= new Array<IntervalHistogram | undefined>(workers).fill(undefined))[w] = message.interval;
          emitReady(lane, false);
          break;
        }
        case 'result':
          results[w] = message;
          if (results.every((r) => r !== undefined)) finishWith(results as (FromLoadWorker & { type: 'result' })[]);
          break;
        case 'error':
          failWith(`load worker ${w + 1} of ${workers} failed: ${message.message}`);
          break;
      }
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    arm(READY_TIMEOUT_MS, `load workers did not open their ${spec.connections * lanes} connection(s)`);
    for (let w = 0; w < workers; w++) {
      const data: LoadWorkerData = {
        index: w,
        stream: onInterval !== undefined,
        lanes: specs.map((s, lane) => ({
          driver: { ...s.driverOptions, protocol: s.protocol, target: s.target, ...(s.replicas === undefined ? {} : { replicas: s.replicas }), payloadBytes: s.payloadBytes, headers: s.headers },
          loop: {
            model: s.model,
            rateHz: s.rateHz / workers,
            connections: shareOf(s.connections, workers, w),
            durationMs: s.durationMs,
            warmupMs: s.warmupMs,
            timeoutMs: s.timeoutMs,
            intervalMs: s.intervalMs,
            maxRequests: s.maxRequests > 0 ? shareOf(s.maxRequests, workers, w) : 0,
            lateThresholdUs: s.lateThresholdUs,
            ...(s.arrivals === undefined ? {} : { arrivals: workerShare(s.arrivals, workers), arrivalsStream: w }),
            ...(s.churn === undefined ? {} : { churn: 'rateHz' in s.churn ? { rateHz: s.churn.rateHz / workers } : s.churn }),
          },
          // Slot k of the union schedule (rate R × lanes) goes to lane k mod lanes, worker ⌊k / lanes⌋ mod workers.
          phaseUs: s.model === 'open' ? phaseOffsetUs(w * lanes + lane, peakRateHz(s.arrivals, s.rateHz) * lanes) : 0,
        })),
      };
      const thread = new Worker(distPath('load/worker.js'), { workerData: data });
      threads.push(thread);
      thread.on('message', (m: FromLoadWorker) => onMessage(w, m));
      thread.on('error', (err) => failWith(`load worker ${w + 1} of ${workers} crashed: ${err.message}`, err));
      thread.on('messageerror', (err) => failWith(`load worker ${w + 1} of ${workers} sent an unreadable message: ${err.message}`, err));
      thread.on('exit', (code) => {
        if (results[w] === undefined) failWith(`load worker ${w + 1} of ${workers} exited (code ${code}) before reporting a result`);
      });
    }
  });
}

/** The longest delay setTimeout takes (2^31 − 1 ms); longer ones fire at once. */
const MAX_TIMEOUT_MS = 2_147_483_647;

/** What paired jobs must share: everything that shapes the schedule and the windows. */
const SHAPE = ['protocol', 'model', 'rateHz', 'arrivals', 'churn', 'connections', 'durationMs', 'warmupMs', 'workers', 'intervalMs', 'maxRequests', 'timeoutMs'] as const;

/** The parts a worker-indexed slot holds, in worker order. */
function present(parts: readonly (IntervalHistogram | undefined)[] | undefined): IntervalHistogram[] {
  return (parts ?? []).filter((iv): iv is IntervalHistogram => iv !== undefined);
}

/**
 * The workers' parts of one streamed interval (in worker order), merged exactly. The parts cover the same span
 * of the shared clock; their epoch bounds differ only by each thread's sub-µs clock conversion, so the bounds are
 * the first part's — consecutive streamed intervals then abut exactly, as one worker's do (the union of the
 * parts' bounds overlapped its neighbour by that sub-µs). mergeResults still reports the union.
 */
function mergeWorkerParts(ivs: readonly IntervalHistogram[]): IntervalHistogram {
  const first = ivs[0];
  const merged = mergeIntervals(ivs);
  return first === undefined ? merged : { ...merged, startMs: first.startMs, endMs: first.endMs };
}

/** Intervals merged exactly (histograms added, counts summed, maxLag: the largest) over the union of their spans. */
export function mergeIntervals(ivs: readonly IntervalHistogram[]): IntervalHistogram {
  return {
    startMs: Math.min(...ivs.map((iv) => iv.startMs)),
    endMs: Math.max(...ivs.map((iv) => iv.endMs)),
    histogram: ivs.length === 1 ? (ivs[0] as IntervalHistogram).histogram : mergeEncoded(ivs.map((iv) => iv.histogram)),
    ...mergeCounts(ivs),
  };
}

/** The workers' counts of one interval added up (maxLag: the largest); none when a part has none. */
function mergeCounts(ivs: readonly IntervalHistogram[]): { counts?: IntervalCounts } {
  if (ivs.some((iv) => iv.counts === undefined)) return {};
  const counts: IntervalCounts = { errors: 0, sent: 0, late: 0, maxLagUs: 0 };
  for (const iv of ivs) {
    const c = iv.counts as IntervalCounts;
    counts.errors += c.errors;
    counts.sent += c.sent;
    counts.late += c.late;
    counts.maxLagUs = Math.max(counts.maxLagUs, c.maxLagUs);
    for (const [kind, n] of Object.entries(c.errorsByKind ?? {})) (counts.errorsByKind ??= {})[kind] = (counts.errorsByKind[kind] ?? 0) + n;
  }
  return { counts };
}

/** The workers' churn figures, merged exactly (none when the load did not churn). */
function mergeChurn(parts: readonly LoopResult[]): { churn?: ChurnResult } {
  const churned = parts.flatMap((p) => (p.churn === undefined ? [] : [p.churn]));
  if (churned.length === 0) return {};
  return {
    churn: {
      opened: churned.reduce((n, c) => n + c.opened, 0),
      connectHistogram: mergeEncoded(churned.map((c) => c.connectHistogram)),
      firstResponseHistogram: mergeEncoded(churned.map((c) => c.firstResponseHistogram)),
    },
  };
}

function mergeProgress(latest: readonly (LoopProgress | undefined)[]): LoadProgress {
  const merged: LoadProgress = { elapsedMs: 0, count: 0, rateHz: 0, p99Us: 0 };
  for (const p of latest) {
    if (p === undefined) continue;
    merged.elapsedMs = Math.max(merged.elapsedMs, p.elapsedMs);
    merged.count += p.count;
    merged.rateHz += p.rateHz;
    merged.p99Us = Math.max(merged.p99Us, p.p99Us);
  }
  return merged;
}

/** Exact merge of the workers' partial results into one LoadResult (no parts: an empty result). */
export function mergeResults(spec: Pick<LoadSpec, 'protocol' | 'target' | 'model' | 'rateHz' | 'arrivals'>, parts: readonly LoopResult[], hiccups: readonly string[] = []): LoadResult {
  const errors = zeroErrors();
  let count = 0, dropped = 0, behindUs = 0, maxLagUs = 0, measuredMs = 0, late = 0, sent = 0;
  let startedAtMs = parts.length > 0 ? Infinity : Date.now();
  const byIndex: IntervalHistogram[][] = [];
  for (const p of parts) {
    count += p.count;
    for (const kind of ERROR_KINDS) errors[kind] += p.errors[kind];
    dropped += p.dropped;
    behindUs += p.behindUs;
    maxLagUs = Math.max(maxLagUs, p.maxLagUs);
    measuredMs = Math.max(measuredMs, p.measuredMs);
    late += p.lateCount;
    sent += p.sentCount;
    startedAtMs = Math.min(startedAtMs, p.startedAtMs);
    p.intervals.forEach((iv, i) => (byIndex[i] ??= []).push(iv));
  }
  const errorCount = sumErrors(errors);
  const histogram = mergeEncoded(parts.map((p) => p.histogram));
  return {
    protocol: spec.protocol,
    target: spec.target,
    model: spec.model,
    count,
    errors,
    dropped,
    // Constant arrivals intend rateHz; the others, what each worker's schedule intended (loop.ts), added up.
    intendedRateHz: spec.model !== 'open' ? 0 : (spec.arrivals?.kind ?? 'constant') === 'constant' ? spec.rateHz : parts.reduce((sum, p) => sum + p.intendedRateHz, 0),
    achievedRateHz: measuredMs > 0 ? (count + errorCount) / (measuredMs / 1000) : 0,
    measuredMs,
    behindUs,
    maxLagUs,
    lateShare: sent > 0 ? late / sent : 0,
    histogram,
    serviceHistogram: spec.model === 'open' ? mergeEncoded(parts.map((p) => p.serviceHistogram)) : histogram,
    lagHistogram: mergeEncoded(parts.map((p) => p.lagHistogram)),
    intervals: byIndex.map(mergeIntervals),
    startedAtMs,
    hiccupHistogram: mergeEncoded(hiccups),
    ...mergeChurn(parts),
  };
}
