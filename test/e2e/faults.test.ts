import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import type { ResultDocument } from '../../src/result.js';
import { sumErrors } from '../../src/drivers/driver.js';
import { runCli, startCli, type CliRun } from './helpers.js';

const fixture = join(packageRoot, 'test', 'fixtures', 'e2e-faults.yaml');
const work = mkdtempSync(join(tmpdir(), 'meshbench-faults-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Resolves once the child's stderr matches `pattern` (rejects after `ms`). */
function stderrMatch(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`stderr never matched ${pattern}: ${text}`)), ms);
    child.stderr?.on('data', (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/**
 * The processes `parent` starts (echo servers, haproxy, the watchdog), collected while it runs — other people's
 * meshbench runs on this machine are not ours — and, once it exited, which of them still live.
 */
function childrenOf(parent: number): { seen: () => number[]; alive: () => number[]; stop: () => void } {
  const seen = new Set<number>();
  const ppid = (pid: string): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return -1;
    }
  };
  const poll = (): void => {
    for (const entry of readdirSync('/proc')) if (/^\d+$/.test(entry) && ppid(entry) === parent) seen.add(Number(entry));
  };
  poll();
  const timer = setInterval(poll, 25);
  const live = (pid: number): boolean => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  return { seen: () => [...seen], alive: () => [...seen].filter(live), stop: () => clearInterval(timer) };
}

/** Starts the CLI and tracks the processes it starts. */
function startTracked(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliRun>; children: ReturnType<typeof childrenOf> } {
  const { child, done } = startCli(args, env);
  const children = childrenOf(child.pid ?? NaN);
  return { child, children, done: done.then((run) => { children.stop(); return run; }) };
}

/** The name each tracked child runs as (its command line). */
const commandOf = (pid: number): string => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

const readDoc = (dir: string): ResultDocument => JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as ResultDocument;

