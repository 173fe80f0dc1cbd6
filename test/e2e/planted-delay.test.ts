import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument } from '../../src/result.js';
import { runCli, type CliRun } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-planted-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface JunitCase { '@name': string; failure?: { '@message': string } }

describe('a planted delay on the meshed path (e2e, real echo processes + real HAProxy mTLS pair)', () => {
  it('+1 ms on every meshed response: the 0.5 ms P99 overhead budget fails (exit 1), and the p50 overhead shows the 1 ms', async () => {
    // A run is never a pass. On a busy machine the P99 intervals can be too wide to decide (exit 2,
    // inconclusive): then another attempt (at most three; on a quiet machine the first decides).
    let attempt = 0;
    let out = '';
    let run: CliRun | undefined;
    let doc: ResultDocument | undefined;
    do {
      attempt++;
      out = join(work, `planted-${attempt}`);
      run = await runCli(['run', join(packageRoot, 'test', 'fixtures', 'e2e-planted-delay.yaml'), '--out', out]);
      doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
      expect(doc.verdict.status, `attempt ${attempt}`).not.toBe('pass');
      if (run.code === 2) console.log(`attempt ${attempt} undecided (a busy machine): ${doc.verdict.reasons.join('; ')}`);
    } while (run.code === 2 && attempt < 3);
    const reasons = `${run.stdout}\n${run.stderr}`;
    expect(run.code, reasons).toBe(1);
    expect(doc.verdict.status).toBe('fail');
    expect(doc.environment.facts['plantedDelayMs']).toBe(1);

    const check = doc.verdict.checks.find((c) => c.budget === 'p99OverheadMs');
    expect(check, reasons).toMatchObject({ protocol: 'http1', variant: 'meshed', limit: 0.5, status: 'fail' });
    const junit = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', isArray: (n) => n === 'testcase' })
      .parse(readFileSync(join(out, 'junit.xml'), 'utf8')) as { testsuites: { testsuite: { testcase: JunitCase[] } } };
    const failed = junit.testsuites.testsuite.testcase.find((c) => c['@name'] === 'meshed P99 overhead ≤ 0.5 ms');
    expect(failed?.failure?.['@message']).toMatch(/^http1\/meshed: P99 overhead [\d.]+ ms \[[\d.]+, [\d.]+\] \(95 %\) > budget 0\.500 ms$/);

    // the planted 1 ms plus the sidecar pair's own ≈ 0.2 ms at p50
    const p50OverheadMs = (doc.protocols[0]?.overhead['meshed']?.p50Us ?? NaN) / 1000;
    console.log(`planted +1 ms: measured p50 overhead ${p50OverheadMs.toFixed(3)} ms, p99 overhead ${check?.actual.toFixed(3)} ms [${check?.interval?.low.toFixed(3)}, ${check?.interval?.high.toFixed(3)}]`);
    // At least the planted 1 ms shows. How close to it the p50 comes is a figure of the machine, not a bound here: 1.02–1.07
    // ms on a quiet VM, 1.6–5.3 ms on one whose host steals CPU (README, The verdict) — speed belongs in bench.
    expect(p50OverheadMs).toBeGreaterThanOrEqual(0.9);
    // the unmeshed echo is untouched: its fastest response is far below 1 ms, the meshed one's is not
    expect(doc.protocols[0]?.variants['unmeshed']?.latencyUs.min).toBeLessThan(900);
    expect(doc.protocols[0]?.variants['meshed']?.latencyUs.min).toBeGreaterThanOrEqual(1000);

    // a calibration run says so, first
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/^> \*\*CALIBRATION RUN: a delay of 1 ms was planted on the meshed path/m);
    expect(run.stdout).toMatch(/CALIBRATION RUN/);
  });
});
