import { describe, expect, it } from 'vitest';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, type IntervalHistogram } from '../../src/histograms/index.js';
import { GridWindows, gridSecond } from '../../src/envs/kubernetes/pilot-generator.js';
import { PilotWindowJoin } from '../../src/envs/kubernetes/pilot-windows.js';

const GRID = 1_000_000;

/** A 1 s interval starting `offsetMs` after grid second `s`, holding `n` values. */
function iv(s: number, n = 1, offsetMs = 0): IntervalHistogram {
  const h = createLatencyHistogram();
  for (let i = 0; i < n; i++) h.recordValue(100 + i);
  return { startMs: GRID + s * 1000 + offsetMs, endMs: GRID + (s + 1) * 1000 + offsetMs, histogram: encodeHistogram(h), counts: { errors: 0, sent: n, late: 0, maxLagUs: 0 } };
}

describe('grid windows in the generator pod', () => {
  it.each([
    [0, 0], [400, 0], [499, 0], [501, 1], [-400, 0], [1000, 1], [2600, 3],
  ])('an interval starting %d ms after the grid start is second %d', (ms, second) => {
    expect(gridSecond(GRID, GRID + ms)).toBe(second);
  });

  it('hands a window over once every protocol moved past it, and the rest at the end', () => {
    const grid = new GridWindows(['http1', 'grpc-bidi'], GRID, 2, 10);
    expect(grid.add('http1', iv(0))).toEqual([]);
    expect(grid.add('http1', iv(1))).toEqual([]);
    expect(grid.add('http1', iv(2))).toEqual([]); // grpc-bidi has not moved past window 10
    expect(grid.add('grpc-bidi', iv(1))).toEqual([]);
    const out = grid.add('grpc-bidi', iv(2, 1, 300));
    expect(out.map((w) => w.window)).toEqual([10]);
    expect(out[0]?.protocols.map((p) => [p.name, p.seconds])).toEqual([['http1', [0, 1]], ['grpc-bidi', [1]]]);
    expect(grid.flush().map((w) => [w.window, w.protocols.map((p) => p.seconds)])).toEqual([[11, [[2], [2]]]]);
    expect(grid.flush()).toEqual([]);
  });
});

type PodWindow = Parameters<PilotWindowJoin['add']>[1];
const rec = (variant: string, shard: number, window: number, seconds: number[], n = 1): PodWindow => ({
  kind: 'window', window, shard, variant, protocols: [{ name: 'http1', seconds, intervals: seconds.map((s) => iv(s, n)) }],
});

describe('joining the pods’ windows', () => {
  const grid = { gridStartMs: GRID, firstWindow: 0, windowS: 2, graceMs: 5000 };

  it('waits for every source, merges shards by grid second, counts a window once', () => {
    const join = new PilotWindowJoin(['unmeshed/0', 'unmeshed/1', 'meshed/0'], grid, () => GRID);
    expect(join.add('unmeshed/0', rec('unmeshed', 0, 0, [0, 1], 2))).toEqual([]);
    expect(join.add('unmeshed/0', rec('unmeshed', 0, 0, [0, 1], 2))).toEqual([]); // read twice
    expect(join.add('unmeshed/1', rec('unmeshed', 1, 0, [0, 1], 3))).toEqual([]);
    const [w] = join.add('meshed/0', rec('meshed', 0, 0, [0, 1]));
    expect(w?.index).toBe(0);
    expect(w?.partial).toBe(false);
    const unmeshed = w?.series.find((s) => s.variant === 'unmeshed');
    expect(unmeshed?.intervals.map((i) => decodeHistogram(i.histogram).totalCount)).toEqual([5, 5]);
    expect(unmeshed?.intervals.map((i) => i.counts?.sent)).toEqual([5, 5]);
    expect(join.add('unmeshed/0', rec('unmeshed', 0, 0, [0, 1], 2))).toEqual([]); // after it went out too
  });

  it('a restarted source: its lost window goes out partial, carrying the restart, when the source moves past it', () => {
    const join = new PilotWindowJoin(['a/0', 'b/0'], grid, () => GRID);
    join.add('a/0', rec('a', 0, 0, [0, 1]));
    expect(join.add('b/0', rec('b', 0, 0, [0, 1])).map((w) => w.restarts)).toEqual([[]]);
    join.add('a/0', rec('a', 0, 1, [2, 3]));
    join.restarted('b/0', 'b generator 0: container restarted', GRID + 3000);
    expect(join.add('a/0', rec('a', 0, 2, [4, 5]))).toEqual([]);
    const out = join.add('b/0', rec('b', 0, 2, [5])); // the new container started late in window 2
    expect(out.map((w) => [w.index, w.partial, w.restarts.map((r) => r.what)])).toEqual([
      [1, true, ['b generator 0: container restarted']],
      [2, true, []],
    ]);
  });

  it('a source that never comes back does not stall the pilot: overdue windows go out after the grace', () => {
    const join = new PilotWindowJoin(['a/0', 'b/0'], grid, () => GRID);
    join.add('a/0', rec('a', 0, 0, [0, 1]));
    expect(join.ready(GRID + 2000 + 4999)).toEqual([]);
    expect(join.ready(GRID + 2000 + 5000).map((w) => [w.index, w.partial])).toEqual([[0, true]]);
    join.add('a/0', rec('a', 0, 1, [2, 3]));
    expect(join.ended('b/0').map((w) => [w.index, w.partial])).toEqual([[1, true]]); // b ended: nothing to wait for
  });
});
