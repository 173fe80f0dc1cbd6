import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument } from '../../src/result.js';
import type { ComparisonDocument } from '../../src/verdict/compare.js';
import { runCli, startCli } from './helpers.js';

const fixture = (name: string) => join(packageRoot, 'test', 'fixtures', name);
const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-aa-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** One protocol, short rounds: cheap, but enough rounds (and requests per round) for the between-round t interval. */
function scenario(path: string): string {
  const file = join(work, `gate-${path.replace(/\W/g, '')}.yaml`);
  writeFileSync(file, [
    'name: e2e-gate',
    'rounds: 4',
    'protocols:',
    '  - { name: http1, rateHz: 400, connections: 16, durationS: 1, warmupS: 0.2, path: "' + path + '" }',
    'budgets: { p99OverheadMs: 2000, errorRateOverhead: 0.05 }', // 1600 requests per variant cannot resolve the default 0.1 %
    'validity: { maxErrorRate: 0.05, minAchievedRateRatio: 0.5, maxLateShare: 1 }',
  ].join('\n'));
  return file;
}

describe('run --aa and compare (e2e, real echo processes + real HAProxy pair)', () => {
  // Whether an A/A run passes is the measurement itself: it drives two real echo processes, both directly, and
  // two identical processes do differ now and then (2 of 5 quickstart A/A runs on the 2-core class failed). So
  // this checks the machinery: the A/A shape, one interval per check, the exit code and CI files agreeing with it.
  it('run --aa: both variants drive their own echo directly, each check an A/A interval, exit code and CI files agree', async () => {
    const out = join(work, 'aa');
    const stepSummary = join(work, 'step-summary.md');
    writeFileSync(stepSummary, '# earlier step\n');
    const run = await startCli(['run', fixture('e2e-short.yaml'), '--aa', '--out', out, '--quiet'], { GITHUB_STEP_SUMMARY: stepSummary }).done;
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(doc.aa).toBe(true);
    expect(['pass', 'fail']).toContain(doc.verdict.status);
    expect(run.code, run.stderr + run.stdout).toBe(doc.verdict.status === 'pass' ? 0 : 1);
    expect(doc.environment.facts['aa']).toMatch(/its own workload directly/);
    expect(doc.proofs.every((p) => p.ok && p.expect.kind === 'none' && p.marker === null)).toBe(true); // both direct
    expect(doc.verdict.checks.map((c) => `${c.protocol}:${c.budget}`)).toEqual(['http1', 'grpc-bidi', 'websocket'].map((p) => `${p}:p99OverheadZero`));
    for (const c of doc.verdict.checks) {
      expect(c.interval).not.toBeNull();
      const containsZero = c.interval !== null && c.interval.low <= 0 && c.interval.high >= 0;
      expect(c.status).toBe(containsZero ? 'pass' : 'fail');
    }
    expect(doc.protocols.every((p) => p.variants.meshed?.proxies.length === 0)).toBe(true); // no sidecar on the path

    const junit = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(XMLValidator.validate(junit)).toBe(true);
    const failed = doc.verdict.checks.filter((c) => c.status === 'fail').length;
    expect(junit).toMatch(new RegExp(`<testsuites name="meshbench e2e-short" tests="6" failures="${failed}" errors="0"`));
    const summary = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(summary).toMatch(new RegExp(`^### meshbench e2e-short \\(A/A\\): ${doc.verdict.status.toUpperCase()}`));
    expect(readFileSync(stepSummary, 'utf8')).toBe(`# earlier step\n${summary}\n`); // appended, not replaced
  });

  it('compare catches a regression planted with the echo\'s ?delayMs= (exit 1), and refuses a non-result (exit 3)', async () => {
    const base = join(work, 'base');
    const cand = join(work, 'cand');
    const baseline = await runCli(['run', scenario('/'), '--out', base, '--quiet']);
    expect(baseline.code, baseline.stderr + baseline.stdout).toBe(0);
    const candidate = await runCli(['run', scenario('/?delayMs=20'), '--out', cand, '--quiet']);
    expect(candidate.code, candidate.stderr + candidate.stdout).toBe(0); // its own budgets still hold
    const out = join(work, 'compare');
    const compare = await runCli(['compare', join(base, 'result.json'), cand, '--out', out, '--json']);
    expect(compare.code, compare.stderr + compare.stdout).toBe(1);
    const doc = JSON.parse(readFileSync(join(out, 'comparison.json'), 'utf8')) as ComparisonDocument;
    expect(JSON.parse(compare.stdout)).toEqual(doc);
    expect(doc.verdict.status).toBe('fail');
    // Both variants got 20 ms slower: caught in at least one, and in neither called "no regression". (One
    // spiky round on a busy machine can widen one interval past the tolerance: that one is then inconclusive.)
    const p99 = doc.checks.filter((c) => c.figure === 'p99Ms');
    expect(p99.map((c) => c.variant)).toEqual(['unmeshed', 'meshed']);
    expect(p99.some((c) => c.status === 'fail' && c.interval !== null && c.interval.low > 0.5)).toBe(true);
    expect(p99.every((c) => c.status !== 'pass' && c.change > 10)).toBe(true);
    expect(doc.notes).toContain('http1.path: "/" → "/?delayMs=20"');
    expect(XMLValidator.validate(readFileSync(join(out, 'junit.xml'), 'utf8'))).toBe(true);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/<failure message="http1\/unmeshed: P99 [\d.]+ → [\d.]+ ms, change \+[\d.]+ ms \[\+[\d.]+, \+[\d.]+\] \(95 %\) &gt; tolerance 0\.500 ms" type="regression">/);

    const bogus = join(work, 'bogus.json');
    writeFileSync(bogus, JSON.stringify({ hello: 'world' }));
    const bad = await runCli(['compare', join(base, 'result.json'), bogus]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/not a meshbench result document .*\[MB_INCOMPATIBLE_RESULTS\]/);
    const v2 = join(work, 'v2.json');
    writeFileSync(v2, JSON.stringify({ ...(JSON.parse(readFileSync(join(cand, 'result.json'), 'utf8')) as object), schemaVersion: 3 }));
    const mismatch = await runCli(['compare', join(base, 'result.json'), v2]);
    expect(mismatch.code).toBe(3);
    expect(mismatch.stderr).toMatch(/v2\.json: result schema version 3; this meshbench reads version 2/); // read and checked before comparing
  });
});
