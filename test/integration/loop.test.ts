import { describe, expect, it } from 'vitest';
import type { CompletionSink, Driver, DriverConnection, ErrorKind } from '../../src/drivers/driver.js';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, recordLatency, summarizeEncoded } from '../../src/histograms/index.js';
import { LoadLoop, runLoop, type LoopProgress, type LoopResult, type LoopSpec } from '../../src/load/loop.js';
import { mergeResults } from '../../src/load/pool.js';

/**
 * FakeDriver: a test double for the load loop. Each send() completes after a delay chosen by `plan`
 * (setTimeout), as a response, an error of some kind, or never (to exercise time-outs). It checks the
 * driver contract the loop must honour (no send() while one is outstanding) and tallies what it saw.
 */
type Outcome = { delayMs: number; error?: ErrorKind; hang?: boolean };
class FakeDriver implements Driver {
  readonly protocol = 'http1' as const;
  sends = 0;
  aborts = 0;
  outstanding = 0;
  maxOutstanding = 0;
  violations = 0;
  closed = false;
  readonly errorsSent: Partial<Record<ErrorKind, number>> = {};
  readonly startedAt = performance.now();

  constructor(private readonly plan: (k: number, elapsedMs: number) => Outcome) {}

  connect(index: number, sink: CompletionSink): Promise<DriverConnection> {
    let busy = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (): void => {
      busy = false;
      timer = undefined;
      this.outstanding--;
    };
    const conn: DriverConnection = {
      send: () => {
        if (busy) this.violations++;
        busy = true;
        this.outstanding++;
        this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
        const outcome = this.plan(this.sends++, performance.now() - this.startedAt);
        if (outcome.hang === true) return;
        timer = setTimeout(() => {
          settle();
          if (outcome.error === undefined) sink.onResponse(index);
          else {
            this.errorsSent[outcome.error] = (this.errorsSent[outcome.error] ?? 0) + 1;
            sink.onError(index, outcome.error);
          }
        }, outcome.delayMs);
      },
      abort: () => {
        this.aborts++;
        if (timer !== undefined) clearTimeout(timer);
        if (busy) settle();
      },
      close: () => Promise.resolve(),
    };
    return Promise.resolve(conn);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const base: LoopSpec = { model: 'open', rateHz: 200, connections: 4, durationMs: 1000, warmupMs: 0, timeoutMs: 1000, intervalMs: 250, maxRequests: 0, lateThresholdUs: 1000 };
const errorTotal = (e: Record<ErrorKind, number>): number => Object.values(e).reduce((a, b) => a + b, 0);

describe('open loop', () => {
  it('sends rate × duration requests on schedule and records them', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 1 }));
    const r = await runLoop(driver, { ...base, warmupMs: 200 });
    expect(r.count).toBeGreaterThanOrEqual(190);
    expect(r.count).toBeLessThanOrEqual(210);
    expect(errorTotal(r.errors)).toBe(0);
    expect(r.dropped).toBe(0);
    expect(r.intendedRateHz).toBe(200);
    expect(r.measuredMs).toBe(1000);
    expect(r.sentCount).toBe(r.count);
    expect(summarizeEncoded(r.histogram).count).toBe(r.count);
    expect(summarizeEncoded(r.serviceHistogram).count).toBe(r.count);
    // warm-up was sent but not recorded
    expect(driver.sends).toBeGreaterThanOrEqual(r.count + 35);
    // intervals partition the measured window and its responses
    expect(r.intervals).toHaveLength(4);
    expect(r.intervals.reduce((n, iv) => n + decodeHistogram(iv.histogram).totalCount, 0)).toBe(r.count);
    expect(r.intervals[0]?.startMs).toBeCloseTo(r.startedAtMs, 3);
    for (const [i, iv] of r.intervals.entries()) {
      expect(iv.startMs).toBeCloseTo(r.startedAtMs + i * 250, 3);
      expect(iv.endMs - iv.startMs).toBeCloseTo(250, 3);
    }
    expect(driver.violations).toBe(0);
    expect(driver.closed).toBe(true);
  });

  it('corrects for coordinated omission: a 200 ms stall shows in histogram, not in serviceHistogram', async () => {
    let stallUntil = 0;
    const driver = new FakeDriver((_k, t) => {
      if (t >= 400 && t < 600) stallUntil = 600;
      return { delayMs: t < stallUntil ? stallUntil - t : 1 };
    });
    const r = await runLoop(driver, { ...base, connections: 1, warmupMs: 0 });
    const corrected = summarizeEncoded(r.histogram);
    const service = summarizeEncoded(r.serviceHistogram);
    expect(corrected.count).toBe(service.count);
    expect(corrected.p99).toBeGreaterThan(150_000);
    expect(service.p99).toBeLessThan(50_000);
    expect(service.max).toBeGreaterThan(150_000); // the one stalled request
    expect(r.maxLagUs).toBeGreaterThan(150_000); // the backlog waited for the connection
    expect(r.lateShare).toBeGreaterThan(0.1);
    expect(r.behindUs).toBeGreaterThan(1_000_000);
  });

  it('counts a backlog left at the end of the window as dropped, and records each as late — it cannot hide there', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 20 }));
    const r = await runLoop(driver, { ...base, connections: 1 });
    // one connection serves ~50/s of the 200/s wanted
    expect(r.count).toBeLessThan(80);
    expect(r.dropped).toBeGreaterThan(100);
    expect(r.count + errorTotal(r.errors) + r.dropped).toBeGreaterThanOrEqual(195);
    expect(r.count + errorTotal(r.errors) + r.dropped).toBeLessThanOrEqual(205);
    // In the latency histogram (from the intended time to the drain's end: the oldest waited most of the window),
    // in the lag histogram, in lateShare and in the intervals' counts.
    const latency = summarizeEncoded(r.histogram);
    expect(latency.count).toBe(r.count + r.dropped);
    expect(latency.max).toBeGreaterThan(500_000);
    expect(summarizeEncoded(r.lagHistogram).count).toBe(r.sentCount);
    expect(r.lateCount).toBeGreaterThanOrEqual(r.dropped);
    expect(r.lateShare).toBeCloseTo(r.lateCount / r.sentCount, 9);
    expect(r.intervals.reduce((n, iv) => n + (iv.counts?.sent ?? NaN), 0)).toBe(r.sentCount);
    expect(r.intervals.reduce((n, iv) => n + (iv.counts?.late ?? NaN), 0)).toBe(r.lateCount);
  });

  it('counts a send as late past the scenario\'s lateThresholdUs, not a fixed 1 ms', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 2 }));
    const strict = await runLoop(driver, { ...base, connections: 1, rateHz: 400, lateThresholdUs: 1 });
    const lax = await runLoop(new FakeDriver(() => ({ delayMs: 2 })), { ...base, connections: 1, rateHz: 400, lateThresholdUs: 10_000_000 });
    // One connection at 2 ms per request serves at most 500/s: at 400/s sends slip a little behind schedule.
    expect(strict.lateCount).toBeGreaterThan(0);
    expect(lax.lateCount).toBe(lax.dropped); // only the never-sent ones count when the threshold is 10 s
  });

  it('times out requests with one sweep, aborts them and counts them as timeout', async () => {
    const driver = new FakeDriver((k) => (k % 10 === 3 ? { delayMs: 0, hang: true } : { delayMs: 1 }));
    const r = await runLoop(driver, { ...base, connections: 8, timeoutMs: 50 });
    expect(r.errors.timeout).toBeGreaterThanOrEqual(15);
    expect(r.errors.timeout).toBe(driver.aborts);
    expect(r.count + r.errors.timeout).toBe(r.sentCount);
    expect(driver.violations).toBe(0);
  });

  it('counts errors by kind', async () => {
    const kinds: ErrorKind[] = ['status', 'reset', 'protocol', 'connect'];
    const driver = new FakeDriver((k) => (k % 3 === 0 ? { delayMs: 1, error: kinds[(k / 3) % kinds.length] } : { delayMs: 1 }));
    const r = await runLoop(driver, base);
    for (const kind of kinds) expect(r.errors[kind]).toBe(driver.errorsSent[kind]);
    expect(r.errors.timeout + r.errors.other).toBe(0);
    expect(r.count + errorTotal(r.errors)).toBe(driver.sends);
    expect(summarizeEncoded(r.histogram).count).toBe(r.count);
  });

  it('stops at maxRequests', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 1 }));
    const r = await runLoop(driver, { ...base, maxRequests: 50 });
    expect(r.count).toBe(50);
    expect(r.dropped).toBe(0);
    expect(r.measuredMs).toBeGreaterThan(200);
    expect(r.measuredMs).toBeLessThan(400);
  });
});

