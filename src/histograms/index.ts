export {
  LATENCY_DIGITS,
  LATENCY_HIGHEST_US,
  LATENCY_LOWEST_US,
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeEncoded,
  mergeInto,
  recordLatency,
  summarize,
  summarizeEncoded,
} from './histogram.js';
export type { LatencyHistogram, LatencySummary } from './histogram.js';
export { HLOG_MAX_VALUE_UNIT_RATIO, readHlog, writeHlog, writeHlogLines } from './hlog.js';
export type { HlogInterval, HlogOptions, IntervalCounts, IntervalHistogram, TaggedInterval } from './hlog.js';
export { bucketValueUs, percentileRank, sparseBuckets, sparseBucketsOf } from './buckets.js';
export type { SparseBuckets } from './buckets.js';
