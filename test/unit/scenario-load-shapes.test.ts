import { describe, expect, it } from 'vitest';
import { parseScenarioText } from '../../src/config/load.js';
import { arrivalsSpec } from '../../src/load/spec.js';
import { problemsOf } from '../scenario-problems.js';

const head = 'name: t\nbudgets: { p99Ms: 5 }\nprotocols:\n  - name: http1\n';

describe('scenario: arrivals, churn and sweep', () => {
  it('defaults to constant arrivals and no churn; takes poisson and stages', () => {
    const s = parseScenarioText(head, 't.yaml');
    expect(s.protocols[0]?.arrivals).toEqual({ kind: 'constant' });
    expect(s.protocols[0]?.churn).toBeUndefined();
    const p = parseScenarioText(`${head}    arrivals: { kind: poisson }\n`, 't.yaml');
    expect(p.protocols[0]?.arrivals).toEqual({ kind: 'poisson', seed: 1 });
    const st = parseScenarioText(`${head}    arrivals: { kind: stages, stages: [{ durationS: 2, targetRateHz: 500 }, { durationS: 0, targetRateHz: 100 }] }\n`, 't.yaml');
    expect(st.protocols[0]?.arrivals).toEqual({ kind: 'stages', startRateHz: 0, gaps: 'even', seed: 1, stages: [{ durationS: 2, targetRateHz: 500 }, { durationS: 0, targetRateHz: 100 }] });
    // what the loop is given: stage durations in ms
    expect(arrivalsSpec(st.protocols[0]!.arrivals)).toMatchObject({ stages: [{ durationMs: 2000, targetRateHz: 500 }, { durationMs: 0, targetRateHz: 100 }] });
  });

  it.each([
    ['unknown arrivals kind', `${head}    arrivals: { kind: bursty }\n`, /^protocols\[0\]\.arrivals\.kind: /],
    ['poisson with a negative seed', `${head}    arrivals: { kind: poisson, seed: -1 }\n`, /^protocols\[0\]\.arrivals\.seed: /],
    ['stages without stages', `${head}    arrivals: { kind: stages }\n`, /^protocols\[0\]\.arrivals\.stages: /],
    ['a stage with a negative rate', `${head}    arrivals: { kind: stages, stages: [{ durationS: 1, targetRateHz: -5 }] }\n`, /^protocols\[0\]\.arrivals\.stages\[0\]\.targetRateHz: /],
    ['stages that never leave 0', `${head}    arrivals: { kind: stages, stages: [{ durationS: 1, targetRateHz: 0 }] }\n`, /^protocols\[0\]\.arrivals\.stages: every rate is 0/],
    ['arrivals with a closed loop', `${head}    model: closed\n    arrivals: { kind: poisson }\n`, /^protocols\[0\]\.arrivals\.kind: "poisson" arrivals are an open-loop schedule/],
    ['churn on gRPC', 'name: t\nbudgets: { p99Ms: 5 }\nprotocols:\n  - name: grpc-bidi\n    churn: { everyRequests: 5 }\n', /^protocols\[0\]\.churn: connection churn is built for http1/],
    ['churn with both', `${head}    churn: { everyRequests: 5, rateHz: 3 }\n`, /^protocols\[0\]\.churn: give exactly one of everyRequests/],
    ['churn with neither', `${head}    churn: {}\n`, /^protocols\[0\]\.churn: give exactly one/],
    ['churn every 0 requests', `${head}    churn: { everyRequests: 0 }\n`, /^protocols\[0\]\.churn\.everyRequests: /],
    ['sweep without a step', `${head}sweep: { startRateHz: 100, maxRateHz: 200 }\n`, /^sweep: give exactly one of stepRateHz/],
    ['sweep max below start', `${head}sweep: { startRateHz: 300, stepRateHz: 10, maxRateHz: 200 }\n`, /^sweep\.maxRateHz: must be at least startRateHz/],
    ['sweep without a P99 budget', 'name: t\nbudgets: { p99OverheadMs: 5 }\nprotocols:\n  - name: http1\nsweep: { startRateHz: 100, stepRateHz: 10, maxRateHz: 200 }\n', /^sweep\.p99Ms: a sweep needs the P99 budget/],
    ['sweep of a closed loop', `${head}    model: closed\nsweep: { startRateHz: 100, stepRateHz: 10, maxRateHz: 200 }\n`, /^protocols\[0\]\.model: a sweep steps the open-loop rate/],
    ['sweep with a step factor ≤ 1', `${head}sweep: { startRateHz: 100, stepFactor: 1, maxRateHz: 200 }\n`, /^sweep\.stepFactor: /],
  ])('rejects %s, naming the field path', (_name, text, want) => {
    const problems = problemsOf(text);
    expect(problems.some((p) => want.test(p)), problems.join('\n')).toBe(true);
  });
});
