import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { createLatencyHistogram, encodeHistogram, recordLatency, type IntervalHistogram } from '../../src/histograms/index.js';
import type { LoadResult } from '../../src/load/types.js';
import type { ProtocolResult, VariantResult } from '../../src/result.js';
import { aggregateVariant } from '../../src/run/aggregate.js';
import { leaveOneRoundOut, pairedBootstrap, roundPercentiles } from '../../src/verdict/bootstrap.js';
import { DEFAULT_STATISTICS, figureData, protocolData } from '../../src/verdict/figures.js';
import { collectSamples } from '../../src/verdict/samples.js';
import { QUICKSTART_MODEL, syntheticProtocol } from '../fixtures/noise-model.js';

/** Time pairing: the scenario's default pairing, the paired block bootstrap's laws, and a continuous load split into rounds. */

describe('scenario pairing', () => {
  const base = { name: 't', protocols: [{ name: 'http1' }], budgets: { p99Ms: 5 } };
  it.each<[string, Record<string, unknown>, 'time' | 'rounds']>([
    ['local: time', {}, 'time'],
    ['static: time', { env: { kind: 'static', variants: { unmeshed: { targets: { http1: 'http://127.0.0.1:1/' } }, meshed: { targets: { http1: 'http://127.0.0.1:2/' } } } } }, 'time'],
    ['kubernetes: rounds', { env: { kind: 'kubernetes', mesh: 'linkerd' } }, 'rounds'],
    ['local, asked for rounds', { pairing: 'rounds' }, 'rounds'],
  ])('%s', (_label, extra, pairing) => {
    expect(parseScenario({ ...base, ...extra }, 'test').pairing).toBe(pairing);
  });

  it('refuses time pairing on kubernetes, saying why and what to use', () => {
    expect(() => parseScenario({ ...base, pairing: 'time', env: { kind: 'kubernetes', mesh: 'linkerd' } }, 'test')).toThrow(
      expect.objectContaining({ problems: [expect.stringMatching(/^pairing: .*use pairing: rounds/)] }),
    );
  });
});

describe('paired block bootstrap', () => {
  const options = { resamples: 200, seed: 3, stream: 'http1' };

  it('identical variants differ by exactly 0 in every replicate (the same blocks are drawn for both)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), (seed) => {
        const p = syntheticProtocol({ ...QUICKSTART_MODEL, rounds: 3, durationS: 3 }, seed);
        const same = { unmeshed: p.variants['unmeshed'], meshed: p.variants['unmeshed'] };
        const reps = pairedBootstrap(collectSamples(same, true), options);
        const a = reps.get('unmeshed');
        const b = reps.get('meshed');
        for (let f = 0; f < 3; f++) for (let i = 0; i < options.resamples; i++) if (a?.[f]?.[i] !== b?.[f]?.[i]) return false;
        return true;
      }),
      { numRuns: 5 },
    );
  });

  it('a stall in one second hits both variants in the same draws, so the difference stays narrow', () => {
    // Both variants: 100 µs, except one shared second where both read 20 ms at the tail.
    const variant = (extraUs: number): VariantResult => {
      const intervals: IntervalHistogram[] = Array.from({ length: 10 }, (_, s) => {
        const h = createLatencyHistogram();
        for (let i = 0; i < 1000; i++) recordLatency(h, (s === 4 && i < 50 ? 20_000 : 100) + extraUs);
        return { startMs: s * 1000, endMs: (s + 1) * 1000, histogram: encodeHistogram(h) };
      });
      return { rounds: [{ round: 0, intervals }] } as unknown as VariantResult;
    };
    const reps = pairedBootstrap(collectSamples({ unmeshed: variant(0), meshed: variant(200) }, true), { ...options, resamples: 500 });
    const diffs = (reps.get('meshed')?.[1] ?? new Float64Array()).map((m, i) => m - (reps.get('unmeshed')?.[1]?.[i] ?? NaN));
    const sorted = [...diffs].sort((x, y) => x - y);
    // p99 of either variant jumps between 100 µs and 20 ms depending on how often second 4 is drawn; the paired
    // difference stays at the planted 200 µs (within the histogram's bucket resolution at that value).
    expect(Math.max(...(reps.get('unmeshed')?.[1] ?? [])) - Math.min(...(reps.get('unmeshed')?.[1] ?? []))).toBeGreaterThan(10_000);
    expect(sorted[Math.floor(sorted.length * 0.025)]).toBeGreaterThan(150);
    expect(sorted[Math.floor(sorted.length * 0.975)]).toBeLessThan(250);
  });
});

