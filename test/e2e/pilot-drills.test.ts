import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { PilotSummary, WindowRecord } from '../../src/pilot-record.js';
import { readPilot } from '../../src/pilot/store.js';
import type { DrillResult } from '../../src/result.js';
import { runCli, startCli, type CliRun } from './helpers.js';

/**
 * Drills inside a pilot's windows, through the real HAProxy mTLS pair: test/fixtures/e2e-pilot-drills.yaml (4 s
 * windows; a hitless reload in window 2, a 500 ms sidecar pause in window 3 and every 2nd window after it),
 * stopped with Ctrl-C after three windows and resumed to the end of --for. What is asserted is where each event
 * lands, what it did to each path and what the reports say — never how fast anything is.
 */
const work = mkdtempSync(join(tmpdir(), 'meshbench-pilot-drills-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const dir = join(work, 'pilot');
const fixture = join(packageRoot, 'test', 'fixtures', 'e2e-pilot-drills.yaml');

async function windowsOnDisk(): Promise<WindowRecord[]> {
  if (!existsSync(join(dir, 'windows.jsonl'))) return [];
  return (await readPilot(dir)).records.filter((r): r is WindowRecord => r.type === 'window');
}

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Per window index, the events (1-based, as the scenario lists them) its record holds. */
const eventsByWindow = (windows: readonly WindowRecord[]): Record<number, number[]> =>
  Object.fromEntries(windows.filter((w) => (w.drills ?? []).length > 0).map((w) => [w.index, (w.drills ?? []).map((d) => d.event + 1)]));

describe('drills in a pilot (e2e: real echo processes + real HAProxy mTLS pair)', () => {
  it('runs each event in the window it names, records and judges it, marks the window, and never runs it again after a resume', async () => {
    // --- segment 0: stopped with Ctrl-C once windows 0–2 (with the reload in #1 and the pause in #2) are on disk --
    const first = startCli(['pilot', fixture, '--out', dir, '--for', '28s']);
    await until('3 windows on disk', 40_000, async () => (await windowsOnDisk()).length >= 3);
    first.child.kill('SIGINT');
    const stopped: CliRun = await first.done;
    expect(stopped.code, stopped.stderr).toBe(2);
    expect(stopped.stderr).toMatch(/^ {2}event 1 restart-sidecars \(http1\): hitless reload/m);
    const before = await windowsOnDisk();
    expect(eventsByWindow(before)).toEqual({ 1: [1], 2: [2] });

    const reload = before[1]?.drills?.[0] as DrillResult;
    const pause = before[2]?.drills?.[0] as DrillResult;
    for (const d of [reload, pause]) {
      expect(d.error, d.action).toBeUndefined();
      expect(d.window).toBe(d === reload ? 1 : 2);
      expect(Object.keys(d.variants)).toEqual(['unmeshed', 'meshed']); // side by side
      expect(d.variants['unmeshed']?.errors).toBe(0); // the unmeshed path does not pass the sidecars
      expect(d.timelineMs).toBe(1000); // the pilot's 1 s intervals
      // it started inside its window, about atS into it (the grid's estimate and timer wake-ups may move it)
      const w = before[d.window ?? -1] as WindowRecord;
      expect(d.startedAtMs).toBeGreaterThanOrEqual(w.startMs);
      expect(d.startedAtMs).toBeLessThan(w.endMs);
      // the errors it is charged with are the window's, from the event on
      expect(d.variants['meshed']?.errors).toBeLessThanOrEqual(w.protocols[0]?.variants['meshed']?.errors ?? 0);
    }
    for (const s of reload.facts['sidecars'] as { oldPid: number; newPid: number }[]) expect(s.newPid).not.toBe(s.oldPid);
    // the pause: meshed requests wait it out and none fails; the p99 recovers inside the window
    expect(pause.variants['meshed']?.errors).toBe(0);
    expect(pause.variants['meshed']?.maxUs ?? 0).toBeGreaterThanOrEqual(400_000);
    expect(pause.variants['meshed']?.recoveryS ?? 0).toBeGreaterThan(0); // the pause held the p99 up: measured, not 0
    expect(pause.variants['meshed']?.recoveryS ?? Infinity).toBeLessThanOrEqual(pause.windowS);
    console.log(`hitless reload in a pilot window: meshed errors ${reload.variants['meshed']?.errors} (${JSON.stringify(reload.variants['meshed']?.errorsByKind)}), ` +
      `recovery ${reload.variants['meshed']?.recoveryS} s, action ${reload.actionMs} ms; sidecar-pause 500 ms: meshed peak p99 ${((pause.variants['meshed']?.peakP99Us ?? 0) / 1000).toFixed(1)} ms, recovery ${pause.variants['meshed']?.recoveryS} s`);

    // --- segment 1: resumed to the end — the reload (window #1) and the first pause (#2) do not run again -----
    const resumed = await runCli(['pilot', '--resume', dir]);
    expect([0, 1, 2], `${resumed.stdout}\n${resumed.stderr}`).toContain(resumed.code);
    const { records } = await readPilot(dir);
    const all = records.filter((r): r is WindowRecord => r.type === 'window');
    const resumedAt = all.find((w) => w.segment === 1)?.index ?? -1;
    expect(resumedAt).toBeGreaterThan(2);
    const expected: Record<number, number[]> = { 1: [1], 2: [2] };
    for (let w = 4; w <= (all[all.length - 1]?.index ?? 0); w += 2) expected[w] = [2]; // every 2nd window after #2
    const got = eventsByWindow(all);
    expect(got).toEqual(expected);
    expect(got[4]).toEqual([2]); // the resumed segment drilled its own windows
    for (const w of all.filter((x) => x.index >= 4 && (x.drills ?? []).length > 0)) {
      const d = w.drills?.[0];
      if (w.partial && d?.error !== undefined) expect(d.error).toMatch(/did not happen/); // the pilot ended first
      else expect(d?.error).toBeUndefined();
    }

    // --- the reports, from disk alone, twice: the drill, its verdict and the marked windows ------------------
    const r1 = await runCli(['report', dir]);
    expect(r1.code, r1.stderr).toBe(0);
    const md = readFileSync(join(dir, 'pilot.md'), 'utf8');
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect((await runCli(['report', dir])).code).toBe(0);
    expect(readFileSync(join(dir, 'pilot.md'), 'utf8')).toBe(md);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toBe(html);
    expect(md).toMatch(/^## Drill: (PASS|FAIL|INCONCLUSIVE)$/m);
    expect(md).toMatch(/^#### event 1 · restart-sidecars \(hitless, both\) · http1 · window #1$/m);
    expect(md).toMatch(/^#### event 2 · sidecar-pause \(both, 500 ms\) · http1 · window #2$/m);
    expect(html).toMatch(/<section[^>]*id="drills"/);
    expect(html).toMatch(/<figure class="chart" id="drill-1"/);
    const summary = JSON.parse(readFileSync(join(dir, 'pilot-summary.json'), 'utf8')) as PilotSummary;
    for (const w of Object.keys(expected).map(Number)) {
      expect(summary.windows.find((x) => x.index === w)?.marks).toContain('drill');
      expect(summary.whole.windows).not.toContain(w); // out of the steady-state verdict
    }
    expect(summary.drills.checks.filter((c) => c.budget !== 'happened' && c.window === 1).map((c) => c.budget)).toEqual(['maxErrors', 'recoveryS']);
    const status = summary.drills.status;
    expect(status).not.toBeNull();
    // the exit code: the worse of the steady-state verdict and the drill's
    if (status === 'fail') expect(resumed.code).toBe(1);
  });
});
