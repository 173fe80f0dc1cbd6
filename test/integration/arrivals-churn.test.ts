import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeEncoded } from '../../src/histograms/index.js';
import { runLoad } from '../../src/load/pool.js';
import { Arrivals, type ArrivalsSpec } from '../../src/load/arrivals/index.js';
import type { LoadResult, LoadSpec } from '../../src/load/types.js';

/**
 * Arrivals and connection churn through the real generator (worker threads, the http1 driver) against a loopback
 * server that notes when each request arrived and on which connection.
 */
const seen = { arrivalsMs: [] as number[], connections: 0, requests: 0 };
let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    seen.requests++;
    seen.arrivalsMs.push(performance.now());
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const sentOrNotErrors = (r: LoadResult): number => Object.values(r.errors).reduce((x, y) => x + y, 0);

const reset = (): void => {
  seen.arrivalsMs = [];
  seen.connections = 0;
  seen.requests = 0;
};

const spec = (over: Partial<LoadSpec> = {}): LoadSpec => ({
  protocol: 'http1', target: `http://127.0.0.1:${port}/`, model: 'open', rateHz: 1000, connections: 8, durationMs: 2000, warmupMs: 200,
  payloadBytes: 16, timeoutMs: 2000, headers: {}, workers: 1, intervalMs: 500, maxRequests: 0, lateThresholdUs: 1000, ...over,
});

/** Arrivals a one-worker schedule intends in [fromUs, toUs) µs from its start (the loop's schedule, replayed). */
function intendedIn(arrivals: ArrivalsSpec, rateHz: number, fromUs: number, toUs: number): number {
  const a = Arrivals.create(arrivals, rateHz);
  let n = 0;
  for (; a.atUs < toUs; a.next()) if (a.atUs >= fromUs) n++;
  return n;
}

const sentOrNot = (r: LoadResult): number => r.count + r.dropped + Object.values(r.errors).reduce((x, y) => x + y, 0);

// What the generator sent is asserted, never how fast: the machine may be busy, and late requests still count
// where they were due (dropped ones too).
describe('arrivals through the generator', () => {
  it.each([
    ['poisson', { kind: 'poisson', seed: 4 }],
    ['stages (ramp 200 → 1800 req/s, poisson gaps)', { kind: 'stages', startRateHz: 200, stages: [{ durationMs: 200, targetRateHz: 200 }, { durationMs: 2000, targetRateHz: 1800 }], gaps: 'poisson', seed: 2 }],
    ['stages (steps, even gaps)', { kind: 'stages', startRateHz: 0, stages: [{ durationMs: 1200, targetRateHz: 0 }, { durationMs: 0, targetRateHz: 1500 }], gaps: 'even', seed: 1 }],
  ] as [string, ArrivalsSpec][])('%s: exactly the requests its schedule intended in the window, each sent, failed or dropped', async (_name, arrivals) => {
    reset();
    const r = await runLoad(spec({ arrivals }));
    const want = intendedIn(arrivals, 1000, 200_000, 2_200_000);
    expect(sentOrNot(r)).toBe(want);
    expect(r.intendedRateHz).toBeCloseTo(want / 2, 6);
    // the server saw the warm-up's and the window's (a request dropped at the end was never sent)
    expect(seen.requests).toBe(intendedIn(arrivals, 1000, 0, 2_200_000) - r.dropped);
  });

  it('stages: the server sees the ramp — the second half of the window carries more than twice the first', async () => {
    reset();
    const arrivals: ArrivalsSpec = { kind: 'stages', startRateHz: 200, stages: [{ durationMs: 200, targetRateHz: 200 }, { durationMs: 2000, targetRateHz: 1800 }], gaps: 'even', seed: 1 };
    await runLoad(spec({ arrivals }));
    const t = seen.arrivalsMs;
    const start = t[0] ?? 0;
    const firstHalf = t.filter((v) => v - start >= 200 && v - start < 1200).length; // 600 intended
    const secondHalf = t.filter((v) => v - start >= 1200).length; // 1400 intended
    expect(secondHalf).toBeGreaterThan(2 * firstHalf);
  });

  it('two workers each take their share of a Poisson rate with their own draws: the union is as intended', async () => {
    reset();
    const r = await runLoad(spec({ arrivals: { kind: 'poisson', seed: 9 }, workers: 2 }));
    // two independent draws at 500 req/s each: 2000 ± 4 sd over the 2 s window
    expect(Math.abs(sentOrNot(r) - 2000)).toBeLessThan(4 * Math.sqrt(2000));
    expect(r.intendedRateHz).toBeCloseTo(sentOrNot(r) / 2, 6);
  });
});

describe('connection churn through the generator', () => {
  it('every N requests: each connection carries N requests, every new one timed (connect, first response)', async () => {
    reset();
    const r = await runLoad(spec({ rateHz: 400, durationMs: 1500, churn: { everyRequests: 10 }, workers: 2 }));
    expect(r.churn).toBeDefined();
    const churn = r.churn!;
    // each connection's (10k+1)-th request opens a new one: with 8 connections, between requests/10 − 8 and requests/10 new ones
    const renewed = seen.connections - 8;
    expect(renewed).toBeGreaterThanOrEqual(Math.floor(seen.requests / 10) - 8);
    expect(renewed).toBeLessThanOrEqual(Math.floor(seen.requests / 10));
    // the measured window's share of them, each timed once
    expect(churn.opened).toBeGreaterThan(0);
    expect(churn.opened).toBeLessThanOrEqual(renewed);
    expect(churn.opened).toBeGreaterThanOrEqual(Math.floor((r.count + r.dropped) / 10) - 8);
    expect(summarizeEncoded(churn.connectHistogram).count).toBe(churn.opened);
    expect(summarizeEncoded(churn.firstResponseHistogram).count).toBe(churn.opened - sentOrNotErrors(r));
    // a first response includes its connect
    expect(summarizeEncoded(churn.firstResponseHistogram).p50).toBeGreaterThanOrEqual(summarizeEncoded(churn.connectHistogram).p50);
  });

  it('at a rate: that many new connections per second, whatever the request rate', async () => {
    reset();
    const r = await runLoad(spec({ rateHz: 500, durationMs: 1500, churn: { rateHz: 10 } }));
    // 15 due in the 1.5 s window, each taken by the first send after it (a stalled generator catches up, one per send)
    expect(r.churn?.opened).toBeGreaterThanOrEqual(13);
    expect(r.churn?.opened).toBeLessThanOrEqual(16);
    expect(seen.connections - 8).toBeGreaterThanOrEqual(r.churn?.opened ?? NaN);
    expect(seen.connections - 8).toBeLessThanOrEqual(18); // + the 1.7 s load's warm-up and end
  });

  it('no churn: no churn figures, and the connections live through the load', async () => {
    reset();
    const r = await runLoad(spec({ rateHz: 500, durationMs: 500 }));
    expect(r.churn).toBeUndefined();
    expect(seen.connections).toBe(8);
  });
});