describe('meshbench run under faults (e2e, real echo processes + real HAProxy mTLS pair)', () => {
  it('the server-side sidecar dies mid-round: errors by kind, a fault, the partial result and reports written, exit 2, nothing left', async () => {
    const tmp = mkdtempSync(join(work, 'tmp-'));
    const out = join(work, 'dies');
    const { child, done, children } = startTracked(['run', fixture, '--out', out], { TMPDIR: tmp });
    // round 1 runs unmeshed, then meshed (1 s warm-up, 1 s measured): kill the sidecar while the meshed load measures
    await stderrMatch(child, /round 1\/2 http1 unmeshed: \d+ ok/);
    await new Promise((r) => setTimeout(r, 1500));
    const sidecar = children.alive().find((pid) => commandOf(pid).includes('server-sidecar'));
    expect(sidecar).toBeDefined();
    process.kill(sidecar ?? NaN, 'SIGKILL');
    const started = Date.now();
    const run = await done;
    expect(Date.now() - started).toBeLessThan(30_000); // bounded: a round, its time-outs and the verdict
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/stopped early: http1\/meshed round 1: server-sidecar \(haproxy\) is gone .*MB_ENV_FAILED/);
    expect(run.stdout).toMatch(/verdict: INCONCLUSIVE/);
    const doc = readDoc(out);
    expect(doc.fault).toMatchObject({ round: 0, protocol: 'http1', variant: 'meshed', code: 'MB_ENV_FAILED' });
    expect(doc.verdict.status).toBe('inconclusive');
    expect(doc.verdict.validity[0]?.rule).toBe('fault');
    expect(doc.verdict.reasons[0]).toMatch(/^invalid: the run stopped in http1\/meshed round 1: server-sidecar/);
    const http1 = doc.protocols[0];
    expect(http1?.variants.unmeshed?.rounds).toHaveLength(1); // the load before the fault is kept
    // the meshed load that ran when the sidecar died finished, and counted what it met as errors, by kind
    const meshed = http1?.variants.meshed;
    expect(meshed?.rounds).toHaveLength(1);
    expect(meshed?.errors).toBeGreaterThan(0);
    expect(sumErrors(meshed?.errorsByKind ?? { connect: 0, reset: 0, timeout: 0, status: 0, protocol: 0, other: 0 })).toBe(meshed?.errors);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/server-sidecar \(haproxy\) is gone/);
    expect(readFileSync(join(out, 'junit.xml'), 'utf8')).toMatch(/type="invalid"/);
    expect(children.alive()).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('--out under a regular file: exit 3 naming it before anything starts', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'not a folder\n');
    const { done, children } = startTracked(['run', fixture, '--out', join(file, 'reports')], {});
    const run = await done;
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/--out .*a-file\/reports cannot be written \(ENOTDIR\)/);
    expect(run.stderr).not.toMatch(/environment local ready/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(children.seen()).toEqual([]); // no process was started
  });

  it('--out under /proc (Node 20 mkdir never returns there): exit 3 within a bounded wait', async () => {
    const started = Date.now();
    const run = await runCli(['run', fixture, '--out', '/proc/meshbench-out/x']);
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/--out \/proc\/meshbench-out\/x cannot be written \(creating it did not finish within 5 s\)/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('the disk fills during the run: the summary still on stdout, exit 4 naming the path, no partial file', async (ctx) => {
    const mnt = join(work, 'small-disk');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12k', 'meshbench-test', mnt], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`cannot mount a small tmpfs here (needs root and mount): ${String(err).split('\n')[0]}`);
      return;
    }
    try {
      const out = join(mnt, 'reports');
      // the folder check's small file fits; result.json (tens of kB) does not
      const run = await runCli(['run', fixture, '--out', out]);
      expect(run.code, run.stderr).toBe(4);
      expect(run.stderr).toMatch(new RegExp(`could not write ${out}/result\\.json \\(ENOSPC\\).*MB_WRITE_FAILED`));
      expect(run.stdout).toMatch(/verdict: (PASS|FAIL|INCONCLUSIVE)/);
      expect(run.stdout).toMatch(/http1 meshed/);
      expect(readdirSync(out)).toEqual([]); // nothing half-written under a real name, no .partial left
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  // A signal in each phase of a run. Each row: what on stderr (or how long after start) marks the phase, and
  // whether a round has finished by then (then the partial result must be on disk).
  const phases: { phase: string; signal: NodeJS.Signals; after: RegExp | null; delayMs: number; roundDone: boolean }[] = [
    { phase: 'env start', signal: 'SIGTERM', after: null, delayMs: 0, roundDone: false },
    { phase: 'proof', signal: 'SIGINT', after: /environment local ready/, delayMs: 0, roundDone: false },
    { phase: 'warm-up', signal: 'SIGTERM', after: /paths proven/, delayMs: 700, roundDone: false },
    { phase: 'measuring', signal: 'SIGINT', after: /round 1\/2 http1 \w+: \d+ ok/, delayMs: 300, roundDone: true },
    { phase: 'verdict', signal: 'SIGTERM', after: /judging 2 round/, delayMs: 0, roundDone: true },
    { phase: 'writing', signal: 'SIGINT', after: /writing the reports/, delayMs: 0, roundDone: true },
  ];
  it.each(phases)('$signal during $phase: no process or temp file left; the result written once a round finished', async ({ phase, signal, after, delayMs, roundDone }) => {
    const tmp = mkdtempSync(join(work, 'tmp-'));
    const out = join(work, `signal-${phase.replace(' ', '-')}`);
    const { child, done, children } = startTracked(['run', fixture, '--out', out], { TMPDIR: tmp });
    if (after === null) {
      // env start: once it started its first process (the watchdog, then the echo servers)
      const started = Date.now();
      while (children.seen().length < 2 && Date.now() - started < 30_000) await new Promise((r) => setTimeout(r, 20));
    } else {
      await stderrMatch(child, after);
    }
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill(signal);
    const run = await done;
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /); // no stack trace
    expect([0, 1, 2]).toContain(run.code);
    expect(children.seen().length).toBeGreaterThan(0);
    expect(children.alive()).toEqual([]);
    expect(readdirSync(tmp)).toEqual([]);
    if (existsSync(out)) expect(readdirSync(out).filter((f) => f.endsWith('.partial') || f.startsWith('.meshbench'))).toEqual([]);
    if (roundDone) {
      const doc = readDoc(out);
      expect(doc.protocols[0]?.variants.unmeshed?.rounds.length).toBeGreaterThanOrEqual(1);
      // interrupted before the last round: never a pass; after it (verdict, writing) the result is whole
      if (doc.interrupted === true) expect(run.code).toBe(2);
      else expect(doc.protocols[0]?.variants.meshed?.rounds).toHaveLength(2);
    } else {
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/interrupted|SIGINT|SIGTERM/);
    }
  });
});
