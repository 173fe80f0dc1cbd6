import { JsHistogram } from 'hdr-histogram-js';
import { createLatencyHistogram, decodeHistogram, type LatencyHistogram } from './histogram.js';

/**
 * A histogram as its non-empty buckets: bucket index (in the one bucket layout every latency histogram
 * shares, see histogram.ts) and count, ascending by index. This is the form the verdict's resampling works
 * on: adding two of them is adding counts at equal indexes, exactly as `Histogram.add` does.
 */
export interface SparseBuckets {
  indexes: Int32Array;
  counts: Float64Array;
  total: number;
}

function asJs(h: LatencyHistogram): JsHistogram {
  // createLatencyHistogram builds JS (never WASM) histograms; decodeHistogram returns them too.
  if (!(h instanceof JsHistogram)) throw new Error('meshbench: expected a JS HdrHistogram (WASM histograms are not used)');
  return h;
}

export function sparseBuckets(h: LatencyHistogram): SparseBuckets {
  const js = asJs(h);
  const indexes: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (let i = 0; i < js.countsArrayLength; i++) {
    const c = js.getCountAtIndex(i);
    if (c > 0) {
      indexes.push(i);
      counts.push(c);
      total += c;
    }
  }
  return { indexes: Int32Array.from(indexes), counts: Float64Array.from(counts), total };
}

export function sparseBucketsOf(encoded: string): SparseBuckets {
  return sparseBuckets(decodeHistogram(encoded));
}

let layout: JsHistogram | undefined;

/**
 * The value a percentile reports for a bucket (µs): the bucket's highest equivalent value, as
 * `getValueAtPercentile` returns for any percentile above 0.
 */
export function bucketValueUs(index: number): number {
  layout ??= asJs(createLatencyHistogram());
  return layout.highestEquivalentValue(layout.valueFromIndex(index));
}

/**
 * The rank (1-based) `getValueAtPercentile(percentile)` stops at in a histogram of `total` values: the
 * count at or below which `percentile` % of values lie, rounded up (with hdr-histogram-js's guard against
 * floating-point error of one ulp), at least 1.
 */
export function percentileRank(percentile: number, total: number): number {
  const fp = (Math.min(percentile, 100) / 100) * total;
  return Math.max(Math.ceil(fp - ulp(fp)), 1);
}

/** As hdr-histogram-js's ulp (0 for 0). */
function ulp(x: number): number {
  return 2 ** (Math.floor(Math.log2(x)) - 52);
}
