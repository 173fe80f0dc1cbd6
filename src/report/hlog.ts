import { writeHlog, type TaggedInterval } from '../histograms/index.js';
import type { ResultDocument } from '../result.js';

/**
 * One standard, untagged .hlog per protocol × variant (`http1.meshed.hlog`): that pair's measured
 * intervals in time order. Untagged because HdrHistogram's reference reader (HistogramLogProcessor) and the
 * plotters built on it read only untagged intervals by default — on a log whose every interval is tagged the
 * Java reader throws — so one file per series works with every tool without flags. A pure function of the
 * result document.
 */
export function hlogFileName(protocol: string, variant: string): string {
  return `${protocol}.${variant}.hlog`;
}

/** What the logs are rendered from: the parts of the result document they use. */
export type HlogSource = Pick<ResultDocument, 'protocols' | 'startedAt' | 'tool'> & {
  scenario: Pick<ResultDocument['scenario'], 'name'>;
  environment: Pick<ResultDocument['environment'], 'variants'>;
};

export function renderHlogs(doc: HlogSource): Map<string, string> {
  const files = new Map<string, string>();
  const startTimeMs = Date.parse(doc.startedAt);
  for (const p of doc.protocols) {
    for (const variant of doc.environment.variants) {
      const result = p.variants[variant];
      if (result === undefined) continue;
      const intervals: TaggedInterval[] = result.rounds.flatMap((round) => round.intervals);
      intervals.sort((a, b) => a.startMs - b.startMs);
      files.set(hlogFileName(p.name, variant), writeHlog(intervals, {
        startTimeMs,
        comments: [`[meshbench ${doc.tool.version}: scenario ${doc.scenario.name}, protocol ${p.name}, variant ${variant}]`],
      }));
    }
  }
  return files;
}
