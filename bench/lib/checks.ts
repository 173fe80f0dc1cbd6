import type { BenchResult, Check } from './markdown.js';

/** The targets, judged against one result. `met: null` when the figure is missing (peer skipped). */
export function judge(r: BenchResult): Check[] {
  const checks: Check[] = [];
  const ratio = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);
  const c = r.closedLoop;
  if (c !== undefined) {
    const vsAc = c.ratios['autocannon'];
    const vsWrk = c.ratios['wrk'];
    const vsH2 = c.ratios['h2load'];
    checks.push({ name: 'HTTP/1.1 closed loop, meshbench ÷ autocannon req/s', figure: ratio(vsAc), target: '≥ 1.3×', met: vsAc === undefined || !Number.isFinite(vsAc) ? null : vsAc >= 1.3 });
    checks.push({ name: 'HTTP/1.1 closed loop, meshbench ÷ wrk req/s', figure: ratio(vsWrk), target: '≥ 0.8×', met: vsWrk === undefined || !Number.isFinite(vsWrk) ? null : vsWrk >= 0.8 });
    if (vsH2 !== undefined) checks.push({ name: 'HTTP/1.1 closed loop, meshbench ÷ h2load req/s', figure: ratio(vsH2), target: '(reported)', met: null });
  }
  const a = r.allocation;
  if (a !== undefined && 'closed' in a.core) {
    // The floor on Node 20: each clock read (performance.now) returns a boxed double, 16 B.
    const b = a.core.closed.bytesPerRequest;
    checks.push({ name: 'garbage per request, generator hot path (closed loop)', figure: b === null ? 'n/a (GC during measurement)' : `${b.toFixed(1)} B`, target: '~0 B (≤ 16 B: one boxed clock read)', met: b === null ? null : b <= 16.5 });
  }
  const o = r.openLoop;
  if (o !== undefined) {
    for (const row of o.rows) {
      checks.push({ name: `open loop ${row.label} (${row.intendedHz} req/s): achieved ÷ intended`, figure: `${(row.ratio * 100).toFixed(2)} %`, target: 'within 1 %', met: Math.abs(row.ratio - 1) <= 0.01 });
    }
  }
  const co = r.omission;
  const mesh = co?.rows.find((x) => x.tool === 'meshbench');
  if (co !== undefined && mesh !== undefined) {
    checks.push({ name: `coordinated omission: meshbench p99 with a ${co.stallMs} ms stall per second`, figure: `${(mesh.p99Us / 1000).toFixed(1)} ms`, target: `shows the stall (≥ ${co.stallMs / 2} ms; true ≈ ${(co.expectedP99Us / 1000).toFixed(0)} ms)`, met: mesh.p99Us >= (co.stallMs / 2) * 1000 });
  }
  for (const row of r.streaming?.rows ?? []) {
    checks.push({ name: `${row.protocol} round trips, meshbench ÷ hand-written ping-pong`, figure: ratio(row.ratio), target: '≥ 0.9×', met: Number.isFinite(row.ratio) ? row.ratio >= 0.9 : null });
  }
  const rec = r.recording;
  if (rec !== undefined) {
    checks.push({ name: 'recording cost per request (2 clock reads + 1 record)', figure: `${rec.closedNs.toFixed(0)} ns = ${(rec.shareOfGeneratorCpu * 100).toFixed(1)} % of generator CPU`, target: '(reported)', met: null });
  }
  const nf = r.noiseFloor;
  if (nf !== undefined) {
    checks.push({ name: 'noise floor: echo p99 ÷ nginx p99 (1k req/s)', figure: ratio(nf.echoOverNginx), target: '≤ 1.5×', met: Number.isFinite(nf.echoOverNginx) ? nf.echoOverNginx <= 1.5 : null });
    checks.push({ name: 'noise floor: generator send lag p99 at 1k req/s', figure: `${(nf.lagP99Us / 1000).toFixed(3)} ms`, target: '≤ 0.1 ms', met: Number.isFinite(nf.lagP99Us) ? nf.lagP99Us <= 100 : null });
    const widest = nf.aa === null ? NaN : Math.max(...Object.values(nf.aa.halfWidthUs));
    checks.push({ name: 'noise floor: A/A P99-difference half-width (quickstart, 95 %)', figure: Number.isFinite(widest) ? `±${(widest / 1000).toFixed(3)} ms (widest protocol)` : '–', target: '≤ 0.25 ms', met: Number.isFinite(widest) ? widest <= 250 : null });
  }
  return checks;
}
