import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEnv, type LocalEnv } from '../../src/envs/local/index.js';
import type { ResultDocument } from '../../src/result.js';
import { runCli } from './helpers.js';

/**
 * `meshbench ab` between the local unmeshed echo and the same kind of echo behind the HAProxy mTLS pair: the
 * machinery (files, document, exit code agreeing with the verdict, `compare` accepting the result), not the
 * outcome of a measurement on a shared machine.
 */

let env: LocalEnv;
let dir: string;
beforeAll(async () => {
  env = await startLocalEnv({ kind: 'local', haproxy: 'haproxy', sidecarMode: 'http', plantedDelayMs: 0, hops: 1, sidecars: 'both' }, ['http1']);
  dir = mkdtempSync(join(tmpdir(), 'meshbench-ab-'));
});
afterAll(async () => {
  await env?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const target = (variant: string): string => env.variants.find((v) => v.name === variant)?.targets.http1 ?? '';
const EXIT_OF = { pass: 0, fail: 1, inconclusive: 2 } as const;

describe('meshbench ab <unmeshed> <meshed>', () => {
  it('with a budget: result.json, report, .hlogs and junit as run writes them; exit code = verdict; compare accepts it', async () => {
    const out = join(dir, 'budget');
    const r = await runCli(['ab', target('unmeshed'), target('meshed'), '-r', '400', '-c', '4', '-d', '3', '--rounds', '3', '--warmup', '0.5', '--budget-p99-ms', '20', '--out', out, '-q']);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(r.code).toBe(EXIT_OF[doc.verdict.status]);
    expect(doc.scenario.name).toBe('ab');
    expect(doc.scenario.adHoc).toBe(true);
    expect(doc.scenario.pairing).toBe('time');
    expect(doc.scenario.budgets.p99OverheadMs).toBe(20);
    expect(doc.environment.kind).toBe('static');
    const http1 = doc.protocols.find((p) => p.name === 'http1');
    expect(http1?.variants['unmeshed']?.count).toBeGreaterThan(0);
    expect(http1?.variants['meshed']?.count).toBeGreaterThan(0);
    expect(http1?.variants['meshed']?.rounds).toHaveLength(3);
    expect(doc.verdict.checks.some((c) => c.budget === 'p99OverheadMs' && c.limit === 20)).toBe(true);
    for (const f of ['report.md', 'summary.md', 'junit.xml', 'http1.unmeshed.hlog', 'http1.meshed.hlog']) expect(existsSync(join(out, f))).toBe(true);
    // The difference, with its interval, for p50, p99, p99.9 and errors.
    expect(r.stdout).toMatch(/http1: B − A/);
    for (const row of ['p50 ms', 'p99 ms', 'p99.9 ms', 'errors']) expect(r.stdout).toMatch(new RegExp(`${row.replace('.', '\\.')} .*\\[`));
    const cmp = await runCli(['compare', out, out, '--out', join(dir, 'cmp')]);
    expect(cmp.code).not.toBe(3);
    expect(existsSync(join(dir, 'cmp', 'comparison.json'))).toBe(true);
  });

  it('without a budget: the differences are measured, not judged (inconclusive), and a valid run exits 0', async () => {
    const out = join(dir, 'nobudget');
    const r = await runCli(['ab', target('unmeshed'), target('meshed'), '-r', '300', '-c', '2', '-d', '3', '--rounds', '3', '--warmup', '0.3', '--out', out, '-q']);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(doc.verdict.status).toBe('inconclusive');
    expect(doc.verdict.reasons.join('\n')).toMatch(/no latency budget/);
    expect(r.code).toBe(doc.verdict.validity.length === 0 ? 0 : 2);
  });

  it('rounds under 1 s are bad input naming -d', async () => {
    const r = await runCli(['ab', target('unmeshed'), target('meshed'), '-d', '2', '--rounds', '4']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/give -d ≥ 4/);
  });
});
