import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/config/load.js';
import { isMeshbenchError } from '../../src/errors.js';
import type { ResultDocument } from '../../src/result.js';
import { compareRuns } from '../../src/run/judge.js';
import { QUICKSTART_MODEL, syntheticDocument, syntheticProtocol, type NoiseModel } from '../fixtures/noise-model.js';

// The shape these comparisons were calibrated in (4 rounds × 6 s); the quickstart now runs 8 × 3 s of the same time.
const QUIET: NoiseModel = { ...QUICKSTART_MODEL, rounds: 4, durationS: 6, stallsPerS: 2 };
const scenario = (extra: Record<string, unknown> = {}) =>
  parseScenario({ name: 'gate', rounds: 3, protocols: [{ name: 'http1', rateHz: 1000, durationS: 3 }], budgets: { p99OverheadMs: 3 }, ...extra }, 'test');
const doc = (model: NoiseModel, seed: number, extra: Record<string, unknown> = {}) => syntheticDocument([syntheticProtocol(model, seed)], scenario(extra));
const options = { toleranceMs: 0.5, toleranceRatio: 0, baselinePath: 'base.json', candidatePath: 'cand.json' };

describe('meshbench compare', () => {
  it('finds a planted regression of the meshed path (+2 ms) in P99 and overhead, not in the unmeshed P99', () => {
    const c = compareRuns(doc(QUIET, 1), doc({ ...QUIET, meshedExtraUs: 2000 }, 2), options);
    expect(c.verdict.status).toBe('fail');
    const by = (variant: string, figure: string) => c.checks.find((x) => x.variant === variant && x.figure === figure);
    expect(by('meshed', 'p99OverheadMs')?.status).toBe('fail');
    expect(by('meshed', 'p99Ms')?.status).toBe('fail');
    expect(by('unmeshed', 'p99Ms')?.status).not.toBe('fail');
    expect(c.verdict.reasons.some((r) => /^regressed: http1\/meshed: P99 overhead .* > tolerance 0\.500 ms/.test(r))).toBe(true);
  });

  it('does not call a rerun of the same thing a regression', () => {
    let fails = 0;
    for (let seed = 1; seed <= 20; seed++) if (compareRuns(doc(QUIET, seed), doc(QUIET, seed + 100), options).verdict.status === 'fail') fails++;
    expect(fails).toBeLessThanOrEqual(1);
  });

  it('passes a rerun on a quiet machine, and the ratio tolerance adds to the ms one', () => {
    const still: NoiseModel = { ...QUIET, stallsPerS: 0.2 };
    const c = compareRuns(doc(still, 3), doc(still, 4), { ...options, toleranceMs: 0.2, toleranceRatio: 0.5 });
    expect(c.checks.every((x) => x.limit > 0.2)).toBe(true);
    expect(c.verdict.status).toBe('pass');
  });

  it('an invalid candidate is inconclusive, whatever the figures', () => {
    const candidate = doc({ ...QUIET, meshedExtraUs: 2000 }, 2);
    const round = candidate.protocols[0]?.variants.meshed?.rounds[0];
    if (round !== undefined) round.errors = 1000;
    const c = compareRuns(doc(QUIET, 1), candidate, options);
    expect(c.verdict.status).toBe('inconclusive');
    expect(c.verdict.reasons[0]).toMatch(/^invalid: candidate: http1\/meshed round 1/);
  });

  const incompatible: [string, (d: ResultDocument) => ResultDocument, RegExp][] = [
    ['another schema version', (d) => ({ ...d, schemaVersion: 3 as 2 }), /candidate: result schema version 3; this meshbench reads version 2/],
    ['another scenario', (d) => ({ ...d, scenario: { ...d.scenario, name: 'other' } }), /different scenarios: baseline "gate", candidate "other"/],
    ['other protocols', (d) => ({ ...d, protocols: [] }), /different protocols/],
    ['another load', (d) => ({ ...d, scenario: scenario({ protocols: [{ name: 'http1', rateHz: 500 }] }) }), /http1: different load — rateHz 1000 in the baseline, 500 in the candidate/],
    ['an A/A run against a normal one', (d) => ({ ...d, aa: true }), /one result is an A\/A run/],
  ];
  it.each(incompatible)('refuses %s (MB_INCOMPATIBLE_RESULTS, exit 3)', (_label, change, problem) => {
    const base = doc(QUIET, 1);
    try {
      compareRuns(base, change(doc(QUIET, 2)), options);
      expect.unreachable();
    } catch (err) {
      expect(isMeshbenchError(err) && err.code).toBe('MB_INCOMPATIBLE_RESULTS');
      expect(isMeshbenchError(err) ? err.problems.join('\n') : '').toMatch(problem);
    }
  });

  it('records allowed differences (rounds, path) as notes', () => {
    const c = compareRuns(doc(QUIET, 1), doc(QUIET, 2, { rounds: 4, protocols: [{ name: 'http1', rateHz: 1000, durationS: 3, path: '/?delayMs=2' }] }), options);
    expect(c.notes).toEqual(expect.arrayContaining(['rounds: 3 → 4', 'http1.path: "/" → "/?delayMs=2"']));
  });
});
