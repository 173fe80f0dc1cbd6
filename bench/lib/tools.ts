import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { allocationRate, withoutGcTrace } from './gc.js';
import { runTool, type ToolRun } from './proc.js';

/**
 * The tools under comparison: where they are, their versions, how to invoke them for one load run and how
 * to read their output into the same figures. Every tool is a separate process measured by runTool.
 */

export const MESHBENCH_CLI = join(packageRoot, 'dist', 'cli', 'main.js');
export const AUTOCANNON_CLI = join(packageRoot, 'node_modules', 'autocannon', 'autocannon.js');
export const PINGPONG = join(packageRoot, 'dist-bench', 'bench', 'peers', 'pingpong.js');

/** What one load run of any tool produced. Latencies in µs; NaN where the tool does not report it. */
export interface LoadFigures {
  tool: string;
  requests: number;
  errors: number;
  rps: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  cpuMs: number;
  peakRssKb: number;
  /** CPU µs the tool spent per completed request. */
  cpuUsPerReq: number;
  /** Only when run with `--trace-gc-nvp`: steady-state heap bytes allocated per request (see gc.ts). */
  alloc?: { bytesPerReq: number; gcs: number; upperBound: boolean };
}

/** Start-up and JIT warm-up excluded from the allocation rate. */
const ALLOC_SKIP_MS = 1500;

export function which(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** stdout and stderr of a version query (wrk -v exits non-zero, nginx -v prints on stderr). */
function versionText(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
}

function packageVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export interface Toolbox {
  versions: Record<string, string>;
  /** Peers not installed, with the reason printed and recorded. */
  skipped: Record<string, string>;
  wrk?: string;
  h2load?: string;
  nginx?: string;
}

export function findTools(): Toolbox {
  const meshbench = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  let commit = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: packageRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = spawnSync('git', ['diff', '--quiet', 'HEAD', '--', 'src'], { cwd: packageRoot }).status === 1;
    if (dirty) commit += ' + uncommitted src changes';
  } catch {
    commit = 'no git';
  }
  const box: Toolbox = {
    versions: { node: process.version, meshbench: `${meshbench} (${commit})`, autocannon: packageVersion('autocannon'), ws: packageVersion('ws'), '@grpc/grpc-js': packageVersion('@grpc/grpc-js') },
    skipped: {},
  };
  const wrk = which('wrk');
  if (wrk === undefined) box.skipped['wrk'] = 'wrk not installed (apt-get install -y wrk)';
  else {
    box.wrk = wrk;
    box.versions['wrk'] = /wrk\s+(\S+)/.exec(versionText(wrk, ['-v']))?.[1] ?? 'unknown';
  }
  const h2load = which('h2load');
  if (h2load === undefined) box.skipped['h2load'] = 'h2load not installed (apt-get install -y nghttp2-client)';
  else {
    box.h2load = h2load;
    box.versions['h2load'] = /nghttp2\/(\S+)/.exec(versionText(h2load, ['--version']))?.[1] ?? 'unknown';
  }
  const nginx = which('nginx') ?? ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (nginx === undefined) box.skipped['nginx'] = 'nginx not installed (apt-get install -y nginx): the HTTP target is the meshbench echo server instead';
  else {
    box.nginx = nginx;
    box.versions['nginx'] = /nginx\/(\S+)/.exec(versionText(nginx, ['-v']))?.[1] ?? 'unknown';
  }
  return box;
}

/** One run of a common shape: connections, seconds, optional fixed rate. */
export interface LoadArgs {
  url: string;
  connections: number;
  durationS: number;
  /** Open loop at this total rate (tools that support it); undefined = closed loop. */
  rateHz?: number;
  /** Extra CLI arguments for this tool. */
  extra?: string[];
}

function figures(tool: string, run: ToolRun, f: Omit<LoadFigures, 'tool' | 'cpuMs' | 'peakRssKb' | 'cpuUsPerReq'>): LoadFigures {
  if (run.timedOut || run.code === null || (run.code !== 0 && !(tool === 'meshbench' && run.code === 2))) {
    throw new Error(`${tool} failed (exit ${run.code ?? run.signal}${run.timedOut ? ', timed out' : ''}): ${run.stderr.trim().slice(-500) || run.stdout.trim().slice(-500)}`);
  }
  const rate = allocationRate(run.stdout, ALLOC_SKIP_MS, run.wallMs);
  return {
    tool,
    ...f,
    cpuMs: run.cpuMs,
    peakRssKb: run.peakRssKb,
    cpuUsPerReq: f.requests > 0 ? (run.cpuMs * 1000) / f.requests : NaN,
    ...(rate === undefined ? {} : { alloc: { bytesPerReq: rate.bytesPerSec / f.rps, gcs: rate.gcs, upperBound: rate.upperBound } }),
  };
}

const timeout = (a: LoadArgs): number => (a.durationS + 30) * 1000;

interface MeshbenchJson {
  count: number;
  errors: number;
  achievedRateHz: number;
  intendedRateHz: number;
  dropped: number;
  measuredMs: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
  serviceLatencyUs: { p50: number; p99: number; max: number };
  behindUs: number;
  maxLagUs: number;
  lateShare: number;
  lagUs?: { p50: number; p99: number; max: number };
  hiccupUs?: { p50: number; p99: number; max: number };
}

export interface MeshbenchFigures extends LoadFigures {
  json: MeshbenchJson;
}

