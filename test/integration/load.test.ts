import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorKind } from '../../src/drivers/driver.js';
import { MeshbenchError } from '../../src/errors.js';
import { decodeHistogram, summarizeEncoded, type IntervalHistogram } from '../../src/histograms/index.js';
import { runLoad, runLoads, type LoadProgress } from '../../src/load/pool.js';
import type { LoadSpec } from '../../src/load/types.js';
import { startEchoServers, type EchoServers } from '../../src/workloads/index.js';

// The pool starts dist/load/worker.js (test/setup/build.ts builds it when older than src/).
let echo: EchoServers;
beforeAll(async () => {
  echo = await startEchoServers();
});
afterAll(async () => {
  await echo.close();
});

/** A plain HTTP/1.1 server on port 0 that counts the connections and requests it saw. */
async function countingServer(): Promise<{ port: number; connections: number; requests: number; close(): Promise<void> }> {
  const stats = { port: 0, connections: 0, requests: 0 };
  const server = createServer((req, res) => {
    stats.requests++;
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.on('connection', () => stats.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stats.port = (server.address() as AddressInfo).port;
  return Object.assign(stats, {
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

const errorTotal = (e: Record<ErrorKind, number>): number => Object.values(e).reduce((a, b) => a + b, 0);
const spec = (over: Partial<LoadSpec> = {}): LoadSpec => ({
  protocol: 'http1',
  target: `http://${echo.host}:${echo.httpPort}/echo`,
  model: 'open',
  rateHz: 500,
  connections: 8,
  durationMs: 1500,
  warmupMs: 300,
  payloadBytes: 64,
  timeoutMs: 2000,
  headers: {},
  workers: 2,
  intervalMs: 500,
  maxRequests: 0,
  lateThresholdUs: 1000,
  ...over,
});

describe('runLoad over worker threads against the echo server', () => {
  it('open loop, 2 workers: rate × duration requests, no errors, merged histogram holds them all', async () => {
    const progress: LoadProgress[] = [];
    const r = await runLoad(spec(), undefined, (p) => progress.push(p));
    expect(r.protocol).toBe('http1');
    expect(r.model).toBe('open');
    expect(errorTotal(r.errors)).toBe(0);
    expect(r.count).toBeGreaterThanOrEqual(600); // 500/s × 1.5 s = 750, ±20 % on a busy box
    expect(r.count).toBeLessThanOrEqual(900);
    // Every request the schedule made due in the window is accounted for, exactly: answered, failed or dropped.
    expect(r.count + errorTotal(r.errors) + r.dropped).toBe(750);
    expect(r.achievedRateHz).toBeCloseTo((r.count + errorTotal(r.errors)) / 1.5, 6);
    // Requests left unsent at the window's end are recorded too, as late (from their intended time to the drain's end).
    expect(summarizeEncoded(r.histogram).count).toBe(r.count + r.dropped);
    expect(summarizeEncoded(r.serviceHistogram).count).toBe(r.count);
    expect(r.intendedRateHz).toBe(500);
    expect(r.measuredMs).toBe(1500);
    expect(r.intervals).toHaveLength(3);
    expect(r.intervals.reduce((n, iv) => n + decodeHistogram(iv.histogram).totalCount, 0)).toBe(r.count + r.dropped);
    // lateShare is a share of the requests due (a whole number of them), each > 1 ms late or never sent; behindUs sums the lags.
    const late = r.lateShare * (r.count + errorTotal(r.errors) + r.dropped);
    expect(late).toBeCloseTo(Math.round(late), 6);
    if (late > 0) expect(r.maxLagUs).toBeGreaterThan(1000);
    expect(r.behindUs).toBeGreaterThanOrEqual(r.maxLagUs);
    expect(Math.abs(r.startedAtMs - Date.now())).toBeLessThan(60_000);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    // About once a second, from warm-up start; counts only grow and never pass the final count.
    expect(progress.every((p) => p.elapsedMs > 0 && p.elapsedMs < 300 + 1500 + 2000)).toBe(true);
    expect(progress.every((p, i) => p.count <= r.count && p.count >= (progress[i - 1]?.count ?? 0))).toBe(true);
    expect(progress.every((p) => p.rateHz > 0)).toBe(true);
  });

  it('closed loop, 2 workers: responses from every connection, histograms equal', async () => {
    const r = await runLoad(spec({ model: 'closed', rateHz: 0, connections: 3, durationMs: 500, warmupMs: 100 }));
    expect(errorTotal(r.errors)).toBe(0);
    expect(r.count).toBeGreaterThan(100);
    expect(r.serviceHistogram).toBe(r.histogram);
    expect(summarizeEncoded(r.histogram).count).toBe(r.count);
    expect(r.intendedRateHz).toBe(0);
  });

  it('stops at maxRequests, split over the workers', async () => {
    const r = await runLoad(spec({ maxRequests: 101, durationMs: 5000, warmupMs: 0 }));
    expect(r.count).toBe(101);
    expect(errorTotal(r.errors)).toBe(0);
    expect(r.dropped).toBe(0);
    expect(summarizeEncoded(r.histogram).count).toBe(101);
  });

  it('resolves with partial results when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 1200);
    const t0 = Date.now();
    const r = await runLoad(spec({ durationMs: 30_000, warmupMs: 200 }), controller.signal);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.count).toBeGreaterThan(100);
    expect(r.measuredMs).toBeLessThan(5_000);
  });

  it('spreads its connections over replicas: connection i to replica i mod n, every request counted once', async () => {
    const replicas = await Promise.all([0, 1].map(() => countingServer()));
    try {
      const [a, b] = replicas.map((r) => `http://127.0.0.1:${r.port}/echo`);
      const r = await runLoad(spec({ model: 'closed', rateHz: 0, connections: 6, workers: 2, durationMs: 400, warmupMs: 0, target: a ?? '', replicas: [a ?? '', b ?? ''] }));
      expect(errorTotal(r.errors)).toBe(0);
      // 3 connections per worker: worker connections 0 and 2 → replica 1, connection 1 → replica 2.
      expect(replicas.map((x) => x.connections).sort()).toEqual([2, 4]);
      expect(replicas.every((x) => x.requests > 10)).toBe(true);
      expect(replicas[0]!.requests + replicas[1]!.requests).toBeGreaterThanOrEqual(r.count);
    } finally {
      await Promise.all(replicas.map((x) => x.close()));
    }
  });

  it.each([
    ['in 600 ms: connections open first, the warm-up begins then, not before', 600],
    ['already past: at once', -5000],
  ])('startAtMs %s', async (_what, inMs) => {
    const server = await countingServer();
    try {
      const startAtMs = Date.now() + inMs;
      const r = await runLoad(spec({ target: `http://127.0.0.1:${server.port}/`, startAtMs, durationMs: 300, warmupMs: 100, rateHz: 200 }));
      const loadStartMs = r.startedAtMs - 100;
      if (inMs > 0) expect(loadStartMs).toBeGreaterThanOrEqual(startAtMs - 1);
      else expect(loadStartMs).toBeGreaterThan(startAtMs + 4000); // it did not wait for (or pretend to) a past instant
      expect(server.connections).toBe(8);
      expect(r.count).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });

  it('rejects with MB_LOAD_FAILED saying what broke when the target refuses connections', async () => {
    const err: unknown = await runLoad(spec({ target: 'http://127.0.0.1:1/echo', durationMs: 200 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshbenchError);
    expect((err as MeshbenchError).code).toBe('MB_LOAD_FAILED');
    expect((err as MeshbenchError).message).toMatch(/load worker \d of 2 failed: connection \d+ of 4 could not be opened: .*ECONNREFUSED/);
  });
});

describe('runLoads: two lanes paired in time on the same worker threads', () => {
  let other: EchoServers;
  beforeAll(async () => {
    other = await startEchoServers();
  });
  afterAll(async () => {
    await other.close();
  });

  it('drives both targets at the full rate each, on time-aligned intervals, with per-interval counts and the threads\' hiccups', async () => {
    const a = spec();
    const b = spec({ target: `http://${other.host}:${other.httpPort}/echo` });
    const lanes = new Set<number>();
    const [ra, rb] = await runLoads([a, b], undefined, (lane) => lanes.add(lane));
    for (const r of [ra, rb]) {
      if (r === undefined) throw new Error('a lane has no result');
      expect(errorTotal(r.errors)).toBe(0);
      expect(r.count + r.dropped).toBe(750); // 500/s × 1.5 s for each lane, not shared between them
      expect(r.intervals).toHaveLength(3);
      // The per-interval counts add up to the run's: every due request is in exactly one interval.
      const sent = r.intervals.reduce((n, iv) => n + (iv.counts?.sent ?? NaN), 0);
      expect(sent).toBe(750);
      expect(r.intervals.reduce((n, iv) => n + (iv.counts?.errors ?? NaN), 0)).toBe(0);
      expect(summarizeEncoded(r.hiccupHistogram).count).toBeGreaterThan(1000); // ≈ 1 per ms over ≈ 1.8 s, 2 threads
      expect(summarizeEncoded(r.lagHistogram).count).toBe(750);
    }
    expect(ra?.target).toBe(a.target);
    expect(rb?.target).toBe(b.target);
    // Paired: the lanes' interval i covers the same instant.
    ra?.intervals.forEach((iv, i) => expect(Math.abs(iv.startMs - (rb?.intervals[i]?.startMs ?? NaN))).toBeLessThan(2));
    expect([...lanes].sort()).toEqual([0, 1]);
  });

  it('streaming (a pilot): every interval handed over once, in order, merged over both workers; the results keep none', async () => {
    const a = spec();
    const b = spec({ target: `http://${other.host}:${other.httpPort}/echo` });
    const streamed: IntervalHistogram[][] = [[], []];
    const [ra, rb] = await runLoads([a, b], undefined, undefined, (lane, iv) => streamed[lane]?.push(iv));
    for (const [lane, r] of [ra, rb].entries()) {
      const ivs = streamed[lane] ?? [];
      expect(r?.intervals).toEqual([]);
      expect(ivs).toHaveLength(3);
      ivs.forEach((iv, i) => i > 0 && expect(iv.startMs).toBeGreaterThanOrEqual(ivs[i - 1]?.endMs ?? NaN));
      // merged over the two workers: the streamed intervals add up to the run's figures exactly
      expect(ivs.reduce((n, iv) => n + (iv.counts?.sent ?? NaN), 0)).toBe(750);
      expect(ivs.reduce((n, iv) => n + decodeHistogram(iv.histogram).totalCount, 0)).toBe((r?.count ?? NaN) + (r?.dropped ?? NaN));
    }
  });

  it('refuses lanes of different shapes, naming what must match', async () => {
    await expect(runLoads([spec(), spec({ rateHz: 400 })])).rejects.toThrow(/paired load jobs must share their shape/);
  });
});