describe('closed loop', () => {
  const closed: LoopSpec = { ...base, model: 'closed', rateHz: 0, connections: 5, durationMs: 500 };

  it('never has more than N requests outstanding, and both histograms are the same', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 2 }));
    const r = await runLoop(driver, { ...closed, warmupMs: 100 });
    expect(driver.maxOutstanding).toBeLessThanOrEqual(5);
    expect(driver.maxOutstanding).toBe(5);
    expect(driver.violations).toBe(0);
    expect(r.count).toBeGreaterThan(100);
    expect(r.serviceHistogram).toBe(r.histogram);
    expect(r.intendedRateHz).toBe(0);
    expect(r.maxLagUs).toBe(0);
    expect(r.achievedRateHz).toBeCloseTo(r.count / 0.5, 0);
  });

  it('pauses a connection after an error instead of spinning on a dead target', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 0, error: 'connect' }));
    const r = await runLoop(driver, { ...closed, connections: 2 });
    // ≤ 2 connections × one attempt per ~10 ms pause over 0.5 s
    expect(r.errors.connect).toBeGreaterThan(20);
    expect(r.errors.connect).toBeLessThan(120);
    expect(r.count).toBe(0);
  });

  it('stops at maxRequests', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 1 }));
    const r = await runLoop(driver, { ...closed, maxRequests: 40 });
    expect(r.count).toBe(40);
    expect(driver.sends).toBe(40);
  });
});

