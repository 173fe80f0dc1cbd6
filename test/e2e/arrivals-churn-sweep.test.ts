import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument, VariantResult } from '../../src/result.js';
import type { SweepDocument } from '../../src/sweep-record.js';
import { runCli } from './helpers.js';

// The shipped examples (scenarios/arrivals.yaml, churn.yaml, sweep.yaml), run as a user runs them, through the real
// echo processes and the real HAProxy mTLS sidecar pair. Behaviour is asserted, not speed: verdicts may be
// inconclusive on a busy machine (exit 2), so these check what was sent, recorded and found.
const scenario = (name: string): string => join(packageRoot, 'scenarios', `${name}.yaml`);
const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-load-shapes-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const due = (v: VariantResult): number => v.count + v.errors + v.dropped;

describe('arrivals, churn and sweep (e2e, real echo processes + real HAProxy mTLS pair)', () => {
  it('arrivals: poisson http1 and staged websocket, both variants driven by the same seeded arrivals', async () => {
    const out = join(work, 'arrivals');
    const run = await runCli(['run', scenario('arrivals'), '--out', out, '--quiet']);
    expect([0, 1, 2], run.stderr).toContain(run.code);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(doc.proofs.every((p) => p.ok)).toBe(true);
    const [http1, ws] = doc.protocols;
    expect(http1?.name).toBe('http1');
    expect(ws?.name).toBe('websocket');
    for (const p of [http1, ws]) {
      const unmeshed = p?.variants.unmeshed as VariantResult;
      const meshed = p?.variants.meshed as VariantResult;
      expect(unmeshed.count).toBeGreaterThan(0);
      expect(meshed.count).toBeGreaterThan(0);
      // the lanes share the seed: the same arrivals, half a gap apart — so the same number due in the window (±2)
      expect(Math.abs(due(unmeshed) - due(meshed))).toBeLessThanOrEqual(2);
      expect(meshed.rounds.every((r) => (r.intendedRateHz ?? 0) > 0)).toBe(true);
    }
    // poisson at a mean 500 req/s for 3 s: its own draw, within 4 sd of 1500
    expect(Math.abs(due(http1?.variants.meshed as VariantResult) - 1500)).toBeLessThan(4 * Math.sqrt(1500));
    // the websocket's rounds follow the stages: ≈ 740, 550, 300 req/s intended (the ramp's end, the step down, the last hold)
    const intended = (ws?.variants.unmeshed as VariantResult).rounds.map((r) => r.intendedRateHz ?? 0);
    expect(intended[0]).toBeGreaterThan(650);
    expect(intended[1]).toBeGreaterThan(450);
    expect(intended[1]).toBeLessThan(650);
    expect(intended[2]).toBeGreaterThan(250);
    expect(intended[2]).toBeLessThan(350);
  });

  it('churn: every new connection is timed apart from request latency; the meshed path pays handshakes the unmeshed does not', async () => {
    const out = join(work, 'churn');
    const run = await runCli(['run', scenario('churn'), '--out', out, '--quiet']);
    expect([0, 1, 2], run.stderr).toContain(run.code);
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    const p = doc.protocols[0];
    const beyondConnect = (v: VariantResult): number => {
      const c = v.churn!;
      return c.firstResponseUs.p50 - c.connectUs.p50 - v.serviceLatencyUs.p50;
    };
    for (const name of ['unmeshed', 'meshed']) {
      const v = p?.variants[name] as VariantResult;
      // 400 req/s × 3 s, a new connection every 10 requests on each of 8 connections: each connection's share of the
      // window's requests ÷ 10, give or take one per connection at the window's edges
      expect(v.churn?.opened, name).toBeGreaterThanOrEqual(Math.floor(due(v) / 10) - 8);
      expect(v.churn?.opened, name).toBeLessThanOrEqual(Math.ceil(due(v) / 10) + 8);
      expect(v.churn?.firstResponseUs.count, name).toBe(v.churn?.opened);
      expect(v.churn?.connectUs.count, name).toBe(v.churn?.opened);
    }
    const unmeshed = beyondConnect(p?.variants.unmeshed as VariantResult);
    const meshed = beyondConnect(p?.variants.meshed as VariantResult);
    // beyond the client's own connect, a new connection's first response costs the meshed path its sidecars' TCP and
    // mTLS handshakes (≈ 1–4 ms measured); the unmeshed path nothing more than a request
    expect(meshed - unmeshed).toBeGreaterThan(300);
    expect(meshed).toBeGreaterThan(2 * Math.max(unmeshed, 100));
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('Connection churn');
  });

  it('sweep: finds the knee of a target whose capacity is known (2 replicas × one 20 ms worker = 100 req/s), per variant', async () => {
    const out = join(work, 'sweep');
    const run = await runCli(['sweep', scenario('sweep'), '--out', out, '--quiet']);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const doc = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8')) as SweepDocument;
    expect(doc.kind).toBe('meshbench-sweep');
    for (const name of ['unmeshed', 'meshed']) {
      const v = doc.protocols[0]?.variants[name];
      const knee = v?.knee;
      // held below capacity, broke above it: the knee is bracketed around 100 req/s
      expect(knee?.holdsUpToHz, name).toBeGreaterThanOrEqual(60);
      expect(knee?.holdsUpToHz, name).toBeLessThanOrEqual(110);
      expect(knee?.breaksAtHz, name).toBeGreaterThanOrEqual(90);
      expect(knee?.breaksAtHz, name).toBeLessThanOrEqual(150);
      // the curve: a step per rate tried, each with its p99 interval; above the knee p99 is past the budget
      expect(v?.steps.every((s) => s.count > 0 && s.p99IntervalUs !== null)).toBe(true);
    }
    expect(run.stdout).toMatch(/^http1: unmeshed holds p99 ≤ 100 ms up to [\d.]+ req\/s \(breaks at [\d.]+\), meshed up to [\d.]+ req\/s \(breaks at [\d.]+\) \([+−]?\d+ %, [+−]?\d+ % to [+−]?\d+ %\)$/m);
    expect(readFileSync(join(out, 'sweep.md'), 'utf8')).toContain('| unmeshed |');
  });
});
