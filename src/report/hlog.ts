import { writeHlog, type TaggedInterval } from '../histograms/index.js';
import type { ResultDocument } from '../result.js';

/**
 * One standard .hlog per variant: every measured interval of every protocol, tagged with the protocol
 * (`Tag=http1,…`), in time order. A pure function of the result document.
 */
export function renderHlogs(doc: ResultDocument): Map<string, string> {
  const files = new Map<string, string>();
  for (const variant of doc.environment.variants) {
    const intervals: TaggedInterval[] = [];
    for (const p of doc.protocols) {
      for (const round of p.variants[variant]?.rounds ?? []) {
        for (const interval of round.intervals) intervals.push({ ...interval, tag: p.name });
      }
    }
    intervals.sort((a, b) => a.startMs - b.startMs);
    const startTimeMs = Date.parse(doc.startedAt);
    files.set(variant, writeHlog(intervals, {
      startTimeMs,
      comments: [`[meshbench ${doc.tool.version}: scenario ${doc.scenario.name}, variant ${variant}, tags = protocols]`],
    }));
  }
  return files;
}
