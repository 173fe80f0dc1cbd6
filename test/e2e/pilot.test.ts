import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readHlog } from '../../src/histograms/index.js';
import type { PilotSummary, WindowRecord } from '../../src/pilot-record.js';
import { readPilot } from '../../src/pilot/store.js';
import { packageRoot } from '../../src/paths.js';
import { meshbenchChildren, runCli, startCli, type CliRun } from './helpers.js';

/**
 * A pilot in miniature through the real HAProxy mTLS pair: 2 s windows, killed with SIGKILL and resumed, stopped
 * with SIGINT and resumed again to its end — every closed window on disk, reports from disk identical run twice —
 * and its metrics scraped by a real Prometheus server (Debian `prometheus`), queried over its HTTP API. In CI
 * (CI=true) a missing prometheus fails the test; elsewhere that part is skipped with the reason printed.
 */
const work = mkdtempSync(join(tmpdir(), 'meshbench-pilot-e2e-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const prometheus = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0;
const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';
if (!prometheus && !inCi) console.log('skipping the Prometheus query of the pilot test: prometheus is not installed (apt-get install -y prometheus)');

const dir = join(work, 'pilot');
const fixture = join(packageRoot, 'test', 'fixtures', 'e2e-pilot.yaml');

async function until<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function windowsOnDisk(): Promise<WindowRecord[]> {
  if (!existsSync(join(dir, 'windows.jsonl'))) return [];
  return (await readPilot(dir)).records.filter((r): r is WindowRecord => r.type === 'window');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startPrometheus(metricsPort: number): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const home = join(work, 'prometheus');
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: meshbench\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`,
  );
  const child = spawn('prometheus', [`--config.file=${join(home, 'prometheus.yml')}`, `--storage.tsdb.path=${join(home, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await until('prometheus to be ready', 30_000, () => fetch(`${url}/-/ready`).then((r) => (r.ok ? true : undefined), () => undefined));
  return { url, stop: () => child.kill('SIGTERM') };
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];
async function query(url: string, promql: string): Promise<Vector> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await res.json()) as { status: string; data: { resultType: string; result: Vector } };
  expect(body.status).toBe('success');
  return body.data.result;
}

describe('meshbench pilot (e2e: real echo processes + real HAProxy mTLS pair)', () => {
  it('writes every closed window durably, survives kill -9 and Ctrl-C, resumes to its end, and feeds Prometheus', async () => {
    // --- segment 0: metrics on, killed with SIGKILL after a few windows -------------------------------------
    const first = startCli(['pilot', fixture, '--out', dir, '--for', '36s', '--metrics-port', '0']);
    children.push(first.child);
    let stderr = '';
    first.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const metricsPort = Number(await until('the metrics address', 30_000, () => /metrics: http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(stderr)?.[1]));
    const prom = prometheus || inCi ? await startPrometheus(metricsPort) : undefined;
    await until('3 windows on disk', 40_000, async () => ((await windowsOnDisk()).length >= 3 ? true : undefined));

    if (prom !== undefined) {
      // the generator's interval histograms as Prometheus sees them: a p99 per variant, and the windows' overhead
      const p99 = await until('histogram_quantile per variant', 20_000, async () => {
        const r = await query(prom.url, 'histogram_quantile(0.99, sum by (le, variant) (rate(meshbench_latency_seconds_bucket{protocol="http1"}[20s])))');
        return r.length === 2 && r.every((s) => Number(s.value[1]) > 0) ? r : undefined;
      });
      expect(p99.map((s) => s.metric['variant']).sort()).toEqual(['meshed', 'unmeshed']);
      expect(p99.every((s) => Number(s.value[1]) < 2)).toBe(true); // seconds: finite, not +Inf
      const requests = await query(prom.url, 'sum by (variant) (meshbench_requests_total{protocol="http1"})');
      expect(requests.map((s) => s.metric['variant']).sort()).toEqual(['meshed', 'unmeshed']);
      expect(requests.every((s) => Number(s.value[1]) > 100)).toBe(true);
      const bounds = await query(prom.url, 'meshbench_p99_overhead_seconds{protocol="http1",variant="meshed"}');
      expect(bounds.map((s) => s.metric['bound']).sort()).toEqual(['estimate', 'high', 'low']);
      const rss = await until('proxy RSS', 10_000, async () => {
        const r = await query(prom.url, 'meshbench_proxy_rss_bytes{variant="meshed"}');
        return r.length === 2 ? r : undefined;
      });
      expect(rss.map((s) => s.metric['proxy']).sort()).toEqual(['client-sidecar', 'server-sidecar']);
      prom.stop();
    }

    const before = new Set(meshbenchChildren().keys());
    first.child.kill('SIGKILL');
    await first.done;
    const killed = await windowsOnDisk();
    // the watchdog took the echo processes and sidecars down with the pilot
    await until('the env processes to exit', 10_000, () => ([...meshbenchChildren().keys()].some((pid) => before.has(pid)) ? undefined : true));

    // every closed window is whole on disk: its record, and its 1 s intervals in both .hlog files
    expect(killed.map((w) => w.index)).toEqual(killed.map((_, i) => i));
    for (const variant of ['unmeshed', 'meshed']) {
      const log = readHlog(readFileSync(join(dir, `http1-${variant}.hlog`), 'utf8'));
      expect(log.length).toBeGreaterThanOrEqual(killed.length * 2);
      const recorded = killed.reduce((n, w) => n + (w.protocols[0]?.variants[variant]?.count ?? NaN), 0);
      expect(log.slice(0, killed.length * 2).reduce((n, h) => n + h.histogram.totalCount, 0)).toBe(recorded);
    }

    // reports from disk alone, twice: the same bytes
    const r1 = await runCli(['report', dir]);
    expect(r1.code, r1.stderr).toBe(0);
    const md1 = readFileSync(join(dir, 'pilot.md'), 'utf8');
    const json1 = readFileSync(join(dir, 'pilot-summary.json'), 'utf8');
    expect((await runCli(['report', dir])).code).toBe(0);
    expect(readFileSync(join(dir, 'pilot.md'), 'utf8')).toBe(md1);
    expect(readFileSync(join(dir, 'pilot-summary.json'), 'utf8')).toBe(json1);
    // report.html too: the same bytes, self-contained, the overhead of every window drawn, tables of drift and windows
    const html1 = readFileSync(join(dir, 'report.html'), 'utf8');
    expect((await runCli(['report', dir])).code).toBe(0);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toBe(html1);
    expect(html1).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html1).toMatch(/<figure class="chart" id="window-overhead" data-series="0[ \d]*"><svg /);
    expect(html1).toContain('id="windows"');

    // --- segment 1: resumed, stopped with SIGINT: a clean stop that writes the report ------------------------
    const second = startCli(['pilot', '--resume', dir]);
    children.push(second.child);
    await until('2 more windows', 40_000, async () => ((await windowsOnDisk()).length >= killed.length + 2 ? true : undefined));
    second.child.kill('SIGINT');
    const stopped: CliRun = await second.done;
    expect(stopped.code, stopped.stderr).toBe(2);
    expect(stopped.stdout).toMatch(/stopped before its end: continue with `meshbench pilot --resume /);
    expect(existsSync(join(dir, 'pilot.lock'))).toBe(false);

    // --- segment 2: resumed to the end of --for ---------------------------------------------------------------
    const third = await runCli(['pilot', '--resume', dir]);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).not.toMatch(/stopped before its end/);

    const { meta, records } = await readPilot(dir);
    const all = records.filter((r): r is WindowRecord => r.type === 'window');
    expect(records.filter((r) => r.type === 'segment').map((r) => r.type === 'segment' && r.segment)).toEqual([0, 1, 2]);
    expect(new Set(records.map((r) => r.type === 'segment' && r.environment.kind)).has('local')).toBe(true);
    expect(all.map((w) => w.index)).toEqual(all.map((_, i) => i)); // same pilot, windows numbered on
    expect(all[all.length - 1]?.endMs).toBeLessThanOrEqual(meta.startMs + 36_000 + 1000);
    const summary = JSON.parse(readFileSync(join(dir, 'pilot-summary.json'), 'utf8')) as PilotSummary;
    expect(summary.pilotId).toBe(meta.pilotId);
    expect(summary.windows).toHaveLength(all.length);
    expect(summary.segments.map((s) => s.gapS === null)).toEqual([true, false, false]);
    const firstOfSegment = (s: number) => summary.windows.find((w) => w.segment === s);
    expect(firstOfSegment(1)?.marks).toContain('restart');
    expect(firstOfSegment(2)?.marks).toContain('restart');
    expect(summary.whole.excluded.map((e) => e.index)).toEqual(expect.arrayContaining([firstOfSegment(1)?.index, firstOfSegment(2)?.index]));
    expect(summary.whole.verdict?.status).toBe('pass');
    expect(readFileSync(join(dir, 'pilot.md'), 'utf8')).toMatch(/Resumed 2 time\(s\)/);

    // a range of windows against day 1, as compare takes runs
    const cmp = await runCli(['compare', `${dir}@windows:0-1`, `${dir}@day1`, '--out', join(work, 'cmp'), '--json', '--tolerance-ms', '1000']);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(JSON.parse(cmp.stdout)).toMatchObject({ verdict: { status: 'pass' } });
  });
});
