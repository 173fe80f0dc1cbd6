import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { DrillResult, ResultDocument } from '../../src/result.js';
import { runCli, type CliRun } from './helpers.js';

/**
 * Every local drill through the real HAProxy pair under load: `meshbench run` of test/fixtures/e2e-drills.yaml,
 * five rounds of 5 s of HTTP/1.1 at 500 req/s per variant, one event per round. What is asserted is what each
 * event must do to each path — never how fast anything is.
 */

const work = mkdtempSync(join(tmpdir(), 'meshbench-e2e-drills-'));
const out = join(work, 'out');
let run: CliRun;
let doc: ResultDocument;

beforeAll(async () => {
  run = await runCli(['run', join(packageRoot, 'test', 'fixtures', 'e2e-drills.yaml'), '--out', out]);
  doc = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as ResultDocument;
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function drill(action: string, mode?: string): DrillResult {
  const index = doc.scenario.events.findIndex((e) => e.action === action && (mode === undefined || (e.action === 'restart-sidecars' && e.mode === mode)));
  const d = doc.drills?.find((x) => x.event === index);
  if (d === undefined) throw new Error(`no drill ${action} ${mode ?? ''} in result.json`);
  return d;
}

describe('drills under load (e2e, real echo processes + real HAProxy mTLS pair)', () => {
  it('the run judges the events, writes every report, and leaves no process behind', () => {
    const why = `${run.stdout}\n${run.stderr}`;
    expect([0, 1, 2], why).toContain(run.code);
    expect({ 0: 'pass', 1: 'fail', 2: 'inconclusive' }[run.code ?? 3]).toBe(doc.verdict.status);
    expect(doc.drills?.map((d) => d.action)).toEqual(['restart-sidecars', 'restart-sidecars', 'rotate-certs', 'kill-echo', 'sidecar-pause']);
    for (const d of doc.drills ?? []) {
      expect(d.error, d.action).toBeUndefined();
      expect(d.round).toBe(d.event); // one event per round, as scheduled
      expect(Object.keys(d.variants)).toEqual(['unmeshed', 'meshed']); // side by side
      expect(d.variants['meshed']?.timeline.length).toBeGreaterThan(8); // 250 ms intervals, from 1 s before to the round's end
    }
    expect(doc.verdict.drills?.filter((c) => c.budget !== 'happened').length).toBe(7); // the fixture's budgets
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/^### event 5 · sidecar-pause \(both, 300 ms\) · http1 · round 5$/m);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toMatch(/<figure class="chart" id="drill-5"/);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/name="event 2 restart-sidecars round 2 meshed errors ≤ 0"/);
    expect(run.stdout).toMatch(/event 4 · kill-echo \(replica 1\) · http1 · round 4\s+unmeshed/);
    // Every process the run started — the first sidecars and echoes, and each one a drill replaced or started — is
    // gone. Checked by pid: other meshbench runs may share this machine.
    const facts = doc.environment.facts as { echoes: { pid: number }[]; sidecars: Record<string, { pid: number }> };
    const started = [
      ...facts.echoes.map((e) => e.pid), ...Object.values(facts.sidecars).map((s) => s.pid),
      ...(doc.drills ?? []).flatMap((d) => [
        ...((d.facts['sidecars'] ?? []) as { oldPid: number; newPid: number }[]).flatMap((x) => [x.oldPid, x.newPid]),
        ...[d.facts['oldPid'], d.facts['newPid']].filter((p): p is number => typeof p === 'number'),
      ]),
    ];
    expect(new Set(started).size).toBe(4 + 2 + 2 + 4 + 1); // 2 echoes and 2 sidecars; new sidecars: 2 reloaded, 2 restarted, 4 in the rotation; 1 new echo
    expect(started.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
  });

  it('hitless reload vs hard restart: only the meshed path is touched, and the hard restart refuses connections', () => {
    const hitless = drill('restart-sidecars', 'hitless');
    const hard = drill('restart-sidecars', 'hard');
    console.log(`hitless reload: meshed errors ${hitless.variants['meshed']?.errors} (${JSON.stringify(hitless.variants['meshed']?.errorsByKind)}), recovery ${hitless.variants['meshed']?.recoveryS} s; ` +
      `hard restart: meshed errors ${hard.variants['meshed']?.errors} (${JSON.stringify(hard.variants['meshed']?.errorsByKind)}), recovery ${hard.variants['meshed']?.recoveryS} s`);
    for (const d of [hitless, hard]) {
      expect(d.variants['unmeshed']?.errors).toBe(0);
      for (const s of d.facts['sidecars'] as { oldPid: number; newPid: number }[]) expect(s.newPid).not.toBe(s.oldPid);
    }
    expect(hard.variants['meshed']?.errorsByKind.connect ?? 0).toBeGreaterThan(0);
    expect(hard.variants['meshed']?.errors ?? 0).toBeGreaterThan(hitless.variants['meshed']?.errors ?? 0);
  });

  it('rotate-certs: a new CA rolled out in two stages, the unmeshed path untouched', () => {
    const d = drill('rotate-certs');
    console.log(`rotate-certs: meshed errors ${d.variants['meshed']?.errors}, recovery ${d.variants['meshed']?.recoveryS} s, action ${d.actionMs} ms`);
    expect(d.facts['caSubject']).toBe('CN=meshbench run CA 2,O=meshbench');
    expect((d.facts['sidecars'] as unknown[]).length).toBe(4);
    expect(d.variants['unmeshed']?.errors).toBe(0);
  });

  it('kill-echo: the unmeshed connections to the dead replica are refused; the meshed ones go through the sidecars', () => {
    const d = drill('kill-echo');
    console.log(`kill-echo: unmeshed errors ${JSON.stringify(d.variants['unmeshed']?.errorsByKind)}, meshed errors ${JSON.stringify(d.variants['meshed']?.errorsByKind)}, ` +
      `meshed peak p99 ${((d.variants['meshed']?.peakP99Us ?? 0) / 1000).toFixed(1)} ms, restart ${d.actionMs} ms`);
    expect(d.variants['unmeshed']?.errorsByKind.connect ?? 0).toBeGreaterThan(0);
    expect(d.facts['newPid']).not.toBe(d.facts['oldPid']);
  });

  it('sidecar-pause: meshed requests wait out the pause and none fails; the unmeshed ones never wait for it', () => {
    const d = drill('sidecar-pause');
    const meshed = d.variants['meshed'];
    console.log(`sidecar-pause 300 ms: meshed errors ${meshed?.errors}, peak p99 ${((meshed?.peakP99Us ?? 0) / 1000).toFixed(1)} ms, recovery ${meshed?.recoveryS} s`);
    expect(meshed?.errors).toBe(0);
    expect(meshed?.maxUs ?? 0).toBeGreaterThanOrEqual(250_000);
    expect(d.variants['unmeshed']?.errors).toBe(0);
  });
});
