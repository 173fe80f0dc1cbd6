import { build, initWebAssembly } from 'hdr-histogram-js';
import { createLatencyHistogram, recordLatency } from '../../src/histograms/index.js';
import { nowUs } from '../../src/timing/clock.js';

/**
 * What timing and recording one request costs: ns per clock read (nowUs), per histogram record (the JS
 * histogram meshbench uses, and hdr-histogram-js's WASM one for comparison), and per "timed + recorded
 * request" as the load loop does it (two clock reads, one record in closed loop; two in open loop, where
 * the service time is recorded too). Best of 5 rounds of N each. Prints one JSON line.
 */
const N = 5_000_000;
let sink = 0;

function best(f: () => void): number {
  let min = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    f();
    min = Math.min(min, Number(process.hrtime.bigint() - t0) / N);
  }
  return min;
}

const js = createLatencyHistogram();
const js2 = createLatencyHistogram();
await initWebAssembly();
const wasm = build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, bitBucketSize: 64, autoResize: false, useWebAssembly: true });
// Loopback latencies: tens to hundreds of µs, spread over many buckets.
const value = (i: number): number => 20 + ((i * 7919) & 1023);

const clockNs = best(() => {
  for (let i = 0; i < N; i++) sink += nowUs();
});
const recordJsNs = best(() => {
  for (let i = 0; i < N; i++) recordLatency(js, value(i));
});
const recordWasmNs = best(() => {
  for (let i = 0; i < N; i++) wasm.recordValue(value(i));
});
const closedNs = best(() => {
  for (let i = 0; i < N; i++) {
    const sent = nowUs();
    recordLatency(js, nowUs() - sent + value(i));
  }
});
const openNs = best(() => {
  for (let i = 0; i < N; i++) {
    const sent = nowUs();
    const now = nowUs();
    recordLatency(js, now - sent + value(i));
    recordLatency(js2, now - sent);
  }
});
wasm.destroy();
process.stdout.write(`${JSON.stringify({ clockNs, recordJsNs, recordWasmNs, closedNs, openNs, sink: sink > 0 })}\n`);
