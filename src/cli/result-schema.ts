import { z } from 'zod';
import { scenarioSchema } from '../config/schema.js';
import { ERROR_KINDS } from '../drivers/driver.js';
import { decodeHistogram } from '../histograms/index.js';
import { PROTOCOLS } from '../protocols.js';
import type { ResultDocument } from '../result.js';
import { COMPARISON_KIND, type ComparisonDocument } from '../verdict/compare.js';

/**
 * The stored documents `compare` and `report` read (result.json, comparison.json), as zod schemas: a file that
 * passes is one every renderer and the comparison can take, so hostile or damaged input stops at the door with
 * the path of the first wrong field, never deeper with a stack trace. Objects are loose (fields added by a
 * later meshbench are kept: adding fields is compatible, result.ts); every field the readers use is checked,
 * histograms included (they must decode).
 */

const finite = z.number().refine(Number.isFinite, 'a finite number');
const count = z.int().nonnegative();
const histogram = z.string().refine((s) => {
  try {
    decodeHistogram(s);
    return true;
  } catch {
    return false;
  }
}, 'a compressed base64 HDR histogram');
const summary = z.looseObject({ p50: finite, p90: finite, p99: finite, p999: finite, max: finite, min: finite, mean: finite, count: finite });
const errorsByKind = z.looseObject(Object.fromEntries(ERROR_KINDS.map((k) => [k, count.optional()])));
const interval = z.looseObject({ startMs: finite, endMs: finite, histogram, counts: z.looseObject({}).optional() });
const hiccup = z.looseObject({ source: z.string(), histogram, latencyUs: summary });
const round = z.looseObject({
  round: count, order: count, startedAt: z.string(), count, errors: count, achievedRateHz: finite, latencyUs: summary,
  maxLagUs: finite, lateShare: finite,
  proxies: z.array(z.looseObject({ name: z.string(), cpuSeconds: finite, rssBytes: finite })),
  intervals: z.array(interval), hiccups: z.array(hiccup).default([]), generatorStartLagsMs: z.array(finite).optional(),
});
const variant = z.looseObject({
  count, errors: count, errorsByKind, dropped: count, intendedRateHz: finite, achievedRateHz: finite, measuredMs: finite,
  latencyUs: summary, serviceLatencyUs: summary, behindUs: finite, maxLagUs: finite, lateShare: finite, lagUs: summary.optional(),
  histogram, serviceHistogram: histogram, rounds: z.array(round),
  proxies: z.array(z.looseObject({ name: z.string(), cpuSeconds: finite, cpuUsPerRequest: finite, peakRssBytes: finite })),
  hiccupsUs: z.record(z.string(), summary).default({}),
});
const overhead = z.looseObject({ p50Us: finite, p90Us: finite, p99Us: finite, p999Us: finite, p99Ratio: z.number() });
const protocol = z.looseObject({
  name: z.enum(PROTOCOLS), model: z.enum(['open', 'closed']), rateHz: finite, connections: count, payloadBytes: count,
  variants: z.record(z.string(), variant), overhead: z.record(z.string(), overhead),
});
const figureInterval = z.looseObject({ estimate: finite, low: finite, high: finite, confidence: finite }).nullable();
const verdictStatus = z.enum(['pass', 'fail', 'inconclusive']);
const errorSide = z.looseObject({ requests: count, byKind: z.record(z.string(), count) });
const check = z.looseObject({
  protocol: z.enum(PROTOCOLS), variant: z.string(), budget: z.enum(['p99Ms', 'p99OverheadMs', 'p99OverheadRatio', 'p99OverheadZero', 'errorRateOverhead']),
  limit: finite, actual: z.number(), status: verdictStatus, interval: z.looseObject({ low: finite, high: finite, confidence: finite }).nullable(),
  errorCounts: z.looseObject({ baseline: errorSide, variant: errorSide }).optional(),
});
const estimates = z.looseObject({
  protocol: z.enum(PROTOCOLS),
  variants: z.record(z.string(), z.looseObject({ p50Us: figureInterval, p99Us: figureInterval, p999Us: figureInterval })),
  overhead: z.record(z.string(), z.looseObject({ p50Us: figureInterval, p99Us: figureInterval, p999Us: figureInterval, p99Ratio: figureInterval })),
});
const tool = z.looseObject({ name: z.literal('meshbench'), version: z.string() });

