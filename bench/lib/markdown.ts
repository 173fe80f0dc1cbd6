import type { AllocationSection } from '../sections/allocation.js';
import type { ClosedLoopSection } from '../sections/closed-loop.js';
import type { OmissionSection } from '../sections/omission.js';
import type { NoiseFloorSection } from '../sections/noise-floor.js';
import type { OpenLoopSection } from '../sections/open-loop.js';
import type { RecordingSection } from '../sections/recording.js';
import type { StreamingSection } from '../sections/streaming.js';

/** The bench's result document (bench/results/latest.json); the Markdown below is a pure function of it. */
export interface BenchResult {
  schemaVersion: 1;
  startedAt: string;
  wallS: number;
  quick: boolean;
  machine: { cores: number; cpu: string; os: string; loadAvgAtStart: number[] };
  versions: Record<string, string>;
  skipped: Record<string, string>;
  checks: Check[];
  closedLoop?: ClosedLoopSection;
  allocation?: AllocationSection;
  openLoop?: OpenLoopSection;
  noiseFloor?: NoiseFloorSection;
  omission?: OmissionSection;
  streaming?: StreamingSection;
  recording?: RecordingSection;
  /** Sections that could not run, with why. */
  failures: Record<string, string>;
}

/** One target of the issue, judged: `met` null when it could not be measured. */
export interface Check {
  name: string;
  figure: string;
  target: string;
  met: boolean | null;
}