describe('stopping', () => {
  it('stops promptly on abort and returns what was measured', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 1 }));
    const controller = new AbortController();
    const progress: LoopProgress[] = [];
    setTimeout(() => controller.abort(), 1300);
    const t0 = performance.now();
    const r = await runLoop(driver, { ...base, durationMs: 10_000 }, { onProgress: (p) => progress.push(p) }, controller.signal);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(r.measuredMs).toBeGreaterThan(1000);
    expect(r.measuredMs).toBeLessThan(2500);
    expect(r.count).toBeGreaterThan(150);
    expect(r.intervals.length).toBeGreaterThanOrEqual(5);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.rateHz).toBeGreaterThan(100);
    // What was not yet due is not dropped: only requests already due when the abort landed (a request or two
    // the ticker had not sent yet on a busy machine) — not the ~1,700 the rest of the 10 s window would have sent.
    expect(r.dropped).toBeLessThan(10);
    expect(driver.closed).toBe(true);
  });

  it('refuses to run before connect', async () => {
    await expect(new LoadLoop(new FakeDriver(() => ({ delayMs: 1 })), base).run()).rejects.toThrow(/before connect/);
  });

  it('fails to connect with the reason', async () => {
    const driver = new FakeDriver(() => ({ delayMs: 1 }));
    driver.connect = (index) => (index === 2 ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve({ send() {}, abort() {}, close: () => Promise.resolve() }));
    await expect(runLoop(driver, base)).rejects.toThrow(/connection 2 of 4 could not be opened: ECONNREFUSED/);
  });
});

describe('merging worker results (pool)', () => {
  const encoded = (values: number[]): string => {
    const h = createLatencyHistogram();
    for (const v of values) recordLatency(h, v);
    return encodeHistogram(h);
  };
  const part = (over: Partial<LoopResult>): LoopResult => ({
    count: 0, errors: { connect: 0, reset: 0, timeout: 0, status: 0, protocol: 0, other: 0 }, dropped: 0, intendedRateHz: 100,
    achievedRateHz: 0, measuredMs: 1000, behindUs: 0, maxLagUs: 0, lateShare: 0, histogram: encoded([]), serviceHistogram: encoded([]), lagHistogram: encoded([]),
    intervals: [], startedAtMs: 1_000, lateCount: 0, sentCount: 0, ...over,
  });

  it('adds counts and histograms exactly, weights lateShare by sends, merges intervals by index', () => {
    const a = part({
      count: 3, errors: { connect: 0, reset: 1, timeout: 0, status: 0, protocol: 0, other: 0 }, dropped: 2, behindUs: 10, maxLagUs: 7,
      lateCount: 1, sentCount: 4, histogram: encoded([10, 20, 30]), serviceHistogram: encoded([5, 6, 7]), startedAtMs: 1_000.5,
      intervals: [{ startMs: 1_000.5, endMs: 1_500.5, histogram: encoded([10, 20]) }, { startMs: 1_500.5, endMs: 2_000.5, histogram: encoded([30]) }],
    });
    const b = part({
      count: 2, errors: { connect: 0, reset: 0, timeout: 3, status: 0, protocol: 0, other: 0 }, behindUs: 5, maxLagUs: 9, lateCount: 0,
      sentCount: 5, histogram: encoded([40, 50]), serviceHistogram: encoded([8, 9]), startedAtMs: 1_000.4, measuredMs: 900,
      intervals: [{ startMs: 1_000.4, endMs: 1_500.4, histogram: encoded([40, 50]) }],
    });
    const r = mergeResults({ protocol: 'http1', target: 't', model: 'open', rateHz: 200 }, [a, b]);
    expect(r).toMatchObject({ protocol: 'http1', target: 't', model: 'open', count: 5, dropped: 2, behindUs: 15, maxLagUs: 9, measuredMs: 1000, intendedRateHz: 200, startedAtMs: 1_000.4 });
    expect(r.errors).toEqual({ connect: 0, reset: 1, timeout: 3, status: 0, protocol: 0, other: 0 });
    expect(r.achievedRateHz).toBeCloseTo(9, 6);
    expect(r.lateShare).toBeCloseTo(1 / 9, 9);
    expect(summarizeEncoded(r.histogram)).toEqual(summarizeEncoded(encoded([10, 20, 30, 40, 50])));
    expect(summarizeEncoded(r.serviceHistogram).count).toBe(5);
    expect(r.intervals).toHaveLength(2);
    expect(r.intervals[0]).toMatchObject({ startMs: 1_000.4, endMs: 1_500.5 });
    expect(decodeHistogram(r.intervals[0]?.histogram ?? '').totalCount).toBe(4);
    expect(decodeHistogram(r.intervals[1]?.histogram ?? '').totalCount).toBe(1);
  });

  it('gives an empty result for no parts', () => {
    const r = mergeResults({ protocol: 'http1', target: 't', model: 'closed', rateHz: 0 }, []);
    expect(r.count).toBe(0);
    expect(r.intervals).toEqual([]);
    expect(summarizeEncoded(r.histogram).count).toBe(0);
    expect(r.serviceHistogram).toBe(r.histogram);
  });
});