export const resultDocumentSchema = z.looseObject({
  schemaVersion: z.literal(2),
  tool,
  scenarioPath: z.string(),
  scenario: scenarioSchema,
  startedAt: z.string(),
  finishedAt: z.string(),
  environment: z.looseObject({
    kind: z.string(), nodeVersion: z.string(), platform: z.string(), cpus: count, facts: z.record(z.string(), z.unknown()),
    variants: z.array(z.string()).min(1),
  }),
  proofs: z.array(z.looseObject({
    variant: z.string(), protocol: z.enum(PROTOCOLS), marker: z.string().nullable(), ok: z.boolean(), detail: z.string(),
    expect: z.discriminatedUnion('kind', [
      z.looseObject({ kind: z.literal('none') }),
      z.looseObject({ kind: z.literal('header'), header: z.string() }),
      z.looseObject({ kind: z.literal('unverified'), why: z.string() }),
    ]),
  })),
  protocols: z.array(protocol),
  verdict: z.looseObject({
    status: verdictStatus, reasons: z.array(z.string()), checks: z.array(check),
    validity: z.array(z.looseObject({ protocol: z.string(), variant: z.string(), round: count.nullable(), rule: z.string(), detail: z.string() })),
    statistics: z.looseObject({ method: z.string(), confidence: finite, resamples: count, seed: finite, estimates: z.array(estimates) }).optional(),
  }),
  interrupted: z.boolean().optional(),
  aa: z.boolean().optional(),
});

const compared = z.looseObject({ path: z.string(), scenario: z.string(), startedAt: z.string(), status: verdictStatus, toolVersion: z.string() });

export const comparisonDocumentSchema = z.looseObject({
  kind: z.literal(COMPARISON_KIND),
  schemaVersion: z.literal(2),
  tool,
  baseline: compared,
  candidate: compared,
  tolerance: z.looseObject({ ms: finite, ratio: finite }),
  statistics: z.looseObject({ method: z.string(), confidence: finite, resamples: count, seed: finite }),
  checks: z.array(z.looseObject({
    protocol: z.enum(PROTOCOLS), variant: z.string(), figure: z.enum(['p99Ms', 'p99OverheadMs']), baseline: finite, candidate: finite, change: finite,
    interval: z.looseObject({ low: finite, high: finite, confidence: finite }).nullable(), limit: finite, status: verdictStatus,
  })),
  notes: z.array(z.string()),
  verdict: z.looseObject({ status: verdictStatus, reasons: z.array(z.string()) }),
});

/** The first problem of a failed parse, as "field.path: what is wrong". */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  return `${path === '' ? '(document)' : path}: ${issue.message}`;
}

/** A parsed JSON value as a result document, or the first field that is wrong. */
export function parseResultDocument(value: unknown): { ok: true; doc: ResultDocument } | { ok: false; problem: string } {
  const parsed = resultDocumentSchema.safeParse(value);
  // The schema checks every field result.ts declares; what it passes through unchanged is that document.
  return parsed.success ? { ok: true, doc: parsed.data as unknown as ResultDocument } : { ok: false, problem: firstIssue(parsed.error) };
}

export function parseComparisonDocument(value: unknown): { ok: true; doc: ComparisonDocument } | { ok: false; problem: string } {
  const parsed = comparisonDocumentSchema.safeParse(value);
  return parsed.success ? { ok: true, doc: parsed.data as unknown as ComparisonDocument } : { ok: false, problem: firstIssue(parsed.error) };
}
