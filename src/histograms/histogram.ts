import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';

/**
 * The one place that owns hdr-histogram-js. Every latency histogram in meshbench is in microseconds,
 * tracks 1 µs … 60 s with 3 significant digits, and is a plain JS histogram with 64-bit (float) counts.
 *
 * Why JS and not WASM: measured on the 2-core target class, `recordValue` costs ≈ 62 ns (JS) vs ≈ 16 ns
 * (WASM). The load loop records two values per response, so even at 100k responses/s the difference is
 * < 1 % of a core — while a WASM histogram lives outside the GC and must be `destroy()`ed by exactly one
 * owner. JS histograms are garbage-collected: nothing here or in callers has a lifetime to manage.
 * Float64 counts keep `add` exact far beyond any run length (2^53 per bucket).
 */
export type LatencyHistogram = Histogram;

export const LATENCY_LOWEST_US = 1;
export const LATENCY_HIGHEST_US = 60_000_000;
export const LATENCY_DIGITS = 3;
const BUCKET_SIZE = 64;

/** Percentiles and moments of a latency histogram, all in µs. All zero for an empty histogram. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  min: number;
  mean: number;
  count: number;
}

export function createLatencyHistogram(): LatencyHistogram {
  return build({
    lowestDiscernibleValue: LATENCY_LOWEST_US,
    highestTrackableValue: LATENCY_HIGHEST_US,
    numberOfSignificantValueDigits: LATENCY_DIGITS,
    bitBucketSize: BUCKET_SIZE,
    autoResize: false,
    useWebAssembly: false,
  });
}

/**
 * Records one latency. Values above 60 s are clamped to 60 s (they still count); negative values (never
 * expected: the clock is monotonic) are clamped to 0. Allocation-free.
 */
export function recordLatency(h: LatencyHistogram, latencyUs: number): void {
  h.recordValue(latencyUs > LATENCY_HIGHEST_US ? LATENCY_HIGHEST_US : latencyUs < 0 ? 0 : latencyUs);
}

/** Compressed base64 (HdrHistogram V2 encoding), the form histograms take in results and .hlog files. */
export function encodeHistogram(h: LatencyHistogram): string {
  return encodeIntoCompressedBase64(h);
}

/** Decodes into a latency histogram with the standard range, whatever range the encoder used. */
export function decodeHistogram(encoded: string): LatencyHistogram {
  const decoded = decodeFromCompressedBase64(encoded, BUCKET_SIZE, false);
  if (decoded.highestTrackableValue === LATENCY_HIGHEST_US) return decoded;
  const h = createLatencyHistogram();
  mergeInto(h, decoded);
  return h;
}

/**
 * Adds `source` into `target` exactly (bucket counts add). Both come from this module, so they share one
 * bucket layout; a foreign histogram holding values above 60 s makes hdr-histogram-js throw.
 */
export function mergeInto(target: LatencyHistogram, source: LatencyHistogram): void {
  target.add(source);
}

/** Merges encoded histograms exactly; an empty list gives an empty histogram. */
export function mergeEncoded(encoded: readonly string[]): string {
  const h = createLatencyHistogram();
  for (const e of encoded) mergeInto(h, decodeHistogram(e));
  return encodeHistogram(h);
}

export function summarize(h: LatencyHistogram): LatencySummary {
  const count = h.totalCount;
  if (count === 0) return { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0, count: 0 };
  return {
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    // Percentile 100, not `maxValue`: a freshly recorded histogram keeps the raw max, a decoded or merged
    // one only its bucket; the bucket's highest equivalent value is the same either way.
    max: h.getValueAtPercentile(100),
    min: h.getValueAtPercentile(0),
    mean: h.mean,
    count,
  };
}

export function summarizeEncoded(encoded: string): LatencySummary {
  return summarize(decodeHistogram(encoded));
}
