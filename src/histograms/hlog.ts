import { HistogramLogReader, HistogramLogWriter } from 'hdr-histogram-js';

// hdr-histogram-js marks an untagged histogram with this value (not exported from its index).
const NO_TAG = 'NO TAG';
import { createLatencyHistogram, decodeHistogram, type LatencyHistogram } from './histogram.js';

/**
 * Standard HdrHistogram interval logs (.hlog, log format 1.3), readable by HistogramLogProcessor,
 * HdrHistogramVisualizer and hdr-histogram-js's HistogramLogReader.
 *
 * Convention (as the Java HistogramLogWriter): `#[StartTime: <s since epoch>, <date>]` is when the
 * measured window began; `#[BaseTime: <s since epoch>]` is the time interval timestamps are relative to
 * (we use the same instant); then the legend and one line per interval:
 * `<start s rel. to BaseTime>,<length s>,<Interval_Max>,<compressed base64 histogram>`.
 *
 * Units: recorded values are MICROSECONDS. Interval_Max is the interval's max divided by 1000, i.e. in
 * milliseconds — the HdrHistogram convention is "max-value unit ratio turns recorded units into ms" (the
 * Java default 1e6 assumes nanoseconds). Tools that print percentiles from the histograms themselves
 * need the same ratio: `HistogramLogProcessor -outputValueUnitRatio 1000` prints milliseconds.
 */
export const HLOG_MAX_VALUE_UNIT_RATIO = 1000;

export interface HlogOptions {
  /** Epoch ms the log's StartTime and BaseTime are stamped with; defaults to the first interval's start. */
  startTimeMs?: number;
  /** Extra comment lines (without the leading '#'). */
  comments?: readonly string[];
}

/** One interval histogram (for .hlog). Times are wall-clock epoch milliseconds. */
export interface IntervalHistogram {
  startMs: number;
  endMs: number;
  /** hdr-histogram-js encodeIntoCompressedBase64 of a latency histogram in µs. */
  histogram: string;
  /**
   * What else happened in the interval (the generator records it; absent in older documents): errors, requests
   * sent (or left unsent) in the measured window, those sent late or never, and the largest send lag (µs).
   * A continuous load split into rounds (time pairing) takes each round's figures from these.
   */
  counts?: IntervalCounts;
}

export interface IntervalCounts {
  errors: number;
  sent: number;
  late: number;
  maxLagUs: number;
  /** The errors by kind (driver ErrorKind names); only the kinds that occurred, absent when there were none. */
  errorsByKind?: Record<string, number>;
}

/** An interval to log; `tag` (e.g. the protocol) lets one log hold several series, as `Tag=<tag>,…` lines. */
export type TaggedInterval = IntervalHistogram & { tag?: string };

export function writeHlog(intervals: readonly TaggedInterval[], options: HlogOptions = {}): string {
  const first = intervals[0];
  const baseMs = Math.floor(options.startTimeMs ?? (first === undefined ? 0 : first.startMs));
  const chunks: string[] = [];
  const writer = new HistogramLogWriter((text) => {
    chunks.push(text);
  });
  writer.baseTime = baseMs;
  for (const comment of options.comments ?? []) writer.outputComment(comment);
  writer.outputComment('[meshbench: latency in microseconds; Interval_Max in milliseconds (max-value divisor 1000)]');
  writer.outputLogFormatVersion();
  // Written by hand: the library's outputStartTime adds a blank line after it.
  writer.outputComment(`[StartTime: ${(baseMs / 1000).toFixed(3)} (seconds since epoch), ${new Date(baseMs).toISOString()}]`);
  writer.outputComment(`[BaseTime: ${(baseMs / 1000).toFixed(3)} (seconds since epoch)]`);
  writer.outputLegend();
  return chunks.join('') + writeHlogLines(intervals, baseMs);
}

/**
 * Only the interval lines of an .hlog whose BaseTime is `baseMs`: what a log that grows (a pilot's) appends to
 * the header writeHlog wrote when it was created.
 */
export function writeHlogLines(intervals: readonly TaggedInterval[], baseMs: number): string {
  const chunks: string[] = [];
  const writer = new HistogramLogWriter((text) => {
    chunks.push(text);
  });
  writer.baseTime = baseMs;
  for (const interval of intervals) {
    const h = decodeHistogram(interval.histogram);
    if (interval.tag !== undefined) h.tag = interval.tag;
    writer.outputIntervalHistogram(h, (interval.startMs - baseMs) / 1000, (interval.endMs - baseMs) / 1000, HLOG_MAX_VALUE_UNIT_RATIO);
  }
  return chunks.join('');
}

export interface HlogInterval {
  /** Absolute epoch ms (BaseTime + relative timestamp). */
  startMs: number;
  endMs: number;
  histogram: LatencyHistogram;
  tag: string | null;
}

/** Reads every interval of an .hlog (used to round-trip in tests and by tools that post-process logs). */
export function readHlog(text: string): HlogInterval[] {
  const reader = new HistogramLogReader(text, 64, false);
  const out: HlogInterval[] = [];
  for (let h = reader.nextIntervalHistogram(); h !== null; h = reader.nextIntervalHistogram()) {
    const histogram = createLatencyHistogram();
    histogram.add(h);
    out.push({ startMs: h.startTimeStampMsec, endMs: h.endTimeStampMsec, histogram, tag: h.tag === NO_TAG ? null : h.tag });
  }
  return out;
}
