import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHlog } from '../../src/histograms/index.js';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument } from '../../src/result.js';
import { meshbenchChildren, runCli, startCli } from './helpers.js';

const fixture = (name: string) => join(packageRoot, 'test', 'fixtures', name);
const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('meshbench run (e2e, real echo processes + real HAProxy mTLS pair)', () => {
  it('runs all three protocols meshed and unmeshed, proves the path, writes the three outputs and passes', async () => {
    const out = join(work, 'short');
    const tmp = mkdtempSync(join(work, 'tmp-'));
    const run = await startCli(['run', fixture('e2e-short.yaml'), '--out', out, '--json'], { TMPDIR: tmp }).done;
    expect(run.code, run.stderr).toBe(0);

    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(JSON.parse(run.stdout)).toEqual(doc); // --json prints result.json
    expect(doc.schemaVersion).toBe(2);
    expect(doc.verdict.status).toBe('pass');
    expect(doc.verdict.reasons.length).toBeGreaterThan(0);
    expect(doc.protocols.map((p) => p.name)).toEqual(['http1', 'grpc-bidi', 'websocket']);
    for (const p of doc.protocols) {
      for (const name of ['unmeshed', 'meshed']) {
        const v = p.variants[name];
        expect(v, `${p.name}/${name}`).toBeDefined();
        if (v === undefined) continue;
        expect(v.count).toBeGreaterThan(100); // 3 rounds × 1 s × 200 req/s = 600 intended
        expect(v.errors).toBe(0);
        expect(v.achievedRateHz).toBeGreaterThan(0);
        expect(v.rounds).toHaveLength(3);
        const l = v.latencyUs;
        expect(l.p50).toBeGreaterThan(0);
        expect(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max).toBe(true);
      }
      // the sidecars' cost is recorded with every result
      expect(p.variants.meshed?.proxies.map((x) => x.name).sort()).toEqual(['client-sidecar', 'server-sidecar']);
      expect(p.variants.meshed?.proxies.every((x) => x.peakRssBytes > 0)).toBe(true);
      expect(p.variants.unmeshed?.proxies).toEqual([]);
    }
    // the meshed path was proven meshed (client certificate seen by the echo), the unmeshed one not
    expect(doc.proofs.filter((p) => p.variant === 'meshed').every((p) => p.ok && p.marker !== null && p.marker.includes('Subject='))).toBe(true);
    expect(doc.proofs.filter((p) => p.variant === 'unmeshed').every((p) => p.ok && p.marker === null)).toBe(true);
    expect(doc.environment.facts).toHaveProperty('haproxy');

    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/Verdict: PASS/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<div class="banner pass" role="status">');
    // one untagged .hlog per protocol × variant, holding every recorded latency of it (responses, and requests
    // the window ended on before they were sent, recorded as late)
    for (const p of doc.protocols) {
      for (const variant of ['unmeshed', 'meshed']) {
        const log = readHlog(readFileSync(join(out, `${p.name}.${variant}.hlog`), 'utf8'));
        expect(log.every((h) => h.tag === null)).toBe(true);
        expect(log.reduce((n, h) => n + h.histogram.totalCount, 0)).toBe((p.variants[variant]?.count ?? NaN) + (p.variants[variant]?.dropped ?? NaN));
      }
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.hlog'))).toHaveLength(6);
    expect(readdirSync(tmp)).toEqual([]); // certificates and configs removed
  });

  it('fails (exit 1) when a budget is exceeded', async () => {
    const out = join(work, 'fail');
    const scenario = join(work, 'tight.yaml');
    const text = readFileSync(fixture('e2e-short.yaml'), 'utf8').replace('p99Ms: 2000', 'p99Ms: 0.001').replace(/rounds: 3/, 'rounds: 1');
    await writeFile(scenario, text);
    const run = await runCli(['run', scenario, '--out', out]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/verdict: FAIL/);
    expect(run.stdout).toMatch(/over budget: http1\/unmeshed: P99 .* > budget 0\.001 ms/);
  });

  it('rejects a broken scenario with exit 3, one line per problem, and starts nothing', async () => {
    const before = meshbenchChildren();
    const run = await runCli(['run', fixture('bad-scenario.yaml')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/protocols\[0\]\.rateHz: /);
    expect(run.stderr).toMatch(/protocols\[0\]: unknown field "conections"/);
    expect(run.stderr).toMatch(/protocols\[1\]\.name: must be one of/);
    expect(run.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(meshbenchChildren().size).toBe(before.size);
  });

  it('haproxy missing: exit 4 with the install command, nothing left running', async () => {
    const scenario = join(work, 'no-haproxy.yaml');
    await writeFile(scenario, 'name: no-haproxy\nenv:\n  kind: local\n  haproxy: haproxy-does-not-exist\nprotocols:\n  - name: http1\nbudgets:\n  p99Ms: 5\n');
    const before = meshbenchChildren().size;
    const run = await runCli(['run', scenario, '--out', join(work, 'no-haproxy')]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(/apt-get install -y haproxy/);
    expect(run.stderr).toMatch(/MB_MISSING_DEPENDENCY/);
    expect(meshbenchChildren().size).toBe(before);
  });

  it('Ctrl-C mid-run leaves no haproxy or echo process and no temp dir, and is never a pass', async () => {
    const tmp = mkdtempSync(join(work, 'tmp-'));
    const out = join(work, 'interrupted');
    const before = new Set(meshbenchChildren().keys());
    const { child, done } = startCli(['run', fixture('e2e-interrupt.yaml'), '--out', out], { TMPDIR: tmp });
    // wait until the pair is up and load is running
    const started = Date.now();
    while (Date.now() - started < 30_000) {
      const ours = [...meshbenchChildren().keys()].filter((pid) => !before.has(pid));
      if (ours.length >= 4 && readdirSync(tmp).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const during = [...meshbenchChildren().keys()].filter((pid) => !before.has(pid));
    expect(during.length).toBe(4); // two echo processes, two haproxy sidecars
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGINT');
    const run = await done;
    expect(run.code, run.stderr).toBe(2);
    const after = [...meshbenchChildren().keys()].filter((pid) => !before.has(pid));
    expect(after).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    // what was measured before the interrupt is still written, marked interrupted
    const doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
    expect(doc.verdict.status).toBe('inconclusive');
    expect(doc.interrupted).toBe(true);
    expect(doc.verdict.reasons[0]).toMatch(/interrupted/);
  });
});
