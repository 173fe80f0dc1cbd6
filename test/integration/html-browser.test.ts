import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/helpers.js';

/**
 * report.html in a real browser: Debian's chromium (apt-get install -y chromium), driven by playwright-core.
 * The reports are written by the CLI (`meshbench report`, `meshbench compare`) from a real quickstart result,
 * then opened from file:// — no console errors, no request but the page itself, and every series of every chart
 * drawn with visible marks. Screenshots go to test-results/ (report.png: the quickstart's report). In CI
 * (CI=true) a missing chromium fails the test; elsewhere it is skipped with the reason printed.
 */
const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';
const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install -y chromium)`;
if (missing !== null && !inCi) console.log(`skipping the browser test of report.html: ${missing}`);

const results = resolve('test-results');
const work = join(results, 'html-report');
const runDir = join(work, 'quickstart');
const compareDir = join(work, 'compare');

let browser: Browser | undefined;

/** What the in-page functions use of the DOM (the tests are type-checked without the DOM library). */
interface Box { left: number; right: number; top: number; bottom: number; width: number; height: number }
interface El {
  id: string;
  textContent: string | null;
  innerText: string;
  getAttribute(name: string): string | null;
  querySelector(selector: string): El | null;
  querySelectorAll(selector: string): Iterable<El>;
  getBoundingClientRect(): Box;
}

beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  copyFileSync(resolve('test/fixtures/quickstart-result.json'), join(runDir, 'result.json'));
  if (missing === null) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // as root chromium needs --no-sandbox; the rest keeps it from reaching out on its own
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
});

afterAll(async () => {
  await browser?.close();
});

/** Loads a page from file:// and returns what the browser saw. */
async function open(file: string, screenshot: string) {
  if (browser === undefined) throw new Error(missing ?? 'no browser');
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const consoleErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  const charts = await page.$$eval('figure.chart', (figures) => (figures as unknown as El[]).map((f) => {
    const svg = f.querySelector('svg');
    const box = svg?.getBoundingClientRect();
    const expected = (f.getAttribute('data-series') ?? '').split(' ').filter((s: string) => s !== '');
    // a mark: an element ECharts drew for a series' data, with a visible extent inside the chart
    const drawn = expected.filter((i: string) => [...f.querySelectorAll(`[ecmeta_ssr_type="chart"][ecmeta_series_index="${i}"]`)].some((el) => {
      const b = el.getBoundingClientRect();
      return (b.width > 0 || b.height > 0) && box !== undefined && b.left >= box.left - 1 && b.right <= box.right + 1 && b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
    }));
    return {
      id: f.id,
      width: box?.width ?? 0,
      height: box?.height ?? 0,
      title: svg?.getAttribute('aria-label') ?? '',
      texts: [...(svg?.querySelectorAll('text') ?? [])].map((t) => t.textContent ?? ''),
      expected,
      drawn,
    };
  }));
  const banner = await page.$eval('.banner', (b) => {
    const style = (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b);
    return { text: (b as unknown as El).innerText, background: style.backgroundColor };
  });
  await page.screenshot({ path: join(results, screenshot), fullPage: true });
  await page.close();
  return { url, consoleErrors, requests, charts, banner };
}

describe.skipIf(missing !== null && !inCi)('report.html in headless Chromium', () => {
  it('the quickstart\'s report (meshbench report) loads from file:// without errors or requests, every chart drawn', async () => {
    const written = await runCli(['report', runDir]);
    expect(written.stderr).toBe('');
    expect(written.code).toBe(0);
    expect(readdirSync(runDir).sort()).toEqual(['grpc-bidi.meshed.hlog', 'grpc-bidi.unmeshed.hlog', 'http1.meshed.hlog', 'http1.unmeshed.hlog', 'junit.xml',
      'report.html', 'report.md', 'result.json', 'summary.md', 'websocket.meshed.hlog', 'websocket.unmeshed.hlog']);

    const seen = await open(join(runDir, 'report.html'), 'report.png');
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([seen.url]);
    expect(seen.banner.text).toMatch(/^✓ PASS\n/);
    expect(seen.banner.background).toBe('rgb(0, 158, 115)'); // Okabe–Ito bluish green
    // 3 budget kinds; per protocol spectrum, timeline, rounds; sidecar CPU
    expect(seen.charts.map((c) => c.id)).toEqual(['budget-p99Ms', 'budget-p99OverheadMs', 'budget-errorRateOverhead',
      ...['http1', 'grpc-bidi', 'websocket'].flatMap((p) => [`spectrum-${p}`, `timeline-${p}`, `rounds-${p}`]), 'sidecar-cpu']);
    for (const c of seen.charts) {
      expect(c.width, c.id).toBeGreaterThan(400);
      expect(c.height, c.id).toBeGreaterThan(200);
      expect(c.texts, c.id).toContain(c.title);
      expect(c.expected.length, c.id).toBeGreaterThan(0);
      expect(c.drawn, c.id).toEqual(c.expected);
    }
    expect(seen.charts.find((c) => c.id === 'spectrum-http1')?.expected).toHaveLength(4); // 2 variants × latency, service time
    expect(seen.charts.find((c) => c.id === 'timeline-http1')?.expected).toHaveLength(8); // 4 latency lines, lag, 3 hiccup sources
  });

  it('the comparison\'s report (meshbench compare, then meshbench report --format html) shows both spectra', async () => {
    const compared = await runCli(['compare', runDir, runDir, '--tolerance-ms', '1.5', '--out', compareDir]);
    expect(compared.code).toBe(0);
    rmSync(join(compareDir, 'report.html'));
    const again = await runCli(['report', join(compareDir, 'comparison.json'), '--format', 'html']);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`wrote ${join(compareDir, 'report.html')}\n`);

    const seen = await open(join(compareDir, 'report.html'), 'compare.png');
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.requests).toEqual([seen.url]);
    expect(seen.banner.text).toMatch(/^✓ NO REGRESSION\n/);
    expect(seen.charts.map((c) => c.id)).toEqual(['forest-changes', 'spectrum-http1', 'spectrum-grpc-bidi', 'spectrum-websocket']);
    for (const c of seen.charts) expect(c.drawn, c.id).toEqual(c.expected);
    expect(seen.charts[1]?.expected).toHaveLength(4); // baseline and candidate × 2 variants
  });
});
