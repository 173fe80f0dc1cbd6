// Interleaved A/B/A/B runs of `meshbench load` (open loop 1000 req/s, 16 connections) against several
// targets in one session, so drift and neighbours' load hit every target alike; prints medians as a
// markdown table. With a pid per target it also reports that server's CPU per request (/proc utime+stime,
// warm-up included). Used for the echo's before/after figures (issue #9).
// usage: node bench/echo-ab.mjs REPS DURATION_S label,protocol,target[,pid] ...
//   e.g. nginx,http1,http://127.0.0.1:18080/,1234 echo-ws,websocket,ws://127.0.0.1:18081/ echo-grpc,grpc-bidi,127.0.0.1:18082
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const cpuTicks = (pid) => { if (!pid) return 0; const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]); };
const [reps, dur, ...specs] = process.argv.slice(2);
const targets = specs.map((s) => { const [label, protocol, target, pid] = s.split(','); return { label, protocol, target, pid, runs: [] }; });
for (let r = 0; r < Number(reps); r++) {
  for (const t of targets) {
    const t0 = cpuTicks(t.pid);
    const out = execFileSync(process.execPath, [fileURLToPath(new URL('../bin/meshbench.js', import.meta.url)), 'load', t.target, '--protocol', t.protocol, '-c', '16', '-r', '1000', '-d', dur, '--json', '-q'], { encoding: 'utf8' });
    const cpuMs = (cpuTicks(t.pid) - t0) * 10;
    const j = JSON.parse(out);
    t.runs.push({ p50: j.latencyUs.p50, p99: j.latencyUs.p99, s50: j.serviceLatencyUs.p50, s99: j.serviceLatencyUs.p99, err: j.errors, cpuUsPerReq: t.pid ? Math.round((cpuMs * 1000) / (j.count + 1000)) : 0 });
    process.stderr.write(`rep ${r} ${t.label} p50 ${j.latencyUs.p50} p99 ${j.latencyUs.p99} svc p99 ${j.serviceLatencyUs.p99} err ${j.errors} cpuUs/req ${t.runs.at(-1).cpuUsPerReq}\n`);
  }
}
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`| target | p50 µs | p99 µs | service p50 µs | service p99 µs | errors | echo CPU µs/req | p99 runs |`);
for (const t of targets) {
  console.log(`| ${t.label} | ${med(t.runs.map((x) => x.p50))} | ${med(t.runs.map((x) => x.p99))} | ${med(t.runs.map((x) => x.s50))} | ${med(t.runs.map((x) => x.s99))} | ${t.runs.reduce((a, x) => a + x.err, 0)} | ${med(t.runs.map((x) => x.cpuUsPerReq))} | ${t.runs.map((x) => x.p99).join(' ')} |`);
}