const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '–');
const f1 = (x: number | null): string => (x !== null && Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '–');
const msOf = (us: number): string => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 3 : 1) : '–');
const k = (x: number): string => (Number.isFinite(x) ? `${(x / 1000).toFixed(1)}k` : '–');
const pct = (x: number, digits = 1): string => (Number.isFinite(x) ? `${(x * 100).toFixed(digits)} %` : '–');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function renderMarkdown(r: BenchResult): string {
  const out: string[] = [];
  const versions = Object.entries(r.versions)
    .map(([name, v]) => `${name} ${v}`)
    .join(' · ');
  out.push(`Measured ${r.startedAt.slice(0, 10)} on ${r.machine.cores} cores (${r.machine.cpu}, ${r.machine.os}; load average at start ${r.machine.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')}), ${r.quick ? '**quick run** (1 repetition, short runs)' : 'full run'}, ${f0(r.wallS)} s. Generator and target share the cores.`);
  out.push(`Versions: ${versions}.`);
  const skipped = Object.values(r.skipped);
  if (skipped.length > 0) out.push(`Skipped: ${skipped.join('; ')}.`);
  out.push(table(['check', 'figure', 'target', 'met'], r.checks.map((c) => [c.name, c.figure, c.target, c.met === null ? 'n/a' : c.met ? 'yes' : '**no**'])));

  const c = r.closedLoop;
  if (c !== undefined) {
    out.push(`**HTTP/1.1 closed loop** — ${c.target}, ${c.connections} connections, ${c.durationS} s, median of ${c.reps}; ${c.threads} generator thread${c.threads === 1 ? '' : 's'} per tool (autocannon: 1).`);
    out.push(
      table(
        ['tool', 'req/s', 'meshbench ÷ tool', 'CPU µs/req', 'target CPU µs/req', 'peak RSS MB', 'p50 ms', 'p99 ms', 'errors'],
        c.tools.map((t) => [t.tool, f0(t.rps), t.tool === 'meshbench' ? '–' : `${f2(c.ratios[t.tool] ?? NaN)}×`, f2(t.cpuUsPerReq), f2(t.targetCpuUsPerReq), f0(t.peakRssMb), msOf(t.p50Us), msOf(t.p99Us), String(t.errors)]),
      ),
    );
  }
  const a = r.allocation;
  if (a !== undefined) {
    const rows: string[][] = [];
    if ('closed' in a.core) {
      rows.push(['meshbench core (loop + recorder + clock + parser), closed loop', f1(a.core.closed.bytesPerRequest), String(a.core.closed.gcs), `${f0(a.core.closed.nsPerRequest)} ns/req`]);
      rows.push(['meshbench core, open loop', f1(a.core.open.bytesPerRequest), String(a.core.open.gcs), `${f0(a.core.open.nsPerRequest)} ns/req`]);
    }
    for (const p of a.processes) rows.push([`${p.tool} (whole process, steady state)`, `${p.upperBound ? '≤ ' : ''}${f0(p.bytesPerReq)}`, String(p.gcs), `${f0(p.rps)} req/s`]);
    const n = 'closed' in a.core ? `${(a.core.closed.requests / 1000).toFixed(0)}k` : '–';
    out.push(`**Allocation** — heap bytes per request (core: ${n} requests with no GC in between; processes: steady state from \`--trace-gc-nvp\`, ${a.durationS} s, 1 MB semi-space).`);
    out.push(table(['what', 'B/request', 'GCs', 'speed'], rows));
  }
  const o = r.openLoop;
  if (o !== undefined) {
    out.push(`**Open-loop accuracy** — meshbench, ${o.connections} connections, ${o.durationS} s; latency from the intended send time.`);
    out.push(
      table(
        ['rate', 'intended', 'achieved', 'achieved ÷ intended', 'mean lag µs', 'max lag ms', '> 1 ms late', 'p50 ms', 'p99 ms', 'service p99 ms', 'CPU µs/req'],
        o.rows.map((x) => [x.label, f0(x.intendedHz), f0(x.achievedHz), pct(x.ratio, 2), f1(x.meanLagUs), msOf(x.maxLagUs), pct(x.lateShare, 2), msOf(x.p50Us), msOf(x.p99Us), msOf(x.serviceP99Us), f2(x.cpuUsPerReq)]),
      ),
    );
  }
  const co = r.omission;
  if (co !== undefined) {
    out.push(`**Coordinated omission** — a server that stalls ${co.stallMs} ms once per second, ${co.connections} connections, ${co.durationS} s; the true p99 is ≈ ${msOf(co.expectedP99Us)} ms.`);
    out.push(table(['tool', 'mode', 'req/s', 'p50 ms', 'p99 ms', 'max ms'], co.rows.map((x) => [x.tool, x.mode, f0(x.rps), msOf(x.p50Us), msOf(x.p99Us), msOf(x.maxUs)])));
  }
  const s = r.streaming;
  if (s !== undefined) {
    out.push(`**Streaming** — ${s.streams} streams/connections, ${s.payloadBytes} B messages, meshbench echo target, ${s.durationS} s, median of ${s.reps}.`);
    out.push(
      table(
        ['protocol', 'meshbench msg/s', 'hand-written ping-pong msg/s', 'ratio', 'meshbench CPU µs/msg', 'ping-pong CPU µs/msg', 'meshbench p99 ms'],
        s.rows.map((x) => [x.protocol, k(x.meshbenchHz), k(x.pingPongHz), `${f2(x.ratio)}×`, f1(x.meshbenchCpuUsPerMsg), f1(x.pingPongCpuUsPerMsg), msOf(x.meshbenchP99Us)]),
      ),
    );
  }
  const rec = r.recording;
  if (rec !== undefined) {
    out.push('**Recording cost** — per request, best of 5 × 5M.');
    out.push(
      table(
        ['clock read (nowUs)', 'record (JS histogram)', 'record (WASM, not used)', 'timed + recorded, closed loop', 'open loop (+ service time)', 'share of meshbench CPU/req'],
        [[`${f1(rec.clockNs)} ns`, `${f1(rec.recordJsNs)} ns`, `${f1(rec.recordWasmNs)} ns`, `${f0(rec.closedNs)} ns`, `${f0(rec.openNs)} ns`, pct(rec.shareOfGeneratorCpu)]],
      ),
    );
  }
  const nf = r.noiseFloor;
  if (nf !== undefined) {
    out.push(`**Noise floor** — what the harness adds to the tail: open loop ${nf.rateHz} req/s, ${nf.connections} connections, ${nf.durationS} s, median of ${nf.reps} interleaved; A/A: \`meshbench run --aa quickstart\`.`);
    const aa = nf.aa === null ? '–' : Object.entries(nf.aa.halfWidthUs).map(([p, w]) => `${p} ±${msOf(w)}`).join(', ');
    out.push(
      table(
        ['nginx p99 ms', 'echo p99 ms', 'echo ÷ nginx', 'send lag p99 ms', 'generator hiccup p99 ms', 'platform wake-up avg / max µs', 'A/A P99 half-width ms'],
        [[msOf(nf.nginxP99Us), msOf(nf.echoP99Us), `${f2(nf.echoOverNginx)}×`, msOf(nf.lagP99Us), msOf(nf.hiccupP99Us), nf.platform === null ? '–' : `${f0(nf.platform.avgUs)} / ${f0(nf.platform.maxUs)}`, aa]],
      ),
    );
  }
  const failures = Object.entries(r.failures);
  if (failures.length > 0) out.push(`Failed sections: ${failures.map(([name, why]) => `${name}: ${why}`).join('; ')}.`);
  return `${out.join('\n\n')}\n`;
}
