import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLatencyHistogram, decodeHistogram, encodeHistogram, mergeEncoded, recordLatency } from '../../src/histograms/index.js';
import type { IntervalHistogram } from '../../src/histograms/index.js';
import { renderHlogs, type HlogSource } from '../../src/report/hlog.js';
import type { VariantResult } from '../../src/result.js';

/**
 * The .hlog files a run writes must be readable by HdrHistogram's reference reader without flags
 * (`HistogramLogProcessor -i FILE`), and what it prints must be our histograms. Debian: libhdrhistogram-java
 * (+ a JRE). In CI (CI=true) a missing reader fails the test; elsewhere it is skipped with the reason printed.
 */
const JAR = '/usr/share/java/hdrhistogram.jar';
const java = ['/usr/bin/java', 'java'].find((j) => {
  try {
    execFileSync(j, ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const missing = java === undefined ? 'java is not installed' : existsSync(JAR) ? null : `${JAR} is missing`;
const inCi = process.env['CI'] === 'true' || process.env['CI'] === '1';
if (missing !== null && !inCi) {
  console.log(`skipping the HdrHistogram reference-reader test: ${missing} (apt-get install -y libhdrhistogram-java default-jre-headless)`);
}

const work = mkdtempSync(join(tmpdir(), 'meshbench-hlog-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const START_MS = 1_764_590_400_000;

/** Deterministic, latency-shaped values (µs): a body around `baseUs` and a thin tail. */
function intervalsOf(baseUs: number, rounds: number): IntervalHistogram[] {
  const out: IntervalHistogram[] = [];
  let seed = baseUs;
  for (let i = 0; i < rounds * 2; i++) {
    const h = createLatencyHistogram();
    for (let k = 0; k < 2000; k++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const u = seed / 2147483648;
      recordLatency(h, Math.round(baseUs + baseUs * (u < 0.99 ? u : 40 * u)));
    }
    out.push({ startMs: START_MS + i * 1000, endMs: START_MS + (i + 1) * 1000, histogram: encodeHistogram(h) });
  }
  return out;
}

function variant(intervals: IntervalHistogram[]): VariantResult {
  const rounds = [intervals.slice(0, 2), intervals.slice(2)].map((ivs, round) => ({
    round, order: 0, startedAt: '', count: 0, errors: 0, achievedRateHz: 0, latencyUs: { p50: 0, p90: 0, p99: 0, p999: 0, max: 0, min: 0, mean: 0, count: 0 },
    maxLagUs: 0, lateShare: 0, proxies: [], intervals: ivs, hiccups: [],
  }));
  // only `rounds` is read by the .hlog renderer
  return { rounds } as Partial<VariantResult> as VariantResult;
}

const doc: HlogSource = {
  startedAt: new Date(START_MS).toISOString(),
  tool: { name: 'meshbench', version: 'test' },
  scenario: { name: 'hlog' },
  environment: { variants: ['unmeshed', 'meshed'] },
  protocols: (['http1', 'grpc-bidi'] as const).map((name, i) => ({
    name, model: 'open', rateHz: 1000, connections: 1, payloadBytes: 64, overhead: {},
    variants: { unmeshed: variant(intervalsOf(100 + i * 50, 2)), meshed: variant(intervalsOf(300 + i * 50, 2)) },
  })),
};

describe('.hlog files', () => {
  const files = renderHlogs(doc);

  it('one untagged log per protocol × variant', () => {
    expect([...files.keys()]).toEqual(['http1.unmeshed.hlog', 'http1.meshed.hlog', 'grpc-bidi.unmeshed.hlog', 'grpc-bidi.meshed.hlog']);
    for (const text of files.values()) {
      expect(text).not.toMatch(/^Tag=/m);
      expect(text.split('\n').filter((l) => /^\d/.test(l))).toHaveLength(4); // 2 rounds × 2 intervals
    }
  });

  it.skipIf(missing !== null && !inCi).each([...files.keys()])('HdrHistogram\'s HistogramLogProcessor reads %s and prints our percentiles (ms)', (name) => {
    if (missing !== null) throw new Error(`CI must run the reference-reader test, but ${missing}: .ci/run installs libhdrhistogram-java and default-jre-headless`);
    const text = files.get(name) ?? '';
    const path = join(work, name);
    writeFileSync(path, text);
    // -o OUT: the interval log to OUT (CSV), the overall percentile distribution to OUT.hgrm
    execFileSync(java ?? 'java', ['-cp', JAR, 'org.HdrHistogram.HistogramLogProcessor', '-i', path, '-csv', '-outputValueUnitRatio', '1000', '-o', `${path}.csv`]);
    const rows = readFileSync(`${path}.csv`, 'utf8').split('\n').filter((l) => /^\d/.test(l)).map((l) => l.split(',').map(Number));
    expect(rows).toHaveLength(4);
    const last = rows.at(-1) ?? [];
    // "Timestamp","Int_Count","Int_50%","Int_90%","Int_Max","Total_Count","Total_50%","Total_90%","Total_99%","Total_99.9%","Total_99.99%","Total_Max"
    const [protocol, variantName] = name.split('.');
    const rounds = doc.protocols.find((p) => p.name === protocol)?.variants[variantName ?? '']?.rounds ?? [];
    const merged = decodeHistogram(mergeEncoded(rounds.flatMap((r) => r.intervals.map((iv) => iv.histogram))));
    const ours = [merged.totalCount, ...[50, 90, 99, 99.9, 99.99].map((p) => merged.getValueAtPercentile(p) / 1000), merged.maxValue / 1000];
    expect(last[5]).toBe(ours[0]);
    ours.slice(1).forEach((ms, i) => {
      // printed with 3 decimals (1 µs); the max may be reported as its bucket's highest equivalent value
      expect(Math.abs((last[6 + i] ?? NaN) - ms), `${name} column ${6 + i}`).toBeLessThanOrEqual(0.0005 + ms * 1e-3);
    });
  });
});