/** `meshbench load … --json` through the real CLI entry, in its own process. */
export async function runMeshbench(a: LoadArgs & { protocol?: string; warmupS?: number; nodeFlags?: string[] }): Promise<MeshbenchFigures> {
  const args = [...(a.nodeFlags ?? []), MESHBENCH_CLI, 'load', a.url, '--protocol', a.protocol ?? 'http1', '-c', String(a.connections), '-d', String(a.durationS), '--warmup', String(a.warmupS ?? 0), '--json', '--quiet'];
  if (a.rateHz !== undefined) args.push('-r', String(a.rateHz));
  args.push(...(a.extra ?? []));
  const run = await runTool(process.execPath, args, { timeoutMs: timeout(a) + (a.warmupS ?? 0) * 1000 });
  const json = parseJson<MeshbenchJson>('meshbench', run);
  const total = json.count + json.errors;
  return {
    ...figures('meshbench', run, { requests: total, errors: json.errors, rps: json.achievedRateHz, p50Us: json.latencyUs.p50, p99Us: json.latencyUs.p99, maxUs: json.latencyUs.max }),
    // The CPU of warm-up requests counts too: spread it over every request the process sent.
    cpuUsPerReq: (run.cpuMs * 1000) / (total * (1 + (a.warmupS ?? 0) / a.durationS)),
    json,
  };
}

export function parseJson<T>(tool: string, run: ToolRun): T {
  try {
    return JSON.parse(withoutGcTrace(run.stdout)) as T;
  } catch {
    throw new Error(`${tool} printed no JSON (exit ${run.code ?? run.signal}${run.timedOut ? ', timed out' : ''}): ${run.stderr.trim().slice(-500)}`);
  }
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  latency: { p50: number; p99: number; max: number };
}

/** autocannon from node_modules, JSON output. Its latencies are ms (integers on loopback: a 1 ms floor). */
export async function runAutocannon(a: LoadArgs, nodeFlags: string[] = []): Promise<LoadFigures> {
  const args = [...nodeFlags, AUTOCANNON_CLI, '-j', '-c', String(a.connections), '-d', String(a.durationS)];
  if (a.rateHz !== undefined) args.push('-R', String(a.rateHz));
  args.push(...(a.extra ?? []), a.url);
  const run = await runTool(process.execPath, args, { timeoutMs: timeout(a) });
  const j = parseJson<AutocannonJson>('autocannon', run);
  const errors = j.errors + j.timeouts + j.non2xx;
  return figures('autocannon', run, { requests: j.requests.total, errors, rps: j.requests.total / j.duration, p50Us: j.latency.p50 * 1000, p99Us: j.latency.p99 * 1000, maxUs: j.latency.max * 1000 });
}

/** `12.34us` / `1.20ms` / `2.00s` → µs. */
function wrkTimeUs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v : m[2] === 'ms' ? v * 1000 : m[2] === 's' ? v * 1e6 : v * 60e6;
}

export async function runWrk(wrk: string, a: LoadArgs & { threads: number }): Promise<LoadFigures> {
  const args = ['--latency', '-t', String(a.threads), '-c', String(a.connections), '-d', `${a.durationS}s`, ...(a.extra ?? []), a.url];
  const run = await runTool(wrk, args, { timeoutMs: timeout(a) });
  const out = run.stdout;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = non2xx + (socketErrors === null ? 0 : socketErrors.slice(1).reduce((s, x) => s + Number(x), 0));
  const pct = (p: string): number => wrkTimeUs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const max = /Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '';
  return figures('wrk', run, { requests, errors, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN), p50Us: pct('50'), p99Us: pct('99'), maxUs: wrkTimeUs(max) });
}

export async function runH2load(h2load: string, a: LoadArgs & { threads: number }): Promise<LoadFigures> {
  const args = ['--h1', '-t', String(a.threads), '-c', String(a.connections), '-D', String(a.durationS), ...(a.extra ?? []), a.url];
  const run = await runTool(h2load, args, { timeoutMs: timeout(a) });
  const out = run.stdout;
  const req = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
  const done = Number(req?.[2] ?? NaN);
  const errors = req === null ? NaN : Number(req[4]) + Number(req[5]) + Number(req[6]);
  const max = /time for request:\s+\S+\s+(\S+)/.exec(out)?.[1] ?? '';
  return figures('h2load', run, { requests: done, errors, rps: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN), p50Us: NaN, p99Us: NaN, maxUs: wrkTimeUs(max) });
}

export type PingPongKind = 'grpc-bidi' | 'websocket' | 'http1-net';

/** A hand-written ping-pong client (bench/peers/pingpong.ts), in its own process. */
export async function runPingPong(kind: PingPongKind, a: LoadArgs & { payloadBytes: number; warmupS: number; nodeFlags?: string[] }): Promise<LoadFigures> {
  const args = [...(a.nodeFlags ?? []), PINGPONG, kind, a.url, String(a.connections), String(a.payloadBytes), String(a.warmupS), String(a.durationS)];
  const run = await runTool(process.execPath, args, { timeoutMs: timeout(a) + a.warmupS * 1000 });
  const j = parseJson<{ messages: number; errors: number; durationMs: number }>(`${kind} ping-pong`, run);
  const f = figures(`${kind} ping-pong`, run, { requests: j.messages, errors: j.errors, rps: j.messages / (j.durationMs / 1000), p50Us: NaN, p99Us: NaN, maxUs: NaN });
  return { ...f, cpuUsPerReq: (run.cpuMs * 1000) / (j.messages * (1 + a.warmupS / a.durationS)) };
}
