import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeHistogram, mergeEncoded } from '../../src/histograms/index.js';
import { WindowAssembler, windowRecord, windowVariant } from '../../src/pilot/windows.js';
import { syntheticInterval } from '../fixtures/pilot-records.js';

const series = [
  { protocol: 'http1', variant: 'unmeshed' },
  { protocol: 'http1', variant: 'meshed' },
  { protocol: 'grpc-bidi', variant: 'unmeshed' },
  { protocol: 'grpc-bidi', variant: 'meshed' },
] as const;

describe('WindowAssembler', () => {
  it('closes a window only when every series has its intervals, numbering on from firstIndex', () => {
    const a = new WindowAssembler(series, 3, 7);
    const closed = [];
    // http1 runs ahead of grpc-bidi: 5 intervals against 3
    for (let i = 0; i < 5; i++) for (const v of ['unmeshed', 'meshed']) closed.push(...a.add('http1', v, syntheticInterval(i * 1000, 10, 100, 0, i)));
    expect(closed).toEqual([]);
    for (let i = 0; i < 3; i++) for (const v of ['unmeshed', 'meshed']) closed.push(...a.add('grpc-bidi', v, syntheticInterval(i * 1000, 10, 100, 0, i)));
    expect(closed.map((d) => [d.index, d.partial])).toEqual([[7, false]]);
    expect([...closed[0]!.intervals.values()].map((l) => l.length)).toEqual([3, 3, 3, 3]);
    // the rest: http1 holds 2 more, grpc none → a partial window of what is left
    const rest = a.flush();
    expect(rest?.index).toBe(8);
    expect(rest?.partial).toBe(true);
    expect(rest?.intervals.get('http1/meshed')?.map((i) => i.startMs)).toEqual([3000, 4000]);
    expect(rest?.intervals.get('grpc-bidi/meshed')).toEqual([]);
    expect(a.flush()).toBeNull();
  });

  it('never holds more than one window ahead (property: every interval lands in exactly one window, in order)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 0, maxLength: 60 }), (windowS, picks) => {
        const two = [{ protocol: 'http1', variant: 'unmeshed' }, { protocol: 'http1', variant: 'meshed' }] as const;
        const a = new WindowAssembler(two, windowS, 0);
        const next = [0, 0];
        const drafts = [];
        for (const p of picks) {
          const n = next[p]!++;
          drafts.push(...a.add('http1', two[p]!.variant, syntheticInterval(n * 1000, 1, 100, 0, n)));
        }
        const rest = a.flush();
        if (rest !== null) drafts.push(rest);
        for (const [s, variant] of ['unmeshed', 'meshed'].entries()) {
          const starts = drafts.flatMap((d) => d.intervals.get(`http1/${variant}`) ?? []).map((i) => i.startMs);
          expect(starts).toEqual(Array.from({ length: next[s]! }, (_, i) => i * 1000));
        }
        expect(drafts.filter((d) => !d.partial).every((d) => [...d.intervals.values()].every((l) => l.length === windowS))).toBe(true);
      }),
    );
  });
});

describe('windowVariant', () => {
  it.each([
    [10, 4],
    [3, 12],
    [3600, 12],
  ])('%i intervals in at most %i blocks: the blocks add up exactly to the window', (n, blocks) => {
    const intervals = Array.from({ length: n }, (_, i) => syntheticInterval(i * 1000, 5, 200, 0, i, i % 7 === 0 ? 1 : 0));
    const w = windowVariant(intervals, blocks);
    expect(w.blocks).toHaveLength(Math.min(n, blocks));
    expect(w.blocks[0]?.startMs).toBe(0);
    expect(w.blocks[w.blocks.length - 1]?.endMs).toBe(n * 1000);
    expect(decodeHistogram(mergeEncoded(w.blocks.map((b) => b.histogram))).totalCount).toBe(5 * n);
    expect(mergeEncoded(w.blocks.map((b) => b.histogram))).toBe(w.histogram);
    const errors = intervals.reduce((s, i) => s + (i.counts?.errors ?? 0), 0);
    expect(w.errors).toBe(errors);
    expect(w.errorsByKind).toEqual(errors > 0 ? { timeout: errors } : {});
    expect(w.blocks.reduce((s, b) => s + (b.counts?.errors ?? 0), 0)).toBe(errors);
    expect(w.sent).toBe(5 * n + errors);
    expect(w.count).toBe(5 * n);
    expect(w.measuredMs).toBe(n * 1000);
  });

  it('windowRecord: one .hlog series per protocol × variant, the window spanning its intervals', () => {
    const a = new WindowAssembler(series.slice(0, 2), 2, 0);
    const [draft] = [0, 1].flatMap((i) => ['unmeshed', 'meshed'].flatMap((v) => a.add('http1', v, syntheticInterval(1000 + i * 1000, 3, 100, 0, i))));
    const { record, hlogLines } = windowRecord(draft!, 1, 12, { meshed: [{ name: 'client-sidecar', cpuSeconds: 0.5, rssBytes: 1 }], unmeshed: [] });
    expect([...hlogLines.keys()].sort()).toEqual(['http1-meshed.hlog', 'http1-unmeshed.hlog']);
    expect(record).toMatchObject({ type: 'window', index: 0, segment: 1, startMs: 1000, endMs: 3000, partial: false });
    expect(Object.keys(record.protocols[0]?.variants ?? {}).sort()).toEqual(['meshed', 'unmeshed']);
  });
});
