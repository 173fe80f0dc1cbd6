import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ERROR_KINDS, sumErrors, zeroErrors } from '../drivers/driver.js';
import { MeshbenchError } from '../errors.js';
import { mergeEncoded } from '../histograms/index.js';
import { distPath } from '../paths.js';
import { sharedNowUs } from './clock.js';
import type { LoopProgress, LoopResult } from './loop.js';
import type { FromLoadWorker, LoadWorkerData, ToLoadWorker } from './messages.js';
import { phaseOffsetUs, shareOf } from './schedule.js';
import type { IntervalHistogram } from '../histograms/index.js';
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
export function runLoad(spec: LoadSpec, signal?: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<LoadResult> {
  let workers = Math.max(1, Math.min(Math.floor(spec.workers), spec.connections));
  if (spec.maxRequests > 0) workers = Math.min(workers, spec.maxRequests);
  if (!(spec.connections >= 1)) return Promise.reject(new MeshbenchError('MB_LOAD_FAILED', `load needs at least one connection, got ${spec.connections}`));
  if (signal?.aborted === true) return Promise.resolve(mergeResults(spec, []));
  return new Promise<LoadResult>((resolve, reject) => {
    const threads: Worker[] = [];
    const results: (LoopResult | undefined)[] = new Array<LoopResult | undefined>(workers).fill(undefined);
    const latest: (LoopProgress | undefined)[] = new Array<LoopProgress | undefined>(workers).fill(undefined);
    const reports = new Array<number>(workers).fill(0);
    let ready = 0;
    let reported = 0;
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
      const err = new MeshbenchError('MB_LOAD_FAILED', `${spec.protocol} load against ${spec.target}: ${message}`, { cause });
      void cleanup().then(() => reject(err));
    };
    const finishWith = (parts: LoopResult[]): void => {
      if (settled) return;
      void cleanup().then(() => resolve(mergeResults(spec, parts)));
    };
    const arm = (ms: number, what: string): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => failWith(`${what} within ${Math.round(ms / 1000)} s`), ms);
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
            const start: ToLoadWorker = { type: 'start', startSharedUs: sharedNowUs() + START_LEAD_US };
            for (const t of threads) t.postMessage(start);
            arm(spec.warmupMs + spec.durationMs + spec.timeoutMs + FINISH_SLACK_MS, 'load workers did not finish');
          }
          break;
        case 'progress':
          latest[w] = message.progress;
          reports[w] = (reports[w] ?? 0) + 1;
          if (onProgress !== undefined && Math.min(...reports) > reported) {
            reported = Math.min(...reports);
            onProgress(mergeProgress(latest));
          }
          break;
        case 'result':
          results[w] = message.result;
          if (results.every((r) => r !== undefined)) finishWith(results as LoopResult[]);
          break;
        case 'error':
          failWith(`load worker ${w + 1} of ${workers} failed: ${message.message}`);
          break;
      }
    };

    signal?.addEventListener('abort', onAbort, { once: true });
    arm(READY_TIMEOUT_MS, `load workers did not open their ${spec.connections} connection(s)`);
    for (let w = 0; w < workers; w++) {
      const data: LoadWorkerData = {
        index: w,
        driver: { protocol: spec.protocol, target: spec.target, payloadBytes: spec.payloadBytes, headers: spec.headers },
        loop: {
          model: spec.model,
          rateHz: spec.rateHz / workers,
          connections: shareOf(spec.connections, workers, w),
          durationMs: spec.durationMs,
          warmupMs: spec.warmupMs,
          timeoutMs: spec.timeoutMs,
          intervalMs: spec.intervalMs,
          maxRequests: spec.maxRequests > 0 ? shareOf(spec.maxRequests, workers, w) : 0,
        },
        phaseUs: spec.model === 'open' ? phaseOffsetUs(w, spec.rateHz) : 0,
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
export function mergeResults(spec: Pick<LoadSpec, 'protocol' | 'target' | 'model' | 'rateHz'>, parts: readonly LoopResult[]): LoadResult {
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
    intendedRateHz: spec.model === 'open' ? spec.rateHz : 0,
    achievedRateHz: measuredMs > 0 ? (count + errorCount) / (measuredMs / 1000) : 0,
    measuredMs,
    behindUs,
    maxLagUs,
    lateShare: sent > 0 ? late / sent : 0,
    histogram,
    serviceHistogram: spec.model === 'open' ? mergeEncoded(parts.map((p) => p.serviceHistogram)) : histogram,
    intervals: byIndex.map((ivs) => ({
      startMs: Math.min(...ivs.map((iv) => iv.startMs)),
      endMs: Math.max(...ivs.map((iv) => iv.endMs)),
      histogram: mergeEncoded(ivs.map((iv) => iv.histogram)),
    })),
    startedAtMs,
  };
}