describe('a continuous load split into rounds', () => {
  function load(intervals: { values: number[]; errors: number; sent: number; late: number; maxLagUs: number }[], dropped: number): LoadResult {
    const all = createLatencyHistogram();
    const ivs: IntervalHistogram[] = intervals.map((iv, s) => {
      const h = createLatencyHistogram();
      for (const v of iv.values) recordLatency(h, v);
      all.add(h);
      return { startMs: 1_000_000 + s * 1000, endMs: 1_000_000 + (s + 1) * 1000, histogram: encodeHistogram(h), counts: { errors: iv.errors, sent: iv.sent, late: iv.late, maxLagUs: iv.maxLagUs } };
    });
    const errors = intervals.reduce((n, iv) => n + iv.errors, 0);
    const encoded = encodeHistogram(all);
    return {
      protocol: 'http1', target: 't', model: 'open', count: all.totalCount - dropped, dropped, errors: { connect: 0, reset: 0, timeout: errors, status: 0, protocol: 0, other: 0 },
      intendedRateHz: 4, achievedRateHz: 4, measuredMs: intervals.length * 1000, behindUs: 0, maxLagUs: 9, lateShare: 0,
      histogram: encoded, serviceHistogram: encoded, lagHistogram: encoded, intervals: ivs, startedAtMs: 1_000_000, hiccupHistogram: encoded,
    };
  }

  it('gives each round its own intervals and figures, the unsent ones to the last, the proxies split evenly, the hiccups once', () => {
    const l = load([
      { values: [100, 100, 100], errors: 1, sent: 4, late: 0, maxLagUs: 5 },
      { values: [200, 200, 200, 200], errors: 0, sent: 4, late: 1, maxLagUs: 1500 },
      { values: [300, 300, 300, 300], errors: 0, sent: 4, late: 0, maxLagUs: 7 },
      { values: [400, 400, 400, 9000], errors: 0, sent: 4, late: 2, maxLagUs: 9000 },
    ], 1);
    const v = aggregateVariant([{
      round: 0, rounds: 2, order: 1, startedAt: '', load: l, hiccups: { generator: l.hiccupHistogram },
      proxiesBefore: [{ name: 'server-sidecar', cpuSeconds: 1, rssBytes: 10 }], proxiesAfter: [{ name: 'server-sidecar', cpuSeconds: 3, rssBytes: 20 }],
    }]);
    expect(v.rounds.map((r) => [r.round, r.order, r.count, r.errors, r.intervals.length, r.maxLagUs])).toEqual([[0, 1, 7, 1, 2, 1500], [1, 1, 7, 0, 2, 9000]]);
    expect(v.rounds.map((r) => r.lateShare)).toEqual([1 / 8, 2 / 8]);
    expect(v.rounds.map((r) => r.achievedRateHz)).toEqual([4, 3.5]);
    expect(v.rounds[1]?.latencyUs.max).toBeGreaterThan(8000);
    expect(v.rounds.map((r) => r.proxies[0]?.cpuSeconds)).toEqual([1, 1]);
    expect(v.proxies[0]?.cpuSeconds).toBe(2);
    expect(v.hiccupsUs['generator']?.count).toBe(15); // the load's hiccups once, not once per round
    expect(v.count).toBe(14);
  });
});

describe('delete-a-round jackknife', () => {
  it('leaving a round out gives the percentiles of the other rounds merged, and all rounds merged gives the whole', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 3, max: 8 }), (seed, rounds) => {
        const p = syntheticProtocol({ ...QUICKSTART_MODEL, rounds, durationS: 1 }, seed);
        const v = p.variants['meshed'];
        if (v === undefined) return false;
        const left = leaveOneRoundOut(collectSamples({ meshed: v })).get('meshed');
        const merged = (keep: (round: number) => boolean) =>
          roundPercentiles(collectSamples({ meshed: { ...v, rounds: [{ ...v.rounds[0], round: 0, intervals: v.rounds.filter((r) => keep(r.round)).flatMap((r) => r.intervals) }] } as VariantResult })).get('meshed')?.get(0);
        expect(left?.all).toEqual(merged(() => true));
        for (const r of v.rounds) expect(left?.byRound.get(r.round)).toEqual(merged((o) => o !== r.round));
        return true;
      }),
      { numRuns: 10 },
    );
  });

  it("a variant's P99 interval is the jackknife's: rounds that agree give no between-round width, one deviant round gives some", () => {
    // Each round: 1000 requests at 100 µs, `slow` of them at 5 ms instead.
    const round = (r: number, slow: number) => {
      const h = createLatencyHistogram();
      for (let i = 0; i < 1000; i++) recordLatency(h, i < slow ? 5000 : 100);
      return { round: r, intervals: [{ startMs: r * 1000, endMs: (r + 1) * 1000, histogram: encodeHistogram(h) }] };
    };
    const between = (slow: number[]) => {
      const protocol = { name: 'http1', variants: { unmeshed: { latencyUs: { p99: 0 }, rounds: slow.map((s, r) => round(r, s)) } } } as unknown as ProtocolResult;
      const f = figureData(protocolData(protocol, DEFAULT_STATISTICS), { kind: 'latency', variant: 'unmeshed', index: 1 });
      return f?.perRound ?? [];
    };
    expect(new Set(between([12, 12, 12, 12]).map((x) => Math.round(x))).size).toBe(1);
    // 36 slow of 4000: the P99 is fast; leave the round without any out and 36 of 3000 put it at 5 ms.
    const deviant = between([12, 12, 12, 0]);
    expect(Math.max(...deviant) - Math.min(...deviant)).toBeGreaterThan(1000);
  });
});
